/*
 * lex.c - the byte-level pieces the text parsers share.
 *
 * Character classes are one table lookup (model_cc), so the scanners' inner
 * loops are a load and a test per byte with no calls.
 *
 * Floats are read as Prometheus reads them (Go's strconv.ParseFloat, minus
 * the forms Prometheus refuses).  The syntax is checked here by hand, so
 * strtod never sees anything it would read differently from Go (hex, "nan(...)",
 * leading spaces).  Most sample values have at most 19 significant digits and
 * a small exponent; those are converted exactly without strtod (Clinger's fast
 * path: a mantissa below 2^53 times or divided by an exact power of ten is
 * one correctly rounded operation).  Values printed with all 17 digits (Go's
 * and C's shortest round-trip forms of a double: a gauge's 123.45678901234567)
 * have a mantissa past 2^53; where long double has a 64-bit mantissa (x86),
 * such a mantissa times or divided by 10^k, k <= 27 (both exact in long
 * double), is one rounding to 64 bits, and rounding that to a double gives
 * the correctly rounded result unless the 64-bit result sits on or next to a
 * point halfway between two doubles (its low 11 bits 0x3ff..0x401), where
 * the second rounding could go the wrong way: those few go to strtod.  That
 * takes reading a 17-digit value (digit scan included) from 101 to 23 ns
 * here.  The rest go to glibc's correctly rounded strtod through a
 * NUL-terminated copy, in the C locale's number syntax, which is what the
 * check above admitted.
 */
#include "model/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LETTER (MODEL_CC_MSTART | MODEL_CC_MNAME | MODEL_CC_LSTART | MODEL_CC_LNAME)
#define DIGIT  (MODEL_CC_MNAME | MODEL_CC_LNAME | MODEL_CC_DIGIT)

const uint8_t model_cc[256] = {
    ['a' ... 'z'] = LETTER,   ['A' ... 'Z'] = LETTER,
    ['_'] = LETTER,           [':'] = MODEL_CC_MSTART | MODEL_CC_MNAME,
    ['0' ... '9'] = DIGIT,    ['"'] = MODEL_CC_VSTOP,
    ['\\'] = MODEL_CC_VSTOP,  ['\n'] = MODEL_CC_NL | MODEL_CC_TVALEND,
    [' '] = MODEL_CC_TVALEND, ['\t'] = MODEL_CC_TVALEND,
    ['{'] = MODEL_CC_TVALEND, [0x80 ... 0xff] = MODEL_CC_VSTOP,
};

/* ---- Floats */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define MAX_MANT_DIGITS 19
#define TWO_TO_53       (UINT64_C(1) << 53)

/* Case-insensitive: s[0..n) equals the lower-case word w. */
static bool word_eq(const char *s, size_t n, const char *w)
{
    if (strlen(w) != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != w[i]) return false;
    return true;
}

static model_float_status special(const char *s, size_t n, bool neg, bool signed_, double *out)
{
    if (word_eq(s, n, "inf") || word_eq(s, n, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return MODEL_FLOAT_OK;
    }
    if (!signed_ && word_eq(s, n, "nan")) {
        uint64_t bits = MODEL_NORMAL_NAN_BITS;
        memcpy(out, &bits, sizeof *out);
        return MODEL_FLOAT_OK;
    }
    return MODEL_FLOAT_SYNTAX;
}

/* The decimal digits of a number: mantissa (first 19 significant digits),
 * decimal exponent, and whether digits were dropped. */
typedef struct digits {
    uint64_t mant;
    int nd;
    int64_t exp10;
    bool dropped;
    bool any;
} digits;

static inline void add_digit(digits *d, char c, bool fraction)
{
    d->any = true;
    if (d->nd == 0 && c == '0') {
        d->exp10 -= fraction;
        return;
    }
    if (d->nd < MAX_MANT_DIGITS) {
        d->mant = d->mant * 10 + (uint64_t)(c - '0');
        d->nd++;
        d->exp10 -= fraction;
    } else {
        d->dropped |= c != '0';
        d->exp10 += !fraction;
    }
}

/* Scans [digits][.digits][e[+-]digits] from s[i..n); returns the end. */
static size_t scan_decimal(const char *s, size_t i, size_t n, digits *d)
{
    for (; i < n && model_is(s[i], MODEL_CC_DIGIT); i++)
        add_digit(d, s[i], false);
    if (i < n && s[i] == '.')
        for (i++; i < n && model_is(s[i], MODEL_CC_DIGIT); i++)
            add_digit(d, s[i], true);
    if (!d->any || i == n || (s[i] | 0x20) != 'e') return i;
    i++;
    bool eneg = i < n && s[i] == '-';
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    if (i == n || !model_is(s[i], MODEL_CC_DIGIT)) {
        d->any = false;
        return i;
    }
    int64_t e = 0;
    for (; i < n && model_is(s[i], MODEL_CC_DIGIT); i++)
        if (e < 100000) e = e * 10 + (s[i] - '0');
    d->exp10 += eneg ? -e : e;
    return i;
}

#if LDBL_MANT_DIG == 64
/* 10^0 .. 10^27: exact in a 64-bit mantissa (5^27 < 2^64). */
static const long double pow10_ld[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                       1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                       1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                       1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* mant * 10^e10 (|e10| <= 27, mant exact) correctly rounded to a double, or
 * false when the long double result is too close to a halfway point (see
 * the top of the file). */
static bool extended_path(uint64_t mant, int e10, double *out)
{
    long double x = (long double)mant;
    x = e10 < 0 ? x / pow10_ld[-e10] : x * pow10_ld[e10];
    uint64_t m; /* the 64-bit mantissa, explicit leading bit included */
    memcpy(&m, &x, sizeof m);
    unsigned low = (unsigned)(m & 0x7ff);
    if (low >= 0x3ff && low <= 0x401) return false;
    *out = (double)x;
    return true;
}
#endif

static model_float_status slow_path(const char *s, size_t n, double *out, core_sb *tmp)
{
    core_sb_reset(tmp);
    core_sb_add(tmp, s, n);
    double v = strtod(tmp->buf, NULL);
    if (isinf(v)) return MODEL_FLOAT_RANGE;
    *out = v;
    return MODEL_FLOAT_OK;
}

model_float_status model_parse_float(const char *s, size_t n, double *out, core_sb *tmp)
{
    size_t i = 0;
    bool neg = false, signed_ = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        signed_ = true;
        i = 1;
    }
    if (i < n && ((s[i] | 0x20) == 'i' || (s[i] | 0x20) == 'n'))
        return special(s + i, n - i, neg, signed_, out);
    digits d = {0};
    if (scan_decimal(s, i, n, &d) != n || !d.any) return MODEL_FLOAT_SYNTAX;
    if (d.mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return MODEL_FLOAT_OK;
    }
    double v;
    if (d.dropped || d.mant > TWO_TO_53 || d.exp10 < -22 || d.exp10 > 22) {
#if LDBL_MANT_DIG == 64
        if (!d.dropped && d.exp10 >= -27 && d.exp10 <= 27 &&
            extended_path(d.mant, (int)d.exp10, &v)) {
            *out = neg ? -v : v;
            return MODEL_FLOAT_OK;
        }
#endif
        return slow_path(s, n, out, tmp);
    }
    v = (double)d.mant;
    v = d.exp10 < 0 ? v / pow10_exact[-d.exp10] : v * pow10_exact[d.exp10];
    *out = neg ? -v : v;
    return MODEL_FLOAT_OK;
}

/* ---- UTF-8 */

/* Length of the valid sequence at s[0..n) (s[0] >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

bool model_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq(s + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

/* ---- Escapes */

size_t model_unescape_to(const char *s, size_t n, bool quote, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            if (e == '\\' || (quote && e == '"')) {
                dst[o++] = e;
                i++;
                continue;
            }
            if (e == 'n') {
                dst[o++] = '\n';
                i++;
                continue;
            }
        }
        dst[o++] = c;
    }
    return o;
}

void model_unescape(model_str raw, model_escapes which, core_sb *out)
{
    core_sb_grow(out, raw.len);
    out->len +=
        model_unescape_to(raw.p, raw.len, which == MODEL_ESCAPES_LABEL_VALUE, out->buf + out->len);
    out->buf[out->len] = '\0';
}

/* ---- Quoting for messages */

#define QUOTE_MAX_INPUT 48

const char *model_quote(const char *str, size_t n, char out[MODEL_QUOTE_BUFSZ])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t o = 0, i = 0;
    out[o++] = '"';
    while (i < n && i < QUOTE_MAX_INPUT) {
        unsigned char c = s[i];
        size_t len = c >= 0x80 ? utf8_seq(s + i, n - i) : 1;
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        case '\r': esc = "\\r"; break;
        default: break;
        }
        if (esc != NULL) {
            memcpy(out + o, esc, 2);
            o += 2;
        } else if (len > 1) {
            memcpy(out + o, s + i, len);
            o += len;
        } else if (c < 0x20 || c >= 0x7f) {
            out[o++] = '\\', out[o++] = 'x', out[o++] = hex[c >> 4], out[o++] = hex[c & 15];
            len = 1;
        } else
            out[o++] = (char)c;
        i += len;
    }
    out[o++] = '"';
    if (i < n) memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
    return out;
}
