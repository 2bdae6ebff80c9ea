/*
 * flags.c - see flags.h.
 *
 * Parsing is one pass over argv with a table lookup per flag; values are checked
 * as they are read so the message names the flag ("invalid value \"x\" for flag
 * --storage.tsdb.retention.time: not a valid duration string: \"x\"").
 */
#include "core/flags.h"
#include "core/buildinfo.h"
#include "core/duration.h"
#include "core/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void core_strlist_push(core_strlist *l, const char *s)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = core_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->len++] = s;
}

void core_strlist_destroy(core_strlist *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

core_flag *core_flags_find(core_flags *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->flags[i].name, name) == 0) return &f->flags[i];
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* Stores `v` into the flag's destination.  `from_cli` separates a list's first
 * command-line value (which drops the default) from the default itself. */
static int set_value(core_flag *fl, const char *v, bool from_cli, core_err *err)
{
    core_err why;
    switch (fl->kind) {
    case CORE_FLAG_STRING: *(const char **)fl->dest = v; return 0;
    case CORE_FLAG_BOOL:
        if (parse_bool(v, fl->dest) < 0)
            return core_err_set(err, "invalid value \"%s\" for flag --%s: expected true or false",
                                v, fl->name);
        return 0;
    case CORE_FLAG_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno != 0)
            return core_err_set(err, "invalid value \"%s\" for flag --%s: expected an integer", v,
                                fl->name);
        *(int64_t *)fl->dest = n;
        return 0;
    }
    case CORE_FLAG_DURATION:
        if (core_duration_parse(v, strlen(v), fl->dest, &why) < 0)
            return core_err_set(err, "invalid value \"%s\" for flag --%s: %s", v, fl->name,
                                why.msg);
        return 0;
    case CORE_FLAG_LIST: {
        core_strlist *l = fl->dest;
        if (from_cli && !fl->given) l->len = 0;
        core_strlist_push(l, v);
        return 0;
    }
    }
    return core_err_set(err, "flag --%s has an unknown kind", fl->name);
}

static int set_defaults(core_flags *f, core_err *err)
{
    for (size_t i = 0; i < f->n; i++) {
        core_flag *fl = &f->flags[i];
        fl->given = false;
        if (fl->kind == CORE_FLAG_LIST) ((core_strlist *)fl->dest)->len = 0;
        if (fl->def != NULL && set_value(fl, fl->def, false, err) < 0) return -1;
        if (fl->def == NULL && fl->kind == CORE_FLAG_BOOL) *(bool *)fl->dest = false;
    }
    return 0;
}

/* Handles argv[*i], a long flag ("--name", "--name=v", "--no-name"). */
static int parse_long(core_flags *f, int argc, char **argv, int *i, core_err *err)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    char name[256];
    if (nlen >= sizeof name) return core_err_set(err, "unknown long flag '--%.*s'", (int)nlen, arg);
    memcpy(name, arg, nlen);
    name[nlen] = '\0';
    core_flag *fl = core_flags_find(f, name);
    if (fl == NULL && strncmp(name, "no-", 3) == 0 && eq == NULL) {
        fl = core_flags_find(f, name + 3);
        if (fl != NULL && fl->kind == CORE_FLAG_BOOL) {
            *(bool *)fl->dest = false;
            fl->given = true;
            return 0;
        }
        fl = NULL;
    }
    if (fl == NULL) return core_err_set(err, "unknown long flag '--%s'", name);
    const char *value;
    if (eq != NULL) {
        value = eq + 1;
    } else if (fl->kind == CORE_FLAG_BOOL) {
        value = "true";
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        return core_err_set(err, "expected argument for flag '--%s'", name);
    }
    if (set_value(fl, value, true, err) < 0) return -1;
    fl->given = true;
    return 0;
}

int core_flags_parse(core_flags *f, int argc, char **argv, int *first_arg, FILE *out, core_err *err)
{
    if (set_defaults(f, err) < 0) return -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            core_flags_usage(f, out);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            core_buildinfo_print(out, f->program);
            return 1;
        }
        if (strncmp(a, "--", 2) == 0) {
            if (parse_long(f, argc, argv, &i, err) < 0) return -1;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') return core_err_set(err, "unknown short flag '%s'", a);
        break; /* the first argument that is no flag */
    }
    if (first_arg != NULL)
        *first_arg = i;
    else if (i < argc)
        return core_err_set(err, "unexpected %s", argv[i]);
    return 0;
}

static const char *placeholder(const core_flag *fl)
{
    switch (fl->kind) {
    case CORE_FLAG_BOOL: return NULL;
    case CORE_FLAG_INT: return "<int>";
    case CORE_FLAG_DURATION: return "<duration>";
    case CORE_FLAG_STRING:
    case CORE_FLAG_LIST: break;
    }
    return "<string>";
}

void core_flags_usage(const core_flags *f, FILE *out)
{
    fprintf(out, "usage: %s [<flags>]%s%s\n\n%s\n\nFlags:\n", f->program, f->usage_args ? " " : "",
            f->usage_args ? f->usage_args : "", f->summary);
    fprintf(out, "  -h, --help\n        Show context-sensitive help.\n");
    fprintf(out, "      --version\n        Show application version.\n");
    for (size_t i = 0; i < f->n; i++) {
        const core_flag *fl = &f->flags[i];
        const char *ph = placeholder(fl);
        if (ph == NULL)
            fprintf(out, "      --[no-]%s\n", fl->name);
        else
            fprintf(out, "      --%s=%s%s\n", fl->name, ph,
                    fl->kind == CORE_FLAG_LIST ? " ..." : "");
        fprintf(out, "        %s", fl->help);
        if (fl->def != NULL && fl->def[0] != '\0') fprintf(out, " (default: %s)", fl->def);
        fputc('\n', out);
    }
}
