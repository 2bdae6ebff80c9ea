/*
 * prom-tool - a drop-in for promtool, the Prometheus command-line tool.
 *
 * tool_main.c holds the command tree and the command-line parser; the
 * commands live in their own files (tool_tsdb.c: tsdb list, analyze, dump,
 * dump-openmetrics; tool_backfill.c: tsdb create-blocks-from openmetrics;
 * tool_check.c: check config, check rules; tool_rules.c: test rules;
 * tool_query.c: query instant, range, series, labels).
 *
 * The tree is one table (`commands` below): each entry is either a group
 * ("tsdb") or a command ("tsdb list") with its run function.  main() walks
 * the words of the command line down the table until it reaches a command,
 * then hands it the rest of argv; the command declares its flags and
 * positional arguments and calls tool_parse, which parses as kingpin (the
 * library promtool is built on) does: flags and arguments interleaved, short
 * flags, --help and --version anywhere.  Errors use kingpin's words ("expected
 * command but got \"foo\"", "must select a subcommand of 'tsdb'", "unknown
 * long flag '--foo'") so scripts that read promtool's messages keep working.
 * Flags may also come between the words of a command, as kingpin allows for
 * a group's flags (`tsdb create-blocks-from --quiet openmetrics ...`): main()
 * hands them to the command with the words after it, the word after a flag
 * that takes a value (and does not continue the command's name) going along
 * as that value; the command's own parse then accepts or refuses them.
 *
 * Trade-off: flags are checked with core_flags_parse (the project's flag
 * reader, values validated there with its messages) after tool_parse has
 * sorted argv into flags and arguments; so a value's error text is the
 * project's ("invalid value \"x\" for flag --limit: expected an integer")
 * rather than Go's strconv text.  promtool's global flags other than --help
 * and --version (--experimental, --enable-feature) come with the commands
 * that use them.
 */
#include "cmd/tool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char summary[] = "Tooling for the Prometheus monitoring system.";

/* The command tree.  A group comes before its commands; help lists them in
 * this order. */
static const tool_cmd commands[] = {
    {"help", "[<command>...]", "Show help.", NULL},
    {"check", "<command> [<args> ...]", "Check the resources for validity.", NULL},
    {"check config", "[<flags>] <config-files>...", "Check if the config files are valid or not.",
     tool_check_config},
    {"check rules", "[<flags>] [<rule-files>...]", "Check if the rule files are valid or not.",
     tool_check_rules},
    {"query", "<command> [<args> ...]", "Run query against a Prometheus server.", NULL},
    {"query instant", "[<flags>] <server> <expr>", "Run instant query.", tool_query_instant},
    {"query range", "[<flags>] <server> <expr>", "Run range query.", tool_query_range},
    {"query series", "--match=MATCH [<flags>] <server>", "Run series query.", tool_query_series},
    {"query labels", "[<flags>] <server> <name>", "Run labels query.", tool_query_labels},
    {"test", "<command> [<args> ...]", "Unit testing.", NULL},
    {"test rules", "[<flags>] <test-rule-file>...", "Unit tests for rules.", tool_test_rules},
    {"tsdb", "<command> [<args> ...]", "Run tsdb commands.", NULL},
    {"tsdb analyze", "[<flags>] [<db path>] [<block id>]",
     "Analyze churn, label pair cardinality and compaction efficiency.", tool_tsdb_analyze},
    {"tsdb list", "[<flags>] [<db path>]", "List tsdb blocks.", tool_tsdb_list},
    {"tsdb dump", "[<flags>] [<db path>]",
     "Dump data (series+samples or optionally just series) from a TSDB.", tool_tsdb_dump},
    {"tsdb dump-openmetrics", "[<flags>] [<db path>]",
     "[Experimental] Dump samples from a TSDB into OpenMetrics text format, excluding native "
     "histograms and staleness markers, which are not representable in OpenMetrics.",
     tool_tsdb_dump_openmetrics},
    {"tsdb create-blocks-from", "<command> [<args> ...]",
     "[Experimental] Import samples from input and produce TSDB blocks. Please refer to the "
     "storage docs for more details.",
     NULL},
    {"tsdb create-blocks-from openmetrics", "[<flags>] <input file> [<output directory>]",
     "Import samples from OpenMetrics input and produce TSDB blocks. Please refer to the storage "
     "docs for more details.",
     tool_tsdb_create_blocks_openmetrics},
};

#define NCOMMANDS TOOL_COUNT(commands)

int tool_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", TOOL_PROGRAM);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ", try --help\n");
    va_end(ap);
    return 1;
}

int tool_fail(const core_err *err)
{
    fflush(stdout);
    fprintf(stderr, "%s\n", err->msg);
    return 1;
}

/* ---- Help */

static const tool_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

/* Whether `name` lies anywhere under group `group`. */
static bool is_below(const char *name, const char *group)
{
    size_t n = strlen(group);
    return n == 0 || (strncmp(name, group, n) == 0 && name[n] == ' ');
}

typedef struct help_row {
    char *left;
    const char *right;
} help_row;

/* Prints rows as two columns, the second aligned (kingpin's layout). */
static void print_rows(FILE *out, const help_row *rows, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(rows[i].left) > w) w = strlen(rows[i].left);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].right && rows[i].right[0])
            fprintf(out, "  %-*s  %s\n", (int)w, rows[i].left, rows[i].right);
        else
            fprintf(out, "  %s\n", rows[i].left);
    }
}

static void print_global_flags(FILE *out)
{
    help_row rows[] = {
        {"-h, --help", "Show context-sensitive help."},
        {"    --version", "Show application version."},
    };
    fprintf(out, "Flags:\n");
    print_rows(out, rows, TOOL_COUNT(rows));
}

/* The overview of the whole program or of a group. */
static void print_group_help(FILE *out, const tool_cmd *group)
{
    const char *gname = group ? group->name : "";
    if (group) {
        fprintf(out, "usage: %s %s %s\n\n%s\n\n", TOOL_PROGRAM, group->name, group->usage,
                group->help);
    } else {
        fprintf(out, "usage: %s [<flags>] <command> [<args> ...]\n\n%s\n\n", TOOL_PROGRAM, summary);
    }
    print_global_flags(out);
    fprintf(out, "\n%s:\n", group ? "Subcommands" : "Commands");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const tool_cmd *c = &commands[i];
        if (!is_below(c->name, gname) || (c->run == NULL && strcmp(c->name, "help") != 0)) continue;
        fprintf(out, "  %s %s\n    %s\n\n", c->name, c->usage, c->help);
    }
}

static char *flag_left(const core_flag *fl, const tool_spec *spec)
{
    char shortc = 0;
    for (size_t i = 0; i < spec->nshorts; i++)
        if (strcmp(spec->shorts[i].name, fl->name) == 0) shortc = spec->shorts[i].c;
    core_sb sb = CORE_SB_INIT;
    if (shortc)
        core_sb_addf(&sb, "-%c, ", shortc);
    else
        core_sb_adds(&sb, "    ");
    if (fl->kind == CORE_FLAG_BOOL) {
        core_sb_addf(&sb, "--[no-]%s", fl->name);
    } else if (fl->def && fl->def[0]) {
        core_sb_addf(&sb, "--%s=%s", fl->name, fl->def);
    } else {
        core_sb_addf(&sb, "--%s=", fl->name);
        for (const char *p = fl->name; *p; p++)
            core_sb_addc(&sb, *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
    }
    if (fl->kind == CORE_FLAG_LIST) core_sb_adds(&sb, " ...");
    return core_sb_detach(&sb, NULL);
}

static void print_cmd_help(FILE *out, const tool_cmd *cmd, const tool_spec *spec)
{
    fprintf(out, "usage: %s %s %s\n\n%s\n\n", TOOL_PROGRAM, cmd->name, cmd->usage, cmd->help);
    size_t shown = spec->nflags - spec->nhidden, n = 2 + shown;
    help_row *rows = core_calloc(n, sizeof *rows);
    rows[0] = (help_row){core_strdup("-h, --help"), "Show context-sensitive help."};
    rows[1] = (help_row){core_strdup("    --version"), "Show application version."};
    for (size_t i = 0; i < shown; i++)
        rows[2 + i] = (help_row){flag_left(&spec->flags[i], spec), spec->flags[i].help};
    fprintf(out, "Flags:\n");
    print_rows(out, rows, n);
    for (size_t i = 0; i < n; i++)
        free(rows[i].left);
    free(rows);
    if (spec->nargs == 0) return;
    rows = core_calloc(spec->nargs, sizeof *rows);
    for (size_t i = 0; i < spec->nargs; i++) {
        const tool_arg *a = &spec->args[i];
        core_sb sb = CORE_SB_INIT;
        core_sb_addf(&sb, a->required ? "<%s>%s" : "[<%s>%s]", a->name, a->list ? "..." : "");
        rows[i] = (help_row){core_sb_detach(&sb, NULL), a->help};
    }
    fprintf(out, "\nArgs:\n");
    print_rows(out, rows, spec->nargs);
    for (size_t i = 0; i < spec->nargs; i++)
        free(rows[i].left);
    free(rows);
}

/* ---- Parsing a command's flags and arguments */

static const tool_short *find_short(const tool_spec *spec, char c)
{
    for (size_t i = 0; i < spec->nshorts; i++)
        if (spec->shorts[i].c == c) return &spec->shorts[i];
    return NULL;
}

static core_flag *find_flag(const tool_spec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->nflags; i++)
        if (strlen(spec->flags[i].name) == len && strncmp(spec->flags[i].name, name, len) == 0)
            return &spec->flags[i];
    return NULL;
}

/* The parse in progress: the flag words for core_flags_parse (short flags
 * rewritten as long ones, each value a separate word pointing into argv, so
 * what core_flags_parse stores outlives the parse) and the positional
 * arguments. */
typedef struct parse_state {
    core_strlist flagv; /* flagv.v[0] is the program name */
    core_strlist pos;
    core_strlist owned; /* "--name" words made from short flags */
} parse_state;

static const char *own(parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *own(parse_state *ps, const char *fmt, ...)
{
    core_sb sb = CORE_SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    core_sb_addvf(&sb, fmt, ap);
    va_end(ap);
    char *s = core_sb_detach(&sb, NULL);
    core_strlist_push(&ps->owned, s);
    return s;
}

static void parse_state_destroy(parse_state *ps)
{
    for (size_t i = 0; i < ps->owned.len; i++)
        free((void *)ps->owned.v[i]);
    core_strlist_destroy(&ps->owned);
    core_strlist_destroy(&ps->flagv);
    core_strlist_destroy(&ps->pos);
}

/* Sorts argv into flags and arguments.  Returns 0, 1 after help or version
 * (printed), -1 after a usage error (printed). */
static int split_argv(const tool_cmd *cmd, const tool_spec *spec, int argc, char **argv,
                      parse_state *ps)
{
    core_strlist_push(&ps->flagv, TOOL_PROGRAM);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                core_strlist_push(&ps->pos, argv[i]);
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_cmd_help(stdout, cmd, spec);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            core_buildinfo_print(stdout, TOOL_PROGRAM);
            return 1;
        }
        if (strncmp(a, "--", 2) == 0) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            core_flag *fl = find_flag(spec, name, nlen);
            if (!fl && !eq && strncmp(name, "no-", 3) == 0) {
                core_flag *neg = find_flag(spec, name + 3, nlen - 3);
                if (neg && neg->kind == CORE_FLAG_BOOL) fl = neg;
            }
            if (!fl) return -tool_usage_error("unknown long flag '--%.*s'", (int)nlen, name);
            if (fl->kind == CORE_FLAG_BOOL || eq) {
                core_strlist_push(&ps->flagv, a);
            } else if (i + 1 < argc) {
                core_strlist_push(&ps->flagv, a);
                core_strlist_push(&ps->flagv, argv[++i]);
            } else {
                return -tool_usage_error("expected argument for flag '--%s'", fl->name);
            }
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            /* One or more short flags: -r, -rh, -ovalue, -o value. */
            for (const char *p = a + 1; *p; p++) {
                if (*p == 'h') {
                    print_cmd_help(stdout, cmd, spec);
                    return 1;
                }
                const tool_short *s = find_short(spec, *p);
                if (!s) return -tool_usage_error("unknown short flag '-%c'", *p);
                core_flag *fl = find_flag(spec, s->name, strlen(s->name));
                if (fl->kind == CORE_FLAG_BOOL) {
                    core_strlist_push(&ps->flagv, own(ps, "--%s", fl->name));
                    continue;
                }
                if (!p[1] && i + 1 >= argc)
                    return -tool_usage_error("expected argument for flag '-%c'", *p);
                core_strlist_push(&ps->flagv, own(ps, "--%s", fl->name));
                core_strlist_push(&ps->flagv, p[1] ? p + 1 : argv[++i]);
                break;
            }
            continue;
        }
        core_strlist_push(&ps->pos, a);
    }
    return 0;
}
bool tool_parse(const tool_cmd *cmd, tool_spec *spec, int argc, char **argv, int *status)
{
    parse_state ps = {0};
    int rc = split_argv(cmd, spec, argc, argv, &ps);
    if (rc == 0) {
        core_flags f = {.program = TOOL_PROGRAM, .flags = spec->flags, .n = spec->nflags};
        core_err err;
        if (core_flags_parse(&f, (int)ps.flagv.len, (char **)ps.flagv.v, NULL, stdout, &err) < 0)
            rc = -tool_usage_error("%s", err.msg);
    }
    size_t next = 0;
    for (size_t i = 0; rc == 0 && i < spec->nargs; i++) {
        tool_arg *a = &spec->args[i];
        if (a->list) {
            a->list->len = 0;
            while (next < ps.pos.len)
                core_strlist_push(a->list, ps.pos.v[next++]);
            if (a->required && a->list->len == 0)
                rc = -tool_usage_error("required argument '%s' not provided", a->name);
            continue;
        }
        if (next < ps.pos.len)
            *a->dest = ps.pos.v[next++];
        else if (a->required)
            rc = -tool_usage_error("required argument '%s' not provided", a->name);
        else
            *a->dest = a->def;
    }
    if (rc == 0 && next < ps.pos.len) rc = -tool_usage_error("unexpected %s", ps.pos.v[next]);
    parse_state_destroy(&ps);
    *status = rc == 1 ? 0 : 1;
    return rc == 0;
}

/* ---- main */

/* Answers `prom-tool help [<command>...]`. */
static int run_help(int nwords, char **words)
{
    core_sb name = CORE_SB_INIT;
    const tool_cmd *node = NULL;
    for (int i = 0; i < nwords; i++) {
        if (name.len) core_sb_addc(&name, ' ');
        core_sb_adds(&name, words[i]);
        node = find_cmd(name.buf);
        if (!node) {
            core_sb_destroy(&name);
            return tool_usage_error("expected command but got \"%s\"", words[i]);
        }
    }
    core_sb_destroy(&name);
    if (node && node->run) {
        char *argv[] = {(char *)node->name, "--help", NULL};
        return node->run(node, 2, argv);
    }
    print_group_help(stdout, node);
    return 0;
}

int main(int argc, char **argv)
{
    core_sb path = CORE_SB_INIT, next_path = CORE_SB_INIT;
    core_strlist early = {0}; /* flags (and values) met before the command was complete */
    const tool_cmd *node = NULL;
    bool help = false, may_take_value = false;
    int i = 1, status = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = true;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            core_buildinfo_print(stdout, TOOL_PROGRAM);
            goto out;
        }
        bool is_long = strncmp(a, "--", 2) == 0 && a[2];
        bool is_short = a[0] == '-' && a[1] && a[1] != '-';
        if ((is_long || is_short) && node && strcmp(node->name, "help") != 0) {
            core_strlist_push(&early, a);
            /* "--name" and "-x" may take the next word as their value. */
            may_take_value = is_long ? strchr(a, '=') == NULL : a[2] == '\0';
            continue;
        }
        if (is_long) {
            const char *eq = strchr(a, '=');
            status = tool_usage_error("unknown long flag '%.*s'",
                                      (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
            goto out;
        }
        if (is_short) {
            status = tool_usage_error("unknown short flag '-%c'", a[1]);
            goto out;
        }
        if (node && strcmp(node->name, "help") == 0) break;
        core_sb_reset(&next_path);
        if (path.len) core_sb_addf(&next_path, "%s ", path.buf);
        core_sb_adds(&next_path, a);
        const tool_cmd *next = find_cmd(next_path.buf);
        if (!next && may_take_value) {
            core_strlist_push(&early, a);
            may_take_value = false;
            continue;
        }
        may_take_value = false;
        if (!next) {
            status = tool_usage_error("expected command but got \"%s\"", a);
            goto out;
        }
        core_sb_reset(&path);
        core_sb_adds(&path, next_path.buf);
        node = next;
        if (node->run) {
            i++;
            break;
        }
    }
    if (node && strcmp(node->name, "help") == 0) {
        status = run_help(argc - i, argv + i);
    } else if (node && node->run) {
        /* The command gets its own words, after the flags met among the
         * words of its name; a --help seen before its name is handed on so
         * that its own help is printed. */
        int n = 1;
        char **sub = core_calloc(early.len + (size_t)(argc - i) + 3, sizeof *sub);
        sub[0] = (char *)node->name;
        for (size_t k = 0; k < early.len; k++)
            sub[n++] = (char *)early.v[k];
        for (int k = i; k < argc; k++)
            sub[n++] = argv[k];
        if (help) sub[n++] = "--help";
        status = node->run(node, n, sub);
        free(sub);
    } else if (early.len) {
        /* No command takes them: the first one is unknown, as kingpin says. */
        const char *a = early.v[0];
        if (a[1] == '-') {
            const char *eq = strchr(a, '=');
            status = tool_usage_error("unknown long flag '%.*s'",
                                      (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
        } else {
            status = tool_usage_error("unknown short flag '-%c'", a[1]);
        }
    } else if (help || !node) {
        print_group_help(stdout, node);
    } else {
        status = tool_usage_error("must select a subcommand of '%s'", node->name);
    }
out:
    core_sb_destroy(&path);
    core_sb_destroy(&next_path);
    core_strlist_destroy(&early);
    fflush(stdout);
    return status;
}
