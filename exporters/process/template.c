/*
 * template.c - group name templates, the part of Go's text/template that
 * process-exporter's names use.
 *
 * A template is literal text and actions: {{.Comm}}, {{.ExeBase}},
 * {{.ExeFull}}, {{.Username}}, {{.PID}}, {{.StartTime}}, {{.Cgroups}},
 * {{.Matches.<name>}} and comments (an action opening with slash-star), with Go's trim markers
 * ("{{- " and " -}}" eat the white space beside them).  Anything else (pipes,
 * if, range, functions) is refused when the config is loaded, where Go would
 * have failed or printed nothing at run time.  Values print as Go prints them:
 * a missing match is "<no value>", the start time is time.Time's String() in
 * UTC, cgroups are "[path path]".
 *
 * Parsing makes an array of parts once; rendering appends to a core_sb with
 * no allocation but the builder's.
 */
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum part_kind {
    P_TEXT,
    P_COMM,
    P_EXEBASE,
    P_EXEFULL,
    P_USERNAME,
    P_PID,
    P_STARTTIME,
    P_CGROUPS,
    P_MATCH,
} part_kind;

typedef struct part {
    part_kind kind;
    char *text; /* P_TEXT: the text; P_MATCH: the key */
    size_t len;
} part;

struct pe_template {
    part *parts;
    size_t n, cap;
    unsigned needs;
};

static const struct {
    const char *field;
    part_kind kind;
    unsigned needs;
} fields[] = {
    {".Comm", P_COMM, 0},
    {".ExeBase", P_EXEBASE, PE_NEED_CMDLINE},
    {".ExeFull", P_EXEFULL, PE_NEED_CMDLINE},
    {".Username", P_USERNAME, PE_NEED_USERNAME},
    {".PID", P_PID, 0},
    {".StartTime", P_STARTTIME, 0},
    {".Cgroups", P_CGROUPS, PE_NEED_CGROUPS},
};

static void add_part(pe_template *t, part_kind kind, const char *s, size_t len)
{
    if (kind == P_TEXT && len == 0) return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->parts = core_reallocarray(t->parts, t->cap, sizeof *t->parts);
    }
    t->parts[t->n++] = (part){kind, s ? core_strndup(s, len) : NULL, len};
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One action's inside, blanks trimmed: a field, a match or a comment. */
static int add_action(pe_template *t, const char *s, size_t len, core_err *err)
{
    if (len >= 4 && memcmp(s, "/*", 2) == 0 && memcmp(s + len - 2, "*/", 2) == 0) return 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i].field) == len && memcmp(fields[i].field, s, len) == 0) {
            add_part(t, fields[i].kind, NULL, 0);
            t->needs |= fields[i].needs;
            return 0;
        }
    static const char m[] = ".Matches.";
    size_t ml = sizeof m - 1;
    if (len > ml && memcmp(s, m, ml) == 0) {
        for (size_t i = ml; i < len; i++)
            if (!ident_char(s[i]))
                return core_err_set(err, "unsupported action {{%.*s}}", (int)len, s);
        add_part(t, P_MATCH, s + ml, len - ml);
        return 0;
    }
    if (len > 0 && s[0] == '.' && len < 64) {
        bool plain = true;
        for (size_t i = 1; i < len; i++)
            plain = plain && ident_char(s[i]);
        if (plain) return core_err_set(err, "can't evaluate field %.*s", (int)len - 1, s + 1);
    }
    return core_err_set(err, "unsupported action {{%.*s}}", (int)len, s);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Drops trailing blanks of the last text part ("{{- "). */
static void trim_last_text(pe_template *t)
{
    if (t->n == 0 || t->parts[t->n - 1].kind != P_TEXT) return;
    part *p = &t->parts[t->n - 1];
    while (p->len > 0 && blank(p->text[p->len - 1]))
        p->text[--p->len] = '\0';
    if (p->len == 0) {
        free(p->text);
        t->n--;
    }
}

/* Parses the action starting at *s ("{{"); advances *s past "}}". */
static int parse_action(pe_template *t, const char **s, bool *trim_next, core_err *err)
{
    const char *a = *s + 2;
    const char *close = strstr(a, "}}");
    if (close == NULL) return core_err_set(err, "unclosed action");
    const char *e = close;
    if (a[0] == '-' && (blank(a[1]) || a + 1 == e)) {
        trim_last_text(t);
        a++;
    }
    *trim_next = e - a >= 2 && e[-1] == '-' && blank(e[-2]);
    if (*trim_next) e--;
    while (a < e && blank(*a))
        a++;
    while (e > a && blank(e[-1]))
        e--;
    if (add_action(t, a, (size_t)(e - a), err) < 0) return -1;
    *s = close + 2;
    return 0;
}

pe_template *pe_template_parse(const char *text, core_err *err)
{
    pe_template *t = core_calloc(1, sizeof *t);
    const char *s = text;
    bool trim = false;
    while (*s) {
        const char *open = strstr(s, "{{");
        size_t n = open ? (size_t)(open - s) : strlen(s);
        if (trim)
            while (n > 0 && blank(*s)) {
                s++;
                n--;
            }
        add_part(t, P_TEXT, s, n);
        if (open == NULL) break;
        s = open;
        if (parse_action(t, &s, &trim, err) < 0) {
            pe_template_free(t);
            return NULL;
        }
    }
    return t;
}

void pe_template_free(pe_template *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t);
}

unsigned pe_template_needs(const pe_template *t)
{
    return t->needs;
}

const char *pe_basename(const char *path, size_t len, size_t *out_len)
{
    if (len == 0) {
        *out_len = 1;
        return ".";
    }
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 1 && path[0] == '/') {
        *out_len = 1;
        return path;
    }
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    *out_len = len - start;
    return path + start;
}

/* time.Time.String() of a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
static void add_start_time(core_sb *sb, double t)
{
    time_t secs = (time_t)t;
    long centis = (long)((t - (double)secs) * 100 + 0.5);
    if (centis >= 100) {
        secs++;
        centis -= 100;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    core_sb_addf(sb, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (centis % 10 != 0)
        core_sb_addf(sb, ".%02ld", centis);
    else if (centis != 0)
        core_sb_addf(sb, ".%ld", centis / 10);
    core_sb_adds(sb, " +0000 UTC");
}

/* "[a b]" from the path field of each "id:controllers:path" line. */
static void add_cgroups(core_sb *sb, const char *cg)
{
    core_sb_addc(sb, '[');
    bool first = true;
    while (cg != NULL && *cg) {
        const char *nl = strchr(cg, '\n');
        size_t n = nl ? (size_t)(nl - cg) : strlen(cg);
        const char *c1 = memchr(cg, ':', n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - cg)) : NULL;
        if (c2 != NULL) {
            if (!first) core_sb_addc(sb, ' ');
            core_sb_add(sb, c2 + 1, n - (size_t)(c2 + 1 - cg));
            first = false;
        }
        cg = nl ? nl + 1 : NULL;
    }
    core_sb_addc(sb, ']');
}

static void add_exe(core_sb *sb, const pe_ident *id, bool base)
{
    size_t n = id->cmdline ? strnlen(id->cmdline, id->cmdline_len) : 0;
    if (id->cmdline == NULL || id->cmdline_len == 0) {
        core_sb_adds(sb, id->comm);
    } else if (base) {
        size_t bl;
        const char *b = pe_basename(id->cmdline, n, &bl);
        core_sb_add(sb, b, bl);
    } else {
        core_sb_add(sb, id->cmdline, n);
    }
}

static void add_match(core_sb *sb, const part *p, const pe_capture *caps, size_t n_caps)
{
    for (size_t i = 0; i < n_caps; i++)
        if (strcmp(caps[i].name, p->text) == 0) {
            core_sb_add(sb, caps[i].value, caps[i].len);
            return;
        }
    core_sb_adds(sb, "<no value>");
}

void pe_template_render(const pe_template *t, const pe_ident *id, const pe_capture *caps,
                        size_t n_caps, core_sb *sb)
{
    for (size_t i = 0; i < t->n; i++) {
        const part *p = &t->parts[i];
        switch (p->kind) {
        case P_TEXT: core_sb_add(sb, p->text, p->len); break;
        case P_COMM: core_sb_adds(sb, id->comm); break;
        case P_EXEBASE: add_exe(sb, id, true); break;
        case P_EXEFULL: add_exe(sb, id, false); break;
        case P_USERNAME: core_sb_adds(sb, id->username ? id->username : ""); break;
        case P_PID: core_sb_add_i64(sb, id->pid); break;
        case P_STARTTIME: add_start_time(sb, id->start_time); break;
        case P_CGROUPS: add_cgroups(sb, id->cgroups); break;
        case P_MATCH: add_match(sb, p, caps, n_caps); break;
        }
    }
}
