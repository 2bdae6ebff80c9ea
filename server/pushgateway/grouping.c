/*
 * grouping.c - the grouping key of a push URL.
 *
 * A push goes to /metrics/job/<job>{/<label>/<value>}; a name suffixed with
 * @base64 (job@base64 too) marks its value as URL-safe base64, which is how a
 * value with a '/' or an empty value travels.  The rules are upstream's
 * (handler/push.go splitLabels and decodeBase64):
 *   - the components after the job must pair up: "odd number of components
 *     in label string";
 *   - a label name must be a legacy label name and not start with "__":
 *     "improper label name";
 *   - base64 is RFC 4648's URL alphabet, trailing '=' ignored, no padding
 *     required; "=" alone is the empty value;
 *   - a later label of the same name wins, and the job always wins over a
 *     label called job;
 *   - an empty job (only possible through base64) is "job name is required".
 * Beyond upstream, a value with a NUL byte or invalid UTF-8 is refused here
 * (upstream refuses invalid UTF-8 later, in its consistency check).
 */
#include "pushgateway/pushgateway.h"

#include <stdlib.h>
#include <string.h>

/* ---- Base64 (URL alphabet) */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int pgw_base64_decode(const char *s, size_t n, core_sb *out, core_err *err)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    uint32_t acc = 0;
    int bits = 0;
    size_t quantum = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') continue;
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) return core_err_set(err, "illegal base64 data at input byte %zu", i);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        quantum++;
        last = i;
        if (bits >= 8) {
            bits -= 8;
            core_sb_addc(out, (char)((acc >> bits) & 0xff));
        }
    }
    /* A last group of one character carries no whole byte. */
    if (quantum % 4 == 1) return core_err_set(err, "illegal base64 data at input byte %zu", last);
    return 0;
}

void pgw_base64_encode(const char *s, size_t n, core_sb *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (n == 0) {
        core_sb_addc(out, '=');
        return;
    }
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | (unsigned char)s[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            core_sb_addc(out, alphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) core_sb_addc(out, alphabet[(acc << (6 - bits)) & 63]);
}

/* ---- Validity of values */

static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

static int check_value(const char *name, const char *v, size_t n, core_err *err)
{
    if (memchr(v, '\0', n) != NULL)
        return core_err_set(err, "label %s has a value with a NUL byte", name);
    if (!utf8_valid((const unsigned char *)v, n))
        return core_err_set(err, "label %s has a value that is not valid UTF-8", name);
    return 0;
}

/* ---- The path */

typedef struct pairs {
    core_label *v;
    size_t n, cap;
    core_arena arena;
} pairs;

/* Sets name=value, a later value replacing an earlier one. */
static void pairs_set(pairs *p, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    char *nm = core_arena_strndup(&p->arena, name, name_len);
    char *val = core_arena_strndup(&p->arena, value, value_len);
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, nm) == 0) {
            p->v[i].value = val;
            return;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->v = core_reallocarray(p->v, p->cap, sizeof *p->v);
    }
    p->v[p->n++] = (core_label){nm, val};
}

/* Decodes one value (base64 or not) into the pairs. */
static int add_pair(pairs *p, const char *name, size_t name_len, bool b64, const char *value,
                    size_t value_len, core_err *err)
{
    core_sb dec = CORE_SB_INIT;
    int rc = 0;
    char nm[256];
    snprintf(nm, sizeof nm, "%.*s", (int)(name_len < 200 ? name_len : 200), name);
    if (b64) {
        core_err e;
        if (pgw_base64_decode(value, value_len, &dec, &e) < 0) {
            rc = core_err_set(err, "invalid base64 encoding for label %s=\"%.*s\": %s", nm,
                              (int)(value_len < 200 ? value_len : 200), value, e.msg);
            goto out;
        }
        value = dec.buf != NULL ? dec.buf : "";
        value_len = dec.len;
    }
    if ((rc = check_value(nm, value, value_len, err)) == 0)
        pairs_set(p, name, name_len, value, value_len);
out:
    core_sb_destroy(&dec);
    return rc;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t sl = strlen(suffix);
    return n >= sl && memcmp(s + n - sl, suffix, sl) == 0;
}

/* One "name/value" component pair; `name` may end in @base64. */
static int add_component(pairs *p, const char *name, size_t nl, const char *value, size_t vl,
                         core_err *err)
{
    bool b64 = has_suffix(name, nl, "@base64");
    size_t tl = b64 ? nl - 7 : nl;
    if (!core_label_name_valid(name, tl) || (tl >= 2 && name[0] == '_' && name[1] == '_'))
        return core_err_set(err, "improper label name \"%.*s\"", (int)(tl < 200 ? tl : 200), name);
    return add_pair(p, name, tl, b64, value, vl, err);
}

/* Splits "/a/b/c/d" into pairs as upstream's splitLabels. */
static int split_labels(pairs *p, const char *labels, core_err *err)
{
    size_t len = strlen(labels);
    if (len <= 1) return 0;
    size_t n_comp = 1;
    for (size_t i = 1; i < len; i++)
        n_comp += labels[i] == '/';
    if (n_comp % 2 != 0)
        return core_err_set(err, "odd number of components in label string \"%s\"", labels);
    const char *s = labels + 1;
    for (size_t k = 0; k < n_comp; k += 2) {
        const char *slash = strchr(s, '/');
        const char *value = slash + 1, *end = strchr(value, '/');
        size_t vl = end != NULL ? (size_t)(end - value) : strlen(value);
        if (add_component(p, s, (size_t)(slash - s), value, vl, err) < 0) return -1;
        s = end != NULL ? end + 1 : value + vl;
    }
    return 0;
}

static int parse_job(pairs *p, const char *job, size_t jl, bool b64, core_err *err)
{
    if (!b64) return add_pair(p, "job", 3, false, job, jl, err);
    core_sb dec = CORE_SB_INIT;
    core_err e;
    int rc = 0;
    if (pgw_base64_decode(job, jl, &dec, &e) < 0)
        rc = core_err_set(err, "invalid base64 encoding in job name \"%.*s\": %s",
                          (int)(jl < 200 ? jl : 200), job, e.msg);
    else if (dec.len == 0)
        rc = core_err_set(err, "job name is required");
    else
        rc = add_pair(p, "job", 3, false, dec.buf, dec.len, err);
    core_sb_destroy(&dec);
    return rc;
}

core_labels *pgw_grouping_parse(const char *path, core_err *err)
{
    bool b64 = strncmp(path, "job@base64/", 11) == 0;
    if (!b64 && strncmp(path, "job/", 4) != 0)
        return core_err_set(err, "not a push path: \"%s\"", path), NULL;
    const char *job = path + (b64 ? 11 : 4);
    const char *slash = strchr(job, '/');
    size_t jl = slash != NULL ? (size_t)(slash - job) : strlen(job);
    pairs p = {0};
    core_arena_init(&p.arena, 0);
    core_labels *ls = NULL;
    /* Upstream's order: the job's base64, the labels, then the empty job. */
    core_err job_err;
    pairs jp = {0};
    core_arena_init(&jp.arena, 0);
    int job_rc = parse_job(&jp, job, jl, b64, &job_err);
    if (job_rc < 0 && strncmp(job_err.msg, "invalid base64", 14) == 0) {
        core_err_set(err, "%s", job_err.msg);
    } else if (split_labels(&p, slash != NULL ? slash : "", err) == 0) {
        if (job_rc < 0) {
            core_err_set(err, "%s", job_err.msg);
        } else {
            pairs_set(&p, "job", 3, jp.v[0].value, strlen(jp.v[0].value));
            ls = core_labels_new(p.v, p.n);
        }
    }
    free(jp.v);
    core_arena_destroy(&jp.arena);
    free(p.v);
    core_arena_destroy(&p.arena);
    return ls;
}

char *pgw_grouping_key(const core_labels *ls)
{
    core_sb sb = CORE_SB_INIT;
    for (size_t i = 0; i < ls->len; i++) {
        core_sb_adds(&sb, ls->v[i].name);
        core_sb_addc(&sb, '\xff');
        core_sb_adds(&sb, ls->v[i].value);
        core_sb_addc(&sb, '\xff');
    }
    return core_sb_detach(&sb, NULL);
}
