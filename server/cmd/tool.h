/*
 * tool.h - what prom-tool's commands share: the command table and the
 * command-line parser every command calls.
 *
 * prom-tool mirrors promtool's command tree ("tsdb list", "check config", ...).
 * tool_main.c holds one table of tool_cmd entries: a group ("tsdb") has no
 * run function, a command ("tsdb list") has one.  Adding a command is one
 * table entry plus its function, which declares its flags and arguments in a
 * tool_spec and hands argv to tool_parse:
 *
 *     static int run_list(const tool_cmd *cmd, int argc, char **argv)
 *     {
 *         bool human = false;
 *         const char *path;
 *         core_flag flags[] = {{"human-readable", CORE_FLAG_BOOL, &human, NULL, "...", false}};
 *         tool_short shorts[] = {{'r', "human-readable"}};
 *         tool_arg args[] = {{"db path", "Database path.", &path, "data/"}};
 *         tool_spec spec = TOOL_SPEC(flags, shorts, args);
 *         int status;
 *         if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;
 *         ...
 *     }
 *
 * Parsing follows kingpin, which promtool uses: flags and arguments may come
 * in any order, long flags as --name=value or --name value, bools also as
 * --no-name, short flags as -r (several bools together: -rh), "--" ends the
 * flags; --help (-h) and --version work everywhere.  Mistakes are reported as
 * kingpin reports them ("prom-tool: error: unknown long flag '--foo', try
 * --help") with exit status 1.  A command that fails at run time prints its
 * message alone on stderr and exits 1, as promtool's checkErr does.
 */
#ifndef CMD_TOOL_H
#define CMD_TOOL_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>

#define TOOL_PROGRAM "prom-tool"

typedef struct tool_cmd tool_cmd;

/* argv[0] is the command's full name ("tsdb list"); the rest are the words
 * after it on the command line.  Returns the exit status. */
typedef int (*tool_run_fn)(const tool_cmd *cmd, int argc, char **argv);

struct tool_cmd {
    const char *name;  /* words separated by one space: "tsdb", "tsdb list" */
    const char *usage; /* what follows the name in help: "[<flags>] [<db path>]" */
    const char *help;  /* one sentence */
    tool_run_fn run;   /* NULL for a group of commands */
};

/* A positional argument. */
typedef struct tool_arg {
    const char *name;   /* "db path" */
    const char *help;   /* one sentence */
    const char **dest;  /* the value, or `def` when not given */
    const char *def;    /* may be NULL */
    bool required;      /* missing: "required argument '<name>' not provided" */
    core_strlist *list; /* if not NULL: takes every remaining argument (last one only) */
} tool_arg;

/* A one-letter alias of a long flag. */
typedef struct tool_short {
    char c;
    const char *name;
} tool_short;

typedef struct tool_spec {
    core_flag *flags;
    size_t nflags; /* the last `nhidden` of them are left out of --help */
    const tool_short *shorts;
    size_t nshorts;
    tool_arg *args;
    size_t nargs;
    size_t nhidden; /* kingpin's Hidden() flags: parsed, not shown */
} tool_spec;

#define TOOL_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TOOL_SPEC(flags, shorts, args)                                                  \
    {                                                                                   \
        flags, TOOL_COUNT(flags), shorts, TOOL_COUNT(shorts), args, TOOL_COUNT(args), 0 \
    }

/* Parses a command's argv (see tool_run_fn) into the spec's destinations.
 * Returns true to go on; false when the command is done, with *status the
 * exit status: 0 after --help or --version, 1 after a usage error (printed). */
bool tool_parse(const tool_cmd *cmd, tool_spec *spec, int argc, char **argv, int *status);

/* Prints "prom-tool: error: <msg>, try --help" to stderr; returns 1. */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a run-time failure as promtool does (the message alone) and returns 1. */
int tool_fail(const core_err *err);

/* ---- The tsdb commands (tool_tsdb.c) */

int tool_tsdb_list(const tool_cmd *cmd, int argc, char **argv);
int tool_tsdb_analyze(const tool_cmd *cmd, int argc, char **argv);
int tool_tsdb_dump(const tool_cmd *cmd, int argc, char **argv);
int tool_tsdb_dump_openmetrics(const tool_cmd *cmd, int argc, char **argv);

struct tsdb_block;
/* Prints blocks as `tsdb list` does (promtool's printBlocks): one row each,
 * the header row first when `header`, columns aligned over the rows of this
 * call; sizes and times human-readable with `human`. */
void tool_tsdb_print_blocks(const struct tsdb_block *blocks, size_t n, bool header, bool human);

/* ---- Checks (tool_check.c) */
int tool_check_config(const tool_cmd *cmd, int argc, char **argv);
int tool_check_rules(const tool_cmd *cmd, int argc, char **argv);

/* kingpin's ExistingFiles: every path must exist and be no directory, else
 * the usage error ("path 'x' does not exist", "'x' is a directory") is
 * printed and false returned. */
bool tool_existing_files(const core_strlist *files);

/* ---- Rule unit tests (tool_rules.c) */
int tool_test_rules(const tool_cmd *cmd, int argc, char **argv);

/* ---- Queries against a server's HTTP API (tool_query.c) */
int tool_query_instant(const tool_cmd *cmd, int argc, char **argv);
int tool_query_range(const tool_cmd *cmd, int argc, char **argv);
int tool_query_series(const tool_cmd *cmd, int argc, char **argv);
int tool_query_labels(const tool_cmd *cmd, int argc, char **argv);

/* ---- Go's formatting, which promtool's output is made of (tool_query.c;
 * time.Duration's is core_sb_add_go_duration) */

/* strconv.FormatFloat(v, fmt, -1, 64) for fmt 'f' or 'E': the shortest
 * digits that read back as v ("0.1", "1E+00", "1.5E-07"), "NaN", "+Inf",
 * "-Inf". */
void tool_go_float(core_sb *sb, double v, char fmt);

/* ---- Backfilling (tool_backfill.c) */

int tool_tsdb_create_blocks_openmetrics(const tool_cmd *cmd, int argc, char **argv);

#endif
