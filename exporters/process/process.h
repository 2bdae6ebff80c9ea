/*
 * process.h - internals of prom-process-exporter, a drop-in for
 * ncabatoff/process-exporter.
 *
 * The parts, one file each:
 *
 *   procfs.c    parsers for /proc/<pid>/{stat,status,io,limits,smaps_rollup,cgroup}
 *               and allocation-free readers (openat on the procfs directory,
 *               getdents64 for directories)
 *   template.c  group name templates ({{.Comm}}, {{.Matches.X}}, ...), a subset
 *               of Go's text/template
 *   namer.c     the rules that pick processes and name their group: the YAML
 *               config (process_names), -procnames and -namemapping
 *   tracker.c   processes known by (pid, start time), tracked or ignored, the
 *               children rule, and the groups whose counters never go down
 *   top.c       --top.cpu / --top.memory: the busiest processes, unnamed
 *   scrape.c    one pass over /proc feeding the tracker, and the metrics
 *
 * Everything here runs under one lock (scrapes are serialised, as upstream's
 * collector does with its channel); nothing is thread-safe on its own.
 */
#ifndef EXPORTERS_PROCESS_PROCESS_H
#define EXPORTERS_PROCESS_PROCESS_H

#include "core/core.h"

#include <prom/prom.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PE_COMM_MAX  64 /* comm is at most 15 bytes; room for odd kernels */
#define PE_WCHAN_MAX 64
#define PE_USER_HZ   100 /* upstream assumes USER_HZ 100, as procfs does */

/* ---- What /proc says about one process or thread */

/* Counters shared by threads, processes and groups.  CPU stays in clock ticks
 * (whole numbers add up exactly) and becomes seconds when emitted. */
typedef struct pe_counts {
    uint64_t cpu_user, cpu_system;
    uint64_t read_bytes, write_bytes;
    uint64_t major_faults, minor_faults;
    uint64_t ctx_voluntary, ctx_nonvoluntary;
} pe_counts;

typedef struct pe_states {
    int running, sleeping, waiting, zombie, other;
} pe_states;

typedef struct pe_memory {
    uint64_t resident, virt, swapped, pss, swap_pss;
} pe_memory;

/* /proc/<pid>/stat, the fields used. */
typedef struct pe_stat {
    char comm[PE_COMM_MAX];
    char state;
    int ppid;
    uint64_t minflt, majflt, utime, stime; /* utime, stime in clock ticks */
    int64_t num_threads;
    uint64_t starttime; /* clock ticks after boot */
    uint64_t vsize;     /* bytes */
    int64_t rss;        /* pages */
} pe_stat;

/* /proc/<pid>/status, the fields used. */
typedef struct pe_status {
    int euid; /* -1 when the Uid line is missing */
    uint64_t vm_swap_kb;
    uint64_t ctx_voluntary, ctx_nonvoluntary;
} pe_status;

/* /proc/<pid>/io, the fields used. */
typedef struct pe_io {
    uint64_t read_bytes, write_bytes;
} pe_io;

/* Parsers: 0, or -1 when the text is not what the kernel writes (a truncated
 * or garbled file).  They read exactly `len` bytes; no NUL is needed. */
int pe_parse_stat(const char *buf, size_t len, pe_stat *out);
int pe_parse_status(const char *buf, size_t len, pe_status *out);
int pe_parse_io(const char *buf, size_t len, pe_io *out);
/* The soft "Max open files" of /proc/<pid>/limits; "unlimited" is UINT64_MAX. */
int pe_parse_limits_nofile(const char *buf, size_t len, uint64_t *soft);
/* Pss and SwapPss of /proc/<pid>/smaps_rollup, in bytes. */
int pe_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss, uint64_t *swap_pss);
/* The state letter as upstream counts it (R, S, D, Z, the rest Other). */
void pe_states_add_letter(pe_states *s, char state);
void pe_states_add(pe_states *s, const pe_states *t);
void pe_counts_add(pe_counts *c, const pe_counts *d);
/* d = now - then, each field floored at 0 (a counter never moves backwards). */
void pe_counts_delta(const pe_counts *now, const pe_counts *then, pe_counts *d);

/* Reads the file `path` (relative to the directory `dirfd`) into buf; returns
 * its length, or -1 with errno set.  A file larger than cap is cut at cap. */
long pe_read_at(int dirfd, const char *path, char *buf, size_t cap);
/* Reads a whole file of any size into arena memory, NUL-terminated; NULL on
 * failure.  For cmdline and cgroup, read once per new process. */
char *pe_read_all_at(int dirfd, const char *path, core_arena *a, size_t *len);
/* Number of entries (without . and ..) of a directory, or -1. */
long pe_count_dir_at(int dirfd, const char *path);

/* Open file descriptors of a process: the size procfs gives its fd/ directory
 * (Linux 6.2 and later), else a count of the entries; -1 when unreadable. */
long pe_count_fds_at(int dirfd, const char *fd_dir);

/* Calls fn for every all-digit name in the directory (pids, tids), with the
 * entry's inode number, in the order the kernel lists them; stops early when
 * fn returns non-zero.  Returns 0, or -1 when the directory cannot be read. */
typedef int (*pe_pid_fn)(int pid, uint64_t ino, void *ctx);
int pe_each_pid_at(int dirfd, const char *path, pe_pid_fn fn, void *ctx);

/* ---- Name templates */

typedef struct pe_template pe_template;

/* Identity of a process as the namer sees it.  cmdline holds the arguments
 * separated by NUL bytes, as /proc/<pid>/cmdline does (NULL when not read). */
typedef struct pe_ident {
    int pid;
    uint64_t ino; /* inode number of /proc/<pid> as listed, 0 unknown */
    int ppid;
    uint64_t starttime; /* ticks after boot: with pid, the process's identity */
    double start_time;  /* seconds since the epoch */
    const char *comm;
    const char *cmdline;
    size_t cmdline_len;
    const char *username; /* NULL when not looked up */
    const char *cgroups;  /* /proc/<pid>/cgroup as read, or NULL */
} pe_ident;

/* A capture of a cmdline regex, for {{.Matches.name}}. */
typedef struct pe_capture {
    const char *name;
    const char *value;
    size_t len;
} pe_capture;

/* What a template uses, so the scrape reads only what is needed. */
enum {
    PE_NEED_CMDLINE = 1,
    PE_NEED_USERNAME = 2,
    PE_NEED_CGROUPS = 4,
};

/* Parses a template; NULL with a message ("unsupported action {{range}}", ...). */
pe_template *pe_template_parse(const char *text, core_err *err);
void pe_template_free(pe_template *t);
unsigned pe_template_needs(const pe_template *t);
/* Appends the name for `id` to sb. */
void pe_template_render(const pe_template *t, const pe_ident *id, const pe_capture *caps,
                        size_t n_caps, core_sb *sb);
/* filepath.Base as Go has it: "" -> ".", trailing slashes dropped, "/" -> "/". */
const char *pe_basename(const char *path, size_t len, size_t *out_len);

/* ---- The namer: which processes to track, and under which group name */

typedef struct pe_namer pe_namer;

/* The YAML config file (process_names: ...).  Errors name file:line:col. */
pe_namer *pe_namer_load_file(const char *path, core_err *err);
pe_namer *pe_namer_parse(const char *name, const char *yaml, size_t len, core_err *err);
/* -procnames (comma-separated comms, each its own group) and -namemapping
 * (comm,regex,... pairs naming the group "comm:<first non-empty capture>"). */
pe_namer *pe_namer_from_flags(const char *procnames, const char *namemapping, core_err *err);
void pe_namer_free(pe_namer *n);
unsigned pe_namer_needs(const pe_namer *n);
size_t pe_namer_rules(const pe_namer *n);
/* First-match-wins over the rules: true with the group name in sb (reset
 * first), false when no rule wants the process.  Scratch memory from `a`. */
bool pe_namer_match(pe_namer *n, const pe_ident *id, core_arena *a, core_sb *sb);

/* ---- The tracker and its groups */

/* A thread of a tracked process, read this scrape. */
typedef struct pe_thread_sample {
    int tid;
    uint64_t starttime;
    char name[PE_COMM_MAX];
    pe_counts counts;
    char wchan[PE_WCHAN_MAX];
    pe_states states;
} pe_thread_sample;

/* What a scrape read about a tracked process. */
typedef struct pe_sample {
    pe_counts counts;
    pe_memory mem;
    int64_t open_fds;  /* -1 unknown */
    uint64_t fd_limit; /* 0 unknown */
    uint64_t num_threads;
    pe_states states;
    char wchan[PE_WCHAN_MAX];
    const pe_thread_sample *threads; /* NULL unless 2 or more threads */
    size_t n_threads;
    /* The process's own context switches (its main thread's, from its status),
     * whatever counts.ctx_* sum up: unchanged, the main thread has not run. */
    uint64_t own_voluntary, own_nonvoluntary;
    bool io_ok; /* io was read */
} pe_sample;

/* A thread remembered between scrapes. */
typedef struct pe_thread {
    int tid;
    uint64_t starttime;
    char name[PE_COMM_MAX];
    pe_counts total;  /* as last read */
    pe_counts latest; /* increase since the scrape before */
    char wchan[PE_WCHAN_MAX];
} pe_thread;

/* A process known to the tracker. */
typedef struct pe_proc {
    int pid;
    uint64_t starttime;
    uint64_t ino; /* of /proc/<pid>: the same while the process lives */
    bool tracked; /* false: ignored (matches nothing, no tracked ancestor) */
    bool moved;   /* carried into the next cycle already */
    uint32_t group;
    double start_time;
    pe_counts total;  /* counters as last read */
    pe_counts latest; /* increase since the scrape before */
    pe_sample now;    /* gauges as last read (threads not kept here) */
    pe_thread *threads;
    size_t n_threads, cap_threads;
} pe_proc;

/* A thread name within a group: threads of that name, their counters. */
typedef struct pe_tname {
    char name[PE_COMM_MAX];
    int count;
    pe_counts counts;
} pe_tname;

typedef struct pe_wchan_count {
    const char *wchan;
    int count;
} pe_wchan_count;

/* A group: counters accumulated over its lifetime, gauges of this scrape. */
typedef struct pe_group {
    char *name;
    pe_counts counts; /* never decreasing */
    int procs;
    pe_memory mem;
    pe_states states;
    uint64_t open_fds;
    double worst_fd_ratio;
    double oldest_start; /* seconds since the epoch; 0 none */
    uint64_t num_threads;
    pe_tname *tnames; /* names seen this scrape, counters carried from the last */
    size_t n_tnames, cap_tnames;
    pe_wchan_count *wchans; /* arena memory, this scrape */
    size_t n_wchans, cap_wchans;
    bool present; /* has processes this scrape */
} pe_group;

typedef enum pe_known {
    PE_IGNORED, /* known and not wanted: skip it */
    PE_TRACKED, /* known and tracked: read a sample, pe_tracker_update */
    PE_NEW,     /* not known: describe it with pe_tracker_offer */
} pe_known;

typedef struct pe_tracker_opts {
    bool children;        /* a child counts in its nearest tracked ancestor's group */
    bool recheck;         /* never ignore: offer unmatched processes again each scrape */
    double recheck_limit; /* with recheck: only for this many seconds after start; 0 always */
    bool remove_empty;    /* forget groups without processes */
} pe_tracker_opts;

typedef struct pe_pending pe_pending;

typedef struct pe_tracker {
    pe_tracker_opts opt;
    pe_namer *namer;     /* borrowed */
    pe_proc *cur, *next; /* known processes, sorted by pid; next is being built */
    size_t n_cur, n_next, cap_cur, cap_next;
    pe_proc *last; /* the entry pe_tracker_see just carried over */
    pe_pending *pending;
    size_t n_pending, cap_pending;
    pe_group *groups;
    size_t n_groups, cap_groups;
    uint32_t *gindex; /* open addressing over groups by name; UINT32_MAX empty */
    size_t gindex_cap;
    double first_update; /* when the first cycle began (seconds since the epoch) */
    double now;
    core_arena *arena; /* per-scrape memory, reset by the caller */
    core_sb name;
} pe_tracker;

void pe_tracker_init(pe_tracker *t, pe_namer *namer, const pe_tracker_opts *opt, core_arena *a);
void pe_tracker_destroy(pe_tracker *t);
/* Starts a cycle at `now` (seconds since the epoch). */
void pe_tracker_begin(pe_tracker *t, double now);
/* True when pid is an ignored process already known with this inode number
 * of /proc/<pid> (procfs keeps the inode while the process lives, and a new
 * process gets a new one): it is carried over without reading its stat. */
bool pe_tracker_skip(pe_tracker *t, int pid, uint64_t ino);
/* A process seen in /proc this cycle; see pe_known. */
pe_known pe_tracker_see(pe_tracker *t, int pid, uint64_t starttime, uint64_t ino);
/* The process pe_tracker_see just answered PE_TRACKED for, as the scrape
 * before left it (its last sample in `now`, its threads); NULL otherwise. */
const pe_proc *pe_tracker_last(const pe_tracker *t);
/* A thread of p as last read, by tid and start time; NULL if not known. */
const pe_thread *pe_proc_thread(const pe_proc *p, int tid, uint64_t starttime);
/* The sample of the tracked process pe_tracker_see just answered for. */
void pe_tracker_update(pe_tracker *t, const pe_sample *s);
/* Drops the process pe_tracker_see just answered for (its sample could not be
 * read): it leaves the group, whose counters keep what it gave. */
void pe_tracker_forget(pe_tracker *t);
/* Describes a PE_NEW process (strings are copied into the arena). */
void pe_tracker_offer(pe_tracker *t, const pe_ident *id);
/* Names the offered processes (rules, then ancestry); returns how many are to
 * be tracked.  The caller reads a sample of each, pe_tracker_new_pid(t, i) for
 * i < n, and calls pe_tracker_add(t, i, sample) (or nothing if it is gone). */
size_t pe_tracker_resolve(pe_tracker *t);
int pe_tracker_new_pid(const pe_tracker *t, size_t i);
void pe_tracker_add(pe_tracker *t, size_t i, const pe_sample *s);
/* Ends the cycle: forgets processes not seen, and fills the groups. */
void pe_tracker_end(pe_tracker *t);

/* ---- Top processes by CPU and by memory, without config */

typedef struct pe_top_entry {
    int pid;
    uint64_t starttime;
    uint64_t ticks; /* utime + stime */
    uint64_t rss_bytes;
    double cpu_rate; /* CPU seconds per second since the previous scrape; <0 unknown */
    char comm[PE_COMM_MAX];
} pe_top_entry;

typedef struct pe_top {
    pe_top_entry *cur, *next; /* sorted by pid */
    size_t n_cur, n_next, cap_cur, cap_next;
    double prev_time, now; /* 0: no previous scrape */
} pe_top;

void pe_top_destroy(pe_top *t);
void pe_top_begin(pe_top *t, double now);
void pe_top_observe(pe_top *t, int pid, const pe_stat *st, double start_time, long page_size);
void pe_top_end(pe_top *t);
/* The n entries with the highest CPU rate (known rates only) or resident
 * memory, highest first, into out (which holds n); returns how many. */
size_t pe_top_cpu(const pe_top *t, size_t n, const pe_top_entry **out);
size_t pe_top_memory(const pe_top *t, size_t n, const pe_top_entry **out);

/* ---- The scrape: one pass over /proc, then the metrics */

typedef struct pe_options {
    const char *procfs;
    bool children, threads, smaps, recheck, remove_empty;
    double recheck_limit;
    size_t top_cpu, top_memory;
} pe_options;

typedef struct pe_user pe_user;

typedef struct pe_exporter {
    pe_options opt;
    pe_namer *namer;
    pe_tracker tracker;
    pe_top top;
    core_arena arena;
    uint64_t boot_time; /* btime of /proc/stat */
    long page_size;
    unsigned needs; /* PE_NEED_* of the namer */
    int procfd;
    bool procfs_is_proc; /* the live /proc: pids are ours to prlimit(2) */
    uint64_t scrape_errors, procread_errors, partial_errors;
    pe_user *users; /* uid -> name cache */
    size_t n_users, cap_users;
} pe_exporter;

/* Prepares an exporter, which takes the namer on success; -1 when procfs
 * cannot be read (the namer stays the caller's). */
int pe_exporter_init(pe_exporter *x, const pe_options *opt, pe_namer *namer, core_err *err);
/* Keeping /proc/<pid> files open between scrapes (procfs.c): at most `budget`
 * files stay open; pe_keep_sweep at the end of a scrape closes the ones that
 * scrape did not read. */
void pe_keep_init(size_t budget);
void pe_keep_sweep(void);

void pe_exporter_destroy(pe_exporter *x);
/* Reads /proc once and updates the tracker. */
void pe_exporter_update(pe_exporter *x);
/* Writes every metric (after pe_exporter_update). */
void pe_exporter_emit(pe_exporter *x, prom_emitter *e);

/* A libprom collector (userdata: the pe_exporter) of the exporter's own
 * process_* families: those of libprom's process collector, with the same
 * names, help and values, without listing /proc/self/fd (self.c). */
int pe_self_collect(prom_emitter *e, void *userdata);

#endif
