/*
 * collector_bcachefs.c - node_bcachefs_* from <sysfs>/fs/bcachefs/<uuid>/.
 *
 * Per filesystem: btree_cache_size, compression_stats and btree_write_stats
 * (tables after a header line), errors ("<type> <count> [<time>]"), one file
 * per counter under counters/ ("since filesystem creation: <n>"), and per
 * dev-<n>/ directory: label, state, bucket_size, nbuckets, durability,
 * io_done ("read:"/"write:" sections of "<type>: <bytes>") and io_errors (the
 * "since filesystem creation" section).  Sizes are human-readable with
 * binary suffixes (2.05G, 28.2k), truncated to an integer as upstream does.
 * Counter names are sanitized as upstream's SanitizeMetricName; no
 * filesystem at all is reported as a failed scrape (upstream's ErrNoData).
 */
#include "statfile_util.h"

#include <math.h>
#include <sys/stat.h>

static const char *const L_UUID[] = {"uuid", NULL};
static const char *const L_ALGO[] = {"uuid", "algorithm", NULL};
static const char *const L_ERR[] = {"uuid", "error_type", NULL};
static const char *const L_TYPE[] = {"uuid", "type", NULL};
static const char *const L_DEV[] = {"uuid", "device", NULL};
static const char *const L_DEV_INFO[] = {"uuid", "device", "label", "state", NULL};
static const char *const L_IO_DONE[] = {"uuid", "device", "operation", "data_type", NULL};
static const char *const L_IO_ERR[] = {"uuid", "device", "type", NULL};

/* "2.05G" -> 2201170739: a float times a power of 1024, truncated. */
static bool parse_human_bytes(const char *s, uint64_t *out)
{
    char copy[64];
    if (strlen(s) >= sizeof copy) return false;
    strcpy(copy, s);
    char *buf = sf_trim(copy);
    size_t n = strlen(buf);
    if (n == 0) return false;
    static const char suffixes[] = "kmgtpe";
    double mult = 1;
    const char *suf = strchr(suffixes, buf[n - 1] | 0x20);
    if (buf[n - 1] >= 'A' && suf != NULL && *suf != '\0') {
        for (const char *p = suffixes; p <= suf; p++)
            mult *= 1024;
        buf[--n] = '\0';
        buf = sf_trim(buf);
    }
    double v;
    if (!nx_parse_double(buf, &v) || isnan(v) || v < 0) return false;
    v *= mult;
    *out = v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
    return true;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads <dir>/<name> trimmed, or NULL when it is missing. */
static char *read_trimmed(nx_out *o, const char *dir, const char *name)
{
    char *text = nx_read_file(o, nx_sprintf(o, "%s/%s", dir, name), NULL);
    return text != NULL ? sf_trim(text) : NULL;
}

/* compression_stats: "<algo>[:] <compressed> <uncompressed> [<avg extent>]". */
static void compression(nx_out *o, const char *uuid, const char *dir)
{
    char *text = nx_read_file(o, nx_sprintf(o, "%s/compression_stats", dir), NULL);
    if (text == NULL) return;
    sf_next_line(&text); /* header */
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[4];
        if (sf_fields(line, f, 4) < 3) continue;
        size_t al = strlen(f[0]);
        if (al > 0 && f[0][al - 1] == ':') f[0][al - 1] = '\0';
        uint64_t c, u;
        if (!parse_human_bytes(f[1], &c) || !parse_human_bytes(f[2], &u)) {
            nx_warn(o, "bcachefs: %s: bad compression_stats line for %s", dir, f[0]);
            continue;
        }
        nx_family(o, "node_bcachefs_compression_compressed_bytes", "Compressed size by algorithm.",
                  PROM_GAUGE, L_ALGO);
        nx_samplev(o, (double)c, uuid, f[0], NULL);
        nx_family(o, "node_bcachefs_compression_uncompressed_bytes",
                  "Uncompressed size by algorithm.", PROM_GAUGE, L_ALGO);
        nx_samplev(o, (double)u, uuid, f[0], NULL);
    }
}

static void errors(nx_out *o, const char *uuid, const char *dir)
{
    char *text = nx_read_file(o, nx_sprintf(o, "%s/errors", dir), NULL);
    if (text == NULL) return;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[3];
        if (sf_fields(line, f, 3) < 2) continue;
        uint64_t count;
        if (!nx_parse_u64(f[1], &count)) {
            nx_warn(o, "bcachefs: %s: bad errors line for %s", dir, f[0]);
            continue;
        }
        nx_family(o, "node_bcachefs_errors_total", "Error count by error type.", PROM_COUNTER,
                  L_ERR);
        nx_samplev(o, (double)count, uuid, f[0], NULL);
    }
}

/* One counters/<name> file: the "since filesystem creation:" value. */
static void counter(nx_out *o, const char *uuid, const char *dir, const char *name)
{
    char *text = nx_read_file(o, nx_sprintf(o, "%s/counters/%s", dir, name), NULL);
    if (text == NULL) return;
    uint64_t creation = 0;
    bool seen = false;
    static const char mount[] = "since mount:", fs[] = "since filesystem creation:";
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        const char *value = NULL;
        if (strncmp(line, mount, sizeof mount - 1) == 0) value = line + sizeof mount - 1;
        if (strncmp(line, fs, sizeof fs - 1) == 0) value = line + sizeof fs - 1;
        uint64_t v;
        if (value == NULL) continue;
        if (!parse_human_bytes(value, &v)) {
            seen = false;
            break;
        }
        seen = true;
        if (value == line + sizeof fs - 1) creation = v;
    }
    if (!seen) {
        nx_warn(o, "bcachefs: %s/counters/%s: format not recognized", dir, name);
        return;
    }
    nx_family(o, nx_sprintf(o, "node_bcachefs_%s_total", sf_sanitize_metric_name(o, name)),
              nx_sprintf(o, "Bcachefs counter %s since filesystem creation.", name), PROM_COUNTER,
              L_UUID);
    nx_samplev(o, (double)creation, uuid, NULL);
}

static void counters(nx_out *o, const char *uuid, const char *dir)
{
    char **names;
    const char *cdir = nx_sprintf(o, "%s/counters", dir);
    int n = nx_list_dir(o, cdir, &names);
    for (int i = 0; i < n; i++)
        if (!is_dir(nx_sprintf(o, "%s/%s", cdir, names[i]))) counter(o, uuid, dir, names[i]);
}

/* btree_write_stats: a header, then "<type>: <count> <size>". */
static void btree_writes(nx_out *o, const char *uuid, const char *dir)
{
    char *text = nx_read_file(o, nx_sprintf(o, "%s/btree_write_stats", dir), NULL);
    if (text == NULL) return;
    sf_next_line(&text);
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[3];
        if (sf_fields(line, f, 3) < 3) continue;
        size_t tl = strlen(f[0]);
        if (tl > 0 && f[0][tl - 1] == ':') f[0][tl - 1] = '\0';
        uint64_t count, size;
        if (!nx_parse_u64(f[1], &count) || !parse_human_bytes(f[2], &size)) {
            nx_warn(o, "bcachefs: %s: bad btree_write_stats line for %s", dir, f[0]);
            continue;
        }
        nx_family(o, "node_bcachefs_btree_writes_total", "Number of btree writes by type.",
                  PROM_COUNTER, L_TYPE);
        nx_samplev(o, (double)count, uuid, f[0], NULL);
        nx_family(o, "node_bcachefs_btree_write_average_size_bytes",
                  "Average btree write size by type.", PROM_GAUGE, L_TYPE);
        nx_samplev(o, (double)size, uuid, f[0], NULL);
    }
}

/* Splits "<key>:<value>" (both trimmed) and parses the value; false if not. */
static bool key_value(char *line, char **key, uint64_t *value)
{
    char *colon = strchr(line, ':');
    if (colon == NULL) return false;
    *colon = '\0';
    *key = sf_trim(line);
    return nx_parse_u64(sf_trim(colon + 1), value);
}

static void io_done(nx_out *o, const char *uuid, const char *dev, const char *path)
{
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return;
    const char *op = NULL;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[2];
        size_t n = sf_fields(core_arena_strdup(nx_arena(o), line), f, 2);
        if (n == 0) continue;
        if (n == 1 && (strcmp(f[0], "read:") == 0 || strcmp(f[0], "write:") == 0)) {
            op = strcmp(f[0], "read:") == 0 ? "read" : "write";
            continue;
        }
        char *key;
        uint64_t v;
        if (op == NULL || strchr(line, ':') == NULL) continue;
        if (!key_value(line, &key, &v)) {
            nx_warn(o, "bcachefs: %s: bad line", path);
            continue;
        }
        nx_family(o, "node_bcachefs_device_io_done_bytes_total",
                  "IO bytes by operation type and data type.", PROM_COUNTER, L_IO_DONE);
        nx_samplev(o, (double)v, uuid, dev, op, key, NULL);
    }
}

static void io_errors(nx_out *o, const char *uuid, const char *dev, const char *path)
{
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return;
    bool in_creation = false;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        if (strncmp(line, "IO errors since filesystem creation", 35) == 0) {
            in_creation = true;
            continue;
        }
        if (strncmp(line, "IO errors since ", 16) == 0) break;
        char *key;
        uint64_t v;
        if (!in_creation || strchr(line, ':') == NULL) continue;
        if (!key_value(line, &key, &v)) {
            nx_warn(o, "bcachefs: %s: bad line", path);
            continue;
        }
        nx_family(o, "node_bcachefs_device_io_errors_total", "IO errors by error type.",
                  PROM_COUNTER, L_IO_ERR);
        nx_samplev(o, (double)v, uuid, dev, key, NULL);
    }
}

/* A number file of a device: 0 when missing, skipped (false) when malformed. */
static bool dev_number(nx_out *o, const char *ddir, const char *name, bool human, uint64_t *v)
{
    char *s = read_trimmed(o, ddir, name);
    *v = 0;
    if (s == NULL || (human && *s == '\0')) return true;
    if (human ? parse_human_bytes(s, v) : nx_parse_u64(s, v)) return true;
    nx_warn(o, "bcachefs: %s/%s: bad value %.40s", ddir, name, s);
    return false;
}

static void device(nx_out *o, const char *uuid, const char *dir, const char *entry)
{
    const char *dev = entry + 4, *ddir = nx_sprintf(o, "%s/%s", dir, entry);
    uint64_t bucket, nbuckets, durability;
    if (!dev_number(o, ddir, "bucket_size", true, &bucket) ||
        !dev_number(o, ddir, "nbuckets", false, &nbuckets) ||
        !dev_number(o, ddir, "durability", false, &durability))
        return;
    const char *label = read_trimmed(o, ddir, "label"), *state = read_trimmed(o, ddir, "state");
    nx_family(o, "node_bcachefs_device_info", "Device information.", PROM_GAUGE, L_DEV_INFO);
    nx_samplev(o, 1, uuid, dev, label ? label : "", state ? state : "", NULL);
    nx_family(o, "node_bcachefs_device_bucket_size_bytes", "Bucket size in bytes.", PROM_GAUGE,
              L_DEV);
    nx_samplev(o, (double)bucket, uuid, dev, NULL);
    nx_family(o, "node_bcachefs_device_buckets", "Total number of buckets.", PROM_GAUGE, L_DEV);
    nx_samplev(o, (double)nbuckets, uuid, dev, NULL);
    nx_family(o, "node_bcachefs_device_durability", "Device durability setting.", PROM_GAUGE,
              L_DEV);
    nx_samplev(o, (double)durability, uuid, dev, NULL);
    io_done(o, uuid, dev, nx_sprintf(o, "%s/io_done", ddir));
    io_errors(o, uuid, dev, nx_sprintf(o, "%s/io_errors", ddir));
}

static void filesystem(nx_out *o, const char *uuid, const char *dir)
{
    uint64_t cache = 0;
    char *s = read_trimmed(o, dir, "btree_cache_size");
    if (s != NULL && *s != '\0' && !parse_human_bytes(s, &cache))
        nx_warn(o, "bcachefs: %s/btree_cache_size: bad value %.40s", dir, s);
    nx_family(o, "node_bcachefs_info", "Filesystem information.", PROM_GAUGE, L_UUID);
    nx_samplev(o, 1, uuid, NULL);
    nx_family(o, "node_bcachefs_btree_cache_size_bytes", "Btree cache memory usage in bytes.",
              PROM_GAUGE, L_UUID);
    nx_samplev(o, (double)cache, uuid, NULL);
    compression(o, uuid, dir);
    errors(o, uuid, dir);
    counters(o, uuid, dir);
    btree_writes(o, uuid, dir);
    char **names;
    int n = nx_list_dir(o, dir, &names);
    for (int i = 0; i < n; i++)
        if (strncmp(names[i], "dev-", 4) == 0 && is_dir(nx_sprintf(o, "%s/%s", dir, names[i])))
            device(o, uuid, dir, names[i]);
}

static int collect(nx_out *o)
{
    const char *base = nx_sys(o, "fs/bcachefs");
    char **names;
    int n = nx_list_dir(o, base, &names);
    if (n < 0 && errno == ENOENT)
        return nx_no_data(o, "bcachefs sysfs path %s does not exist", base);
    if (n < 0) return nx_error(o, "failed to retrieve bcachefs stats: %s: %m", base);
    int found = 0;
    for (int i = 0; i < n; i++) {
        const char *dir = nx_sprintf(o, "%s/%s", base, names[i]);
        if (!is_dir(dir)) continue;
        filesystem(o, names[i], dir);
        found++;
    }
    if (found == 0) return nx_no_data(o, "no bcachefs filesystem in %s", base);
    return 0;
}

const nx_collector nx_collector_bcachefs = {
    .name = "bcachefs",
    .default_on = true,
    .collect = collect,
};
