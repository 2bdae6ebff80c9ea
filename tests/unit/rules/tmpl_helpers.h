/*
 * tmpl_helpers.h - expanding a template text in one call for the template
 * tests: returns the output (malloc'd) or NULL with the error in `err`.
 */
#ifndef TESTS_RULES_TMPL_HELPERS_H
#define TESTS_RULES_TMPL_HELPERS_H

#include "rules/internal.h"

#include <stdlib.h>
#include <string.h>

static inline char *expand_opts(const char *text, const tmpl_val *dot, const rules_tmpl_opts *o,
                                bool html, core_err *err)
{
    rules_tmpl *t = rules_tmpl_new("test", text, html, err);
    if (!t) {
        /* as Expander.Expand words a parse error */
        core_err_prefix(err, "error parsing template test");
        return NULL;
    }
    tmpl_val none = {.k = TV_INVALID};
    core_sb out = CORE_SB_INIT;
    int rc = rules_tmpl_expand_value(t, dot ? dot : &none, o, &out, err);
    rules_tmpl_free(t);
    if (rc < 0) {
        core_sb_destroy(&out);
        return NULL;
    }
    return core_sb_detach(&out, NULL);
}

static inline char *expand(const char *text, const tmpl_val *dot, core_err *err)
{
    return expand_opts(text, dot, NULL, false, err);
}

/* Asserts that `text` expands to `want`. */
#define assert_expands(text, dot, want)                \
    do {                                               \
        core_err e_ = {{0}};                           \
        char *got_ = expand((text), (dot), &e_);       \
        if (!got_) fail_msg("%s: %s", (text), e_.msg); \
        assert_string_equal(got_, (want));             \
        free(got_);                                    \
    } while (0)

/* Asserts that `text` fails with exactly `msg`. */
#define assert_fails(text, dot, want_msg)                           \
    do {                                                            \
        core_err e_ = {{0}};                                        \
        char *got_ = expand((text), (dot), &e_);                    \
        if (got_) fail_msg("%s: expanded to \"%s\"", (text), got_); \
        assert_string_equal(e_.msg, (want_msg));                    \
    } while (0)

static inline tmpl_val tv_float(double f)
{
    return (tmpl_val){.k = TV_FLOAT, .u.f = f};
}

static inline tmpl_val tv_int(int64_t i)
{
    return (tmpl_val){.k = TV_INT, .u.i = i};
}

static inline tmpl_val tv_str(const char *s)
{
    return (tmpl_val){.k = TV_STRING, .u.s = {s, strlen(s)}};
}

static inline tmpl_val tv_list(const tmpl_val *v, size_t n, const char *type)
{
    return (tmpl_val){.k = TV_LIST, .u.list = {v, n, type}};
}

#endif
