/*
 * template_fmt.c - Go's fmt as templates see it: how an action prints a value
 * (fmt.Fprint), print/println (Sprint/Sprintln), printf (Sprintf with its
 * verbs, flags, width and precision, and its "%!d(string=x)" complaints),
 * plus time.Time's String and Format, time.Duration's String and the
 * escapers of text/template and net/url.
 *
 * Numbers: %v of a float64 is strconv's shortest 'g' form (model_format_float),
 * so {{ $value }} prints 1.234567e+06 as Prometheus does; %e, %f and %g with a
 * precision go through C's printf, which rounds the same way as Go's strconv;
 * NaN and infinities are spelt Go's way (NaN, +Inf, -Inf).  Composite values
 * (maps, the alert data struct, query results) print with the verb applied to
 * their elements, as fmt does.  Pointers nested in a value print as hex
 * addresses, which differ from Go's but carry no meaning there either.
 *
 * Times are UTC only: Prometheus's templates only make times with toTime,
 * which are UTC.
 */
#include "rules/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- Type names */

const char *tmpl_type_name(const tmpl_val *v)
{
    switch (v->k) {
    case TV_INVALID: return "<nil>";
    case TV_BOOL: return "bool";
    case TV_INT: return "int";
    case TV_INT64: return "int64";
    case TV_UINT64: return "uint64";
    case TV_FLOAT: return "float64";
    case TV_STRING: return "string";
    case TV_HTML: return "template.HTML";
    case TV_STRMAP: return "map[string]string";
    case TV_ANYMAP: return "map[string]interface {}";
    case TV_DATA:
        return "struct { Labels map[string]string; ExternalLabels map[string]string; "
               "ExternalURL string; Value interface {} }";
    case TV_SAMPLE: return "*template.sample";
    case TV_RESULT: return "template.queryResult";
    case TV_TIME: return "*time.Time";
    case TV_DURATION: return "*time.Duration";
    case TV_DURVAL: return "time.Duration";
    case TV_LIST: return v->u.list.type ? v->u.list.type : "[]interface {}";
    }
    return "?";
}

/* ---- The formatter state (fmt's pp and fmt structs) */

typedef struct fmtst {
    core_sb *out;
    bool minus, plus, sharp, space, zero;
    bool plus_v, sharp_v;
    bool wid_present, prec_present;
    int wid, prec;
} fmtst;

static size_t rune_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = model_utf8_decode(s + i, n - i, &r);
        i += w ? w : 1;
        c++;
    }
    return c;
}

static void write_padding(fmtst *f, size_t n, bool zero)
{
    for (size_t i = 0; i < n; i++)
        core_sb_addc(f->out, zero ? '0' : ' ');
}

/* f.pad: the text padded to the width, on the left unless minus. */
static void pad(fmtst *f, const char *s, size_t n)
{
    if (!f->wid_present || f->wid == 0) {
        core_sb_add(f->out, s, n);
        return;
    }
    size_t w = rune_count(s, n);
    size_t fill = (size_t)f->wid > w ? (size_t)f->wid - w : 0;
    if (!f->minus) {
        write_padding(f, fill, f->zero);
        core_sb_add(f->out, s, n);
    } else {
        core_sb_add(f->out, s, n);
        write_padding(f, fill, false);
    }
}

static void pads(fmtst *f, const char *s)
{
    pad(f, s, strlen(s));
}

/* ---- Integers */

static void fmt_integer(fmtst *f, uint64_t u, bool neg, int base, char verb, const char *digits)
{
    char buf[200];
    size_t i = sizeof buf;
    int prec = 0;
    bool have_prec = false;
    if (f->prec_present) {
        prec = f->prec;
        have_prec = true;
        if (prec == 0 && u == 0) {
            bool oldzero = f->zero;
            f->zero = false;
            write_padding(f, f->wid_present ? (size_t)f->wid : 0, false);
            f->zero = oldzero;
            return;
        }
    } else if (f->zero && f->wid_present && !f->minus) {
        prec = f->wid;
        have_prec = true;
        if (neg || f->plus || f->space) prec--;
    }
    if (prec > 120) prec = 120;
    do {
        buf[--i] = digits[u % (uint64_t)base];
        u /= (uint64_t)base;
    } while (u > 0);
    while (have_prec && (int)(sizeof buf - i) < prec)
        buf[--i] = '0';
    if (f->sharp) {
        switch (base) {
        case 2:
            buf[--i] = 'b';
            buf[--i] = '0';
            break;
        case 8:
            if (buf[i] != '0') buf[--i] = '0';
            break;
        case 16:
            buf[--i] = verb == 'X' ? 'X' : 'x';
            buf[--i] = '0';
            break;
        }
    }
    if (verb == 'O') {
        buf[--i] = 'o';
        buf[--i] = '0';
    }
    if (neg)
        buf[--i] = '-';
    else if (f->plus)
        buf[--i] = '+';
    else if (f->space)
        buf[--i] = ' ';
    bool oldzero = f->zero;
    f->zero = false;
    pad(f, buf + i, sizeof buf - i);
    f->zero = oldzero;
}

static void add_rune(core_sb *sb, uint32_t u)
{
    if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) u = 0xfffd;
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

static void bad_verb(fmtst *f, char verb, const tmpl_val *v);
static void fmt_value(fmtst *f, const tmpl_val *v, char verb, int depth);

static void fmt_int_verb(fmtst *f, const tmpl_val *v, char verb)
{
    bool neg = false;
    uint64_t u;
    if (v->k == TV_UINT64) {
        u = v->u.u;
    } else {
        int64_t i = v->u.i;
        neg = i < 0;
        u = neg ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    }
    switch (verb) {
    case 'v':
    case 'd': fmt_integer(f, u, neg, 10, verb, "0123456789"); return;
    case 'b': fmt_integer(f, u, neg, 2, verb, "01"); return;
    case 'o':
    case 'O': fmt_integer(f, u, neg, 8, verb, "01234567"); return;
    case 'x': fmt_integer(f, u, neg, 16, verb, "0123456789abcdef"); return;
    case 'X': fmt_integer(f, u, neg, 16, verb, "0123456789ABCDEF"); return;
    case 'c': {
        core_sb s = CORE_SB_INIT;
        add_rune(&s, neg || u > 0x10ffff ? 0xfffd : (uint32_t)u);
        pad(f, s.buf, s.len);
        core_sb_destroy(&s);
        return;
    }
    case 'q': {
        core_sb r = CORE_SB_INIT, s = CORE_SB_INIT;
        add_rune(&r, neg || u > 0x10ffff ? 0xfffd : (uint32_t)u);
        core_sb_add_quoted(&s, r.buf, r.len);
        /* a rune literal: single quotes, a double quote needs no escape */
        core_sb q = CORE_SB_INIT;
        core_sb_addc(&q, '\'');
        for (size_t i = 1; i + 1 < s.len; i++) {
            if (s.buf[i] == '\\' && s.buf[i + 1] == '"') continue;
            if (s.buf[i] == '\'') core_sb_addc(&q, '\\');
            core_sb_addc(&q, s.buf[i]);
        }
        core_sb_addc(&q, '\'');
        pad(f, q.buf, q.len);
        core_sb_destroy(&r);
        core_sb_destroy(&s);
        core_sb_destroy(&q);
        return;
    }
    case 'U': {
        char b[64];
        snprintf(b, sizeof b, "U+%04llX", (unsigned long long)u);
        if (f->sharp && u <= 0x10ffff) {
            core_sb s = CORE_SB_INIT;
            core_sb_adds(&s, b);
            core_sb_adds(&s, " '");
            add_rune(&s, (uint32_t)u);
            core_sb_addc(&s, '\'');
            pad(f, s.buf, s.len);
            core_sb_destroy(&s);
            return;
        }
        pads(f, b);
        return;
    }
    default: bad_verb(f, verb, v);
    }
}

/* ---- Floats */

static void fmt_float(fmtst *f, double v, char verb, int prec)
{
    if (f->prec_present) prec = f->prec;
    char num[460];
    if (isnan(v) || isinf(v)) {
        const char *s = isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
        char b[8];
        if (isnan(v)) {
            snprintf(b, sizeof b, "%s%s", f->plus ? "+" : f->space ? " " : "", s);
        } else {
            snprintf(b, sizeof b, "%s", s);
            if (f->space && v > 0 && !f->plus) b[0] = ' ';
        }
        bool oldzero = f->zero;
        f->zero = false;
        pads(f, b);
        f->zero = oldzero;
        return;
    }
    char body[400];
    if (prec < 0 && (verb == 'g' || verb == 'G')) {
        char b[MODEL_FLOAT_BUFSZ];
        model_format_float(v, b);
        snprintf(body, sizeof body, "%s", b);
        if (verb == 'G')
            for (char *c = body; *c; c++)
                if (*c == 'e') *c = 'E';
    } else if (verb == 'x' || verb == 'X') {
        char b[128];
        if (prec >= 0)
            snprintf(b, sizeof b, verb == 'x' ? "%.*a" : "%.*A", prec, v);
        else
            snprintf(b, sizeof b, verb == 'x' ? "%a" : "%A", v);
        /* Go writes at least two exponent digits */
        char *p = strpbrk(b, "pP");
        if (p && (p[1] == '+' || p[1] == '-') && p[2] && !p[3])
            snprintf(body, sizeof body, "%.*s0%s", (int)(p - b + 2), b, p + 2);
        else
            snprintf(body, sizeof body, "%s", b);
    } else {
        if (prec < 0) prec = 6;
        if (prec > 300) prec = 300;
        switch (verb) {
        case 'e': snprintf(body, sizeof body, "%.*e", prec, v); break;
        case 'E': snprintf(body, sizeof body, "%.*E", prec, v); break;
        case 'g': snprintf(body, sizeof body, "%.*g", prec, v); break;
        case 'G': snprintf(body, sizeof body, "%.*G", prec, v); break;
        default: snprintf(body, sizeof body, "%.*f", prec, v); break;
        }
    }
    const char *digits = body;
    bool neg = false;
    if (*digits == '-') {
        neg = true;
        digits++;
    }
    snprintf(num, sizeof num, "%c%s", neg ? '-' : '+', digits);
    if (f->space && num[0] == '+' && !f->plus) num[0] = ' ';
    if (f->sharp && verb != 'b' && !strchr(num, '.') && verb != 'x' && verb != 'X') {
        /* force a decimal point */
        char *e = strpbrk(num, "eE");
        char tmp[sizeof num + 2];
        if (e)
            snprintf(tmp, sizeof tmp, "%.*s.%s", (int)(e - num), num, e);
        else
            snprintf(tmp, sizeof tmp, "%s.", num);
        size_t tl = strlen(tmp);
        if (tl >= sizeof num) tl = sizeof num - 1;
        memcpy(num, tmp, tl);
        num[tl] = '\0';
    }
    size_t len = strlen(num);
    if (f->plus || num[0] != '+') {
        if (f->zero && !f->minus && f->wid_present && (size_t)f->wid > len) {
            core_sb_addc(f->out, num[0]);
            write_padding(f, (size_t)f->wid - len, true);
            core_sb_add(f->out, num + 1, len - 1);
            return;
        }
        pad(f, num, len);
        return;
    }
    pad(f, num + 1, len - 1);
}

/* ---- Strings */

static void fmt_string(fmtst *f, const char *s, size_t n, char verb)
{
    switch (verb) {
    case 'v':
    case 's': {
        if (f->prec_present) {
            size_t i = 0, runes = 0;
            while (i < n && runes < (size_t)f->prec) {
                uint32_t r;
                size_t w = model_utf8_decode(s + i, n - i, &r);
                i += w ? w : 1;
                runes++;
            }
            n = i;
        }
        pad(f, s, n);
        return;
    }
    case 'q': {
        core_sb q = CORE_SB_INIT;
        bool back = f->sharp && memchr(s, '`', n) == NULL;
        for (size_t i = 0; back && i < n; i++)
            if ((unsigned char)s[i] < ' ' && s[i] != '\t') back = false;
        if (back) {
            core_sb_addc(&q, '`');
            core_sb_add(&q, s, n);
            core_sb_addc(&q, '`');
        } else {
            core_sb_add_quoted(&q, s, n);
        }
        pad(f, q.buf, q.len);
        core_sb_destroy(&q);
        return;
    }
    case 'x':
    case 'X': {
        const char *hex = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        core_sb h = CORE_SB_INIT;
        size_t len = n;
        if (f->prec_present && (size_t)f->prec < len) len = (size_t)f->prec;
        for (size_t i = 0; i < len; i++) {
            if (f->space && i > 0) core_sb_addc(&h, ' ');
            if (f->sharp && (f->space || i == 0)) {
                core_sb_addc(&h, '0');
                core_sb_addc(&h, verb);
            }
            unsigned char c = (unsigned char)s[i];
            core_sb_addc(&h, hex[c >> 4]);
            core_sb_addc(&h, hex[c & 15]);
        }
        pad(f, h.buf ? h.buf : "", h.len);
        core_sb_destroy(&h);
        return;
    }
    default: {
        tmpl_val v = {.k = TV_STRING, .u.s = {s, n}};
        bad_verb(f, verb, &v);
    }
    }
}

/* ---- Values */

static void bad_verb(fmtst *f, char verb, const tmpl_val *v)
{
    core_sb_adds(f->out, "%!");
    core_sb_addc(f->out, verb);
    core_sb_addc(f->out, '(');
    if (v->k == TV_INVALID) {
        core_sb_adds(f->out, "<nil>");
    } else {
        core_sb_adds(f->out, tmpl_type_name(v));
        core_sb_addc(f->out, '=');
        fmtst g = {.out = f->out};
        fmt_value(&g, v, 'v', 0);
    }
    core_sb_addc(f->out, ')');
}

static void fmt_labels(fmtst *f, const core_labels *ls, char verb)
{
    core_sb_adds(f->out, "map[");
    for (size_t i = 0; ls && i < ls->len; i++) {
        if (i) core_sb_addc(f->out, ' ');
        fmt_string(f, ls->v[i].name, strlen(ls->v[i].name), verb);
        core_sb_addc(f->out, ':');
        fmt_string(f, ls->v[i].value, strlen(ls->v[i].value), verb);
    }
    core_sb_addc(f->out, ']');
}

static void fmt_pointer(fmtst *f, const void *p)
{
    char b[32];
    if (!p)
        snprintf(b, sizeof b, "<nil>");
    else
        snprintf(b, sizeof b, "0x%llx", (unsigned long long)(uintptr_t)p);
    pads(f, b);
}

static void fmt_stringer(fmtst *f, const tmpl_val *v, char verb)
{
    core_sb s = CORE_SB_INIT;
    if (v->k == TV_TIME)
        tmpl_time_string(v->u.ns, &s);
    else
        core_sb_add_go_duration(&s, v->k == TV_DURVAL ? v->u.i : v->u.ns);
    fmt_string(f, s.buf ? s.buf : "", s.len, verb);
    core_sb_destroy(&s);
}

static void fmt_value(fmtst *f, const tmpl_val *v, char verb, int depth)
{
    if (verb == 'T') {
        fmt_string(f, tmpl_type_name(v), strlen(tmpl_type_name(v)), 's');
        return;
    }
    switch (v->k) {
    case TV_INVALID:
        if (verb == 'v')
            pads(f, "<nil>");
        else
            bad_verb(f, verb, v);
        return;
    case TV_BOOL:
        if (verb == 'v' || verb == 't')
            pads(f, v->u.b ? "true" : "false");
        else
            bad_verb(f, verb, v);
        return;
    case TV_INT:
    case TV_INT64:
    case TV_UINT64: fmt_int_verb(f, v, verb); return;
    case TV_DURVAL:
        if (verb == 'v' || verb == 's' || verb == 'x' || verb == 'X' || verb == 'q') {
            fmt_stringer(f, v, verb);
            return;
        }
        fmt_int_verb(f, v, verb);
        return;
    case TV_FLOAT:
        switch (verb) {
        case 'v': fmt_float(f, v->u.f, 'g', -1); return;
        case 'b':
        case 'g':
        case 'G':
        case 'x':
        case 'X': fmt_float(f, v->u.f, verb, -1); return;
        case 'f':
        case 'e':
        case 'E':
        case 'F': fmt_float(f, v->u.f, verb, 6); return;
        default: bad_verb(f, verb, v); return;
        }
    case TV_STRING:
    case TV_HTML: fmt_string(f, v->u.s.p, v->u.s.n, verb); return;
    case TV_STRMAP: fmt_labels(f, v->u.map, verb); return;
    case TV_ANYMAP:
        core_sb_adds(f->out, "map[");
        for (size_t i = 0; v->u.amap && i < v->u.amap->n; i++) {
            if (i) core_sb_addc(f->out, ' ');
            fmt_string(f, v->u.amap->keys[i], strlen(v->u.amap->keys[i]), verb);
            core_sb_addc(f->out, ':');
            fmt_value(f, &v->u.amap->vals[i], verb, depth + 1);
        }
        core_sb_addc(f->out, ']');
        return;
    case TV_DATA: {
        const tmpl_data *d = v->u.data;
        core_sb_addc(f->out, '{');
        if (f->plus_v) core_sb_adds(f->out, "Labels:");
        fmt_labels(f, d->labels, verb);
        core_sb_addc(f->out, ' ');
        if (f->plus_v) core_sb_adds(f->out, "ExternalLabels:");
        fmt_labels(f, d->external_labels, verb);
        core_sb_addc(f->out, ' ');
        if (f->plus_v) core_sb_adds(f->out, "ExternalURL:");
        fmt_string(f, d->external_url, strlen(d->external_url), verb);
        core_sb_addc(f->out, ' ');
        if (f->plus_v) core_sb_adds(f->out, "Value:");
        tmpl_val fv = {.k = TV_FLOAT, .u.f = d->value};
        fmt_value(f, &fv, verb, depth + 1);
        core_sb_addc(f->out, '}');
        return;
    }
    case TV_SAMPLE:
        if (!v->u.sample || depth > 0) {
            fmt_pointer(f, v->u.sample);
            return;
        }
        core_sb_adds(f->out, "&{");
        if (f->plus_v) core_sb_adds(f->out, "Labels:");
        fmt_labels(f, v->u.sample->labels, verb);
        core_sb_addc(f->out, ' ');
        if (f->plus_v) core_sb_adds(f->out, "Value:");
        {
            tmpl_val fv = {.k = TV_FLOAT, .u.f = v->u.sample->value};
            fmt_value(f, &fv, verb, depth + 1);
        }
        core_sb_addc(f->out, '}');
        return;
    case TV_RESULT:
        core_sb_addc(f->out, '[');
        for (size_t i = 0; i < v->u.res.n; i++) {
            if (i) core_sb_addc(f->out, ' ');
            fmt_pointer(f, v->u.res.v[i]);
        }
        core_sb_addc(f->out, ']');
        return;
    case TV_TIME:
    case TV_DURATION:
        if (verb == 'v' || verb == 's' || verb == 'x' || verb == 'X' || verb == 'q') {
            fmt_stringer(f, v, verb);
            return;
        }
        bad_verb(f, verb, v);
        return;
    case TV_LIST:
        core_sb_addc(f->out, '[');
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i) core_sb_addc(f->out, ' ');
            fmt_value(f, &v->u.list.v[i], verb, depth + 1);
        }
        core_sb_addc(f->out, ']');
        return;
    }
}

void tmpl_print_value(const tmpl_val *v, core_sb *out)
{
    fmtst f = {.out = out};
    switch (v->k) {
    case TV_INVALID: core_sb_adds(out, "<no value>"); return;
    case TV_SAMPLE:
        if (v->u.sample) {
            /* printableValue follows the pointer: the struct prints bare */
            core_sb_addc(out, '{');
            fmt_labels(&f, v->u.sample->labels, 'v');
            core_sb_addc(out, ' ');
            tmpl_val fv = {.k = TV_FLOAT, .u.f = v->u.sample->value};
            fmt_value(&f, &fv, 'v', 1);
            core_sb_addc(out, '}');
            return;
        }
        core_sb_adds(out, "<nil>");
        return;
    default: fmt_value(&f, v, 'v', 0);
    }
}

void tmpl_sprint(const tmpl_val *v, size_t n, bool ln, core_sb *out)
{
    fmtst f = {.out = out};
    for (size_t i = 0; i < n; i++) {
        bool is_str = v[i].k == TV_STRING || v[i].k == TV_HTML;
        bool prev_str = i > 0 && (v[i - 1].k == TV_STRING || v[i - 1].k == TV_HTML);
        if (i > 0 && (ln || (!is_str && !prev_str))) core_sb_addc(out, ' ');
        fmt_value(&f, &v[i], 'v', 0);
    }
    if (ln) core_sb_addc(out, '\n');
}

static bool parse_num(const char *s, size_t n, size_t *i, int *out)
{
    if (*i >= n || s[*i] < '0' || s[*i] > '9') return false;
    int v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (v < 1000000) v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return true;
}

static bool int_from_arg(const tmpl_val *a, size_t na, size_t *argn, int *out)
{
    if (*argn >= na) return false;
    const tmpl_val *v = &a[*argn];
    (*argn)++;
    if (v->k == TV_INT || v->k == TV_INT64) {
        if (v->u.i > 1000000 || v->u.i < -1000000) return false;
        *out = (int)v->u.i;
        return true;
    }
    if (v->k == TV_UINT64) {
        if (v->u.u > 1000000) return false;
        *out = (int)v->u.u;
        return true;
    }
    return false;
}

void tmpl_sprintf(const char *s, size_t n, const tmpl_val *a, size_t na, core_sb *out)
{
    size_t argn = 0;
    bool reordered = false;
    size_t i = 0;
    while (i < n) {
        size_t lasti = i;
        while (i < n && s[i] != '%')
            i++;
        if (i > lasti) core_sb_add(out, s + lasti, i - lasti);
        if (i >= n) break;
        i++;
        fmtst f = {.out = out};
        for (; i < n; i++) {
            char c = s[i];
            if (c == '#')
                f.sharp = true;
            else if (c == '0')
                f.zero = !f.minus;
            else if (c == '+')
                f.plus = true;
            else if (c == '-') {
                f.minus = true;
                f.zero = false;
            } else if (c == ' ')
                f.space = true;
            else
                break;
        }
        /* [n] argument index */
        bool bad_index = false;
        if (i < n && s[i] == '[') {
            size_t j = i + 1;
            int idx;
            if (parse_num(s, n, &j, &idx) && j < n && s[j] == ']' && idx >= 1) {
                argn = (size_t)idx - 1;
                reordered = true;
                i = j + 1;
            } else {
                bad_index = true;
                while (i < n && s[i] != ']')
                    i++;
                if (i < n) i++;
            }
        }
        if (i < n && s[i] == '*') {
            i++;
            if (!int_from_arg(a, na, &argn, &f.wid)) {
                core_sb_adds(out, "%!(BADWIDTH)");
            } else {
                f.wid_present = true;
                if (f.wid < 0) {
                    f.wid = -f.wid;
                    f.minus = true;
                    f.zero = false;
                }
            }
        } else {
            f.wid_present = parse_num(s, n, &i, &f.wid);
        }
        if (i + 1 <= n && i < n && s[i] == '.') {
            i++;
            if (i < n && s[i] == '*') {
                i++;
                if (!int_from_arg(a, na, &argn, &f.prec)) {
                    core_sb_adds(out, "%!(BADPREC)");
                } else {
                    f.prec_present = f.prec >= 0;
                    if (f.prec < 0) f.prec = 0;
                }
            } else {
                f.prec_present = true;
                if (!parse_num(s, n, &i, &f.prec)) f.prec = 0;
            }
        }
        if (i >= n) {
            core_sb_adds(out, "%!(NOVERB)");
            break;
        }
        uint32_t verb;
        size_t w = model_utf8_decode(s + i, n - i, &verb);
        if (w == 0) {
            w = 1;
            verb = 0xfffd;
        }
        i += w;
        char vc = verb < 0x80 ? (char)verb : '?';
        if (verb == '%') {
            core_sb_addc(out, '%');
            continue;
        }
        if (bad_index) {
            core_sb_adds(out, "%!");
            core_sb_addc(out, vc);
            core_sb_adds(out, "(BADINDEX)");
            continue;
        }
        if (argn >= na) {
            core_sb_adds(out, "%!");
            add_rune(out, verb);
            core_sb_adds(out, "(MISSING)");
            continue;
        }
        if (vc == 'v') {
            f.sharp_v = f.sharp;
            f.sharp = false;
            f.plus_v = f.plus;
            f.plus = false;
        }
        if (verb >= 0x80) {
            core_sb_adds(out, "%!");
            add_rune(out, verb);
            core_sb_addc(out, '(');
            core_sb_adds(out, tmpl_type_name(&a[argn]));
            core_sb_addc(out, '=');
            fmtst g = {.out = out};
            fmt_value(&g, &a[argn], 'v', 0);
            core_sb_addc(out, ')');
            argn++;
            continue;
        }
        fmt_value(&f, &a[argn], vc, 0);
        argn++;
    }
    if (!reordered && argn < na) {
        core_sb_adds(out, "%!(EXTRA ");
        for (size_t k = argn; k < na; k++) {
            if (k > argn) core_sb_adds(out, ", ");
            if (a[k].k == TV_INVALID) {
                core_sb_adds(out, "<nil>");
                continue;
            }
            core_sb_adds(out, tmpl_type_name(&a[k]));
            core_sb_addc(out, '=');
            fmtst g = {.out = out};
            fmt_value(&g, &a[k], 'v', 0);
        }
        core_sb_addc(out, ')');
    }
}

/* ---- Times */

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

typedef struct civil {
    int64_t year;
    int month, day, hour, min, sec, yday, wday;
    int64_t nsec;
} civil;

static civil to_civil(int64_t ns)
{
    civil c;
    int64_t secs = fdiv(ns, 1000000000);
    c.nsec = ns - secs * 1000000000;
    int64_t days = fdiv(secs, 86400);
    int64_t sod = secs - days * 86400;
    c.hour = (int)(sod / 3600);
    c.min = (int)(sod / 60 % 60);
    c.sec = (int)(sod % 60);
    c.wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = fdiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    if (c.month <= 2) y++;
    c.year = y;
    static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    c.yday = cum[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
    return c;
}

static void add_int(core_sb *out, int64_t v, int width, char padc)
{
    char b[32];
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while ((int)(sizeof b - i) < width)
        b[--i] = padc;
    if (neg) core_sb_addc(out, '-');
    core_sb_add(out, b + i, sizeof b - i);
}

static void add_frac(core_sb *out, int64_t nsec, int digits, bool trim, char sep)
{
    char b[10];
    int64_t v = nsec;
    for (int i = 8; i >= 0; i--) {
        b[i] = (char)('0' + v % 10);
        v /= 10;
    }
    int n = digits;
    if (trim) {
        while (n > 0 && b[n - 1] == '0')
            n--;
        if (n == 0) return;
    }
    core_sb_addc(out, sep);
    core_sb_add(out, b, (size_t)n);
}

void tmpl_time_string(int64_t ns, core_sb *out)
{
    tmpl_time_format(ns, "2006-01-02 15:04:05.999999999 -0700 MST", 39, out);
}

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const DAYS[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};

static bool starts(const char *s, size_t n, size_t i, const char *p)
{
    size_t k = strlen(p);
    return i + k <= n && memcmp(s + i, p, k) == 0;
}

void tmpl_time_format(int64_t ns, const char *l, size_t n, core_sb *out)
{
    civil c = to_civil(ns);
    int h12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
    size_t i = 0;
    while (i < n) {
        char ch = l[i];
        switch (ch) {
        case 'J':
            if (starts(l, n, i, "January")) {
                core_sb_adds(out, MONTHS[c.month - 1]);
                i += 7;
                continue;
            }
            if (starts(l, n, i, "Jan")) {
                core_sb_add(out, MONTHS[c.month - 1], 3);
                i += 3;
                continue;
            }
            break;
        case 'M':
            if (starts(l, n, i, "Monday")) {
                core_sb_adds(out, DAYS[c.wday]);
                i += 6;
                continue;
            }
            if (starts(l, n, i, "Mon")) {
                core_sb_add(out, DAYS[c.wday], 3);
                i += 3;
                continue;
            }
            if (starts(l, n, i, "MST")) {
                core_sb_adds(out, "UTC");
                i += 3;
                continue;
            }
            break;
        case '0':
            if (starts(l, n, i, "002")) {
                add_int(out, c.yday, 3, '0');
                i += 3;
                continue;
            }
            if (i + 1 < n && l[i + 1] >= '1' && l[i + 1] <= '6') {
                switch (l[i + 1]) {
                case '1': add_int(out, c.month, 2, '0'); break;
                case '2': add_int(out, c.day, 2, '0'); break;
                case '3': add_int(out, h12, 2, '0'); break;
                case '4': add_int(out, c.min, 2, '0'); break;
                case '5': add_int(out, c.sec, 2, '0'); break;
                case '6': add_int(out, ((c.year % 100) + 100) % 100, 2, '0'); break;
                }
                i += 2;
                continue;
            }
            break;
        case '1':
            if (starts(l, n, i, "15")) {
                add_int(out, c.hour, 2, '0');
                i += 2;
                continue;
            }
            add_int(out, c.month, 0, '0');
            i++;
            continue;
        case '2':
            if (starts(l, n, i, "2006")) {
                add_int(out, c.year, 4, '0');
                i += 4;
                continue;
            }
            add_int(out, c.day, 0, '0');
            i++;
            continue;
        case '_':
            if (starts(l, n, i, "_2")) {
                if (starts(l, n, i + 1, "2006")) {
                    core_sb_addc(out, '_');
                    i++;
                    continue;
                }
                add_int(out, c.day, 2, ' ');
                i += 2;
                continue;
            }
            if (starts(l, n, i, "__2")) {
                add_int(out, c.yday, 3, ' ');
                i += 3;
                continue;
            }
            break;
        case '3':
            add_int(out, h12, 0, '0');
            i++;
            continue;
        case '4':
            add_int(out, c.min, 0, '0');
            i++;
            continue;
        case '5':
            add_int(out, c.sec, 0, '0');
            i++;
            continue;
        case 'P':
            if (starts(l, n, i, "PM")) {
                core_sb_adds(out, c.hour >= 12 ? "PM" : "AM");
                i += 2;
                continue;
            }
            break;
        case 'p':
            if (starts(l, n, i, "pm")) {
                core_sb_adds(out, c.hour >= 12 ? "pm" : "am");
                i += 2;
                continue;
            }
            break;
        case '-':
        case 'Z': {
            static const char *const zones[] = {"070000", "07:00:00", "0700", "07:00", "07"};
            static const char *const offs[] = {"+000000", "+00:00:00", "+0000", "+00:00", "+00"};
            bool done = false;
            for (size_t z = 0; z < 5 && !done; z++)
                if (starts(l, n, i + 1, zones[z])) {
                    core_sb_adds(out, ch == 'Z' ? "Z" : offs[z]);
                    i += 1 + strlen(zones[z]);
                    done = true;
                }
            if (done) continue;
            break;
        }
        case '.':
        case ',':
            if (i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
                char d = l[i + 1];
                size_t j = i + 1;
                while (j < n && l[j] == d)
                    j++;
                if (j >= n || l[j] < '0' || l[j] > '9') {
                    int digits = (int)(j - i - 1);
                    if (digits > 9) digits = 9;
                    add_frac(out, c.nsec, digits, d == '9', ch);
                    i = j;
                    continue;
                }
            }
            break;
        default: break;
        }
        core_sb_addc(out, ch);
        i++;
    }
}

/* ---- Escapers */

void tmpl_query_escape(const char *s, size_t n, core_sb *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            core_sb_addc(out, (char)c);
        } else if (c == ' ') {
            core_sb_addc(out, '+');
        } else {
            core_sb_addc(out, '%');
            core_sb_addc(out, hex[c >> 4]);
            core_sb_addc(out, hex[c & 15]);
        }
    }
}

void tmpl_html_escape(const char *s, size_t n, core_sb *out)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '"': core_sb_adds(out, "&#34;"); break;
        case '\'': core_sb_adds(out, "&#39;"); break;
        case '&': core_sb_adds(out, "&amp;"); break;
        case '<': core_sb_adds(out, "&lt;"); break;
        case '>': core_sb_adds(out, "&gt;"); break;
        default: core_sb_addc(out, s[i]);
        }
    }
}

void tmpl_html_text_escape(const char *s, size_t n, core_sb *out)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\0': core_sb_adds(out, "\xef\xbf\xbd"); break;
        case '+': core_sb_adds(out, "&#43;"); break;
        case '"': core_sb_adds(out, "&#34;"); break;
        case '\'': core_sb_adds(out, "&#39;"); break;
        case '&': core_sb_adds(out, "&amp;"); break;
        case '<': core_sb_adds(out, "&lt;"); break;
        case '>': core_sb_adds(out, "&gt;"); break;
        default: core_sb_addc(out, s[i]);
        }
    }
}

void tmpl_js_escape(const char *s, size_t n, core_sb *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '\\': core_sb_adds(out, "\\\\"); break;
            case '\'': core_sb_adds(out, "\\'"); break;
            case '"': core_sb_adds(out, "\\\""); break;
            case '<': core_sb_adds(out, "\\u003C"); break;
            case '>': core_sb_adds(out, "\\u003E"); break;
            case '&': core_sb_adds(out, "\\u0026"); break;
            case '=': core_sb_adds(out, "\\u003D"); break;
            default:
                if (c < ' ') {
                    core_sb_adds(out, "\\u00");
                    core_sb_addc(out, hex[c >> 4]);
                    core_sb_addc(out, hex[c & 15]);
                } else {
                    core_sb_addc(out, (char)c);
                }
            }
            i++;
            continue;
        }
        uint32_t r;
        size_t w = model_utf8_decode(s + i, n - i, &r);
        if (w == 0) {
            core_sb_adds(out, "\\uFFFD");
            i++;
            continue;
        }
        bool printable =
            !(r >= 0x80 && r < 0xa0) && r != 0xad && r != 0x2028 && r != 0x2029 && r != 0xfeff;
        if (printable)
            core_sb_add(out, s + i, w);
        else
            core_sb_addf(out, "\\u%04X", (unsigned)r);
        i += w;
    }
}
