/*
 * decode.c - the decoding context and the scalar decoders every part of the
 * loader uses.
 *
 * They wrap core/yaml.h's typed decoders with yaml.v2's rule for nulls: a key
 * written without a value (or with null / ~) sets its field to the zero value
 * of the field's type, whatever the default was.  Strings are copied into the
 * config's arena, since the YAML document is freed once loading is done.
 *
 * Also here, each written after the Go function whose behaviour it copies:
 * units.ParseBase2Bytes for sizes, filepath.Join for relative paths,
 * os.Expand for external labels, strconv.Quote for messages.
 */
#include "config/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int dec_fail(dec *d, const ynode *at, const char *fmt, ...)
{
    char msg[CORE_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_yaml_errorf(d->doc, at, d->err, "%s", msg);
}

size_t dec_pairs(const ynode *map)
{
    return map != NULL && map->kind == CORE_YAML_MAP ? map->n : 0;
}

const char *dec_key(const ynode *map, size_t i)
{
    const ynode *k = map->items[2 * i];
    return k->kind == CORE_YAML_SCALAR ? k->value : "";
}

const ynode *dec_keynode(const ynode *map, size_t i)
{
    return map->items[2 * i];
}

const ynode *dec_val(const ynode *map, size_t i)
{
    return map->items[2 * i + 1];
}

int dec_check(dec *d, const ynode *map, const char *const allowed[], const char *what)
{
    return core_yaml_check_keys(d->doc, map, allowed, what, d->err);
}

/* yaml.v2 decodes a !!binary scalar into a string as its base64 payload. */
static int binary(dec *d, const ynode *n, const char **out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = core_arena_alloc(d->a, n->len + 1);
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->value[i];
        if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        const char *p = strchr(alpha, c);
        if (p == NULL || c == '\0')
            return dec_fail(d, n, "!!binary value contains invalid base64 data");
        acc = (acc << 6) | (uint32_t)(p - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[w++] = (char)((acc >> bits) & 0xFF);
        }
    }
    o[w] = '\0';
    *out = o;
    return 0;
}

int dec_str(dec *d, const ynode *n, const char *what, const char **out)
{
    if (n != NULL && n->kind == CORE_YAML_SCALAR && n->tag != NULL &&
        strcmp(n->tag, "!!binary") == 0)
        return binary(d, n, out);
    const char *s;
    if (core_yaml_str(d->doc, n, what, &s, d->err) < 0) return -1;
    *out = core_arena_strndup(d->a, s, n != NULL && !core_yaml_is_null(n) ? n->len : strlen(s));
    return 0;
}

int dec_opt_str(dec *d, const ynode *n, const char *what, const char **out)
{
    if (dec_str(d, n, what, out) < 0) return -1;
    if ((*out)[0] == '\0') *out = NULL;
    return 0;
}

int dec_bool(dec *d, const ynode *n, const char *what, bool *out)
{
    if (core_yaml_is_null(n)) {
        *out = false;
        return 0;
    }
    return core_yaml_bool(d->doc, n, what, out, d->err);
}

int dec_int(dec *d, const ynode *n, const char *what, int64_t *out)
{
    if (core_yaml_is_null(n)) {
        *out = 0;
        return 0;
    }
    return core_yaml_int64(d->doc, n, what, out, d->err);
}

int dec_uint(dec *d, const ynode *n, const char *what, uint64_t *out)
{
    int64_t v;
    if (dec_int(d, n, what, &v) < 0) return -1;
    if (v < 0)
        return dec_fail(d, n, "cannot unmarshal %s into an unsigned integer for %s", n->value,
                        what);
    *out = (uint64_t)v;
    return 0;
}

int dec_double(dec *d, const ynode *n, const char *what, double *out)
{
    if (core_yaml_is_null(n)) {
        *out = 0;
        return 0;
    }
    return core_yaml_double(d->doc, n, what, out, d->err);
}

int dec_duration(dec *d, const ynode *n, const char *what, int64_t *ms)
{
    if (core_yaml_is_null(n)) {
        *ms = 0;
        return 0;
    }
    return core_yaml_duration(d->doc, n, what, ms, d->err);
}

/* ---- Sizes: alecthomas/units ParseUnit over the base-2 byte units */

static int unit_value(const char *u, size_t n, bool old, double *v)
{
    static const char prefixes[] = "KMGTPE";
    if (n == 1 && u[0] == 'B') {
        *v = 1;
        return 0;
    }
    const char *suffix = old ? "B" : "iB";
    size_t sl = strlen(suffix);
    if (n != 1 + sl || memcmp(u + 1, suffix, sl) != 0) return -1;
    const char *p = strchr(prefixes, u[0]);
    if (p == NULL || u[0] == '\0') return -1;
    double m = 1;
    for (const char *q = prefixes; q <= p; q++)
        m *= 1024;
    *v = m;
    return 0;
}

/* One attempt of ParseUnit with one unit map; the message as units writes it. */
static int parse_unit(const char *orig, bool old, int64_t *out, char *msg, size_t msgsz)
{
    const char *s = orig;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0') {
        snprintf(msg, msgsz, "units: invalid %s", orig);
        return -1;
    }
    double f = 0;
    while (*s != '\0') {
        if (!(*s == '.' || (*s >= '0' && *s <= '9'))) {
            snprintf(msg, msgsz, "units: invalid %s", orig);
            return -1;
        }
        double g = 0;
        bool pre = false, post = false;
        int64_t x = 0;
        for (; *s >= '0' && *s <= '9'; s++, pre = true) {
            if (x >= (INT64_MAX - 10) / 10) {
                snprintf(msg, msgsz, "units: invalid %s", orig);
                return -1;
            }
            x = x * 10 + (*s - '0');
        }
        g = (double)x;
        if (*s == '.') {
            s++;
            double scale = 1;
            x = 0;
            for (; *s >= '0' && *s <= '9'; s++, post = true) {
                if (x >= (INT64_MAX - 10) / 10) {
                    snprintf(msg, msgsz, "units: invalid %s", orig);
                    return -1;
                }
                x = x * 10 + (*s - '0');
                scale *= 10;
            }
            g += (double)x / scale;
        }
        if (!pre && !post) {
            snprintf(msg, msgsz, "units: invalid %s", orig);
            return -1;
        }
        const char *u = s;
        while (*s != '\0' && *s != '.' && !(*s >= '0' && *s <= '9'))
            s++;
        double unit;
        if (unit_value(u, (size_t)(s - u), old, &unit) < 0) {
            snprintf(msg, msgsz, "units: unknown unit %.*s in %s", (int)(s - u), u, orig);
            return -1;
        }
        f += g * unit;
    }
    if (neg) f = -f;
    if (f < -9223372036854775808.0 || f >= 9223372036854775808.0) {
        snprintf(msg, msgsz, "units: overflow parsing unit");
        return -1;
    }
    *out = (int64_t)f;
    return 0;
}

int dec_bytes(dec *d, const ynode *n, const char *what, int64_t *out)
{
    if (core_yaml_is_null(n)) {
        *out = 0;
        return 0;
    }
    if (n->kind != CORE_YAML_SCALAR) return dec_fail(d, n, "expected a size for %s", what);
    char msg[256];
    if (parse_unit(n->value, false, out, msg, sizeof msg) == 0) return 0;
    if (parse_unit(n->value, true, out, msg, sizeof msg) == 0) return 0;
    return dec_fail(d, n, "%s", msg);
}

void cfg_format_bytes(int64_t n, core_sb *out)
{
    static const char *const units[] = {"", "K", "M", "G", "T", "P", "E"};
    char parts[7][32];
    int np = 0;
    bool neg = n < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    for (int i = 0; i < 7; i++) {
        if (v % 1024 != 0 || (i == 0 && v == 0))
            snprintf(parts[np++], sizeof parts[0], "%s%llu%s%s", neg ? "-" : "",
                     (unsigned long long)(v % 1024), units[i], i == 0 ? "B" : "iB");
        v /= 1024;
        if (v == 0) break;
    }
    for (int i = np - 1; i >= 0; i--)
        core_sb_adds(out, parts[i]);
}

int dec_seq(dec *d, const ynode *n, const char *what, size_t *count)
{
    if (core_yaml_is_null(n)) {
        *count = 0;
        return 0;
    }
    if (n->kind != CORE_YAML_SEQ)
        return dec_fail(d, n, "expected a sequence for %s, got %s", what,
                        n->kind == CORE_YAML_MAP ? "a mapping" : "a scalar");
    *count = n->n;
    return 0;
}

int dec_strs(dec *d, const ynode *n, const char *what, cfg_strs *out)
{
    size_t cnt;
    if (dec_seq(d, n, what, &cnt) < 0) return -1;
    out->n = cnt;
    out->v = cnt ? core_arena_calloc(d->a, cnt, sizeof *out->v) : NULL;
    for (size_t i = 0; i < cnt; i++)
        if (dec_str(d, n->items[i], what, &out->v[i]) < 0) return -1;
    return 0;
}

int dec_kvs(dec *d, const ynode *n, const char *what, cfg_kvs *out)
{
    memset(out, 0, sizeof *out);
    if (core_yaml_is_null(n)) return 0;
    if (n->kind != CORE_YAML_MAP)
        return dec_fail(d, n, "expected a mapping for %s, got %s", what,
                        n->kind == CORE_YAML_SEQ ? "a sequence" : "a scalar");
    out->n = n->n;
    out->v = core_arena_calloc(d->a, n->n + 1, sizeof *out->v);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *k = dec_keynode(n, i);
        if (k->kind != CORE_YAML_SCALAR) return dec_fail(d, k, "expected a scalar key in %s", what);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->v[j].key, k->value) == 0)
                return dec_fail(d, k, "mapping key %s already defined at line %d in %s",
                                dec_quote(d, k->value), n->items[2 * j]->line, what);
        if (dec_str(d, k, what, &out->v[i].key) < 0) return -1;
        if (dec_str(d, dec_val(n, i), what, &out->v[i].value) < 0) return -1;
    }
    return 0;
}

/* ---- Paths: Go's filepath.Join / Clean */

static char *clean_path(core_arena *a, const char *p)
{
    size_t n = strlen(p);
    bool rooted = n > 0 && p[0] == '/';
    char *out = core_arena_alloc(a, n + 2);
    size_t w = 0, r = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0) out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
            for (; r < n && p[r] != '/'; r++)
                out[w++] = p[r];
        }
    }
    if (w == 0) out[w++] = '.';
    out[w] = '\0';
    return out;
}

const char *dec_path(dec *d, const char *path)
{
    if (path == NULL || path[0] == '\0' || path[0] == '/' || d->dir == NULL) return path;
    char *joined = core_arena_sprintf(d->a, "%s/%s", d->dir, path);
    return clean_path(d->a, joined);
}

void dec_join_paths(dec *d, cfg_strs *paths)
{
    for (size_t i = 0; i < paths->n; i++)
        paths->v[i] = dec_path(d, paths->v[i]);
}

/* ---- os.Expand */

static bool shell_special(char c)
{
    return c == '*' || c == '#' || c == '$' || c == '@' || c == '!' || c == '?' || c == '-' ||
           (c >= '0' && c <= '9');
}

static bool alnum_(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Go's getShellName: the name after '$' and the bytes it takes. */
static size_t shell_name(const char *s, const char **name, size_t *nlen)
{
    *name = s;
    *nlen = 0;
    if (s[0] == '{') {
        if (s[1] != '\0' && shell_special(s[1]) && s[2] == '}') {
            *name = s + 1;
            *nlen = 1;
            return 3;
        }
        for (size_t i = 1; s[i] != '\0'; i++) {
            if (s[i] == '}') {
                if (i == 1) return 2; /* "${}": eaten */
                *name = s + 1;
                *nlen = i - 1;
                return i + 1;
            }
        }
        return 1; /* "${": eaten */
    }
    if (shell_special(s[0])) {
        *nlen = 1;
        return 1;
    }
    size_t i = 0;
    while (alnum_(s[i]))
        i++;
    *nlen = i;
    return i;
}

char *dec_expand_env(core_arena *a, const char *s)
{
    core_sb out = CORE_SB_INIT;
    size_t i = 0, j = 0, n = strlen(s);
    for (; j < n; j++) {
        if (s[j] != '$' || j + 1 >= n) continue;
        core_sb_add(&out, s + i, j - i);
        const char *name;
        size_t nlen;
        size_t w = shell_name(s + j + 1, &name, &nlen);
        if (nlen == 0 && w > 0) {
            /* bad syntax: the characters are eaten */
        } else if (nlen == 0) {
            core_sb_addc(&out, '$');
        } else if (nlen == 1 && name[0] == '$') {
            core_sb_addc(&out, '$');
        } else {
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)nlen, name);
            const char *v = getenv(key);
            if (v != NULL) core_sb_adds(&out, v);
        }
        j += w;
        i = j + 1;
    }
    if (i < n) core_sb_add(&out, s + i, n - i);
    char *r = core_arena_strndup(a, out.buf != NULL ? out.buf : "", out.len);
    core_sb_destroy(&out);
    return r;
}

/* ---- Quoting as Go's strconv.Quote */

void cfg_quote(core_sb *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    core_sb_addc(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t r;
            size_t k = model_utf8_decode(s + i, n - i, &r);
            if (k == 0) {
                core_sb_adds(out, "\\x");
                core_sb_addc(out, hex[c >> 4]);
                core_sb_addc(out, hex[c & 15]);
                i++;
            } else {
                core_sb_add(out, s + i, k);
                i += k;
            }
            continue;
        }
        switch (c) {
        case '"': core_sb_adds(out, "\\\""); break;
        case '\\': core_sb_adds(out, "\\\\"); break;
        case '\n': core_sb_adds(out, "\\n"); break;
        case '\t': core_sb_adds(out, "\\t"); break;
        case '\r': core_sb_adds(out, "\\r"); break;
        case '\a': core_sb_adds(out, "\\a"); break;
        case '\b': core_sb_adds(out, "\\b"); break;
        case '\f': core_sb_adds(out, "\\f"); break;
        case '\v': core_sb_adds(out, "\\v"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                core_sb_adds(out, "\\x");
                core_sb_addc(out, hex[c >> 4]);
                core_sb_addc(out, hex[c & 15]);
            } else {
                core_sb_addc(out, (char)c);
            }
        }
        i++;
    }
    core_sb_addc(out, '"');
}

const char *dec_quote(dec *d, const char *s)
{
    core_sb q = CORE_SB_INIT;
    cfg_quote(&q, s, strlen(s));
    const char *r = core_arena_strndup(d->a, q.buf, q.len);
    core_sb_destroy(&q);
    return r;
}
