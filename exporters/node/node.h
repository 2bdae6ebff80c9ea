/*
 * node.h - the inside of prom-node-exporter: collectors and what they emit.
 *
 * A collector is one file, collector_<name>.c, that defines
 *
 *   const nx_collector nx_collector_<name> = {
 *       .name = "<name>", .default_on = true, .collect = collect,
 *       .flags = flags, .n_flags = N,   (its --collector.<name>.* flags, optional)
 *       .init = init,                   (runs once after flags are parsed, optional)
 *   };
 *
 * CMake finds the files and builds the table (collectors_gen.c), so adding a
 * collector touches no other file.
 *
 * At each scrape every enabled collector runs on a worker thread with its own
 * nx_out, into which it emits families and samples; the scrape waits for each
 * up to --collector.timeout and then writes what finished in time.  A
 * collector never shares its nx_out, so emitting needs no lock.  Everything a
 * collector reads goes through the nx_path_* helpers, so --path.procfs,
 * --path.sysfs, --path.rootfs and --path.udev.data apply everywhere.
 *
 * Errors: a collector returns 0, or -1 after nx_error() said why; the scrape
 * then reports node_scrape_collector_success{collector} 0 and logs the
 * message.  A malformed line in a file is skipped with nx_warn(), not fatal.
 */
#ifndef EXPORTERS_NODE_H
#define EXPORTERS_NODE_H

#include "core/core.h"
#include <prom/prom.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- Output of one collector in one scrape */

typedef struct nx_out nx_out;

/* Starts the family `name` (or continues it if this collector emitted it
 * before); `labels` is a NULL-terminated list of label names, or NULL. */
void nx_family(nx_out *o, const char *name, const char *help, prom_type type,
               const char *const *labels);
/* A sample of the current family, with one value per label name; a NULL value
 * leaves that label out of this sample (upstream's collectors that give each
 * device only the labels it has files for). */
void nx_sample(nx_out *o, double value, const char *const *label_values);
/* The same with the label values given inline and ended by NULL. */
void nx_samplev(nx_out *o, double value, ...) __attribute__((sentinel));
/* A family without labels and its one sample, in one call. */
void nx_gauge(nx_out *o, const char *name, const char *help, double value);
void nx_counter(nx_out *o, const char *name, const char *help, double value);
/* A histogram sample: cumulative counts per bound, the last bound +Inf. */
void nx_histogram(nx_out *o, const char *const *label_values, const double *bounds,
                  const uint64_t *cumulative, size_t n_buckets, double sum);
/* A summary sample. */
void nx_summary(nx_out *o, const char *const *label_values, const double *quantiles,
                const double *values, size_t n, double sum, uint64_t count);
/* Records why the collector failed; returns -1 for `return nx_error(...)`. */
int nx_error(nx_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for "nothing to report on this host" (no ZFS, no NFS...): success
 * is 0 as with an error, but it is logged at debug level only, as upstream's
 * ErrNoData. */
int nx_no_data(nx_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs a skipped line or file (the collector goes on). */
void nx_warn(nx_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Memory that lives as long as this scrape's output (for formatted labels). */
core_arena *nx_arena(nx_out *o);
/* printf into that memory. */
char *nx_sprintf(nx_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Collectors */

typedef struct nx_collector {
    const char *name;
    bool default_on;
    /* Emits this scrape's metrics; 0, or -1 after nx_error(). */
    int (*collect)(nx_out *o);
    /* Optional: checks and prepares the collector's flags (regexes, ...)
     * once at start; a failure stops the program with the message. */
    int (*init)(core_err *err);
    core_flag *flags;
    size_t n_flags;
} nx_collector;

/* Every collector, sorted by name (collectors_gen.c). */
extern const nx_collector *const nx_collectors[];
extern const size_t nx_n_collectors;

/* Whether the collector `name` is enabled on this run (the --collector.<name>
 * switches), for the few families upstream ties to another collector being on
 * (node_cpu_frequency_hertz needs cpufreq).  Before flags are parsed (in
 * tests) it answers with the collector's default. */
bool nx_collector_enabled(const char *name);
/* Set by main after parsing flags: one flag per entry of nx_collectors. */
extern const bool *nx_enabled;

/* ---- Paths (--path.*) */

typedef struct nx_paths {
    const char *procfs;    /* default /proc */
    const char *sysfs;     /* default /sys */
    const char *rootfs;    /* default / */
    const char *udev_data; /* default /run/udev/data */
} nx_paths;

extern nx_paths nx_path;

/* Joins a --path.* root and a relative path into a buffer of the scrape's
 * output memory: nx_proc(o, "net/dev") is "/proc/net/dev" by default. */
const char *nx_proc(nx_out *o, const char *rel);
const char *nx_sys(nx_out *o, const char *rel);
const char *nx_root(nx_out *o, const char *rel);
const char *nx_udev(nx_out *o, const char *rel);

/* ---- Reading files */

/* Reads a whole (small, virtual) file into scrape memory, NUL-terminated.
 * NULL when it cannot be read; errno tells why. */
char *nx_read_file(nx_out *o, const char *path, size_t *len);
/* The same for a procfs file the kernel writes record by record (a line each),
 * every record at most max_record bytes: the kernel fills at most a page per
 * read and stops before a record that would not fit, so a read that leaves a
 * page short by max_record or more has reached the end, and the read that
 * would return 0 is skipped.  That read is not free: for /proc/net/udp the
 * kernel walks the whole socket hash table again to find its place (measured
 * 20 us).  A regular file short of a page ends there too. */
char *nx_read_records(nx_out *o, const char *path, size_t max_record, size_t *len);
/* The same for a file more than one collector of a scrape reads (/proc/stat
 * by cpu and stat, /proc/net/netstat by netstat and the exporter's own
 * process_network_* metrics): the first read of a scrape is remembered and
 * the others get a copy, so the kernel writes it once. */
char *nx_read_shared(nx_out *o, const char *path, size_t *len);
/* The same for a mount table (/proc/<pid>/mountinfo): kept open and read
 * again only when the kernel flags a change of the mount table (util.c). */
char *nx_read_mounts(nx_out *o, const char *path, size_t *len);
/* Reads a file holding one number (sysfs style, trailing newline allowed).
 * 0 on success, -1 when missing or malformed. */
int nx_read_u64(const char *path, uint64_t *out);
int nx_read_i64(const char *path, int64_t *out);
int nx_read_double(const char *path, double *out);
/* Reads at most cap - 1 bytes of a file into buf, NUL-terminated, as is;
 * returns the byte count or -1.  /proc and /sys files are kept open between
 * scrapes and re-read (util.c), so prefer these readers to open(2). */
ssize_t nx_read_bytes(const char *path, char *buf, size_t cap);
/* Reads a one-line file without its trailing newline, into scrape memory. */
char *nx_read_line(nx_out *o, const char *path);

/* Lists a directory's entries (without . and ..), sorted, into scrape memory;
 * returns the count or -1. */
int nx_list_dir(nx_out *o, const char *path, char ***names);

/* Splits `line` in place on runs of blanks (spaces and tabs); returns the
 * count, at most `max` fields. */
size_t nx_fields(char *line, char **fields, size_t max);
/* A copy of s in scrape memory with each invalid UTF-8 sequence replaced by
 * U+FFFD, one per run of bad bytes, as Go's strings.ToValidUTF8. */
char *nx_valid_utf8(nx_out *o, const char *s);
/* Parses a whole string as a number. */
bool nx_parse_double(const char *s, double *out);
bool nx_parse_u64(const char *s, uint64_t *out);

/* ---- Regexes for the include/exclude flags (PCRE2, RE2 syntax as upstream:
 * unanchored, like Go's MatchString). */

typedef struct nx_regex nx_regex;

/* NULL pattern or "" compiles to NULL (matches nothing / no filter). */
int nx_regex_compile(const char *pattern, const char *flag, nx_regex **out, core_err *err);
bool nx_regex_match(const nx_regex *re, const char *s);
void nx_regex_free(nx_regex *re);

/* An include/exclude pair as upstream's deviceFilter: a name is ignored when
 * an exclude pattern is set and matches, or an include pattern is set and does
 * not match. */
typedef struct nx_filter {
    nx_regex *include, *exclude;
} nx_filter;

int nx_filter_init(nx_filter *f, const char *include, const char *exclude, const char *what,
                   core_err *err);
bool nx_filter_ignored(const nx_filter *f, const char *name);

/* ---- Names met at every scrape
 *
 * A collector that makes families out of the field names of a file (netstat,
 * vmstat, meminfo) meets the same names at every scrape.  A name table keeps
 * what the collector made of each name (whether it wants the field, the
 * family's name and help), so that a scrape does a hash lookup per field
 * instead of a regex match and printfs.  Declare one per collector with
 * NX_NAMES_INIT; lookups take no lock. */

typedef struct nx_name {
    bool wanted;
    int index;          /* the collector's own (a field number...) */
    const char *family; /* family name and help, when wanted */
    const char *help;
} nx_name;

/* Fills e for name (NUL-terminated); family and help may live in o's memory
 * (nx_sprintf): the table copies them. */
typedef void (*nx_name_fn)(nx_out *o, const char *name, nx_name *e, void *ctx);

typedef struct nx_names {
    pthread_mutex_t lock;
    void *_Atomic tab; /* the current table, which keeps those it replaced (util.c) */
    core_arena mem;    /* entries and their strings */
} nx_names;

#define NX_NAMES_INIT                    \
    {                                    \
        PTHREAD_MUTEX_INITIALIZER, NULL, \
        {                                \
            NULL, 0, 0                   \
        }                                \
    }

/* What the collector made of name[0..len): the table's entry, made with
 * make(o, name, e, ctx) the first time. */
const nx_name *nx_names_get(nx_names *t, nx_out *o, const char *name, size_t len, nx_name_fn make,
                            void *ctx);
/* Forgets every entry (from a collector's init, when its flags changed;
 * never while it runs). */
void nx_names_clear(nx_names *t);

#endif
