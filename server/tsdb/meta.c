/*
 * meta.c - a block's meta.json (upstream tsdb/block.go: BlockMeta,
 * readMetaFile, writeMetaFile), ULIDs, and the atomic file replacement that
 * meta.json and tombstones share.
 *
 * Reading goes through jansson and then mirrors Go's encoding/json decoding
 * into the BlockMeta struct: a key matches a field exactly or, failing that,
 * case-insensitively; unknown keys are ignored; null leaves a field at zero;
 * a number must be an integer that fits the field (jansson rejects integers
 * beyond int64, so uint64 stats are limited to 2^63 - 1 here); a ULID is a
 * 26-character string.  The version must be 1, as readMetaFile demands.  Any
 * error names the file and the field ("meta.json: compaction.sources[2]: ...").
 *
 * Writing cannot go through jansson's dumper, which indents with spaces:
 * upstream's json.MarshalIndent(meta, "", "\t") output is reproduced by hand,
 * field for field in struct order, omitempty fields left out when zero (the
 * stats object itself is always written, "{}" when empty), strings escaped as
 * Go escapes them (<, >, & and U+2028/2029 as \uXXXX), no final newline.
 * Then written to meta.json.tmp, fsynced, renamed and the directory fsynced.
 */
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Atomic replacement */

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tsdb_replace_file(const char *dir, const char *name, const void *p, size_t len, core_err *err)
{
    core_sb path = CORE_SB_INIT, tmp = CORE_SB_INIT;
    core_sb_addf(&path, "%s/%s", dir, name);
    core_sb_addf(&tmp, "%s/%s.tmp", dir, name);
    int rc = -1;
    int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        core_err_set(err, "create %s: %s", tmp.buf, strerror(errno));
        goto out;
    }
    if (write_all(fd, p, len) < 0 || fsync(fd) < 0) {
        core_err_set(err, "write %s: %s", tmp.buf, strerror(errno));
        close(fd);
        unlink(tmp.buf);
        goto out;
    }
    if (close(fd) < 0) {
        core_err_set(err, "close %s: %s", tmp.buf, strerror(errno));
        unlink(tmp.buf);
        goto out;
    }
    if (rename(tmp.buf, path.buf) < 0) {
        core_err_set(err, "rename %s to %s: %s", tmp.buf, path.buf, strerror(errno));
        unlink(tmp.buf);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        core_err_set(err, "sync directory %s: %s", dir, strerror(errno));
        if (dfd >= 0) close(dfd);
        goto out;
    }
    close(dfd);
    rc = 0;
out:
    core_sb_destroy(&path);
    core_sb_destroy(&tmp);
    return rc;
}

/* ---- ULIDs */

static const char ulid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int ulid_digit(char c)
{
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    for (int i = 0; i < 32; i++)
        if (ulid_alphabet[i] == c) return i;
    return -1;
}

int tsdb_ulid_parse(const char *s, size_t len, tsdb_ulid *out, core_err *err)
{
    if (len != TSDB_ULID_LEN)
        return core_err_set(err, "ULID of %zu characters, want %d", len, TSDB_ULID_LEN);
    /* 26 digits of 5 bits are 130 bits: the first digit holds the top 3. */
    uint8_t b[16] = {0};
    for (size_t i = 0; i < len; i++) {
        int d = ulid_digit(s[i]);
        if (d < 0) return core_err_set(err, "invalid character in ULID \"%.26s\"", s);
        if (i == 0 && d > 7) return core_err_set(err, "ULID \"%.26s\" overflows 128 bits", s);
        /* b = b << 5 | d over 128 bits */
        unsigned carry = (unsigned)d;
        for (int k = 15; k >= 0; k--) {
            unsigned v = (unsigned)b[k] << 5 | carry;
            b[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    memcpy(out->b, b, 16);
    return 0;
}

void tsdb_ulid_format(const tsdb_ulid *u, char out[TSDB_ULID_LEN + 1])
{
    /* Digit i (from the right) is bits 5i .. 5i+4 of the 128-bit value. */
    for (int i = 0; i < TSDB_ULID_LEN; i++) {
        unsigned bit = 5u * (unsigned)i, v = 0;
        for (unsigned k = 0; k < 5 && bit + k < 128; k++) {
            unsigned pos = bit + k; /* from the least significant bit */
            unsigned byte = 15 - pos / 8;
            v |= (unsigned)(u->b[byte] >> (pos % 8) & 1) << k;
        }
        out[TSDB_ULID_LEN - 1 - i] = ulid_alphabet[v];
    }
    out[TSDB_ULID_LEN] = 0;
}

/* ---- Reading */

void tsdb_block_meta_destroy(tsdb_block_meta *m)
{
    free(m->sources);
    free(m->parents);
    for (size_t i = 0; i < m->nhints; i++)
        free(m->hints[i]);
    free(m->hints);
    memset(m, 0, sizeof(*m));
}

/* What a parse error names: the file and the field path. */
typedef struct ctx {
    const char *what;
    core_err *err;
} ctx;

static int fail(const ctx *c, const char *field, const char *fmt, const char *detail)
{
    return core_err_set(c->err, "%s: %s: %s%s", c->what, field, fmt, detail ? detail : "");
}

/* Go's field lookup: an exact key, else the first case-insensitive one. */
static json_t *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v) return v;
    const char *k;
    json_object_foreach(obj, k, v) if (!strcasecmp(k, key)) return v;
    return NULL;
}

static int get_i64(const ctx *c, json_t *obj, const char *key, const char *path, int64_t *out)
{
    json_t *v = field(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return fail(c, path, "not an integer", NULL);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_u64(const ctx *c, json_t *obj, const char *key, const char *path, uint64_t *out)
{
    int64_t v = 0;
    if (get_i64(c, obj, key, path, &v) < 0) return -1;
    if (v < 0) return fail(c, path, "negative", NULL);
    *out = (uint64_t)v;
    return 0;
}

static int get_bool(const ctx *c, json_t *obj, const char *key, const char *path, bool *out)
{
    json_t *v = field(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return fail(c, path, "not a boolean", NULL);
    *out = json_is_true(v);
    return 0;
}

static int ulid_of(const ctx *c, json_t *v, const char *path, tsdb_ulid *out)
{
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return fail(c, path, "not a string", NULL);
    core_err e = {{0}};
    if (tsdb_ulid_parse(json_string_value(v), json_string_length(v), out, &e) < 0)
        return fail(c, path, "", e.msg);
    return 0;
}

/* An array field: NULL (absent or null) is fine, anything but an array not. */
static int get_array(const ctx *c, json_t *obj, const char *key, const char *path, json_t **out)
{
    json_t *v = field(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return fail(c, path, "not an array", NULL);
    *out = v;
    return 0;
}

static int parse_stats(const ctx *c, json_t *st, tsdb_block_stats *s)
{
    if (!st || json_is_null(st)) return 0;
    if (!json_is_object(st)) return fail(c, "stats", "not an object", NULL);
    if (get_u64(c, st, "numSamples", "stats.numSamples", &s->num_samples) < 0 ||
        get_u64(c, st, "numFloatSamples", "stats.numFloatSamples", &s->num_float_samples) < 0 ||
        get_u64(c, st, "numHistogramSamples", "stats.numHistogramSamples",
                &s->num_histogram_samples) < 0 ||
        get_u64(c, st, "numSeries", "stats.numSeries", &s->num_series) < 0 ||
        get_u64(c, st, "numChunks", "stats.numChunks", &s->num_chunks) < 0 ||
        get_u64(c, st, "numTombstones", "stats.numTombstones", &s->num_tombstones) < 0)
        return -1;
    return 0;
}

static int parse_parents(const ctx *c, json_t *arr, tsdb_block_meta *m)
{
    char path[64];
    size_t n = json_array_size(arr);
    m->parents = n ? core_calloc(n, sizeof(*m->parents)) : NULL;
    m->nparents = n;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        if (json_is_null(p)) continue;
        snprintf(path, sizeof(path), "compaction.parents[%zu]", i);
        if (!json_is_object(p)) return fail(c, path, "not an object", NULL);
        snprintf(path, sizeof(path), "compaction.parents[%zu].ulid", i);
        if (ulid_of(c, field(p, "ulid"), path, &m->parents[i].ulid) < 0) return -1;
        snprintf(path, sizeof(path), "compaction.parents[%zu].minTime", i);
        if (get_i64(c, p, "minTime", path, &m->parents[i].mint) < 0) return -1;
        snprintf(path, sizeof(path), "compaction.parents[%zu].maxTime", i);
        if (get_i64(c, p, "maxTime", path, &m->parents[i].maxt) < 0) return -1;
    }
    return 0;
}

static int parse_compaction(const ctx *c, json_t *co, tsdb_block_meta *m)
{
    char path[64];
    json_t *arr;
    if (!co || json_is_null(co)) return 0;
    if (!json_is_object(co)) return fail(c, "compaction", "not an object", NULL);
    if (get_i64(c, co, "level", "compaction.level", &m->level) < 0 ||
        get_bool(c, co, "deletable", "compaction.deletable", &m->deletable) < 0 ||
        get_bool(c, co, "failed", "compaction.failed", &m->failed) < 0)
        return -1;
    if (m->level < INT32_MIN || m->level > INT32_MAX)
        return fail(c, "compaction.level", "out of range", NULL);
    if (get_array(c, co, "sources", "compaction.sources", &arr) < 0) return -1;
    m->nsources = json_array_size(arr);
    m->sources = m->nsources ? core_calloc(m->nsources, sizeof(*m->sources)) : NULL;
    for (size_t i = 0; i < m->nsources; i++) {
        snprintf(path, sizeof(path), "compaction.sources[%zu]", i);
        if (ulid_of(c, json_array_get(arr, i), path, &m->sources[i]) < 0) return -1;
    }
    if (get_array(c, co, "parents", "compaction.parents", &arr) < 0) return -1;
    if (arr && parse_parents(c, arr, m) < 0) return -1;
    if (get_array(c, co, "hints", "compaction.hints", &arr) < 0) return -1;
    size_t nh = json_array_size(arr);
    m->hints = nh ? core_calloc(nh, sizeof(*m->hints)) : NULL;
    for (size_t i = 0; i < nh; i++) {
        json_t *h = json_array_get(arr, i);
        snprintf(path, sizeof(path), "compaction.hints[%zu]", i);
        if (!json_is_null(h) && !json_is_string(h)) return fail(c, path, "not a string", NULL);
        m->hints[i] = core_strndup(json_is_string(h) ? json_string_value(h) : "",
                                   json_is_string(h) ? json_string_length(h) : 0);
        m->nhints = i + 1;
    }
    return 0;
}

int tsdb_block_meta_parse(tsdb_block_meta *m, const char *text, size_t len, const char *what,
                          core_err *err)
{
    ctx c = {.what = what, .err = err};
    json_error_t je;
    memset(m, 0, sizeof(*m));
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        return core_err_set(err, "%s: invalid JSON at line %d column %d: %s", what, je.line,
                            je.column, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        fail(&c, "(top level)", "not an object", NULL);
        goto out;
    }
    if (ulid_of(&c, field(root, "ulid"), "ulid", &m->ulid) < 0 ||
        get_i64(&c, root, "minTime", "minTime", &m->mint) < 0 ||
        get_i64(&c, root, "maxTime", "maxTime", &m->maxt) < 0 ||
        parse_stats(&c, field(root, "stats"), &m->stats) < 0 ||
        parse_compaction(&c, field(root, "compaction"), m) < 0 ||
        get_i64(&c, root, "version", "version", &m->version) < 0)
        goto out;
    if (m->version != TSDB_META_VERSION) {
        core_err_set(err, "%s: version: unexpected meta file version %lld", what,
                     (long long)m->version);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) tsdb_block_meta_destroy(m);
    return rc;
}

int tsdb_block_meta_read(tsdb_block_meta *m, const char *dir, int64_t *size, core_err *err)
{
    core_sb path = CORE_SB_INIT, text = CORE_SB_INIT;
    core_sb_addf(&path, "%s/%s", dir, TSDB_META_FILENAME);
    memset(m, 0, sizeof(*m));
    int rc = -1;
    FILE *f = fopen(path.buf, "rb");
    if (!f) {
        core_err_set(err, "%s: %s", path.buf, strerror(errno));
        goto out;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        core_sb_add(&text, buf, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        core_err_set(err, "%s: read error", path.buf);
        goto out;
    }
    rc = tsdb_block_meta_parse(m, text.buf ? text.buf : "", text.len, path.buf, err);
    if (rc == 0 && size) *size = (int64_t)text.len;
out:
    core_sb_destroy(&path);
    core_sb_destroy(&text);
    return rc;
}

/* ---- Writing */

/* A string as Go's encoding/json writes it (valid UTF-8 assumed). */
static void add_go_str(core_sb *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    core_sb_addc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            core_sb_addc(out, '\\');
            core_sb_addc(out, (char)ch);
        } else if (ch == '\n') {
            core_sb_adds(out, "\\n");
        } else if (ch == '\r') {
            core_sb_adds(out, "\\r");
        } else if (ch == '\t') {
            core_sb_adds(out, "\\t");
        } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
            core_sb_adds(out, "\\u00");
            core_sb_addc(out, hex[ch >> 4]);
            core_sb_addc(out, hex[ch & 15]);
        } else if (ch == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            core_sb_adds(out, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
            p += 2;
        } else {
            core_sb_addc(out, (char)ch);
        }
    }
    core_sb_addc(out, '"');
}

static void add_ulid(core_sb *out, const tsdb_ulid *u)
{
    char s[TSDB_ULID_LEN + 1];
    tsdb_ulid_format(u, s);
    core_sb_addc(out, '"');
    core_sb_adds(out, s);
    core_sb_addc(out, '"');
}

static void indent(core_sb *out, int depth)
{
    core_sb_addc(out, '\n');
    for (int i = 0; i < depth; i++)
        core_sb_addc(out, '\t');
}

/* Writes `"key": ` after a newline and indentation, with a comma before
 * unless it is the object's first field. */
static void key(core_sb *out, int depth, bool *first, const char *k)
{
    if (!*first) core_sb_addc(out, ',');
    *first = false;
    indent(out, depth);
    core_sb_addf(out, "\"%s\": ", k);
}

static void add_u64_field(core_sb *out, int depth, bool *first, const char *k, uint64_t v)
{
    if (!v) return; /* omitempty */
    key(out, depth, first, k);
    core_sb_add_u64(out, v);
}

void tsdb_block_meta_format(const tsdb_block_meta *m, core_sb *out)
{
    bool first = true;
    core_sb_addc(out, '{');
    key(out, 1, &first, "ulid");
    add_ulid(out, &m->ulid);
    key(out, 1, &first, "minTime");
    core_sb_add_i64(out, m->mint);
    key(out, 1, &first, "maxTime");
    core_sb_add_i64(out, m->maxt);

    key(out, 1, &first, "stats");
    bool sfirst = true;
    core_sb_addc(out, '{');
    add_u64_field(out, 2, &sfirst, "numSamples", m->stats.num_samples);
    add_u64_field(out, 2, &sfirst, "numFloatSamples", m->stats.num_float_samples);
    add_u64_field(out, 2, &sfirst, "numHistogramSamples", m->stats.num_histogram_samples);
    add_u64_field(out, 2, &sfirst, "numSeries", m->stats.num_series);
    add_u64_field(out, 2, &sfirst, "numChunks", m->stats.num_chunks);
    add_u64_field(out, 2, &sfirst, "numTombstones", m->stats.num_tombstones);
    if (!sfirst) indent(out, 1);
    core_sb_addc(out, '}');

    key(out, 1, &first, "compaction");
    bool cfirst = true;
    core_sb_addc(out, '{');
    key(out, 2, &cfirst, "level");
    core_sb_add_i64(out, m->level);
    if (m->nsources) {
        key(out, 2, &cfirst, "sources");
        core_sb_addc(out, '[');
        for (size_t i = 0; i < m->nsources; i++) {
            if (i) core_sb_addc(out, ',');
            indent(out, 3);
            add_ulid(out, &m->sources[i]);
        }
        indent(out, 2);
        core_sb_addc(out, ']');
    }
    if (m->deletable) {
        key(out, 2, &cfirst, "deletable");
        core_sb_adds(out, "true");
    }
    if (m->nparents) {
        key(out, 2, &cfirst, "parents");
        core_sb_addc(out, '[');
        for (size_t i = 0; i < m->nparents; i++) {
            bool pfirst = true;
            if (i) core_sb_addc(out, ',');
            indent(out, 3);
            core_sb_addc(out, '{');
            key(out, 4, &pfirst, "ulid");
            add_ulid(out, &m->parents[i].ulid);
            key(out, 4, &pfirst, "minTime");
            core_sb_add_i64(out, m->parents[i].mint);
            key(out, 4, &pfirst, "maxTime");
            core_sb_add_i64(out, m->parents[i].maxt);
            indent(out, 3);
            core_sb_addc(out, '}');
        }
        indent(out, 2);
        core_sb_addc(out, ']');
    }
    if (m->failed) {
        key(out, 2, &cfirst, "failed");
        core_sb_adds(out, "true");
    }
    if (m->nhints) {
        key(out, 2, &cfirst, "hints");
        core_sb_addc(out, '[');
        for (size_t i = 0; i < m->nhints; i++) {
            if (i) core_sb_addc(out, ',');
            indent(out, 3);
            add_go_str(out, m->hints[i] ? m->hints[i] : "");
        }
        indent(out, 2);
        core_sb_addc(out, ']');
    }
    indent(out, 1);
    core_sb_addc(out, '}');

    key(out, 1, &first, "version");
    core_sb_add_i64(out, TSDB_META_VERSION);
    indent(out, 0);
    core_sb_addc(out, '}');
}

int tsdb_block_meta_write(const tsdb_block_meta *m, const char *dir, int64_t *size, core_err *err)
{
    core_sb out = CORE_SB_INIT;
    tsdb_block_meta_format(m, &out);
    int rc = tsdb_replace_file(dir, TSDB_META_FILENAME, out.buf, out.len, err);
    if (rc == 0 && size) *size = (int64_t)out.len;
    core_sb_destroy(&out);
    return rc;
}
