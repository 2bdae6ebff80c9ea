/*
 * tool_check.c - `prom-tool check config` and `prom-tool check rules`, as
 * promtool 3.x's.
 *
 * check config: each file is loaded and checked by server/config exactly as
 * prom-server loads it, so the two report the same errors (with
 * file:line:col, where promtool names only the file).  Unless --syntax-only,
 * the files a config refers to must exist: rule files (a pattern without '*'
 * must match a file), TLS and secret files of every scrape config; then the
 * scrape configs are linted (too-long-scrape-interval, with --lint=all or
 * that option: an interval at or above the lookback delta) and every rule
 * file found is checked as `check rules` checks it, its report following the
 * config's.
 *
 * check rules: each file (standard input when none is given) is parsed and
 * validated by server/rules (the same checks the rule manager applies at
 * load, every error with file:line:col, the group and the rule), then linted
 * for duplicate rules (--lint=duplicate-rules, the default, or all): two
 * rules of the same name with the same labels once group labels are merged
 * in.  Output and exit status are promtool's: "Checking <file>", then
 * "  SUCCESS: N rules found" or "  FAILED:" with the errors on stderr; exit 1
 * when any file has an error, 3 when only lint findings were made and
 * --lint-fatal is given, else 0.
 *
 * Trade-off: upstream reports a failed parse without the blank line that
 * follows a success or a lint finding; that layout is kept, so scripts that
 * split promtool's output by blank lines split ours the same way.
 */
#define _GNU_SOURCE
#include "cmd/tool.h"
#include "config/config.h"
#include "rules/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Arguments */

bool tool_existing_files(const core_strlist *files)
{
    for (size_t i = 0; i < files->len; i++) {
        struct stat st;
        const char *p = files->v[i];
        if (stat(p, &st) < 0) {
            if (errno != ENOENT) continue; /* reading it will say what is wrong */
            tool_usage_error("path '%s' does not exist", p);
            return false;
        }
        if (S_ISDIR(st.st_mode)) {
            /* kingpin names the directory by its base name (FileInfo.Name()) */
            size_t n = strlen(p);
            while (n > 1 && p[n - 1] == '/')
                n--;
            size_t b = n;
            while (b > 0 && p[b - 1] != '/')
                b--;
            if (n == 1 && p[0] == '/') b = 0;
            tool_usage_error("'%.*s' is a directory", (int)(n - b), p + b);
            return false;
        }
    }
    return true;
}

/* ---- Lint settings */

typedef struct lint_opts {
    bool all, duplicates, fatal, ignore_unknown;
    int64_t lookback_ms; /* check config: too-long-scrape-interval; 0 off */
} lint_opts;

/* promtool's newRulesLintConfig: a comma-separated list; unknown options
 * are warned about on stdout and ignored. */
static void parse_rules_lint(const char *s, lint_opts *l)
{
    if (!s || !*s) return;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *one = core_strndup(p, n);
        if (strcmp(one, "all") == 0) {
            l->all = true;
        } else if (strcmp(one, "duplicate-rules") == 0) {
            l->duplicates = true;
        } else if (strcmp(one, "none") != 0) {
            core_sb q = CORE_SB_INIT;
            core_sb_add_quoted(&q, one, n);
            printf("WARNING: unknown lint option: %s\n", q.buf);
            core_sb_destroy(&q);
        }
        free(one);
        if (!comma) break;
        p = comma + 1;
    }
}

/* promtool's newConfigLintConfig: too-long-scrape-interval (and all) turn
 * on the scrape interval lint, none turns everything off, the rest goes to
 * the rules' lint settings. */
static void parse_config_lint(const char *s, int64_t lookback_ms, lint_opts *l)
{
    core_sb rules = CORE_SB_INIT;
    bool none = false;
    for (const char *p = s ? s : "";;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool is_all = n == 3 && strncmp(p, "all", 3) == 0;
        if (is_all || (n == 24 && strncmp(p, "too-long-scrape-interval", 24) == 0)) {
            l->lookback_ms = lookback_ms;
            if (is_all) core_sb_adds(&rules, rules.len ? ",all" : "all");
        } else if (n == 4 && strncmp(p, "none", 4) == 0) {
            none = true;
        } else {
            if (rules.len) core_sb_addc(&rules, ',');
            core_sb_add(&rules, p, n);
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (none) {
        l->lookback_ms = 0;
        core_sb_reset(&rules);
    }
    parse_rules_lint(rules.len ? rules.buf : "", l);
    core_sb_destroy(&rules);
}

/* ---- Duplicate rules */

typedef struct rule_key {
    const char *metric;
    core_labels *labels; /* group labels merged with the rule's */
} rule_key;

static int key_cmp(const rule_key *a, const rule_key *b)
{
    int c = strcmp(a->metric, b->metric);
    return c ? c : core_labels_compare(a->labels, b->labels);
}

static int key_qsort(const void *a, const void *b)
{
    return key_cmp(a, b);
}

/* The lint message for duplicates in `f`, or 0 (nothing appended). */
static size_t find_duplicates(const rules_file *f, core_sb *msg)
{
    size_t n = 0, ndup = 0;
    for (size_t g = 0; g < f->ngroups; g++)
        n += f->groups[g].nrules;
    if (n < 2) return 0;
    rule_key *keys = core_calloc(n, sizeof *keys);
    size_t k = 0;
    for (size_t g = 0; g < f->ngroups; g++) {
        const rules_group_def *gd = &f->groups[g];
        for (size_t r = 0; r < gd->nrules; r++) {
            core_labels_builder b;
            core_labels_builder_init(&b, gd->labels);
            const core_labels *rl = gd->rules[r].labels;
            for (size_t i = 0; i < rl->len; i++)
                core_labels_builder_set(&b, rl->v[i].name, rl->v[i].value);
            keys[k++] = (rule_key){gd->rules[r].name, core_labels_builder_labels(&b, NULL)};
            core_labels_builder_destroy(&b);
        }
    }
    qsort(keys, n, sizeof *keys, key_qsort);
    rule_key **dups = core_calloc(n, sizeof *dups);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0 &&
            (ndup == 0 || key_cmp(&keys[i - 1], dups[ndup - 1]) != 0))
            dups[ndup++] = &keys[i];
    if (ndup) {
        core_sb_addf(msg, "lint error %zu duplicate rule(s) found.\n", ndup);
        for (size_t i = 0; i < ndup; i++) {
            core_sb_addf(msg, "Metric: %s\nLabel(s):\n", dups[i]->metric);
            for (size_t j = 0; j < dups[i]->labels->len; j++)
                core_sb_addf(msg, "\t%s: %s\n", dups[i]->labels->v[j].name,
                             dups[i]->labels->v[j].value);
        }
        core_sb_adds(msg, "Might cause inconsistency while recording expressions");
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i].labels);
    free(keys);
    free(dups);
    return ndup;
}

/* ---- Checking rule files */

typedef struct check_result {
    bool failed, has_errors;
} check_result;

/* Reports one parsed (or refused) rule file as promtool's checkRules does. */
static void report_rules(rules_file *f, const core_sb *errors, const lint_opts *l,
                         check_result *res)
{
    fflush(stdout);
    if (!f) {
        res->failed = res->has_errors = true;
        fprintf(stderr, "  FAILED:\n%s", errors->buf ? errors->buf : "");
        if (errors->len && errors->buf[errors->len - 1] != '\n') fputc('\n', stderr);
        return;
    }
    core_sb lint = CORE_SB_INIT;
    if ((l->all || l->duplicates) && find_duplicates(f, &lint) > 0) {
        fprintf(stderr, "  FAILED:\n%s\n", lint.buf);
        res->failed = true;
    } else {
        size_t n = 0;
        for (size_t g = 0; g < f->ngroups; g++)
            n += f->groups[g].nrules;
        printf("  SUCCESS: %zu rules found\n", n);
    }
    core_sb_destroy(&lint);
    printf("\n");
    fflush(stdout);
}

static void check_rule_files(const char *const *files, size_t n, const lint_opts *l,
                             check_result *res)
{
    rules_parse_opts po = {.ignore_unknown_fields = l->ignore_unknown};
    for (size_t i = 0; i < n; i++) {
        printf("Checking %s\n", files[i]);
        core_err err = {{0}};
        core_sb all = CORE_SB_INIT;
        rules_file *f = rules_file_load(files[i], &po, &err, &all);
        if (!f && all.len == 0) core_sb_adds(&all, err.msg);
        report_rules(f, &all, l, res);
        rules_file_free(f);
        core_sb_destroy(&all);
    }
}

static void check_rules_stdin(const lint_opts *l, check_result *res)
{
    printf("Checking standard input\n");
    core_sb in = CORE_SB_INIT;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, stdin)) > 0)
        core_sb_add(&in, buf, got);
    if (ferror(stdin)) {
        fflush(stdout);
        fprintf(stderr, "  FAILED: read /dev/stdin: %s\n", strerror(errno));
        res->failed = res->has_errors = true;
        core_sb_destroy(&in);
        return;
    }
    rules_parse_opts po = {.ignore_unknown_fields = l->ignore_unknown};
    core_err err = {{0}};
    core_sb all = CORE_SB_INIT;
    rules_file *f = rules_file_parse("<stdin>", in.buf ? in.buf : "", in.len, &po, &err, &all);
    if (!f && all.len == 0) core_sb_adds(&all, err.msg);
    report_rules(f, &all, l, res);
    rules_file_free(f);
    core_sb_destroy(&all);
    core_sb_destroy(&in);
}

static int exit_status(const check_result *res, const lint_opts *l)
{
    if (res->failed && res->has_errors) return 1;
    if (res->failed && l->fatal) return 3;
    return 0;
}

int tool_check_rules(const tool_cmd *cmd, int argc, char **argv)
{
    bool lint_fatal = false, ignore_unknown = false;
    const char *lint = "duplicate-rules";
    int64_t lookback = 5 * CORE_MS_PER_MINUTE;
    core_strlist files = {0};
    core_flag flags[] = {
        {"lint", CORE_FLAG_STRING, &lint, "duplicate-rules",
         "Linting checks to apply. Available options are: all, duplicate-rules, none. Use "
         "--lint=none to disable linting",
         false},
        {"lint-fatal", CORE_FLAG_BOOL, &lint_fatal, NULL, "Make lint errors exit with exit code 3.",
         false},
        {"ignore-unknown-fields", CORE_FLAG_BOOL, &ignore_unknown, NULL,
         "Ignore unknown fields in the rule files. This is useful when you want to extend rule "
         "files with custom metadata. Ensure that those fields are removed before loading them "
         "into the Prometheus server as it performs strict checks by default.",
         false},
        /* the check group's flag (used by check config) */
        {"query.lookback-delta", CORE_FLAG_DURATION, &lookback, "5m",
         "The server's maximum query lookback duration.", false},
    };
    tool_short shorts[] = {{0, NULL}};
    tool_arg args[] = {
        {"rule-files", "The rule files to check, default is read from standard input.", NULL, NULL,
         false, &files},
    };
    tool_spec spec = {flags, TOOL_COUNT(flags), shorts, 0, args, TOOL_COUNT(args), 1};
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;
    if (!tool_existing_files(&files)) {
        core_strlist_destroy(&files);
        return 1;
    }
    lint_opts l = {.fatal = lint_fatal, .ignore_unknown = ignore_unknown};
    parse_rules_lint(lint, &l);
    check_result res = {0};
    if (files.len == 0)
        check_rules_stdin(&l, &res);
    else
        check_rule_files(files.v, files.len, &l, &res);
    core_strlist_destroy(&files);
    fflush(stdout);
    return exit_status(&res, &l);
}

/* ---- check config */

/* promtool's checkFileExists: a named file must be there. */
static int file_exists(const char *what, const char *path, core_err *err)
{
    if (!path || !*path) return 0;
    if (access(path, F_OK) == 0) return 0;
    return core_err_set(err, "error checking %s file %s: stat %s: no such file or directory", what,
                        path, path);
}

static int check_http(const cfg_http *h, core_err *err)
{
    if (file_exists("CA", h->tls.ca_file, err) < 0 ||
        file_exists("client cert", h->tls.cert_file, err) < 0 ||
        file_exists("client key", h->tls.key_file, err) < 0)
        return -1;
    if (h->basic_auth && file_exists("password", h->basic_auth->password_file, err) < 0) return -1;
    if (h->authorization &&
        file_exists("authorization credentials", h->authorization->credentials_file, err) < 0)
        return -1;
    return 0;
}

/* The rule files of a config, as promtool's checkConfig finds them: every
 * pattern globbed; one without '*' must match something. */
static int find_rule_files(const cfg_config *c, core_strlist *out, core_err *err)
{
    for (size_t i = 0; i < c->rule_files.n; i++) {
        const char *pat = c->rule_files.v[i];
        char **m;
        size_t n;
        if (rules_glob(&pat, 1, &m, &n, err) < 0) return -1;
        if (n == 0 && !strchr(pat, '*')) {
            core_sb q = CORE_SB_INIT;
            core_sb_add_quoted(&q, pat, strlen(pat));
            core_err_set(err, "%s does not point to an existing file", q.buf);
            core_sb_destroy(&q);
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            core_strlist_push(out, core_strdup(m[k]));
        rules_files_free(m, n);
    }
    return 0;
}

/* Loads and checks one file: its rule files go to `rules`, the config to
 * *cfg (for the lints) when it loaded. */
static int check_one(const char *file, bool syntax_only, core_strlist *rules, cfg_config **cfg,
                     core_err *err)
{
    cfg_config *c = cfg_load_file(file, err);
    *cfg = c;
    if (!c) return -1;
    if (syntax_only) return 0;
    if (find_rule_files(c, rules, err) < 0) return -1;
    for (size_t i = 0; i < c->n_scrape_configs; i++)
        if (check_http(&c->scrape_configs[i].http, err) < 0) return -1;
    return 0;
}

/* promtool's lintScrapeConfigs: the first scrape interval at or above the
 * lookback delta, whose points would go stale between scrapes. */
static bool lint_scrape_configs(const cfg_config *c, const lint_opts *l)
{
    for (size_t i = 0; c && l->lookback_ms > 0 && i < c->n_scrape_configs; i++) {
        const cfg_scrape *s = &c->scrape_configs[i];
        if (s->scrape_interval_ms < l->lookback_ms) continue;
        char d[CORE_DURATION_BUFSZ];
        core_duration_format(s->scrape_interval_ms, d);
        fflush(stdout);
        fprintf(stderr,
                "  FAILED: too long scrape interval found, data point will be marked as stale - "
                "job: %s, interval: %s\n",
                s->job_name, d);
        return true;
    }
    return false;
}

static void free_strs(core_strlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free((void *)l->v[i]);
    core_strlist_destroy(l);
}

int tool_check_config(const tool_cmd *cmd, int argc, char **argv)
{
    bool syntax_only = false, agent = false, lint_fatal = false, ignore_unknown = false;
    const char *lint = "duplicate-rules";
    int64_t lookback = 5 * CORE_MS_PER_MINUTE;
    core_strlist files = {0};
    core_flag flags[] = {
        {"syntax-only", CORE_FLAG_BOOL, &syntax_only, NULL,
         "Only check the config file syntax, ignoring file and content validation referenced in "
         "the config",
         false},
        {"lint", CORE_FLAG_STRING, &lint, "duplicate-rules",
         "Linting checks to apply to the rules/scrape configs specified in the config. Available "
         "options are: all, duplicate-rules, none, too-long-scrape-interval. Use --lint=none to "
         "disable linting",
         false},
        {"lint-fatal", CORE_FLAG_BOOL, &lint_fatal, NULL, "Make lint errors exit with exit code 3.",
         false},
        {"ignore-unknown-fields", CORE_FLAG_BOOL, &ignore_unknown, NULL,
         "Ignore unknown fields in the rule groups read by the config files. This is useful when "
         "you want to extend rule files with custom metadata. Ensure that those fields are removed "
         "before loading them into the Prometheus server as it performs strict checks by "
         "default.",
         false},
        {"agent", CORE_FLAG_BOOL, &agent, NULL, "Check config file for Prometheus in Agent mode.",
         false},
        /* the check group's flag */
        {"query.lookback-delta", CORE_FLAG_DURATION, &lookback, "5m",
         "The server's maximum query lookback duration.", false},
    };
    tool_short shorts[] = {{0, NULL}};
    tool_arg args[] = {
        {"config-files", "The config files to check.", NULL, NULL, true, &files},
    };
    tool_spec spec = {flags, TOOL_COUNT(flags), shorts, 0, args, TOOL_COUNT(args), 1};
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;
    if (!tool_existing_files(&files)) {
        core_strlist_destroy(&files);
        return 1;
    }
    lint_opts l = {.fatal = lint_fatal, .ignore_unknown = ignore_unknown};
    parse_config_lint(lint, lookback, &l);
    check_result res = {0};
    for (size_t i = 0; i < files.len; i++) {
        const char *f = files.v[i];
        printf("Checking %s\n", f);
        fflush(stdout);
        core_err err = {{0}};
        core_strlist rules = {0};
        cfg_config *c = NULL;
        if (check_one(f, syntax_only, &rules, &c, &err) < 0) {
            /* as upstream, a config that fails has no rule files or
             * scrape configs to look at further */
            fprintf(stderr, "  FAILED: %s\n", err.msg);
            res.failed = res.has_errors = true;
            free_strs(&rules);
            cfg_free(c);
            c = NULL;
        } else {
            if (rules.len) printf("  SUCCESS: %zu rule files found\n", rules.len);
            printf(" SUCCESS: %s is valid prometheus config file syntax\n", f);
        }
        printf("\n");
        fflush(stdout);
        if (!syntax_only) {
            if (lint_scrape_configs(c, &l)) res.failed = true;
            check_rule_files(rules.v, rules.len, &l, &res);
        }
        free_strs(&rules);
        cfg_free(c);
    }
    core_strlist_destroy(&files);
    return exit_status(&res, &l);
}
