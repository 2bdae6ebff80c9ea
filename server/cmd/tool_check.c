/*
 * tool_check.c - `prom-tool check config`, as promtool's: each file is
 * loaded and checked by server/config exactly as prom-server loads it, so the
 * two report the same errors (with file:line:col, where promtool names only
 * the file).  Unless --syntax-only, the files a config refers to must exist:
 * rule files (globs expanded; each is listed, rule checking comes with the
 * rules work), TLS and secret files of every scrape config, as promtool
 * checks them.  Exit status 1 when a file fails.
 */
#define _GNU_SOURCE
#include "cmd/tool.h"
#include "config/config.h"

#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Loads and checks one file; *nrules gets the rule files found. */
static int check_one(const char *file, bool syntax_only, size_t *nrules, core_err *err)
{
    *nrules = 0;
    cfg_config *c = cfg_load_file(file, err);
    if (!c) return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->rule_files.n; i++) {
        glob_t g;
        int grc = glob(c->rule_files.v[i], 0, NULL, &g);
        if (grc == 0) *nrules += g.gl_pathc;
        if (grc != 0 && grc != GLOB_NOMATCH)
            rc = core_err_set(err, "\"%s\" is not a valid file path", c->rule_files.v[i]);
        globfree(&g);
    }
    for (size_t i = 0; rc == 0 && !syntax_only && i < c->n_scrape_configs; i++)
        rc = check_http(&c->scrape_configs[i].http, err);
    cfg_free(c);
    return rc;
}

int tool_check_config(const tool_cmd *cmd, int argc, char **argv)
{
    bool syntax_only = false, agent = false, lint_fatal = false;
    const char *lint = "duplicate-rules";
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
        {"agent", CORE_FLAG_BOOL, &agent, NULL, "Check config file for Prometheus in Agent mode.",
         false},
    };
    tool_short shorts[] = {{0, NULL}};
    tool_arg args[] = {
        {"config-files", "The config files to check.", NULL, NULL, true, &files},
    };
    tool_spec spec = {flags, TOOL_COUNT(flags), shorts, 0, args, TOOL_COUNT(args), 0};
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;
    bool failed = false;
    for (size_t i = 0; i < files.len; i++) {
        const char *f = files.v[i];
        printf("Checking %s\n", f);
        fflush(stdout);
        core_err err = {{0}};
        size_t nrules = 0;
        if (check_one(f, syntax_only, &nrules, &err) < 0) {
            fprintf(stderr, "  FAILED: %s\n", err.msg);
            failed = true;
        } else {
            if (nrules) printf("  SUCCESS: %zu rule files found\n", nrules);
            printf(" SUCCESS: %s is valid prometheus config file syntax\n", f);
        }
        printf("\n");
        fflush(stdout);
    }
    core_strlist_destroy(&files);
    return failed ? 1 : 0;
}
