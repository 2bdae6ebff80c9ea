/*
 * template_funcs.c - Prometheus's template functions (upstream's
 * template.NewTemplateExpander function map) and the public template API of
 * rules.h.
 *
 * Each function declares Go's parameter types so that the executor checks
 * arguments as text/template does; the bodies follow upstream's: humanize
 * and friends format with %.4g, humanizeTimestamp and toTime go through
 * milliseconds (model.Time) as upstream's floatToTime does, query runs the
 * caller's query function at the expansion's time.
 *
 * match and reReplaceAll search anywhere in the text, as Go's regexp does,
 * while server/model's model_regex only matches whole values.  A search is
 * therefore built from whole-value matches: the pattern P is compiled
 * alone (for Go's errors and the group table Expand needs), as
 * (?s:(.*?))(?:P)((?s:.*)) for the first match (the lazy prefix makes it
 * the leftmost one, P's own alternation order makes it leftmost-first), and
 * as (?s:.)(?s:(.*?))(?:P)((?s:.*)) run from one rune before a later start,
 * so that ^, \b and (?m)^ still see the character in front of it.
 *
 * Case mapping (toUpper, toLower, title) covers ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic; other scripts pass through unchanged.
 */
#include "rules/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static tmpl_val str_out(tmpl_exec *x, const char *s, size_t n)
{
    tmpl_val v = {.k = TV_STRING};
    v.u.s.p = core_arena_strndup(tmpl_exec_arena(x), s ? s : "", n);
    v.u.s.n = n;
    return v;
}

static tmpl_val sb_out(tmpl_exec *x, core_sb *sb)
{
    tmpl_val v = str_out(x, sb->buf, sb->len);
    core_sb_destroy(sb);
    return v;
}

/* ---- Numbers */

int tmpl_parse_float(const char *s, size_t n, double *out, core_sb *msg)
{
    char buf[512];
    size_t k = 0, i = 0;
    bool ok = n > 0 && n < sizeof buf;
    if (ok && (s[0] == '+' || s[0] == '-')) buf[k++] = s[i++];
    const char *rest = s + i;
    size_t rn = n - i;
    bool special = false;
    if (ok) {
        if ((rn == 3 && strncasecmp(rest, "inf", 3) == 0) ||
            (rn == 8 && strncasecmp(rest, "infinity", 8) == 0)) {
            special = true;
            *out = s[0] == '-' ? -INFINITY : INFINITY;
        } else if (rn == 3 && i == 0 && strncasecmp(rest, "nan", 3) == 0) {
            special = true;
            *out = NAN;
        }
    }
    if (ok && !special) {
        bool hex = rn > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X');
        bool digits = false, dot = false, exp = false;
        size_t j = hex ? 2 : 0;
        if (hex) {
            buf[k++] = '0';
            buf[k++] = 'x';
        }
        for (; j < rn && ok; j++) {
            char c = rest[j];
            if (c == '_') {
                if (!hex) ok = false;
                continue;
            }
            bool isd = (c >= '0' && c <= '9') ||
                       (hex && !exp && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
            if (isd) {
                digits = true;
            } else if (c == '.' && !dot && !exp) {
                dot = true;
            } else if (!exp && digits &&
                       ((!hex && (c == 'e' || c == 'E')) || (hex && (c == 'p' || c == 'P')))) {
                exp = true;
                buf[k++] = c;
                if (j + 1 < rn && (rest[j + 1] == '+' || rest[j + 1] == '-')) buf[k++] = rest[++j];
                if (j + 1 >= rn) ok = false;
                continue;
            } else {
                ok = false;
            }
            buf[k++] = c;
        }
        if (!digits || (hex && !exp)) ok = false;
        buf[k] = '\0';
        if (ok) {
            errno = 0;
            char *end;
            double v = strtod(buf, &end);
            if (*end != '\0') ok = false;
            if (ok && errno == ERANGE && isinf(v)) {
                core_sb_adds(msg, "strconv.ParseFloat: parsing ");
                core_sb_add_quoted(msg, s, n);
                core_sb_adds(msg, ": value out of range");
                *out = v;
                return -1;
            }
            *out = v;
        }
    }
    if (!ok) {
        core_sb_adds(msg, "strconv.ParseFloat: parsing ");
        core_sb_add_quoted(msg, s ? s : "", n);
        core_sb_adds(msg, ": invalid syntax");
        return -1;
    }
    return 0;
}

int tmpl_to_float(const tmpl_val *v, double *out, core_sb *msg)
{
    switch (v->k) {
    case TV_FLOAT: *out = v->u.f; return 0;
    case TV_STRING: return tmpl_parse_float(v->u.s.p, v->u.s.n, out, msg);
    case TV_INT:
    case TV_INT64: *out = (double)v->u.i; return 0;
    case TV_UINT64: *out = (double)v->u.u; return 0;
    case TV_DURVAL: {
        int64_t sec = v->u.i / 1000000000, nsec = v->u.i % 1000000000;
        *out = (double)sec + (double)nsec / 1e9;
        return 0;
    }
    default: core_sb_addf(msg, "can't convert %s to float", tmpl_type_name(v)); return -1;
    }
}

/* fmt's %.4g, with Go's spelling of NaN and infinities. */
static void g4(double v, core_sb *out)
{
    if (isnan(v))
        core_sb_adds(out, "NaN");
    else if (isinf(v))
        core_sb_adds(out, v > 0 ? "+Inf" : "-Inf");
    else
        core_sb_addf(out, "%.4g", v);
}

static int f_humanize(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    core_sb sb = CORE_SB_INIT;
    if (v == 0 || isnan(v) || isinf(v)) {
        g4(v, &sb);
    } else if (fabs(v) >= 1) {
        static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
        const char *prefix = "";
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) < 1000) break;
            prefix = big[i];
            v /= 1000;
        }
        g4(v, &sb);
        core_sb_adds(&sb, prefix);
    } else {
        static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
        const char *prefix = "";
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) >= 1) break;
            prefix = small[i];
            v *= 1000;
        }
        g4(v, &sb);
        core_sb_adds(&sb, prefix);
    }
    *out = sb_out(x, &sb);
    return 0;
}

static int f_humanize1024(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    core_sb sb = CORE_SB_INIT;
    if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
        g4(v, &sb);
    } else {
        static const char *const big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
        const char *prefix = "";
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) < 1024) break;
            prefix = big[i];
            v /= 1024;
        }
        g4(v, &sb);
        core_sb_adds(&sb, prefix);
    }
    *out = sb_out(x, &sb);
    return 0;
}

static int f_humanize_duration(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out,
                               core_sb *msg)
{
    (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    core_sb sb = CORE_SB_INIT;
    if (isnan(v) || isinf(v)) {
        g4(v, &sb);
    } else if (v == 0) {
        g4(v, &sb);
        core_sb_addc(&sb, 's');
    } else if (fabs(v) >= 1) {
        const char *sign = "";
        if (v < 0) {
            sign = "-";
            v = -v;
        }
        int64_t d = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
        int64_t seconds = d % 60, minutes = d / 60 % 60, hours = d / 3600 % 24, days = d / 86400;
        if (days != 0)
            core_sb_addf(&sb, "%s%lldd %lldh %lldm %llds", sign, (long long)days, (long long)hours,
                         (long long)minutes, (long long)seconds);
        else if (hours != 0)
            core_sb_addf(&sb, "%s%lldh %lldm %llds", sign, (long long)hours, (long long)minutes,
                         (long long)seconds);
        else if (minutes != 0)
            core_sb_addf(&sb, "%s%lldm %llds", sign, (long long)minutes, (long long)seconds);
        else {
            core_sb_adds(&sb, sign);
            g4(v, &sb);
            core_sb_addc(&sb, 's');
        }
    } else {
        static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
        const char *prefix = "";
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) >= 1) break;
            prefix = small[i];
            v *= 1000;
        }
        g4(v, &sb);
        core_sb_adds(&sb, prefix);
        core_sb_addc(&sb, 's');
    }
    *out = sb_out(x, &sb);
    return 0;
}

static int f_humanize_percentage(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out,
                                 core_sb *msg)
{
    (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    core_sb sb = CORE_SB_INIT;
    g4(v * 100, &sb);
    core_sb_addc(&sb, '%');
    *out = sb_out(x, &sb);
    return 0;
}

/* upstream's floatToTime: seconds to a time through nanoseconds and then
 * milliseconds (model.TimeFromUnixNano).  1: NaN or Inf. */
static int float_to_time(double v, int64_t *ns, core_sb *msg)
{
    if (isnan(v) || isinf(v)) return 1;
    double t = v * 1e9;
    if (t > 9223372036854775807.0 || t < -9223372036854775808.0) {
        char b[MODEL_FLOAT_BUFSZ];
        model_format_float(v, b);
        core_sb_addf(msg,
                     "%s cannot be represented as a nanoseconds timestamp since it "
                     "overflows int64",
                     b);
        return -1;
    }
    int64_t nanos = t >= 9223372036854775807.0 ? INT64_MIN : (int64_t)t;
    int64_t ms = nanos / 1000000;
    *ns = ms * 1000000;
    return 0;
}

static int f_humanize_timestamp(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out,
                                core_sb *msg)
{
    (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    int64_t ns;
    int rc = float_to_time(v, &ns, msg);
    if (rc < 0) return -1;
    core_sb sb = CORE_SB_INIT;
    if (rc == 1)
        g4(v, &sb);
    else
        tmpl_time_string(ns, &sb);
    *out = sb_out(x, &sb);
    return 0;
}

static int f_to_time(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    int64_t ns;
    int rc = float_to_time(v, &ns, msg);
    if (rc < 0) return -1;
    if (rc == 1) {
        core_sb_adds(msg, "value is NaN or Inf");
        return -1;
    }
    *out = (tmpl_val){.k = TV_TIME, .u.ns = ns};
    return 0;
}

static int f_to_duration(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    double v;
    if (tmpl_to_float(&a[0], &v, msg) < 0) return -1;
    double d = v * 1e9;
    int64_t ns =
        (d < 9223372036854775807.0 && d >= -9223372036854775808.0) ? (int64_t)d : INT64_MIN;
    *out = (tmpl_val){.k = TV_DURATION, .u.ns = ns};
    return 0;
}

static int f_now(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)a, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = (double)tmpl_exec_opts(x)->time_ms / 1000.0};
    return 0;
}

static int f_parse_duration(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    const char *s = a[0].u.s.p;
    size_t len = a[0].u.s.n;
    bool neg = len > 0 && s[0] == '-';
    if (neg) {
        s++;
        len--;
    }
    if (len == 0) {
        core_sb_adds(msg, "empty duration string");
        return -1;
    }
    int64_t ms;
    core_err e = {{0}};
    if (core_duration_parse(s, len, &ms, &e) < 0) {
        core_sb_adds(msg, e.msg);
        return -1;
    }
    double secs = ms <= INT64_MAX / 1000000 ? (double)(ms * 1000000) / 1e9 : (double)ms / 1e3;
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = neg ? -secs : secs};
    return 0;
}

/* ---- Query results */

static int f_query(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    const rules_tmpl_opts *o = tmpl_exec_opts(x);
    if (!o || !o->query) {
        core_sb_adds(msg, "no query engine");
        return -1;
    }
    core_arena *ar = tmpl_exec_arena(x);
    char *q = core_arena_strndup(ar, a[0].u.s.p, a[0].u.s.n);
    rules_tmpl_sample *res = NULL;
    size_t nres = 0;
    core_err e = {{0}};
    if (o->query(o->query_ctx, q, o->time_ms, ar, &res, &nres, &e) < 0) {
        core_sb_adds(msg, e.msg);
        return -1;
    }
    tmpl_sample **v = core_arena_calloc(ar, nres ? nres : 1, sizeof *v);
    for (size_t i = 0; i < nres; i++) {
        tmpl_sample *s = core_arena_calloc(ar, 1, sizeof *s);
        s->labels = res[i].labels;
        s->value = res[i].value;
        v[i] = s;
    }
    *out = (tmpl_val){.k = TV_RESULT, .u.res = {v, nres}};
    return 0;
}

static int f_first(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    if (a[0].u.res.n == 0) {
        core_sb_adds(msg, "first() called on vector with no elements");
        return -1;
    }
    *out = (tmpl_val){.k = TV_SAMPLE, .u.sample = a[0].u.res.v[0]};
    return 0;
}

static const char NIL_DEREF[] = "runtime error: invalid memory address or nil pointer dereference";

static int f_label(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    if (!a[1].u.sample) {
        core_sb_adds(msg, NIL_DEREF);
        return -1;
    }
    char *name = core_arena_strndup(tmpl_exec_arena(x), a[0].u.s.p, a[0].u.s.n);
    const char *v = a[1].u.sample->labels ? core_labels_get(a[1].u.sample->labels, name) : NULL;
    *out = str_out(x, v ? v : "", v ? strlen(v) : 0);
    return 0;
}

static int f_value(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    if (!a[0].u.sample) {
        core_sb_adds(msg, NIL_DEREF);
        return -1;
    }
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = a[0].u.sample->value};
    return 0;
}

static int f_strvalue(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    if (!a[0].u.sample) {
        core_sb_adds(msg, NIL_DEREF);
        return -1;
    }
    const char *v =
        a[0].u.sample->labels ? core_labels_get(a[0].u.sample->labels, "__value__") : NULL;
    *out = str_out(x, v ? v : "", v ? strlen(v) : 0);
    return 0;
}

static int f_sort_by_label(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    char *name = core_arena_strndup(tmpl_exec_arena(x), a[0].u.s.p, a[0].u.s.n);
    tmpl_sample **v = a[1].u.res.v;
    size_t len = a[1].u.res.n;
    /* insertion sort: stable, and results are small */
    for (size_t i = 1; i < len; i++) {
        tmpl_sample *cur = v[i];
        const char *cv = cur->labels ? core_labels_get(cur->labels, name) : NULL;
        if (!cv) cv = "";
        size_t j = i;
        while (j > 0) {
            const char *pv = v[j - 1]->labels ? core_labels_get(v[j - 1]->labels, name) : NULL;
            if (!pv) pv = "";
            if (strcmp(cv, pv) >= 0) break;
            v[j] = v[j - 1];
            j--;
        }
        v[j] = cur;
    }
    *out = a[1];
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int f_args(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    core_arena *ar = tmpl_exec_arena(x);
    tmpl_anymap *m = core_arena_calloc(ar, 1, sizeof *m);
    m->keys = core_arena_calloc(ar, n ? n : 1, sizeof *m->keys);
    m->vals = core_arena_calloc(ar, n ? n : 1, sizeof *m->vals);
    m->n = n;
    for (size_t i = 0; i < n; i++)
        m->keys[i] = core_arena_sprintf(ar, "arg%zu", i);
    qsort(m->keys, n, sizeof *m->keys, key_cmp);
    for (size_t i = 0; i < n; i++)
        m->vals[i] = a[strtoul(m->keys[i] + 3, NULL, 10)];
    *out = (tmpl_val){.k = TV_ANYMAP, .u.amap = m};
    return 0;
}

/* ---- Strings */

static int f_safe_html(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    *out = str_out(x, a[0].u.s.p, a[0].u.s.n);
    out->k = TV_HTML;
    return 0;
}

static uint32_t map_case(uint32_t r, bool upper)
{
    if (upper) {
        if (r >= 'a' && r <= 'z') return r - 32;
        if (r < 0x80) return r;
        if (r >= 0xe0 && r <= 0xfe && r != 0xf7) return r - 32;
        if (r == 0xff) return 0x178;
        if (r == 0xb5) return 0x39c;
        if (r >= 0x100 && r <= 0x17f && r != 0x130 && r != 0x131 && r != 0x138 && r != 0x149 &&
            r != 0x17f) {
            bool odd_lower = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17e);
            if (odd_lower ? (r % 2 == 0) : (r % 2 == 1)) return r - 1;
            return r;
        }
        if (r >= 0x3b1 && r <= 0x3c9 && r != 0x3c2) return r - 32;
        if (r == 0x3c2) return 0x3a3;
        if (r >= 0x430 && r <= 0x44f) return r - 32;
        if (r >= 0x450 && r <= 0x45f) return r - 80;
        return r;
    }
    if (r >= 'A' && r <= 'Z') return r + 32;
    if (r < 0x80) return r;
    if (r >= 0xc0 && r <= 0xde && r != 0xd7) return r + 32;
    if (r == 0x178) return 0xff;
    if (r >= 0x100 && r <= 0x17f && r != 0x130 && r != 0x131 && r != 0x138 && r != 0x149 &&
        r != 0x17f) {
        bool odd_lower = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17e);
        if (odd_lower ? (r % 2 == 1) : (r % 2 == 0)) return r + 1;
        return r;
    }
    if (r >= 0x391 && r <= 0x3a9 && r != 0x3a2) return r + 32;
    if (r >= 0x410 && r <= 0x42f) return r + 32;
    if (r >= 0x400 && r <= 0x40f) return r + 80;
    return r;
}

static void add_rune(core_sb *sb, uint32_t u)
{
    char b[4];
    size_t k;
    if (u < 0x80) {
        b[0] = (char)u;
        k = 1;
    } else if (u < 0x800) {
        b[0] = (char)(0xc0 | (u >> 6));
        b[1] = (char)(0x80 | (u & 0x3f));
        k = 2;
    } else if (u < 0x10000) {
        b[0] = (char)(0xe0 | (u >> 12));
        b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
        b[2] = (char)(0x80 | (u & 0x3f));
        k = 3;
    } else {
        b[0] = (char)(0xf0 | (u >> 18));
        b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((u >> 6) & 0x3f));
        b[3] = (char)(0x80 | (u & 0x3f));
        k = 4;
    }
    core_sb_add(sb, b, k);
}

static bool is_letter(uint32_t r)
{
    if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
    return map_case(r, true) != r || map_case(r, false) != r ||
           (r >= 0xc0 && r != 0xd7 && r != 0xf7 && r < 0x2000);
}

static bool is_word(uint32_t r)
{
    return is_letter(r) || (r >= '0' && r <= '9') || r == '_';
}

/* 0: lower, 1: upper, 2: title. */
static void case_string(const char *s, size_t n, int mode, core_sb *out)
{
    uint32_t prev = ' ';
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = model_utf8_decode(s + i, n - i, &r);
        if (w == 0) {
            core_sb_addc(out, s[i]);
            i++;
            prev = 0xfffd;
            continue;
        }
        uint32_t m = r;
        if (mode == 0) m = map_case(r, false);
        if (mode == 1) m = map_case(r, true);
        if (mode == 2) {
            /* a word starts at a letter not preceded by a word character; an
             * apostrophe or a period between letters does not break a word */
            bool mid = false;
            if ((prev == '\'' || prev == '.') && i >= 2) {
                uint32_t pp;
                size_t k = i - 1;
                while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
                    k--;
                if (k > 0) {
                    size_t j = k - 1;
                    while (j > 0 && ((unsigned char)s[j] & 0xc0) == 0x80)
                        j--;
                    if (model_utf8_decode(s + j, k - j, &pp) && is_letter(pp)) mid = true;
                }
            }
            if (!is_word(prev) && !mid && is_letter(r)) m = map_case(r, true);
        }
        if (m == r)
            core_sb_add(out, s + i, w);
        else
            add_rune(out, m);
        prev = r;
        i += w;
    }
}

static int f_case(tmpl_exec *x, const tmpl_val *a, tmpl_val *out, int mode)
{
    core_sb sb = CORE_SB_INIT;
    case_string(a[0].u.s.p, a[0].u.s.n, mode, &sb);
    *out = sb_out(x, &sb);
    return 0;
}

static int f_to_upper(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    return f_case(x, a, out, 1);
}

static int f_to_lower(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    return f_case(x, a, out, 0);
}

static int f_title(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    return f_case(x, a, out, 2);
}

static int link(tmpl_exec *x, const tmpl_val *a, tmpl_val *out, char tab)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "/graph?g0.expr=");
    tmpl_query_escape(a[0].u.s.p, a[0].u.s.n, &sb);
    core_sb_addf(&sb, "&g0.tab=%c", tab);
    *out = sb_out(x, &sb);
    return 0;
}

static int f_graph_link(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    return link(x, a, out, '0');
}

static int f_table_link(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    return link(x, a, out, '1');
}

static int f_url_query_escape(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out,
                              core_sb *msg)
{
    (void)n, (void)msg;
    core_sb sb = CORE_SB_INIT;
    tmpl_query_escape(a[0].u.s.p, a[0].u.s.n, &sb);
    *out = sb_out(x, &sb);
    return 0;
}

/* net.SplitHostPort: 0 with host and port, -1 on an address it refuses. */
static int split_host_port(const char *s, size_t n, size_t *hs, size_t *hl, size_t *ps)
{
    const char *colon = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == ':') {
            colon = s + i;
            break;
        }
    if (!colon) return -1;
    size_t i = (size_t)(colon - s), j = 0, k = 0;
    if (n > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (!end) return -1;
        size_t e = (size_t)(end - s);
        if (e + 1 == n || e + 1 != i) return -1;
        *hs = 1;
        *hl = e - 1;
        j = 1;
        k = e + 1;
    } else {
        if (memchr(s, ':', i)) return -1;
        *hs = 0;
        *hl = i;
    }
    if (memchr(s + j, '[', n - j)) return -1;
    if (memchr(s + k, ']', n - k)) return -1;
    *ps = i + 1;
    return 0;
}

static int f_strip_port(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    size_t hs, hl, ps;
    if (split_host_port(a[0].u.s.p, a[0].u.s.n, &hs, &hl, &ps) < 0)
        *out = str_out(x, a[0].u.s.p, a[0].u.s.n);
    else
        *out = str_out(x, a[0].u.s.p + hs, hl);
    return 0;
}

static bool parse_ip(const char *s, size_t n)
{
    char b[64];
    if (n == 0 || n >= sizeof b) return false;
    memcpy(b, s, n);
    b[n] = '\0';
    unsigned char addr[16];
    return inet_pton(AF_INET, b, addr) == 1 || inet_pton(AF_INET6, b, addr) == 1;
}

static int f_strip_domain(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    const char *s = a[0].u.s.p;
    size_t len = a[0].u.s.n, hs = 0, hl = len, ps = len;
    bool has_port = split_host_port(s, len, &hs, &hl, &ps) == 0;
    if (!has_port) {
        hs = 0;
        hl = len;
    }
    if (parse_ip(s + hs, hl)) {
        *out = str_out(x, s, len);
        return 0;
    }
    const char *dot = memchr(s + hs, '.', hl);
    size_t short_len = dot ? (size_t)(dot - (s + hs)) : hl;
    core_sb sb = CORE_SB_INIT;
    if (has_port && ps < len + 1 && len - ps > 0) {
        bool v6 = memchr(s + hs, ':', short_len) != NULL;
        if (v6) core_sb_addc(&sb, '[');
        core_sb_add(&sb, s + hs, short_len);
        if (v6) core_sb_addc(&sb, ']');
        core_sb_addc(&sb, ':');
        core_sb_add(&sb, s + ps, len - ps);
    } else {
        core_sb_add(&sb, s + hs, short_len);
    }
    *out = sb_out(x, &sb);
    return 0;
}

static int f_path_prefix(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)a, (void)n, (void)msg;
    const char *u = tmpl_exec_opts(x)->external_url;
    if (!u) u = "";
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : (u[0] == '/' ? u : NULL);
    if (!p) {
        *out = str_out(x, "", 0);
        return 0;
    }
    size_t len = strcspn(p, "?#");
    *out = str_out(x, p, len);
    return 0;
}

static int f_external_url(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)a, (void)n, (void)msg;
    const char *u = tmpl_exec_opts(x)->external_url;
    *out = str_out(x, u ? u : "", u ? strlen(u) : 0);
    return 0;
}

static int f_tmpl(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    char *name = core_arena_strndup(tmpl_exec_arena(x), a[0].u.s.p, a[0].u.s.n);
    core_sb sb = CORE_SB_INIT;
    int rc = tmpl_exec_named(x, name, &a[1], &sb, msg);
    *out = sb_out(x, &sb);
    out->k = TV_HTML;
    return rc;
}

/* ---- Searching regexes */

typedef struct search_re {
    model_regex *orig, *first, *next;
    size_t ngroups;
} search_re;

static void sre_free(search_re *r)
{
    model_regex_free(r->orig);
    model_regex_free(r->first);
    model_regex_free(r->next);
}

/* Go's regexp error for pattern p: model_regex writes the pattern as it
 * anchors it, Go as given. */
static void regex_error(const char *p, size_t n, const char *msg, core_sb *out)
{
    core_sb anchored = CORE_SB_INIT;
    core_sb_adds(&anchored, "^(?s:");
    core_sb_add(&anchored, p, n);
    core_sb_adds(&anchored, ")$");
    const char *hit = strstr(msg, anchored.buf);
    if (hit) {
        core_sb_add(out, msg, (size_t)(hit - msg));
        core_sb_add(out, p, n);
        core_sb_adds(out, hit + anchored.len);
    } else {
        core_sb_adds(out, msg);
    }
    core_sb_destroy(&anchored);
}

static int sre_compile(const char *p, size_t n, search_re *r, core_sb *msg)
{
    memset(r, 0, sizeof *r);
    core_err e = {{0}};
    r->orig = model_regex_new_n(p, n, &e);
    if (!r->orig) {
        regex_error(p, n, e.msg, msg);
        return -1;
    }
    r->ngroups = model_regex_groups(r->orig);
    core_sb w = CORE_SB_INIT;
    core_sb_adds(&w, "(?s:(.*?))(?:");
    core_sb_add(&w, p, n);
    core_sb_adds(&w, ")((?s:.*))");
    r->first = model_regex_new_n(w.buf, w.len, &e);
    core_sb_reset(&w);
    core_sb_adds(&w, "(?s:.)(?s:(.*?))(?:");
    core_sb_add(&w, p, n);
    core_sb_adds(&w, ")((?s:.*))");
    r->next = model_regex_new_n(w.buf, w.len, &e);
    core_sb_destroy(&w);
    if (!r->first || !r->next) {
        core_sb_adds(msg, e.msg);
        sre_free(r);
        return -1;
    }
    return 0;
}

/* The leftmost match starting at or after `from`: ov gets 2 * (ngroups + 1)
 * offsets into s (whole match first). */
static bool sre_find(const search_re *r, const char *s, size_t n, size_t from, size_t *ov)
{
    size_t np = r->ngroups + 3;
    size_t *w = core_calloc(2 * np, sizeof *w);
    size_t base = 0;
    bool ok;
    if (from == 0) {
        ok = model_regex_exec(r->first, s, n, w, np);
    } else {
        base = from - 1;
        while (base > 0 && ((unsigned char)s[base] & 0xc0) == 0x80)
            base--;
        ok = model_regex_exec(r->next, s + base, n - base, w, np);
    }
    if (ok) {
        ov[0] = base + w[3];
        ov[1] = base + w[2 * (np - 1)];
        for (size_t g = 1; g <= r->ngroups; g++) {
            size_t a = w[2 * (g + 1)], b = w[2 * (g + 1) + 1];
            ov[2 * g] = a == MODEL_REGEX_UNSET ? a : base + a;
            ov[2 * g + 1] = b == MODEL_REGEX_UNSET ? b : base + b;
        }
    }
    free(w);
    return ok;
}

static int f_match(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    search_re r;
    if (sre_compile(a[0].u.s.p, a[0].u.s.n, &r, msg) < 0) return -1;
    size_t *ov = core_calloc(2 * (r.ngroups + 1), sizeof *ov);
    bool m = sre_find(&r, a[1].u.s.p, a[1].u.s.n, 0, ov);
    free(ov);
    sre_free(&r);
    *out = (tmpl_val){.k = TV_BOOL, .u.b = m};
    return 0;
}

static bool can_backquote(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '`' || (c < ' ' && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

static int f_re_replace_all(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    search_re r;
    core_sb err = CORE_SB_INIT;
    if (sre_compile(a[0].u.s.p, a[0].u.s.n, &r, &err) < 0) {
        core_sb_adds(msg, "regexp: Compile(");
        if (can_backquote(a[0].u.s.p, a[0].u.s.n)) {
            core_sb_addc(msg, '`');
            core_sb_add(msg, a[0].u.s.p, a[0].u.s.n);
            core_sb_addc(msg, '`');
        } else {
            core_sb_add_quoted(msg, a[0].u.s.p, a[0].u.s.n);
        }
        core_sb_adds(msg, "): ");
        core_sb_adds(msg, err.buf ? err.buf : "");
        core_sb_destroy(&err);
        return -1;
    }
    const char *repl = a[1].u.s.p, *src = a[2].u.s.p;
    size_t rn = a[1].u.s.n, end = a[2].u.s.n;
    size_t np = r.ngroups + 1;
    size_t *ov = core_calloc(2 * np, sizeof *ov);
    core_sb dst = CORE_SB_INIT;
    size_t last = 0, search = 0;
    while (search <= end) {
        if (!sre_find(&r, src, end, search, ov)) break;
        core_sb_add(&dst, src + last, ov[0] - last);
        if (ov[1] > last || ov[0] == 0) model_regex_expand(r.orig, repl, rn, src, ov, np, &dst);
        last = ov[1];
        size_t width = 0;
        if (search < end) {
            uint32_t rr;
            width = model_utf8_decode(src + search, end - search, &rr);
            if (width == 0) width = 1;
        }
        if (search + width > ov[1])
            search += width;
        else if (search + 1 > ov[1])
            search++;
        else
            search = ov[1];
    }
    core_sb_add(&dst, src + last, end - last);
    free(ov);
    sre_free(&r);
    *out = sb_out(x, &dst);
    return 0;
}

/* ---- The table */

static const tmpl_func FUNCS[] = {
    {"args", 0, {TP_ANY}, true, TP_ANY, f_args, false},
    {"externalURL", 0, {TP_ANY}, false, TP_ANY, f_external_url, false},
    {"first", 1, {TP_RESULT}, false, TP_ANY, f_first, false},
    {"graphLink", 1, {TP_STRING}, false, TP_ANY, f_graph_link, false},
    {"humanize", 1, {TP_ANY}, false, TP_ANY, f_humanize, false},
    {"humanize1024", 1, {TP_ANY}, false, TP_ANY, f_humanize1024, false},
    {"humanizeDuration", 1, {TP_ANY}, false, TP_ANY, f_humanize_duration, false},
    {"humanizePercentage", 1, {TP_ANY}, false, TP_ANY, f_humanize_percentage, false},
    {"humanizeTimestamp", 1, {TP_ANY}, false, TP_ANY, f_humanize_timestamp, false},
    {"label", 2, {TP_STRING, TP_SAMPLE}, false, TP_ANY, f_label, false},
    {"match", 2, {TP_STRING, TP_STRING}, false, TP_ANY, f_match, false},
    {"now", 0, {TP_ANY}, false, TP_ANY, f_now, false},
    {"parseDuration", 1, {TP_STRING}, false, TP_ANY, f_parse_duration, false},
    {"pathPrefix", 0, {TP_ANY}, false, TP_ANY, f_path_prefix, false},
    {"query", 1, {TP_STRING}, false, TP_ANY, f_query, false},
    {"reReplaceAll", 3, {TP_STRING, TP_STRING, TP_STRING}, false, TP_ANY, f_re_replace_all, false},
    {"safeHtml", 1, {TP_STRING}, false, TP_ANY, f_safe_html, false},
    {"sortByLabel", 2, {TP_STRING, TP_RESULT}, false, TP_ANY, f_sort_by_label, false},
    {"stripDomain", 1, {TP_STRING}, false, TP_ANY, f_strip_domain, false},
    {"stripPort", 1, {TP_STRING}, false, TP_ANY, f_strip_port, false},
    {"strvalue", 1, {TP_SAMPLE}, false, TP_ANY, f_strvalue, false},
    {"tableLink", 1, {TP_STRING}, false, TP_ANY, f_table_link, false},
    {"title", 1, {TP_STRING}, false, TP_ANY, f_title, false},
    {"tmpl", 2, {TP_STRING, TP_ANY}, false, TP_ANY, f_tmpl, true},
    {"toDuration", 1, {TP_ANY}, false, TP_ANY, f_to_duration, false},
    {"toLower", 1, {TP_STRING}, false, TP_ANY, f_to_lower, false},
    {"toTime", 1, {TP_ANY}, false, TP_ANY, f_to_time, false},
    {"toUpper", 1, {TP_STRING}, false, TP_ANY, f_to_upper, false},
    {"urlQueryEscape", 1, {TP_STRING}, false, TP_ANY, f_url_query_escape, false},
    {"value", 1, {TP_SAMPLE}, false, TP_ANY, f_value, false},
};

const tmpl_func *tmpl_prom_func(const char *name)
{
    for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
        if (strcmp(FUNCS[i].name, name) == 0) return &FUNCS[i];
    return NULL;
}

/* ---- The public API */

/* What upstream puts in front of every alert template. */
static const char ALERT_DEFS[] = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
                                 "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

struct rules_tmpl {
    tmpl_set set;
    char *name;
    char *text;
};

static uint64_t g_expansions, g_failures;

void rules_tmpl_counters(uint64_t *expansions, uint64_t *failures)
{
    *expansions = __atomic_load_n(&g_expansions, __ATOMIC_RELAXED);
    *failures = __atomic_load_n(&g_failures, __ATOMIC_RELAXED);
}

static rules_tmpl *tmpl_new(const char *name, const char *prefix, const char *text, bool html,
                            core_err *err)
{
    rules_tmpl *t = core_calloc(1, sizeof *t);
    t->name = core_strdup(name);
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, prefix);
    core_sb_adds(&sb, text);
    size_t len = sb.len;
    t->text = core_sb_detach(&sb, NULL);
    t->set.html = html;
    if (tmpl_parse(&t->set, t->name, t->text, len, err) < 0) {
        rules_tmpl_free(t);
        return NULL;
    }
    return t;
}

rules_tmpl *rules_tmpl_new_alert(const char *alert_name, const char *text, core_err *err)
{
    char *name = core_malloc(strlen(alert_name) + 9);
    sprintf(name, "__alert_%s", alert_name);
    rules_tmpl *t = tmpl_new(name, ALERT_DEFS, text, false, err);
    free(name);
    return t;
}

rules_tmpl *rules_tmpl_new(const char *name, const char *text, bool html, core_err *err)
{
    return tmpl_new(name, "", text, html, err);
}

void rules_tmpl_free(rules_tmpl *t)
{
    if (!t) return;
    tmpl_set_destroy(&t->set);
    free(t->name);
    free(t->text);
    free(t);
}

int rules_tmpl_check_alert(const char *alert_name, const char *text, core_err *err)
{
    rules_tmpl *t = rules_tmpl_new_alert(alert_name, text, err);
    if (!t) return -1;
    rules_tmpl_free(t);
    return 0;
}

/* Expands with `dot` as data; Expander.Expand's error wording. */
int rules_tmpl_expand_value(const rules_tmpl *t, const tmpl_val *dot, const rules_tmpl_opts *o,
                            core_sb *out, core_err *err)
{
    rules_tmpl_opts none = {0};
    if (!o) o = &none;
    core_arena arena = {0};
    core_sb buf = CORE_SB_INIT;
    core_err e = {{0}};
    __atomic_fetch_add(&g_expansions, 1, __ATOMIC_RELAXED);
    int rc = tmpl_execute(&t->set, dot, o, &arena, &buf, &e);
    if (rc < 0) {
        __atomic_fetch_add(&g_failures, 1, __ATOMIC_RELAXED);
        core_err_set(err, "error executing template %s: %s", t->name, e.msg);
    } else {
        core_sb_add(out, buf.buf ? buf.buf : "", buf.len);
    }
    core_sb_destroy(&buf);
    core_arena_destroy(&arena);
    return rc;
}

int rules_tmpl_expand_alert(const rules_tmpl *t, const rules_alert_data *d,
                            const rules_tmpl_opts *o, core_sb *out, core_err *err)
{
    core_labels *empty = core_labels_new(NULL, 0);
    tmpl_data data = {
        .labels = d->labels ? d->labels : empty,
        .external_labels = d->external_labels ? d->external_labels : empty,
        .external_url = d->external_url ? d->external_url : "",
        .value = d->value,
    };
    tmpl_val dot = {.k = TV_DATA, .u.data = &data};
    int rc = rules_tmpl_expand_value(t, &dot, o, out, err);
    free(empty);
    return rc;
}

void rules_tmpl_expand_or_error(const rules_tmpl *t, const rules_alert_data *d,
                                const rules_tmpl_opts *o, core_sb *out)
{
    core_err err = {{0}};
    if (rules_tmpl_expand_alert(t, d, o, out, &err) == 0) return;
    core_sb_adds(out, "<error expanding template: ");
    core_sb_adds(out, err.msg);
    core_sb_addc(out, '>');
    core_sb lbl = CORE_SB_INIT;
    if (d->labels) core_labels_format(d->labels, &lbl);
    core_warn("rule manager", "Expanding alert template failed", "err", err.msg, "labels",
              lbl.buf ? lbl.buf : "{}");
    core_sb_destroy(&lbl);
}
