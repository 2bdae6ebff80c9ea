/*
 * namer.c - which processes to track, and the name of their group.
 *
 * A namer is an ordered list of rules; the first rule that matches a process
 * names it (upstream's FirstMatcher).  A config-file rule holds up to three
 * matchers that must all match (upstream's andMatcher):
 *
 *   comm     the process name (field 2 of /proc/<pid>/stat) is in the list
 *   exe      the base name of argv[0] is in the list, or, for an entry with a
 *            '/', argv[0] is that path (entries keyed by base name, the last
 *            of a base name winning, as upstream's map does)
 *   cmdline  every regex matches argv joined with spaces; named groups feed
 *            {{.Matches.<name>}}
 *
 * and a name template (default {{.ExeBase}}).  -procnames makes a rule per
 * comm named by the comm; -namemapping makes a rule per comm that names the
 * group "<comm>:<first non-empty capture>" and matches nothing when the regex
 * does not, as upstream's nameMapperRegex.
 *
 * Regexes are PCRE2 (JIT where available) with $ anchored at the very end and
 * invalid UTF-8 tolerated, close to Go's RE2 on command lines; a match limit
 * keeps a pathological pattern from stalling a scrape.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "process.h"

#include <pcre2.h>
#include <string.h>

typedef struct pe_regex {
    char *src;
    pcre2_code *code;
    pcre2_match_data *md;
} pe_regex;

typedef struct pe_exe {
    char *base;
    char *full; /* NULL: any path with that base name */
} pe_exe;

typedef struct pe_rule {
    bool has_comm, has_exe, has_cmdline;
    char **comms;
    size_t n_comms;
    pe_exe *exes;
    size_t n_exes;
    pe_regex *res;
    size_t n_res;
    pe_template *tmpl; /* NULL for a -namemapping rule */
    char *map_prefix;  /* -namemapping: "comm:" */
} pe_rule;

struct pe_namer {
    pe_rule *rules;
    size_t n, cap;
    unsigned needs;
    pcre2_match_context *mctx;
};

static pe_namer *namer_new(void)
{
    pe_namer *n = core_calloc(1, sizeof *n);
    n->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(n->mctx, 1000000);
    pcre2_set_depth_limit(n->mctx, 10000);
    return n;
}

static pe_rule *add_rule(pe_namer *n)
{
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 4;
        n->rules = core_reallocarray(n->rules, n->cap, sizeof *n->rules);
    }
    pe_rule *r = &n->rules[n->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static void rule_destroy(pe_rule *r)
{
    for (size_t i = 0; i < r->n_comms; i++)
        free(r->comms[i]);
    free(r->comms);
    for (size_t i = 0; i < r->n_exes; i++) {
        free(r->exes[i].base);
        free(r->exes[i].full);
    }
    free(r->exes);
    for (size_t i = 0; i < r->n_res; i++) {
        free(r->res[i].src);
        pcre2_match_data_free(r->res[i].md);
        pcre2_code_free(r->res[i].code);
    }
    free(r->res);
    pe_template_free(r->tmpl);
    free(r->map_prefix);
}

void pe_namer_free(pe_namer *n)
{
    if (n == NULL) return;
    for (size_t i = 0; i < n->n; i++)
        rule_destroy(&n->rules[i]);
    free(n->rules);
    pcre2_match_context_free(n->mctx);
    free(n);
}

unsigned pe_namer_needs(const pe_namer *n)
{
    return n->needs;
}

size_t pe_namer_rules(const pe_namer *n)
{
    return n->n;
}

/* ---- Building rules */

static void add_comm(pe_rule *r, const char *comm, size_t len)
{
    r->comms = core_reallocarray(r->comms, r->n_comms + 1, sizeof *r->comms);
    r->comms[r->n_comms++] = core_strndup(comm, len);
    r->has_comm = true;
}

static void add_exe(pe_rule *r, const char *exe)
{
    size_t bl;
    const char *b = pe_basename(exe, strlen(exe), &bl);
    r->exes = core_reallocarray(r->exes, r->n_exes + 1, sizeof *r->exes);
    r->exes[r->n_exes++] =
        (pe_exe){core_strndup(b, bl), strchr(exe, '/') ? core_strdup(exe) : NULL};
    r->has_exe = true;
}

/* Compiles a regex into the rule; -1 with PCRE2's message and offset. */
static int add_regex(pe_rule *r, const char *src, core_err *err)
{
    int code_err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                                     &code_err, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code_err, msg, sizeof msg);
        return core_err_set(err, "%s at offset %zu", (const char *)msg, (size_t)off);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    r->res = core_reallocarray(r->res, r->n_res + 1, sizeof *r->res);
    r->res[r->n_res++] =
        (pe_regex){core_strdup(src), code, pcre2_match_data_create_from_pattern(code, NULL)};
    r->has_cmdline = true;
    return 0;
}

/* ---- The config file */

/* A list of strings (`comm:`, `exe:`, `cmdline:`); a null value is no list. */
static int yaml_list(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                     const core_yaml_node ***items, size_t *n, core_err *err)
{
    *n = 0;
    *items = NULL;
    if (core_yaml_is_null(node)) return 0;
    if (node->kind != CORE_YAML_SEQ)
        return core_yaml_errorf(doc, node, err, "expected a sequence of strings for %s, got %s",
                                what, node->kind == CORE_YAML_MAP ? "a mapping" : "a scalar");
    for (size_t i = 0; i < node->n; i++) {
        const char *s;
        if (core_yaml_str(doc, node->items[i], what, &s, err) < 0) return -1;
    }
    *items = (const core_yaml_node **)node->items;
    *n = node->n;
    return 1;
}

static int rule_matchers(const core_yaml_doc *doc, const core_yaml_node *item, pe_rule *r,
                         core_err *err)
{
    const core_yaml_node **v;
    size_t n;
    int rc = yaml_list(doc, core_yaml_get(item, "comm"), "comm", &v, &n, err);
    if (rc < 0) return -1;
    r->has_comm = rc > 0;
    for (size_t i = 0; i < n; i++)
        add_comm(r, v[i]->value, v[i]->len);
    if ((rc = yaml_list(doc, core_yaml_get(item, "exe"), "exe", &v, &n, err)) < 0) return -1;
    r->has_exe = rc > 0;
    for (size_t i = 0; i < n; i++)
        add_exe(r, v[i]->value);
    if ((rc = yaml_list(doc, core_yaml_get(item, "cmdline"), "cmdline", &v, &n, err)) < 0)
        return -1;
    r->has_cmdline = rc > 0;
    for (size_t i = 0; i < n; i++) {
        core_err why;
        if (add_regex(r, v[i]->value, &why) < 0)
            return core_yaml_errorf(doc, v[i], err, "bad cmdline regex \"%s\": %s", v[i]->value,
                                    why.msg);
    }
    if (!r->has_comm && !r->has_exe && !r->has_cmdline)
        return core_yaml_errorf(doc, item, err, "no matchers provided");
    return 0;
}

static int rule_from_yaml(const core_yaml_doc *doc, const core_yaml_node *item, pe_namer *n,
                          core_err *err)
{
    static const char *const keys[] = {"name", "comm", "exe", "cmdline", NULL};
    if (core_yaml_check_keys(doc, item, keys, "process_names entry", err) < 0) return -1;
    if (core_yaml_is_null(item)) return core_yaml_errorf(doc, item, err, "no matchers provided");
    pe_rule *r = add_rule(n);
    if (rule_matchers(doc, item, r, err) < 0) return -1;
    const core_yaml_node *name = core_yaml_get(item, "name");
    const char *text;
    if (core_yaml_str(doc, name, "name", &text, err) < 0) return -1;
    if (text[0] == '\0') text = "{{.ExeBase}}";
    core_err why;
    r->tmpl = pe_template_parse(text, &why);
    if (r->tmpl == NULL)
        return core_yaml_errorf(doc, name, err, "bad name template \"%s\": %s", text, why.msg);
    n->needs |= pe_template_needs(r->tmpl);
    if (r->has_exe || r->has_cmdline) n->needs |= PE_NEED_CMDLINE;
    return 0;
}

static int namer_from_doc(const core_yaml_doc *doc, pe_namer *n, core_err *err)
{
    static const char *const keys[] = {"process_names", NULL};
    const core_yaml_node *root = core_yaml_root(doc);
    if (root == NULL) return 0;
    if (core_yaml_check_keys(doc, root, keys, "config", err) < 0) return -1;
    const core_yaml_node *list = core_yaml_get(root, "process_names");
    if (core_yaml_is_null(list)) return 0;
    if (list->kind != CORE_YAML_SEQ)
        return core_yaml_errorf(doc, list, err, "expected a sequence for process_names, got %s",
                                list->kind == CORE_YAML_MAP ? "a mapping" : "a scalar");
    for (size_t i = 0; i < list->n; i++)
        if (rule_from_yaml(doc, list->items[i], n, err) < 0) return -1;
    return 0;
}

static pe_namer *namer_from(core_yaml_doc *doc, core_err *err)
{
    if (doc == NULL) return NULL;
    pe_namer *n = namer_new();
    if (namer_from_doc(doc, n, err) < 0) {
        pe_namer_free(n);
        n = NULL;
    }
    core_yaml_free(doc);
    return n;
}

pe_namer *pe_namer_load_file(const char *path, core_err *err)
{
    return namer_from(core_yaml_load_file(path, err), err);
}

pe_namer *pe_namer_parse(const char *name, const char *yaml, size_t len, core_err *err)
{
    return namer_from(core_yaml_parse(name, yaml, len, err), err);
}

/* ---- -procnames and -namemapping */

static bool has_comm_rule(const pe_namer *n, const char *comm, size_t len)
{
    for (size_t i = 0; i < n->n; i++)
        if (strlen(n->rules[i].comms[0]) == len && memcmp(n->rules[i].comms[0], comm, len) == 0)
            return true;
    return false;
}

/* The next comma-separated token of *s into [*t, *t + *len); false at the end. */
static bool next_token(const char **s, const char **t, size_t *len)
{
    if (*s == NULL) return false;
    const char *c = strchr(*s, ',');
    *t = *s;
    *len = c ? (size_t)(c - *s) : strlen(*s);
    *s = c ? c + 1 : NULL;
    return true;
}

static int add_mappings(pe_namer *n, const char *mapping, core_err *err)
{
    const char *s = mapping[0] ? mapping : NULL, *name, *re;
    size_t nl, rl;
    for (int i = 0; next_token(&s, &name, &nl); i += 2) {
        if (!next_token(&s, &re, &rl))
            return core_err_set(err, "bad namemapper: odd number of tokens");
        if (nl == 0 || rl == 0)
            return core_err_set(err, "bad namemapper: token %d is empty", nl == 0 ? i : i + 1);
        if (has_comm_rule(n, name, nl)) continue;
        pe_rule *r = add_rule(n);
        add_comm(r, name, nl);
        r->map_prefix = core_calloc(1, nl + 2);
        memcpy(r->map_prefix, name, nl);
        r->map_prefix[nl] = ':';
        char *src = core_strndup(re, rl);
        core_err why;
        int rc = add_regex(r, src, &why);
        if (rc < 0) core_err_set(err, "error compiling regexp '%s': %s", src, why.msg);
        free(src);
        if (rc < 0) return -1;
        n->needs |= PE_NEED_CMDLINE;
    }
    return 0;
}

pe_namer *pe_namer_from_flags(const char *procnames, const char *namemapping, core_err *err)
{
    pe_namer *n = namer_new();
    if (add_mappings(n, namemapping ? namemapping : "", err) < 0) {
        pe_namer_free(n);
        return NULL;
    }
    const char *s = procnames && procnames[0] ? procnames : NULL, *name;
    size_t nl;
    while (next_token(&s, &name, &nl)) {
        if (nl == 0 || has_comm_rule(n, name, nl)) continue;
        pe_rule *r = add_rule(n);
        add_comm(r, name, nl);
        r->tmpl = pe_template_parse("{{.Comm}}", err);
    }
    return n;
}

/* ---- Matching */

typedef struct match_ctx {
    const pe_ident *id;
    core_arena *a;
    const char *joined; /* argv joined with spaces, made on first use */
    size_t joined_len;
    pe_capture *caps;
    size_t n_caps, cap_caps;
} match_ctx;

static void join_cmdline(match_ctx *m)
{
    if (m->joined != NULL) return;
    size_t n = m->id->cmdline ? m->id->cmdline_len : 0;
    while (n > 0 && m->id->cmdline[n - 1] == '\0')
        n--;
    char *j = core_arena_alloc(m->a, n + 1);
    for (size_t i = 0; i < n; i++)
        j[i] = m->id->cmdline[i] == '\0' ? ' ' : m->id->cmdline[i];
    j[n] = '\0';
    m->joined = j;
    m->joined_len = n;
}

static bool match_comm(const pe_rule *r, const pe_ident *id)
{
    for (size_t i = 0; i < r->n_comms; i++)
        if (strcmp(r->comms[i], id->comm) == 0) return true;
    return false;
}

static bool match_exe(const pe_rule *r, const pe_ident *id)
{
    if (id->cmdline == NULL || id->cmdline_len == 0) return false;
    size_t argv0 = strnlen(id->cmdline, id->cmdline_len), bl;
    const char *b = pe_basename(id->cmdline, argv0, &bl);
    for (size_t i = r->n_exes; i-- > 0;) {
        const pe_exe *e = &r->exes[i];
        if (strlen(e->base) != bl || memcmp(e->base, b, bl) != 0) continue;
        return e->full == NULL ||
               (strlen(e->full) == argv0 && memcmp(e->full, id->cmdline, argv0) == 0);
    }
    return false;
}

static void add_capture(match_ctx *m, const char *name, size_t start, size_t end)
{
    if (m->n_caps == m->cap_caps) {
        size_t cap = m->cap_caps ? m->cap_caps * 2 : 8;
        pe_capture *v = core_arena_alloc(m->a, cap * sizeof *v);
        if (m->n_caps) memcpy(v, m->caps, m->n_caps * sizeof *v);
        m->caps = v;
        m->cap_caps = cap;
    }
    pe_capture *c = &m->caps[m->n_caps++];
    c->name = name;
    c->value = start <= end && end <= m->joined_len ? m->joined + start : "";
    c->len = start <= end && end <= m->joined_len ? end - start : 0;
}

/* Runs one regex; on a match records its named groups. */
static bool run_regex(pe_namer *n, pe_regex *re, match_ctx *m)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)m->joined, m->joined_len, 0, 0, re->md, n->mctx);
    if (rc < 0) return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    uint32_t count, entry;
    PCRE2_SPTR table;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = table + (size_t)i * entry;
        int g = (e[0] << 8) | e[1];
        bool set = g < rc && ov[2 * g] != PCRE2_UNSET;
        add_capture(m, (const char *)e + 2, set ? ov[2 * g] : 0, set ? ov[2 * g + 1] : 0);
    }
    return true;
}

static bool match_cmdline(pe_namer *n, const pe_rule *r, match_ctx *m)
{
    join_cmdline(m);
    m->n_caps = 0;
    for (size_t i = 0; i < r->n_res; i++)
        if (!run_regex(n, &r->res[i], m)) return false;
    return true;
}

/* -namemapping: the first non-empty group names the process. */
static bool map_name(pe_namer *n, const pe_rule *r, match_ctx *m, core_sb *sb)
{
    join_cmdline(m);
    pe_regex *re = &r->res[0];
    int rc = pcre2_match(re->code, (PCRE2_SPTR)m->joined, m->joined_len, 0, 0, re->md, n->mctx);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    for (int g = 1; g < rc; g++)
        if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g]) {
            core_sb_adds(sb, r->map_prefix);
            core_sb_add(sb, m->joined + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
            return true;
        }
    return false;
}

static bool rule_match(pe_namer *n, const pe_rule *r, match_ctx *m, core_sb *sb)
{
    if (r->has_comm && !match_comm(r, m->id)) return false;
    if (r->map_prefix != NULL) return map_name(n, r, m, sb);
    if (r->has_exe && !match_exe(r, m->id)) return false;
    if (r->has_cmdline && !match_cmdline(n, r, m)) return false;
    pe_template_render(r->tmpl, m->id, m->caps, r->has_cmdline ? m->n_caps : 0, sb);
    return true;
}

bool pe_namer_match(pe_namer *n, const pe_ident *id, core_arena *a, core_sb *sb)
{
    match_ctx m = {.id = id, .a = a};
    core_sb_reset(sb);
    core_sb_adds(sb, "");
    for (size_t i = 0; i < n->n; i++)
        if (rule_match(n, &n->rules[i], &m, sb)) return true;
    return false;
}
