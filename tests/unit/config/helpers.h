/*
 * helpers.h - what the config tests share: loading a YAML text and checking
 * that it loads, or that it fails with exactly a given message (which starts
 * with "name:line:col: ").  Include after "unit/unit.h" and "config/config.h".
 */
#ifndef TESTS_UNIT_CONFIG_HELPERS_H
#define TESTS_UNIT_CONFIG_HELPERS_H

typedef struct bad_case {
    const char *yaml;
    const char *want; /* the whole message; the name is "t.yml" */
} bad_case;

/* Loads `yaml` named "t.yml"; fails the test with the message if it does not load. */
static inline cfg_config *load_ok(const char *yaml)
{
    core_err err = {{0}};
    cfg_config *c = cfg_load_string("t.yml", yaml, strlen(yaml), &err);
    if (c == NULL) printf("unexpected error: %s\nfor:\n%s\n", err.msg, yaml);
    assert_non_null(c);
    return c;
}

/* Runs a table of configs that must fail with exactly their message. */
static inline void check_bad(const bad_case *cases, size_t n, unsigned flags)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        core_err err = {{0}};
        cfg_config *c =
            cfg_load_string_opts("t.yml", cases[i].yaml, strlen(cases[i].yaml), flags, &err);
        if (c != NULL) {
            printf("case %zu loaded, want: %s\n%s\n", i, cases[i].want, cases[i].yaml);
            cfg_free(c);
            bad++;
        } else if (strcmp(err.msg, cases[i].want) != 0) {
            printf("case %zu:\n  want %s\n  got  %s\n", i, cases[i].want, err.msg);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

#endif
