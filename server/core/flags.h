/*
 * flags.h - command-line flags in upstream's (kingpin's) style.
 *
 * Every program declares a table of flags with upstream's names and defaults and
 * hands argv to core_flags_parse:
 *
 *   --name=value or --name value    string, int, duration and list flags
 *   --name, --no-name, --name=false boolean flags
 *   a list flag may be repeated; given once or more, it replaces its default
 *   --help (-h) and --version are built in
 *   "--" ends the flags; the first argument that is no flag ends them too and it
 *   and everything after it are left for the program (prom-tool's commands)
 *
 * Strings point into argv or at the table's defaults, so they live as long as
 * the program.
 */
#ifndef CORE_FLAGS_H
#define CORE_FLAGS_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum core_flag_kind {
    CORE_FLAG_STRING,   /* dest: const char ** */
    CORE_FLAG_BOOL,     /* dest: bool * */
    CORE_FLAG_INT,      /* dest: int64_t * */
    CORE_FLAG_DURATION, /* dest: int64_t *, milliseconds; a Prometheus duration */
    CORE_FLAG_LIST,     /* dest: core_strlist *, repeatable */
} core_flag_kind;

typedef struct core_strlist {
    const char **v;
    size_t len, cap;
} core_strlist;

void core_strlist_push(core_strlist *l, const char *s);
void core_strlist_destroy(core_strlist *l);

typedef struct core_flag {
    const char *name; /* without the leading "--", e.g. "web.listen-address" */
    core_flag_kind kind;
    void *dest;
    const char *def;  /* default as written on a command line, or NULL */
    const char *help; /* one line */
    bool given;       /* set by core_flags_parse when the command line names it */
} core_flag;

/* The flags every program takes for logging, writing into two const char *. */
#define CORE_LOG_FLAGS(level_dest, format_dest)                                                \
    {"log.level",                                                                              \
     CORE_FLAG_STRING,                                                                         \
     (level_dest),                                                                             \
     "info",                                                                                   \
     "Only log messages with the given severity or above. One of: [debug, info, warn, error]", \
     false},                                                                                   \
    {                                                                                          \
        "log.format", CORE_FLAG_STRING, (format_dest), "logfmt",                               \
            "Output format of log messages. One of: [logfmt, json]", false                     \
    }

typedef struct core_flags {
    const char *program;    /* "prom-server" */
    const char *summary;    /* one line for --help */
    const char *usage_args; /* e.g. "<command> [<args> ...]", or NULL */
    core_flag *flags;
    size_t n;
} core_flags;

/* Sets every default, then reads argv[1..argc).  Returns 0 to go on (with
 * *first_arg, if not NULL, the index of the first argument left over), 1 when
 * --help or --version was printed to `out` (the program exits 0), -1 on a bad
 * command line with a message such as `unknown long flag '--foo'` (the program
 * prints "<program>: error: <message>, try --help" and exits 1). */
int core_flags_parse(core_flags *f, int argc, char **argv, int *first_arg, FILE *out,
                     core_err *err);
/* Writes the --help text. */
void core_flags_usage(const core_flags *f, FILE *out);
/* The flag named `name`, or NULL. */
core_flag *core_flags_find(core_flags *f, const char *name);

#endif
