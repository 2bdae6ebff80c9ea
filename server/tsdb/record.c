/*
 * record.c - the records Prometheus writes into its WAL (upstream
 * tsdb/record): series, samples, tombstones and metadata.
 *
 * Encoding appends to a core_sb with the helpers of upstream's
 * encoding.Encbuf (big-endian fixed widths, Go varints, uvarint-prefixed
 * strings).  Decoding walks the record with a small cursor that, like
 * upstream's Decbuf, remembers the first failure and yields zeros after it,
 * so each decoder reads its fields straight through and checks once per
 * entry.  Counts read from the record never size an allocation beyond what
 * the remaining bytes could hold.  Label strings are copied into the
 * caller's arena as C strings; a name or value holding a NUL byte cannot be
 * represented there and is refused rather than cut short.
 */
#include "tsdb/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- Encoding */

static void put_byte(core_sb *out, uint8_t b)
{
    core_sb_add(out, &b, 1);
}

static void put_be64(core_sb *out, uint64_t v)
{
    uint8_t b[8];
    tsdb_put_be64(b, v);
    core_sb_add(out, b, 8);
}

static void put_uvarint(core_sb *out, uint64_t v)
{
    uint8_t b[TSDB_MAX_VARINT_LEN];
    core_sb_add(out, b, tsdb_put_uvarint(b, v));
}

static void put_varint(core_sb *out, int64_t v)
{
    uint8_t b[TSDB_MAX_VARINT_LEN];
    core_sb_add(out, b, tsdb_put_varint(b, v));
}

static void put_str(core_sb *out, const char *s)
{
    size_t n = strlen(s);
    put_uvarint(out, n);
    core_sb_add(out, s, n);
}

void tsdb_rec_encode_series(core_sb *out, const tsdb_rec_series *s, size_t n)
{
    put_byte(out, TSDB_REC_SERIES);
    for (size_t i = 0; i < n; i++) {
        put_be64(out, s[i].ref);
        put_uvarint(out, s[i].labels->len);
        for (size_t k = 0; k < s[i].labels->len; k++) {
            put_str(out, s[i].labels->v[k].name);
            put_str(out, s[i].labels->v[k].value);
        }
    }
}

/* A zig-zag varint, the one-byte case inline. */
static inline size_t varint_at(uint8_t *p, int64_t v)
{
    uint64_t ux = (uint64_t)v << 1 ^ (uint64_t)(v >> 63);
    if (ux < 0x80) {
        *p = (uint8_t)ux;
        return 1;
    }
    return tsdb_put_uvarint(p, ux);
}

/* The hot record (every commit): room for the largest entries is made once
 * and the bytes written in place. */
void tsdb_rec_encode_samples(core_sb *out, const tsdb_rec_sample *s, size_t n)
{
    put_byte(out, TSDB_REC_SAMPLES);
    if (n == 0) return;
    core_sb_grow(out, 16 + n * (2 * TSDB_MAX_VARINT_LEN + 8));
    uint8_t *p = (uint8_t *)out->buf + out->len, *start = p;
    tsdb_put_be64(p, s[0].ref);
    tsdb_put_be64(p + 8, (uint64_t)s[0].t);
    p += 16;
    for (size_t i = 0; i < n; i++) {
        p += varint_at(p, (int64_t)(s[i].ref - s[0].ref));
        p += varint_at(p, (int64_t)((uint64_t)s[i].t - (uint64_t)s[0].t));
        tsdb_put_be64(p, s[i].v);
        p += 8;
    }
    out->len += (size_t)(p - start);
    out->buf[out->len] = '\0';
}

void tsdb_rec_encode_tombstones(core_sb *out, const tsdb_rec_tombstone *s, size_t n)
{
    put_byte(out, TSDB_REC_TOMBSTONES);
    for (size_t i = 0; i < n; i++) {
        put_be64(out, s[i].ref);
        put_varint(out, s[i].mint);
        put_varint(out, s[i].maxt);
    }
}

void tsdb_rec_encode_metadata(core_sb *out, const tsdb_rec_metadata *m, size_t n)
{
    put_byte(out, TSDB_REC_METADATA);
    for (size_t i = 0; i < n; i++) {
        put_uvarint(out, m[i].ref);
        put_byte(out, m[i].type);
        put_uvarint(out, 2);
        put_str(out, "UNIT");
        put_str(out, m[i].unit ? m[i].unit : "");
        put_str(out, "HELP");
        put_str(out, m[i].help ? m[i].help : "");
    }
}

/* ---- Decoding */

typedef struct dec {
    const uint8_t *p;
    size_t len;
    const char *fail; /* the first failure; reads after it give zeros */
} dec;

static bool dec_ok(dec *d, size_t n, const char *what)
{
    if (d->fail) return false;
    if (d->len >= n) return true;
    d->fail = what;
    return false;
}

static uint8_t dec_byte(dec *d)
{
    if (!dec_ok(d, 1, "invalid size")) return 0;
    d->len--;
    return *d->p++;
}

static uint64_t dec_be64(dec *d)
{
    if (!dec_ok(d, 8, "invalid size")) return 0;
    uint64_t v = tsdb_get_be64(d->p);
    d->p += 8;
    d->len -= 8;
    return v;
}

static inline uint64_t dec_uvarint(dec *d)
{
    uint64_t v = 0;
    if (d->fail) return 0;
    if (d->len && d->p[0] < 0x80) { /* one byte: most deltas of a samples record */
        d->len--;
        return *d->p++;
    }
    int n = tsdb_uvarint(d->p, d->len, &v);
    if (n <= 0) {
        d->fail = n == 0 ? "invalid size" : "varint overflows 64 bits";
        return 0;
    }
    d->p += n;
    d->len -= (size_t)n;
    return v;
}

static int64_t dec_varint(dec *d)
{
    uint64_t u = dec_uvarint(d);
    int64_t v = (int64_t)(u >> 1);
    return u & 1 ? ~v : v;
}

/* A uvarint-prefixed string copied into the arena ("" after a failure). */
static const char *dec_str(dec *d, core_arena *arena)
{
    uint64_t n = dec_uvarint(d);
    if (!dec_ok(d, n, "invalid size")) return "";
    const uint8_t *s = d->p;
    d->p += n;
    d->len -= n;
    if (memchr(s, 0, n)) {
        d->fail = "string holds a NUL byte";
        return "";
    }
    return core_arena_strndup(arena, (const char *)s, n);
}

static int dec_start(dec *d, const uint8_t *rec, size_t len, int type, core_err *err)
{
    *d = (dec){.p = rec, .len = len, .fail = NULL};
    int got = tsdb_rec_type(rec, len);
    if (got != type) return core_err_set(err, "invalid record type %d, expected %d", got, type);
    d->p++;
    d->len--;
    return 0;
}

static int dec_finish(const dec *d, size_t entries, core_err *err)
{
    if (d->fail) return core_err_set(err, "decode error after %zu entries: %s", entries, d->fail);
    return 0;
}

/* Makes room for one more element in an array of n that these decoders grew:
 * capacities go 8, 16, 32, ..., so it is full when n is 0 or a power of two
 * from 8 on. */
static void *grow(void *v, size_t n, size_t size)
{
    bool full = n == 0 || (n >= 8 && (n & (n - 1)) == 0);
    return full ? core_reallocarray(v, n ? 2 * n : 8, size) : v;
}

int tsdb_rec_type(const uint8_t *rec, size_t len)
{
    return len ? rec[0] : TSDB_REC_UNKNOWN;
}

static core_labels *dec_labels(dec *d, core_arena *arena)
{
    uint64_t n = dec_uvarint(d);
    if (!d->fail && n > d->len / 2) d->fail = "label count exceeds the record";
    if (d->fail) return NULL;
    core_label *pairs = core_mallocarray(n ? n : 1, sizeof(*pairs));
    for (uint64_t i = 0; i < n; i++) {
        pairs[i].name = dec_str(d, arena);
        pairs[i].value = dec_str(d, arena);
    }
    core_labels *ls = d->fail ? NULL : core_labels_new_in(arena, pairs, n);
    free(pairs);
    return ls;
}

int tsdb_rec_decode_series(const uint8_t *rec, size_t len, core_arena *arena, tsdb_rec_series **out,
                           size_t *n, core_err *err)
{
    dec d;
    if (dec_start(&d, rec, len, TSDB_REC_SERIES, err) < 0) return -1;
    while (d.len > 0 && !d.fail) {
        tsdb_rec_series s = {.ref = dec_be64(&d)};
        s.labels = dec_labels(&d, arena);
        if (d.fail) break;
        *out = grow(*out, *n, sizeof(**out));
        (*out)[(*n)++] = s;
    }
    return dec_finish(&d, *n, err);
}

int tsdb_rec_decode_samples(const uint8_t *rec, size_t len, tsdb_rec_sample **out, size_t *n,
                            core_err *err)
{
    dec d;
    if (dec_start(&d, rec, len, TSDB_REC_SAMPLES, err) < 0) return -1;
    if (d.len == 0) return 0;
    uint64_t ref = dec_be64(&d);
    uint64_t t = dec_be64(&d);
    /* Room for as many entries as the bytes left could hold (10 bytes at
     * least each), at once: the hot record of a replay. */
    size_t most = *n + d.len / 10 + 1;
    *out = core_reallocarray(*out, most, sizeof(**out));
    while (d.len > 0 && !d.fail && *n < most) {
        tsdb_rec_sample s;
        s.ref = ref + (uint64_t)dec_varint(&d);
        s.t = (int64_t)(t + (uint64_t)dec_varint(&d));
        s.v = dec_be64(&d);
        if (d.fail) break;
        (*out)[(*n)++] = s;
    }
    return dec_finish(&d, *n, err);
}

int tsdb_rec_decode_tombstones(const uint8_t *rec, size_t len, tsdb_rec_tombstone **out, size_t *n,
                               core_err *err)
{
    dec d;
    if (dec_start(&d, rec, len, TSDB_REC_TOMBSTONES, err) < 0) return -1;
    while (d.len > 0 && !d.fail) {
        tsdb_rec_tombstone s;
        s.ref = dec_be64(&d);
        s.mint = dec_varint(&d);
        s.maxt = dec_varint(&d);
        if (d.fail) break;
        *out = grow(*out, *n, sizeof(**out));
        (*out)[(*n)++] = s;
    }
    return dec_finish(&d, *n, err);
}

/* Reads the name/value fields of one metadata entry, keeping UNIT and HELP. */
static void dec_meta_fields(dec *d, core_arena *arena, tsdb_rec_metadata *m)
{
    uint64_t fields = dec_uvarint(d);
    m->unit = m->help = "";
    for (uint64_t i = 0; i < fields && !d->fail; i++) {
        const char *name = dec_str(d, arena);
        const char *value = dec_str(d, arena);
        if (strcmp(name, "UNIT") == 0) m->unit = value;
        if (strcmp(name, "HELP") == 0) m->help = value;
    }
}

int tsdb_rec_decode_metadata(const uint8_t *rec, size_t len, core_arena *arena,
                             tsdb_rec_metadata **out, size_t *n, core_err *err)
{
    dec d;
    if (dec_start(&d, rec, len, TSDB_REC_METADATA, err) < 0) return -1;
    while (d.len > 0 && !d.fail) {
        tsdb_rec_metadata m = {.ref = dec_uvarint(&d)};
        m.type = dec_byte(&d);
        dec_meta_fields(&d, arena, &m);
        if (d.fail) break;
        *out = grow(*out, *n, sizeof(**out));
        (*out)[(*n)++] = m;
    }
    return dec_finish(&d, *n, err);
}
