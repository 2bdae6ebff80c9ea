/*
 * json.c - JSON written as upstream's API writes it.
 *
 * Upstream marshals every answer with jsoniter's standard-library-compatible
 * configuration plus its own encoders for samples, series and label sets
 * (web/api/v1/json_codec.go, util/jsonutil), so the bytes here follow those:
 *
 *   - strings: HTML-escaped (<, >, & as \u003c ...), \n \r \t by name and
 *     other control bytes as \u00xx, U+2028/U+2029 escaped, each byte of
 *     invalid UTF-8 as \ufffd;
 *   - sample values: strings from strconv.FormatFloat(v, 'f', -1, 64), with
 *     the 'e' form below 1e-6 and from 1e21 on, and "NaN", "+Inf", "-Inf";
 *   - timestamps: Unix seconds, with exactly three decimals when there is a
 *     fraction (1.500, 12.050, -0.001, 7);
 *   - a vector's samples {"metric":{...},"value":[t,"v"]}, a matrix's series
 *     {"metric":{...},"values":[[t,"v"],...]} ("values" left out when a series
 *     has no points), a scalar [t,"v"], a string [t,"s"].
 *
 * The shortest round-trip digits of a double come from model_float_digits
 * (the digits of Go's 'g' format, checked against Go there); this file only
 * lays those digits out in the 'f' or 'e' form, so the digit search exists
 * once.
 */
#include "web/internal.h"

#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Strings */

static const char hexdigits[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point,
 * or 0 when the bytes there are not valid UTF-8 (Go's DecodeRune rules:
 * no overlongs, no surrogates, nothing past U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, v = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

void web_json_str(core_sb *sb, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    core_sb_grow(sb, n + 2);
    core_sb_addc(sb, '"');
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        char esc[8];
        size_t elen = 0, adv = 1;
        if (c < 0x80) {
            switch (c) {
            case '"': memcpy(esc, "\\\"", 2), elen = 2; break;
            case '\\': memcpy(esc, "\\\\", 2), elen = 2; break;
            case '\n': memcpy(esc, "\\n", 2), elen = 2; break;
            case '\r': memcpy(esc, "\\r", 2), elen = 2; break;
            case '\t': memcpy(esc, "\\t", 2), elen = 2; break;
            default:
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hexdigits[c >> 4], esc[5] = hexdigits[c & 15];
                    elen = 6;
                }
            }
        } else {
            uint32_t cp;
            adv = utf8_decode(p + i, n - i, &cp);
            if (adv == 0) {
                memcpy(esc, "\\ufffd", 6), elen = 6, adv = 1;
            } else if (cp == 0x2028 || cp == 0x2029) {
                memcpy(esc, "\\u202", 5), esc[5] = hexdigits[cp & 15], elen = 6;
            }
        }
        if (elen) {
            core_sb_add(sb, s + run, i - run);
            core_sb_add(sb, esc, elen);
            run = i + adv;
        }
        i += adv;
    }
    core_sb_add(sb, s + run, n - run);
    core_sb_addc(sb, '"');
}

void web_json_cstr(core_sb *sb, const char *s)
{
    web_json_str(sb, s, strlen(s));
}

void web_json_strings(core_sb *sb, const char *const *v, size_t n)
{
    core_sb_addc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(sb, ',');
        web_json_cstr(sb, v[i]);
    }
    core_sb_addc(sb, ']');
}

/* ---- Numbers
 *
 * Each layout is written straight into the builder's free room (reserved
 * with core_sb_grow), not a byte at a time: a range query's answer is mostly
 * sample values, and this path was most of its encoding time. */

/* A finite non-zero double as its shortest digits d (no leading or trailing
 * zeros) and exponent: |v| = 0.d x 10^dp.  '0' fills d after the digits, so
 * the hot layouts copy fixed sizes (a few moves, no call to memcpy). */
typedef struct digits {
    char d[32];
    int nd;
    int dp;
    bool neg;
} digits;

static void to_digits(double v, digits *x)
{
    memset(x->d, '0', sizeof x->d);
    x->neg = signbit(v) != 0;
    x->nd = model_float_digits(v, x->d, &x->dp);
}

/* Bytes put_f may write for x. */
static size_t f_room(const digits *x)
{
    return (size_t)x->nd + (size_t)(x->dp < 0 ? -x->dp : x->dp) + 4;
}

/* 'f' for any exponent, with exactly f_room(x) bytes of room. */
static char *put_f(const digits *x, char *p)
{
    if (x->neg) *p++ = '-';
    if (x->dp <= 0) {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)-x->dp);
        p += -x->dp;
        memcpy(p, x->d, (size_t)x->nd);
        return p + x->nd;
    }
    if (x->dp >= x->nd) {
        memcpy(p, x->d, (size_t)x->nd);
        memset(p + x->nd, '0', (size_t)(x->dp - x->nd));
        return p + x->dp;
    }
    memcpy(p, x->d, (size_t)x->dp);
    p += x->dp;
    *p++ = '.';
    memcpy(p, x->d + x->dp, (size_t)(x->nd - x->dp));
    return p + x->nd - x->dp;
}

/* 'f' for -5 <= dp <= 21 (the API's range, 1e-6 <= |v| < 1e21) with
 * fixed-size copies: the bytes copied past the value are overwritten or left
 * behind it.  Needs 35 bytes of room: 1 + 7 + 17 for -0.00000ddd, 1 + 24 for
 * an integer, 1 + 16 + 1 + 16 with a point (dp < nd <= 17). */
static char *put_f_short(const digits *x, char *p)
{
    if (x->neg) *p++ = '-';
    if (x->dp <= 0) {
        memcpy(p, "0.000000", 8);
        p += 2 - x->dp;
        memcpy(p, x->d, MODEL_FLOAT_DIGITS);
        return p + x->nd;
    }
    memcpy(p, x->d, 24);
    if (x->dp >= x->nd) return p + x->dp; /* the zeros after the digits came along */
    p[x->dp] = '.';
    memcpy(p + x->dp + 1, x->d + x->dp, 16);
    return p + x->nd + 1;
}

/* Go's %e with the shortest digits: d[.ddd]e±dd.  `min_exp_digits` is 2 for
 * strconv, 1 for encoding/json's cleaned-up form.  Needs 25 bytes of room. */
static char *put_e(const digits *x, char *p, int min_exp_digits)
{
    if (x->neg) *p++ = '-';
    p[0] = x->d[0];
    p[1] = '.';
    memcpy(p + 2, x->d + 1, 16);
    p += x->nd > 1 ? x->nd + 1 : 1;
    int e = x->dp - 1;
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    if (e >= 100) *p++ = (char)('0' + e / 100);
    if (e >= 10 || min_exp_digits > 1) *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* NaN, +Inf, -Inf, 0 and -0 as strconv writes them, or NULL for the rest. */
static const char *special(double v)
{
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == 0) return signbit(v) ? "-0" : "0";
    return NULL;
}

void web_format_float_f(double v, core_sb *sb)
{
    const char *s = special(v);
    if (s) {
        core_sb_adds(sb, s);
        return;
    }
    digits x;
    to_digits(v, &x);
    core_sb_grow(sb, f_room(&x));
    char *end = put_f(&x, sb->buf + sb->len);
    sb->len = (size_t)(end - sb->buf);
    sb->buf[sb->len] = '\0';
}

/* The API's sample value at p: at most 25 bytes ('f' below 1e21 has at most
 * 21 integer digits and 17 significant ones, or 17 digits after "0.00000";
 * the 'e' form is shorter), with 35 of room for the copies. */
_Static_assert(WEB_VALUE_BUFSZ >= 35, "room for put_f_short");

static char *put_value(double v, char *p)
{
    const char *s = special(v);
    if (s) return put_str(p, s);
    double a = fabs(v);
    digits x;
    to_digits(v, &x);
    if (a < 1e-6 || a >= 1e21) return put_e(&x, p, 2);
    return put_f_short(&x, p);
}

size_t web_format_value(double v, char buf[WEB_VALUE_BUFSZ])
{
    char *end = put_value(v, buf);
    *end = '\0';
    return (size_t)(end - buf);
}

void web_json_value(core_sb *sb, double v)
{
    core_sb_grow(sb, WEB_VALUE_BUFSZ + 2);
    char *p = sb->buf + sb->len;
    *p++ = '"';
    p = put_value(v, p);
    *p++ = '"';
    sb->len = (size_t)(p - sb->buf);
    sb->buf[sb->len] = '\0';
}

void web_json_number(core_sb *sb, double v)
{
    if (!isfinite(v) || v == 0) {
        core_sb_addc(sb, '0'); /* Go refuses NaN and infinities; never produced here */
        return;
    }
    digits x;
    to_digits(v, &x);
    double a = fabs(v);
    core_sb_grow(sb, 35);
    char *p = sb->buf + sb->len;
    p = a < 1e-6 || a >= 1e21 ? put_e(&x, p, 1) : put_f_short(&x, p);
    sb->len = (size_t)(p - sb->buf);
    sb->buf[sb->len] = '\0';
}

void web_json_time(core_sb *sb, int64_t ms)
{
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0) core_sb_addc(sb, '-');
    core_sb_add_u64(sb, u / 1000);
    unsigned frac = (unsigned)(u % 1000);
    if (frac) core_sb_addf(sb, ".%03u", frac);
}

void web_json_go_time(core_sb *sb, int64_t ms)
{
    if (ms == 0) {
        core_sb_adds(sb, "\"0001-01-01T00:00:00Z\"");
        return;
    }
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) sec--, frac += 1000;
    time_t tt = (time_t)sec;
    struct tm tm;
    localtime_r(&tt, &tm);
    core_sb_addf(sb, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        char f[4];
        snprintf(f, sizeof f, "%03d", (int)frac);
        int n = 3;
        while (f[n - 1] == '0')
            n--;
        core_sb_addf(sb, ".%.*s", n, f);
    }
    long off = tm.tm_gmtoff;
    if (off == 0) {
        core_sb_adds(sb, "Z\"");
        return;
    }
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    core_sb_addf(sb, "%c%02ld:%02ld\"", sign, off / 3600, off / 60 % 60);
}

/* ---- Labels and results */

void web_json_labels(core_sb *sb, const core_labels *ls)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; ls && i < ls->len; i++) {
        if (i) core_sb_addc(sb, ',');
        web_json_cstr(sb, ls->v[i].name);
        core_sb_addc(sb, ':');
        web_json_cstr(sb, ls->v[i].value);
    }
    core_sb_addc(sb, '}');
}

static void point(core_sb *sb, int64_t t, double v)
{
    core_sb_addc(sb, '[');
    web_json_time(sb, t);
    core_sb_addc(sb, ',');
    web_json_value(sb, v);
    core_sb_addc(sb, ']');
}

static const char *type_name(pql_type t)
{
    switch (t) {
    case PQL_TYPE_SCALAR: return "scalar";
    case PQL_TYPE_VECTOR: return "vector";
    case PQL_TYPE_MATRIX: return "matrix";
    case PQL_TYPE_STRING: return "string";
    default: return "none";
    }
}

void web_json_result(core_sb *sb, const pql_result *r, size_t limit)
{
    core_sb_adds(sb, "{\"resultType\":\"");
    core_sb_adds(sb, type_name(r->type));
    core_sb_adds(sb, "\",\"result\":");
    size_t n = r->nseries;
    if (limit && n > limit) n = limit;
    switch (r->type) {
    case PQL_TYPE_SCALAR: point(sb, r->t, r->scalar); break;
    case PQL_TYPE_STRING:
        core_sb_addc(sb, '[');
        web_json_time(sb, r->t);
        core_sb_addc(sb, ',');
        web_json_cstr(sb, r->str ? r->str : "");
        core_sb_addc(sb, ']');
        break;
    case PQL_TYPE_VECTOR:
        core_sb_addc(sb, '[');
        for (size_t i = 0; i < n; i++) {
            const pql_result_series *s = &r->series[i];
            if (i) core_sb_addc(sb, ',');
            core_sb_adds(sb, "{\"metric\":");
            web_json_labels(sb, s->labels);
            core_sb_adds(sb, ",\"value\":");
            point(sb, s->n ? s->pts[0].t : r->t, s->n ? s->pts[0].v : NAN);
            core_sb_addc(sb, '}');
        }
        core_sb_addc(sb, ']');
        break;
    default:
        core_sb_addc(sb, '[');
        for (size_t i = 0; i < n; i++) {
            const pql_result_series *s = &r->series[i];
            if (i) core_sb_addc(sb, ',');
            core_sb_adds(sb, "{\"metric\":");
            web_json_labels(sb, s->labels);
            if (s->n) {
                core_sb_adds(sb, ",\"values\":[");
                for (size_t k = 0; k < s->n; k++) {
                    if (k) core_sb_addc(sb, ',');
                    point(sb, s->pts[k].t, s->pts[k].v);
                }
                core_sb_addc(sb, ']');
            }
            core_sb_addc(sb, '}');
        }
        core_sb_addc(sb, ']');
    }
    core_sb_addc(sb, '}');
}
