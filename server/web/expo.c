/*
 * expo.c - exposition formats for /federate, as upstream's federation
 * handler writes them through prometheus/common's expfmt.
 *
 * Negotiation is expfmt.Negotiate: the Accept header's clauses, parsed and
 * ordered as goautoneg does (by q, then concrete types before wildcards,
 * with Go's insertion sort for the few clauses a header has), the first one
 * that is text/plain (version 0.0.4 or none) or protobuf with a known
 * encoding wins; anything else gets the text format.  OpenMetrics is never
 * chosen: federation uses Negotiate, not NegotiateIncludingOpenMetrics.  An
 * `escaping` parameter on any clause looked at on the way picks how names
 * that are not legacy names get escaped (underscores by default), and the
 * Content-Type says which.
 *
 * Writers.  Federation only writes untyped families of floats, so these
 * writers only know those:
 *   - text 0.0.4 (expfmt.MetricFamilyToText): "# TYPE name untyped" and a
 *     line per sample with its timestamp; a name that is not a legacy name
 *     (possible with escaping=allow-utf-8) goes quoted inside the braces;
 *   - protobuf, delimited: each MetricFamily message after its varint
 *     length, fields in number order as Go's marshaller writes them;
 *   - protobuf text and compact text: what Go's prototext writes for the
 *     message, multi-line with two-space indents, or on one line.  Go's
 *     protobuf text output is deliberately unstable (it may add a space
 *     after a colon to stop people depending on it), so these follow its
 *     stable form.
 */
#include "web/internal.h"

#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Negotiation */

typedef struct clause {
    const char *type, *subtype; /* arena copies */
    double q;
    const char *version, *proto, *encoding, *escaping; /* NULL when absent */
} clause;

static const char *trim(core_arena *a, const char *s, size_t n)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    return core_arena_strndup(a, s, n);
}

/* goautoneg.ParseAccept, unsorted; returns the count. */
static size_t parse_accept(const char *h, core_arena *a, clause **out)
{
    size_t cap = 1;
    for (const char *p = h; *p; p++)
        cap += *p == ',';
    clause *v = core_arena_calloc(a, cap, sizeof *v);
    size_t n = 0;
    const char *p = h;
    while (*p) {
        size_t plen = strcspn(p, ",");
        const char *part = trim(a, p, plen);
        p += plen + (p[plen] == ',');
        clause c = {.q = 1.0};
        size_t mlen = strcspn(part, ";");
        const char *media = core_arena_strndup(a, part, mlen);
        const char *params = part[mlen] ? part + mlen + 1 : NULL;
        const char *slash = strchr(media, '/');
        if (!slash) {
            c.type = trim(a, media, strlen(media));
            if (strcmp(c.type, "*") != 0) continue;
            c.subtype = "*";
        } else {
            if (strchr(slash + 1, '/')) continue;
            c.type = trim(a, media, (size_t)(slash - media));
            c.subtype = trim(a, slash + 1, strlen(slash + 1));
        }
        while (params && *params) {
            size_t len = strcspn(params, ";");
            const char *kv = core_arena_strndup(a, params, len);
            params += len + (params[len] == ';');
            const char *eq = strchr(kv, '=');
            if (!eq || strchr(eq + 1, '=')) continue;
            const char *key = trim(a, kv, (size_t)(eq - kv));
            const char *val = eq + 1;
            if (strcmp(key, "q") == 0) {
                char *end;
                double q = strtod(val, &end);
                c.q = (*val && !*end) ? (double)(float)q : 0;
                continue;
            }
            val = trim(a, val, strlen(val));
            if (strcmp(key, "version") == 0) c.version = val;
            if (strcmp(key, "proto") == 0) c.proto = val;
            if (strcmp(key, "encoding") == 0) c.encoding = val;
            if (strcmp(key, "escaping") == 0) c.escaping = val;
        }
        v[n++] = c;
    }
    *out = v;
    return n;
}

/* goautoneg's Less */
static bool before(const clause *a, const clause *b)
{
    if (a->q > b->q) return true;
    if (strcmp(a->type, "*") != 0 && strcmp(b->type, "*") == 0) return true;
    if (strcmp(a->subtype, "*") != 0 && strcmp(b->subtype, "*") == 0) return true;
    return false;
}

static bool escaping_named(const char *s, web_escaping *esc)
{
    static const char *const names[] = {"allow-utf-8", "underscores", "dots", "values"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *esc = (web_escaping)i;
            return true;
        }
    return false;
}

void web_expo_negotiate(const char *accept, web_expo_format *fmt, web_escaping *esc)
{
    *fmt = WEB_EXPO_TEXT;
    *esc = WEB_ESCAPE_UNDERSCORES;
    if (!accept) return;
    core_arena a;
    core_arena_init(&a, 0);
    clause *v;
    size_t n = parse_accept(accept, &a, &v);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && before(&v[j], &v[j - 1]); j--) {
            clause t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const clause *c = &v[i];
        if (c->escaping && c->escaping[0]) escaping_named(c->escaping, esc);
        if (strcmp(c->type, "application") == 0 && strcmp(c->subtype, "vnd.google.protobuf") == 0 &&
            c->proto && strcmp(c->proto, "io.prometheus.client.MetricFamily") == 0 && c->encoding) {
            if (strcmp(c->encoding, "delimited") == 0) {
                *fmt = WEB_EXPO_PROTO_DELIM;
                break;
            }
            if (strcmp(c->encoding, "text") == 0) {
                *fmt = WEB_EXPO_PROTO_TEXT;
                break;
            }
            if (strcmp(c->encoding, "compact-text") == 0) {
                *fmt = WEB_EXPO_PROTO_COMPACT;
                break;
            }
        }
        if (strcmp(c->type, "text") == 0 && strcmp(c->subtype, "plain") == 0 &&
            (!c->version || !c->version[0] || strcmp(c->version, "0.0.4") == 0))
            break;
    }
    core_arena_destroy(&a);
}

const char *web_expo_content_type(web_expo_format fmt, web_escaping esc)
{
#define PB "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding="
#define ESCAPINGS(base)                                                                       \
    {                                                                                         \
        base "; escaping=allow-utf-8", base "; escaping=underscores", base "; escaping=dots", \
            base "; escaping=values"                                                          \
    }
    static const char *const types[4][4] = {
        ESCAPINGS("text/plain; version=0.0.4; charset=utf-8"),
        ESCAPINGS(PB "delimited"),
        ESCAPINGS(PB "text"),
        ESCAPINGS(PB "compact-text"),
    };
#undef ESCAPINGS
#undef PB
    return types[fmt][esc];
}

/* ---- Names */

static bool legacy_rune(uint32_t r, size_t i)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_' || r == ':' ||
           (r >= '0' && r <= '9' && i > 0);
}

bool web_legacy_name(const char *name)
{
    return name[0] && core_metric_name_valid(name, strlen(name));
}

void web_escape_name(const char *name, web_escaping esc, core_sb *out)
{
    size_t n = strlen(name);
    if (n == 0 || esc == WEB_ESCAPE_NONE ||
        (esc != WEB_ESCAPE_DOTS && core_metric_name_valid(name, n))) {
        core_sb_add(out, name, n);
        return;
    }
    if (esc == WEB_ESCAPE_VALUES) core_sb_adds(out, "U__");
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = model_utf8_decode(name + i, n - i, &r);
        if (w == 0) w = 1, r = 0xFFFD;
        switch (esc) {
        case WEB_ESCAPE_UNDERSCORES:
            if (legacy_rune(r, i))
                core_sb_add(out, name + i, w);
            else
                core_sb_addc(out, '_');
            break;
        case WEB_ESCAPE_DOTS:
            if (r == '_')
                core_sb_adds(out, "__");
            else if (r == '.')
                core_sb_adds(out, "_dot_");
            else if (legacy_rune(r, i))
                core_sb_add(out, name + i, w);
            else
                core_sb_adds(out, "__");
            break;
        default: /* values */
            if (r == '_')
                core_sb_adds(out, "__");
            else if (legacy_rune(r, i))
                core_sb_add(out, name + i, w);
            else
                core_sb_addf(out, "_%x_", (unsigned)r);
        }
        i += w;
    }
}

/* A name after EscapeMetricFamily: escaped when it is not a legacy name. */
static const char *escaped(const char *name, web_escaping esc, core_sb *tmp)
{
    if (esc == WEB_ESCAPE_NONE || web_legacy_name(name)) return name;
    core_sb_reset(tmp);
    web_escape_name(name, esc, tmp);
    if (!tmp->buf) core_sb_adds(tmp, "");
    return tmp->buf;
}

/* ---- Text 0.0.4 */

void web_expo_float(core_sb *out, double v)
{
    if (v == 0) {
        core_sb_addc(out, '0');
        return;
    }
    char buf[MODEL_FLOAT_BUFSZ];
    core_sb_add(out, buf, model_format_float(v, buf));
}

/* expfmt's writeEscapedString with quotes escaped. */
static void text_escaped(core_sb *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            core_sb_adds(out, "\\\\");
        else if (*s == '\n')
            core_sb_adds(out, "\\n");
        else if (*s == '"')
            core_sb_adds(out, "\\\"");
        else
            core_sb_addc(out, *s);
    }
}

/* expfmt's writeName: as is when legacy, else quoted. */
static void text_name(core_sb *out, const char *name)
{
    if (web_legacy_name(name)) {
        core_sb_adds(out, name);
        return;
    }
    core_sb_addc(out, '"');
    text_escaped(out, name);
    core_sb_addc(out, '"');
}

static void text_family(core_sb *out, web_escaping esc, const char *name, const web_expo_sample *s,
                        size_t n)
{
    core_sb tmp = CORE_SB_INIT;
    core_sb nm = CORE_SB_INIT;
    core_sb_adds(&nm, escaped(name, esc, &tmp));
    bool inside = !web_legacy_name(nm.buf);
    core_sb_adds(out, "# TYPE ");
    text_name(out, nm.buf);
    core_sb_adds(out, " untyped\n");
    for (size_t i = 0; i < n; i++) {
        char sep = '{';
        if (inside) {
            core_sb_addc(out, '{');
            text_name(out, nm.buf);
            sep = ',';
        } else {
            core_sb_adds(out, nm.buf);
        }
        for (size_t l = 0; l < s[i].nlabels; l++) {
            core_sb_addc(out, sep);
            sep = ',';
            text_name(out, escaped(s[i].labels[l].name, esc, &tmp));
            core_sb_adds(out, "=\"");
            text_escaped(out, s[i].labels[l].value);
            core_sb_addc(out, '"');
        }
        if (sep == ',') core_sb_addc(out, '}');
        core_sb_addc(out, ' ');
        web_expo_float(out, s[i].value);
        core_sb_addc(out, ' ');
        core_sb_add_i64(out, s[i].t);
        core_sb_addc(out, '\n');
    }
    core_sb_destroy(&tmp);
    core_sb_destroy(&nm);
}

/* ---- Protobuf */

static void pb_varint(core_sb *out, uint64_t v)
{
    while (v >= 0x80) {
        core_sb_addc(out, (char)(v | 0x80));
        v >>= 7;
    }
    core_sb_addc(out, (char)v);
}

static void pb_bytes(core_sb *out, unsigned field, const char *p, size_t n)
{
    pb_varint(out, field << 3 | 2);
    pb_varint(out, n);
    core_sb_add(out, p, n);
}

static void pb_family(core_sb *out, web_escaping esc, const char *name, const web_expo_sample *s,
                      size_t n)
{
    core_sb tmp = CORE_SB_INIT, msg = CORE_SB_INIT, metric = CORE_SB_INIT, pair = CORE_SB_INIT;
    const char *nm = escaped(name, esc, &tmp);
    pb_bytes(&msg, 1, nm, strlen(nm));
    pb_varint(&msg, 3 << 3 | 0);
    pb_varint(&msg, 3); /* UNTYPED */
    for (size_t i = 0; i < n; i++) {
        core_sb_reset(&metric);
        for (size_t l = 0; l < s[i].nlabels; l++) {
            core_sb_reset(&pair);
            const char *ln = escaped(s[i].labels[l].name, esc, &tmp);
            pb_bytes(&pair, 1, ln, strlen(ln));
            pb_bytes(&pair, 2, s[i].labels[l].value, strlen(s[i].labels[l].value));
            pb_bytes(&metric, 1, pair.buf, pair.len);
        }
        unsigned char untyped[9] = {1 << 3 | 1};
        uint64_t bits;
        memcpy(&bits, &s[i].value, sizeof bits);
        for (int b = 0; b < 8; b++)
            untyped[1 + b] = (unsigned char)(bits >> (8 * b));
        pb_bytes(&metric, 5, (const char *)untyped, sizeof untyped);
        pb_varint(&metric, 6 << 3 | 0);
        pb_varint(&metric, (uint64_t)s[i].t);
        pb_bytes(&msg, 4, metric.buf, metric.len);
    }
    pb_varint(out, msg.len);
    core_sb_add(out, msg.buf, msg.len);
    core_sb_destroy(&tmp);
    core_sb_destroy(&msg);
    core_sb_destroy(&metric);
    core_sb_destroy(&pair);
}

/* prototext's string: quoted, with C-like escapes; bytes that are not
 * valid UTF-8 as \xNN. */
static void pt_string(core_sb *out, const char *s)
{
    core_sb_addc(out, '"');
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t r;
        size_t w = model_utf8_decode(s + i, n - i, &r);
        if (c >= 0x80 && (w == 0 || (r == 0xFFFD && w == 1))) {
            core_sb_addf(out, "\\x%02x", c);
            i++;
            continue;
        }
        switch (c) {
        case '"': core_sb_adds(out, "\\\""); break;
        case '\\': core_sb_adds(out, "\\\\"); break;
        case '\n': core_sb_adds(out, "\\n"); break;
        case '\r': core_sb_adds(out, "\\r"); break;
        case '\t': core_sb_adds(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                core_sb_addf(out, "\\x%02x", c);
            else
                core_sb_add(out, s + i, w ? w : 1);
        }
        i += w ? w : 1;
    }
    core_sb_addc(out, '"');
}

/* One field in prototext: multi-line with indents, or compact. */
typedef struct pt {
    core_sb *out;
    bool multi;
    int depth;
    bool first; /* compact: nothing written on this level yet */
} pt;

static void pt_field(pt *p, const char *key)
{
    if (p->multi) {
        for (int i = 0; i < p->depth; i++)
            core_sb_adds(p->out, "  ");
    } else if (!p->first) {
        core_sb_addc(p->out, ' ');
    }
    p->first = false;
    core_sb_adds(p->out, key);
    core_sb_adds(p->out, p->multi ? ": " : ":");
}

static void pt_end_field(pt *p)
{
    if (p->multi) core_sb_addc(p->out, '\n');
}

static void pt_open(pt *p, const char *key)
{
    pt_field(p, key);
    core_sb_adds(p->out, p->multi ? "{\n" : "{");
    p->depth++;
    p->first = true;
}

static void pt_close(pt *p)
{
    p->depth--;
    if (p->multi)
        for (int i = 0; i < p->depth; i++)
            core_sb_adds(p->out, "  ");
    core_sb_addc(p->out, '}');
    p->first = false;
    pt_end_field(p);
}

static void pt_double(core_sb *out, double v)
{
    if (isnan(v))
        core_sb_adds(out, "nan");
    else if (isinf(v))
        core_sb_adds(out, v > 0 ? "inf" : "-inf");
    else {
        char buf[MODEL_FLOAT_BUFSZ];
        core_sb_add(out, buf, model_format_float(v, buf));
    }
}

static void pt_family(core_sb *out, bool multi, web_escaping esc, const char *name,
                      const web_expo_sample *s, size_t n)
{
    core_sb tmp = CORE_SB_INIT;
    pt p = {out, multi, 0, true};
    pt_field(&p, "name");
    pt_string(out, escaped(name, esc, &tmp));
    pt_end_field(&p);
    pt_field(&p, "type");
    core_sb_adds(out, "UNTYPED");
    pt_end_field(&p);
    for (size_t i = 0; i < n; i++) {
        pt_open(&p, "metric");
        for (size_t l = 0; l < s[i].nlabels; l++) {
            pt_open(&p, "label");
            pt_field(&p, "name");
            pt_string(out, escaped(s[i].labels[l].name, esc, &tmp));
            pt_end_field(&p);
            pt_field(&p, "value");
            pt_string(out, s[i].labels[l].value);
            pt_end_field(&p);
            pt_close(&p);
        }
        pt_open(&p, "untyped");
        pt_field(&p, "value");
        pt_double(out, s[i].value);
        pt_end_field(&p);
        pt_close(&p);
        pt_field(&p, "timestamp_ms");
        core_sb_add_i64(out, s[i].t);
        pt_end_field(&p);
        pt_close(&p);
    }
    /* fmt.Fprintln after the message text */
    core_sb_addc(out, '\n');
    core_sb_destroy(&tmp);
}

void web_expo_family(core_sb *out, web_expo_format fmt, web_escaping esc, const char *name,
                     const web_expo_sample *s, size_t n)
{
    switch (fmt) {
    case WEB_EXPO_PROTO_DELIM: pb_family(out, esc, name, s, n); break;
    case WEB_EXPO_PROTO_TEXT: pt_family(out, true, esc, name, s, n); break;
    case WEB_EXPO_PROTO_COMPACT: pt_family(out, false, esc, name, s, n); break;
    default: text_family(out, esc, name, s, n);
    }
}
