/*
 * test_testdata.c - every `eval` expression of upstream's PromQL scripts
 * ($PROM_SHARED_DIR/promql-testdata, every .test file, read unchanged) goes through the
 * parser with every feature flag on, as upstream's test runner enables them.
 *
 * Expressions not expected to fail must parse, print, and parse again to the
 * same text.  Those expected to fail (eval_fail / expect fail) may fail at
 * run time instead; when they fail here and the script names the message,
 * the message must be ours.
 */
#include "unit/unit.h"

#include <dirent.h>

#include "promql/promql.h"

typedef struct eval_case {
    char file[64];
    int line;
    char *expr;
    bool fail;
    char *msg; /* expected failure message or NULL */
} eval_case;

typedef struct tally {
    int evals, parsed, fails, fail_checked;
    int bad; /* expected to parse but did not, or a wrong message */
} tally;

static const pql_parse_opts all_on = {true, true, true, true};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Skips `n` space-separated words. */
static char *skip_words(char *s, int n)
{
    for (int i = 0; i < n && *s; i++) {
        while (*s && *s != ' ' && *s != '\t')
            s++;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    return s;
}

/* The expression of an eval line, or NULL if it is none. */
static char *eval_expr(char *line, bool *fail)
{
    if (strncmp(line, "eval", 4) != 0) return NULL;
    *fail = strncmp(line, "eval_fail", 9) == 0;
    char *rest = skip_words(line, 1);
    if (strncmp(rest, "instant", 7) == 0) return skip_words(rest, 3);
    if (strncmp(rest, "range", 5) == 0) return skip_words(rest, 7);
    return NULL;
}

/* `expect fail[ msg: ...]` or `expected_fail_message ...` below an eval. */
static void note_expect(eval_case *c, char *line)
{
    char *msg = NULL;
    if (strncmp(line, "expect fail", 11) == 0) {
        c->fail = true;
        msg = strstr(line, "msg:");
        if (msg) msg += 4;
    } else if (strncmp(line, "expected_fail_message", 21) == 0) {
        c->fail = true;
        msg = line + 21;
    }
    if (msg) {
        while (*msg == ' ')
            msg++;
        free(c->msg);
        c->msg = strdup(msg);
    }
}

static void check_case(const eval_case *c, tally *t)
{
    core_arena a = {0};
    core_err err = {{0}};
    pql_node *n = pql_parse(c->expr, &all_on, &a, &err);
    t->evals++;
    if (c->fail) t->fails++;
    if (n) {
        t->parsed++;
        core_sb sb = CORE_SB_INIT, sb2 = CORE_SB_INIT;
        pql_print(n, &sb);
        pql_node *again = pql_parse(sb.buf, &all_on, &a, &err);
        if (again) pql_print(again, &sb2);
        if (!again || strcmp(sb.buf, sb2.buf) != 0) {
            print_message("%s:%d: round trip of %s: %s\n", c->file, c->line, c->expr,
                          again ? sb2.buf : err.msg);
            t->bad++;
        }
        core_sb_destroy(&sb);
        core_sb_destroy(&sb2);
    } else if (!c->fail) {
        print_message("%s:%d: %s: %s\n", c->file, c->line, c->expr, err.msg);
        t->bad++;
    } else if (c->msg) {
        const char *ours = strstr(err.msg, "parse error: ");
        ours = ours ? ours + 13 : err.msg;
        t->fail_checked++;
        if (strcmp(ours, c->msg) != 0 && strcmp(err.msg, c->msg) != 0) {
            print_message("%s:%d: %s: message %s, want %s\n", c->file, c->line, c->expr, err.msg,
                          c->msg);
            t->bad++;
        }
    }
    core_arena_destroy(&a);
}

static void flush(eval_case *c, tally *t)
{
    if (c->expr) check_case(c, t);
    free(c->expr);
    free(c->msg);
    c->expr = c->msg = NULL;
}

static void scan_file(const char *dir, const char *name, tally *t)
{
    char path[2048], buf[8192];
    snprintf(path, sizeof path, "%.1000s/%.1000s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    eval_case c = {0};
    snprintf(c.file, sizeof c.file, "%s", name);
    for (int lineno = 1; fgets(buf, sizeof buf, f); lineno++) {
        char *line = trim(buf);
        bool fail = false;
        char *expr = eval_expr(line, &fail);
        if (expr || *line == '\0') flush(&c, t);
        if (expr) {
            c.expr = strdup(expr);
            c.fail = fail;
            c.line = lineno;
        } else if (c.expr) {
            note_expect(&c, line);
        }
    }
    flush(&c, t);
    fclose(f);
}

static void test_testdata(void **state)
{
    const char *shared = getenv("PROM_SHARED_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/promql-testdata", shared ? shared : "../shared");
    DIR *d = opendir(dir);
    if (!d) {
        print_message("no %s: skipped\n", dir);
        skip();
    }
    tally t = {0};
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".test") != 0) continue;
        scan_file(dir, e->d_name, &t);
        files++;
    }
    closedir(d);
    print_message("%d files, %d evals: %d parsed; %d expected to fail (%d with a message "
                  "checked here); %d problems\n",
                  files, t.evals, t.parsed, t.fails, t.fail_checked, t.bad);
    assert_true(files > 0);
    assert_int_equal(t.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testdata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
