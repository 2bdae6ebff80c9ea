/*
 * proctest.h - helpers for the tests of the /proc-based collectors, on top
 * of nodetest.h: flag defaults without a command line, and scratch hosts.
 *
 *   pt_flags(&c, NULL)                      every flag at its default, then init
 *   pt_flags(&c, (const char *[]){"collector.x.y", "v", NULL})   with overrides
 *   pt_tmp(dir)                             a fresh mkdtemp host, as nt_use_root
 *   pt_rm(dir)                              removes it
 *   pt_run_ok(&c) / pt_run_fail(&c)         runs, asserts success / failure
 */
#ifndef TESTS_PROCTEST_H
#define TESTS_PROCTEST_H

#include "nodetest.h"

static inline void pt_set_flag(const core_flag *f, const char *value)
{
    if (f->kind == CORE_FLAG_STRING)
        *(const char **)f->dest = value != NULL ? value : "";
    else if (f->kind == CORE_FLAG_BOOL)
        *(bool *)f->dest = value != NULL && strcmp(value, "true") == 0;
    else
        fail_msg("unexpected flag kind for %s", f->name);
}

/* Sets the flags to their defaults, applies "name", "value" pairs, runs init. */
static inline void pt_flags(const nx_collector *c, const char *const *overrides)
{
    for (size_t i = 0; i < c->n_flags; i++)
        pt_set_flag(&c->flags[i], c->flags[i].def);
    for (size_t k = 0; overrides != NULL && overrides[k] != NULL; k += 2) {
        size_t i = 0;
        while (i < c->n_flags && strcmp(c->flags[i].name, overrides[k]) != 0)
            i++;
        if (i == c->n_flags) fail_msg("no flag %s", overrides[k]);
        pt_set_flag(&c->flags[i], overrides[k + 1]);
    }
    core_err err;
    if (c->init != NULL && c->init(&err) < 0) fail_msg("init of %s: %s", c->name, err.msg);
}

static inline void pt_tmp(char *dir)
{
    strcpy(dir, "/tmp/nt-proc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
}

static inline void pt_rm(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static inline nx_out *pt_run_ok(const nx_collector *c)
{
    return nt_run(c);
}

static inline void pt_run_fail(const nx_collector *c)
{
    int rc;
    nx_out *o = nt_run_rc(c, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
}

/* Runs and checks the result code only (malformed input: no crash). */
static inline void pt_run_rc(const nx_collector *c, int want)
{
    int rc;
    nx_out *o = nt_run_rc(c, &rc);
    assert_int_equal(rc, want);
    nt_free(o);
}

static inline size_t pt_samples(const nx_out *o, const char *family)
{
    const nx_fam *f = nt_family(o, family);
    return f != NULL ? f->n_samples : 0;
}

#endif
