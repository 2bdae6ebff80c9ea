/*
 * yaml.c - YAML documents with positions, read with libyaml's event parser.
 *
 * libyaml's own document loader drops the style of scalars and hides merge keys,
 * so the tree is built here from the event stream.  The loop is iterative: each
 * open sequence or mapping is a frame on a heap stack (at most MAX_DEPTH deep), whose
 * items gather in a malloc'd vector until its end event, when they are copied
 * into the document's arena and the vector freed.  Everything a caller sees lives
 * in that arena, so a document is freed in one step and an error half way
 * through only has the frames and the anchor table to release.
 *
 * An anchor is registered when its node is complete, so an alias can only name a
 * finished node and the tree has no cycles; an alias of a node still open is
 * reported as such.  Anchors are looked up linearly, newest first (a redefined
 * anchor shadows the old one), and so are the keys a merge brings in: quadratic
 * in the worst case, which is fine for configuration files.
 *
 * Aliases make the tree a graph in which a small document can stand for a huge
 * one ("billion laughs"), which a decoder walking it would expand.  Every node is
 * weighed as the number of nodes below it with aliases expanded, and a document
 * whose weight passes MAX_EXPANSION plus ten times its real node count is refused,
 * as yaml.v2 refuses "excessive aliasing".
 *
 * Merge keys are folded when their mapping ends: the mapping's own pairs come
 * first, then the pairs of each merged mapping whose key is not there yet, earlier
 * merge sources winning over later ones.  The result holds no merged duplicates,
 * so core_yaml_check_keys only sees the keys written twice by the user.
 */
#include "core/yaml.h"
#include "core/arena.h"
#include "core/duration.h"
#include "core/mem.h"
#include "core/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deepest nesting of sequences and mappings accepted. */
#define MAX_DEPTH 1000
/* Nodes that aliases may add to a document beyond ten times its own. */
#define MAX_EXPANSION 1000000

struct core_yaml_doc {
    core_arena arena;
    const char *name;
    core_yaml_node *root;
};

/* A sequence or mapping between its start and end events. */
typedef struct frame {
    core_yaml_node *node;
    const char *anchor; /* registered when the node is complete, or NULL */
    uint64_t weight;    /* the node and its items so far, aliases expanded */
    core_yaml_node **items;
    size_t n, cap;
} frame;

typedef struct anchor {
    const char *name;
    core_yaml_node *node;
    uint64_t weight;
} anchor;

/* State of one core_yaml_parse call. */
typedef struct loader {
    core_yaml_doc *doc;
    const char *buf; /* the input, to place reader errors */
    frame *stack;
    size_t depth, stack_cap;
    anchor *anchors;
    size_t nanchors, anchors_cap;
    uint64_t nodes; /* nodes made, aliases not expanded */
    core_err *err;
} loader;

static void oom(void)
{
    fputs("fatal: out of memory in libyaml\n", stderr);
    abort();
}

__attribute__((format(printf, 5, 0))) static int
vposition_error(core_err *err, const char *name, int line, int col, const char *fmt, va_list ap)
{
    if (err == NULL) return -1;
    char msg[CORE_ERR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (line <= 0) return core_err_set(err, "%s: %s", name, msg);
    return core_err_set(err, "%s:%d:%d: %s", name, line, col, msg);
}

__attribute__((format(printf, 3, 4))) static int mark_error(loader *l, yaml_mark_t mark,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vposition_error(l->err, l->doc->name, (int)mark.line + 1, (int)mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

/* A reader error has a byte offset instead of a mark: count lines and UTF-8
 * characters up to it. */
static void offset_position(const char *buf, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (buf[i] == '\n') {
            *line += 1;
            *col = 1;
        } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
            *col += 1;
        }
    }
}

static int syntax_error(loader *l, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) oom();
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) offset_position(l->buf, p->problem_offset, &line, &col);
    core_sb msg = CORE_SB_INIT;
    core_sb_adds(&msg, p->problem);
    if (p->error == YAML_READER_ERROR && p->problem_value != -1)
        core_sb_addf(&msg, " (#x%02X)", (unsigned)p->problem_value);
    if (strcmp(p->problem, "mapping values are not allowed in this context") == 0)
        core_sb_adds(&msg, " (a value that contains \": \" must be quoted)");
    if (p->context != NULL)
        core_sb_addf(&msg, " (%s that began at line %zu, column %zu)", p->context,
                     p->context_mark.line + 1, p->context_mark.column + 1);
    core_err_set(l->err, "%s:%d:%d: %s", l->doc->name, line, col, msg.buf);
    core_sb_destroy(&msg);
    return -1;
}

/* Tags of the YAML namespace are kept in their short form, "!!str". */
static const char *node_tag(core_yaml_doc *doc, const yaml_char_t *tag)
{
    static const char yaml_ns[] = "tag:yaml.org,2002:";
    if (tag == NULL) return NULL;
    const char *t = (const char *)tag;
    if (strncmp(t, yaml_ns, sizeof yaml_ns - 1) == 0)
        return core_arena_sprintf(&doc->arena, "!!%s", t + sizeof yaml_ns - 1);
    return core_arena_strdup(&doc->arena, t);
}

static core_yaml_node *new_node(loader *l, core_yaml_kind kind, yaml_mark_t mark,
                                const yaml_char_t *tag)
{
    core_yaml_node *node = core_arena_calloc(&l->doc->arena, 1, sizeof *node);
    node->kind = kind;
    node->line = (int)mark.line + 1;
    node->col = (int)mark.column + 1;
    node->tag = node_tag(l->doc, tag);
    l->nodes++;
    return node;
}

static void register_anchor(loader *l, const char *name, core_yaml_node *node, uint64_t weight)
{
    if (l->nanchors == l->anchors_cap) {
        l->anchors_cap = l->anchors_cap ? 2 * l->anchors_cap : 16;
        l->anchors = core_reallocarray(l->anchors, l->anchors_cap, sizeof *l->anchors);
    }
    l->anchors[l->nanchors++] = (anchor){name, node, weight};
}

/* Hangs a complete node of the given weight into the open collection, or makes it
 * the root; `at` places the error when aliases expand the document too much. */
static int add(loader *l, core_yaml_node *node, uint64_t weight, yaml_mark_t at)
{
    if (l->depth == 0) {
        l->doc->root = node;
        return 0;
    }
    frame *f = &l->stack[l->depth - 1];
    f->weight += weight;
    if (f->weight > MAX_EXPANSION + 10 * l->nodes)
        return mark_error(l, at, "document contains excessive aliasing");
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        f->items = core_reallocarray(f->items, f->cap, sizeof *f->items);
    }
    f->items[f->n++] = node;
    return 0;
}

static int add_scalar(loader *l, const yaml_event_t *ev)
{
    core_yaml_node *node = new_node(l, CORE_YAML_SCALAR, ev->start_mark, ev->data.scalar.tag);
    node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    node->len = ev->data.scalar.length;
    node->value =
        core_arena_strndup(&l->doc->arena, (const char *)ev->data.scalar.value, node->len);
    if (ev->data.scalar.anchor != NULL)
        register_anchor(l, core_arena_strdup(&l->doc->arena, (const char *)ev->data.scalar.anchor),
                        node, 1);
    return add(l, node, 1, ev->start_mark);
}

static int add_alias(loader *l, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (size_t i = l->nanchors; i-- > 0;) {
        if (strcmp(l->anchors[i].name, name) == 0)
            return add(l, l->anchors[i].node, l->anchors[i].weight, ev->start_mark);
    }
    for (size_t i = 0; i < l->depth; i++)
        if (l->stack[i].anchor != NULL && strcmp(l->stack[i].anchor, name) == 0)
            return mark_error(l, ev->start_mark, "anchor \"%s\" value contains itself", name);
    return mark_error(l, ev->start_mark, "unknown anchor \"%s\" referenced", name);
}

static int open_collection(loader *l, const yaml_event_t *ev, core_yaml_kind kind,
                           const yaml_char_t *anchor_name, const yaml_char_t *tag)
{
    if (l->depth == MAX_DEPTH)
        return mark_error(l, ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
    if (l->depth == l->stack_cap) {
        l->stack_cap = l->stack_cap ? 2 * l->stack_cap : 16;
        l->stack = core_reallocarray(l->stack, l->stack_cap, sizeof *l->stack);
    }
    frame *f = &l->stack[l->depth++];
    *f = (frame){.node = new_node(l, kind, ev->start_mark, tag), .weight = 1};
    if (anchor_name != NULL)
        f->anchor = core_arena_strdup(&l->doc->arena, (const char *)anchor_name);
    return 0;
}

/* The value under a scalar key with this text, or NULL. */
static const core_yaml_node *lookup(const core_yaml_node *map, const char *key, size_t len)
{
    for (size_t i = 0; i < map->n; i++) {
        const core_yaml_node *k = map->items[2 * i];
        if (k->kind == CORE_YAML_SCALAR && k->len == len && memcmp(k->value, key, len) == 0)
            return map->items[2 * i + 1];
    }
    return NULL;
}

static bool is_merge_key(const core_yaml_node *key)
{
    if (key->kind != CORE_YAML_SCALAR || key->len != 2 || memcmp(key->value, "<<", 2) != 0)
        return false;
    return key->tag == NULL ? key->plain : strcmp(key->tag, "!!merge") == 0;
}

static int merge_error(loader *l, const core_yaml_node *at)
{
    return core_yaml_errorf(l->doc, at, l->err,
                            "map merge requires map or sequence of maps as the value");
}

/* Checks a merge key's value and adds to *pairs how many pairs it may bring in. */
static int merge_size(loader *l, const core_yaml_node *value, size_t *pairs)
{
    if (value->kind == CORE_YAML_MAP) {
        *pairs += value->n;
        return 0;
    }
    if (value->kind != CORE_YAML_SEQ) return merge_error(l, value);
    for (size_t i = 0; i < value->n; i++) {
        if (value->items[i]->kind != CORE_YAML_MAP) return merge_error(l, value->items[i]);
        *pairs += value->items[i]->n;
    }
    return 0;
}

static void append_pair(core_yaml_node *map, core_yaml_node *key, core_yaml_node *value)
{
    map->items[2 * map->n] = key;
    map->items[2 * map->n + 1] = value;
    map->n++;
}

/* Adds the pairs of `src` whose keys `map` does not have yet. */
static void merge_from(core_yaml_node *map, const core_yaml_node *src)
{
    for (size_t i = 0; i < src->n; i++) {
        core_yaml_node *key = src->items[2 * i];
        if (key->kind != CORE_YAML_SCALAR || lookup(map, key->value, key->len) == NULL)
            append_pair(map, key, src->items[2 * i + 1]);
    }
}

/* Sets the pairs of a complete mapping from its `n` collected items. */
static int finish_map(loader *l, core_yaml_node *map, core_yaml_node **kv, size_t n)
{
    size_t pairs = 0;
    for (size_t i = 0; i < n; i += 2) {
        if (!is_merge_key(kv[i]))
            pairs++;
        else if (merge_size(l, kv[i + 1], &pairs) < 0)
            return -1;
    }
    map->items = core_arena_calloc(&l->doc->arena, 2 * pairs, sizeof *map->items);
    for (size_t i = 0; i < n; i += 2)
        if (!is_merge_key(kv[i])) append_pair(map, kv[i], kv[i + 1]);
    for (size_t i = 0; i < n; i += 2) {
        const core_yaml_node *v = kv[i + 1];
        if (!is_merge_key(kv[i])) continue;
        if (v->kind == CORE_YAML_MAP) merge_from(map, v);
        for (size_t j = 0; v->kind == CORE_YAML_SEQ && j < v->n; j++)
            merge_from(map, v->items[j]);
    }
    return 0;
}

static int close_collection(loader *l, const yaml_event_t *ev)
{
    frame f = l->stack[--l->depth];
    int rc = 0;
    if (f.node->kind == CORE_YAML_MAP) {
        rc = finish_map(l, f.node, f.items, f.n);
    } else {
        f.node->n = f.n;
        f.node->items = core_arena_calloc(&l->doc->arena, f.n, sizeof *f.items);
        if (f.n > 0) memcpy(f.node->items, f.items, f.n * sizeof *f.items);
    }
    free(f.items);
    if (rc < 0) return -1;
    if (f.anchor != NULL) register_anchor(l, f.anchor, f.node, f.weight);
    return add(l, f.node, f.weight, ev->start_mark);
}

static int on_event(loader *l, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return add_scalar(l, ev);
    case YAML_ALIAS_EVENT: return add_alias(l, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(l, ev, CORE_YAML_SEQ, ev->data.sequence_start.anchor,
                               ev->data.sequence_start.tag);
    case YAML_MAPPING_START_EVENT:
        return open_collection(l, ev, CORE_YAML_MAP, ev->data.mapping_start.anchor,
                               ev->data.mapping_start.tag);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return close_collection(l, ev);
    default: return 0; /* stream and document start */
    }
}

/* Reads events up to the end of the first document. */
static int load(loader *l, yaml_parser_t *parser)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev)) return syntax_error(l, parser);
        bool done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
        int rc = done ? 0 : on_event(l, &ev);
        yaml_event_delete(&ev);
        if (rc < 0 || done) return rc;
    }
}

core_yaml_doc *core_yaml_parse(const char *name, const char *buf, size_t len, core_err *err)
{
    core_yaml_doc *doc = core_calloc(1, sizeof *doc);
    core_arena_init(&doc->arena, 0);
    doc->name = core_arena_strdup(&doc->arena, name);
    loader l = {.doc = doc, .buf = buf, .err = err};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)(len ? buf : ""), len);
    int rc = load(&l, &parser);
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < l.depth; i++)
        free(l.stack[i].items);
    free(l.stack);
    free(l.anchors);
    if (rc < 0) {
        core_yaml_free(doc);
        return NULL;
    }
    return doc;
}

core_yaml_doc *core_yaml_load_file(const char *path, core_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        core_err_set(err, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    core_sb text = CORE_SB_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        core_sb_add(&text, chunk, n);
    core_yaml_doc *doc = NULL;
    if (ferror(f))
        core_err_set(err, "read %s: %s", path, strerror(errno));
    else
        doc = core_yaml_parse(path, text.buf, text.len, err);
    fclose(f);
    core_sb_destroy(&text);
    return doc;
}

void core_yaml_free(core_yaml_doc *doc)
{
    if (doc == NULL) return;
    core_arena_destroy(&doc->arena);
    free(doc);
}

const core_yaml_node *core_yaml_root(const core_yaml_doc *doc)
{
    return doc->root;
}

const char *core_yaml_name(const core_yaml_doc *doc)
{
    return doc->name;
}

/* True if the `len` bytes at `s` are one of the NULL-terminated `words`. */
static bool in_list(const char *const words[], const char *s, size_t len)
{
    for (size_t i = 0; words[i] != NULL; i++)
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0) return true;
    return false;
}

bool core_yaml_is_null(const core_yaml_node *node)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    if (node == NULL) return true;
    if (node->kind != CORE_YAML_SCALAR) return false;
    if (node->tag != NULL) return strcmp(node->tag, "!!null") == 0;
    return node->plain && in_list(nulls, node->value, node->len);
}

const core_yaml_node *core_yaml_get(const core_yaml_node *map, const char *key)
{
    if (map == NULL || map->kind != CORE_YAML_MAP) return NULL;
    return lookup(map, key, strlen(key));
}

int core_yaml_errorf(const core_yaml_doc *doc, const core_yaml_node *at, core_err *err,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vposition_error(err, doc->name, at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *kind_name(core_yaml_kind kind)
{
    switch (kind) {
    case CORE_YAML_SCALAR: return "a scalar";
    case CORE_YAML_SEQ: return "a sequence";
    default: return "a mapping";
    }
}

/* The node's text quoted as Go quotes strings, in `buf` (cut short if too long). */
static const char *quote(const core_yaml_node *node, char buf[CORE_ERR_MAX])
{
    core_sb q = CORE_SB_INIT;
    core_sb_add_quoted(&q, node->value, node->len);
    snprintf(buf, CORE_ERR_MAX, "%s", q.buf);
    core_sb_destroy(&q);
    return buf;
}

int core_yaml_check_keys(const core_yaml_doc *doc, const core_yaml_node *map,
                         const char *const allowed[], const char *what, core_err *err)
{
    if (core_yaml_is_null(map)) return 0;
    if (map->kind != CORE_YAML_MAP)
        return core_yaml_errorf(doc, map, err, "expected a mapping for %s, got %s", what,
                                kind_name(map->kind));
    for (size_t i = 0; i < map->n; i++) {
        const core_yaml_node *key = map->items[2 * i];
        if (key->kind != CORE_YAML_SCALAR)
            return core_yaml_errorf(doc, key, err, "expected a scalar key in %s, got %s", what,
                                    kind_name(key->kind));
        char q[CORE_ERR_MAX];
        if (!in_list(allowed, key->value, key->len))
            return core_yaml_errorf(doc, key, err, "unknown field %s in %s", quote(key, q), what);
        for (size_t j = 0; j < i; j++) { /* earlier keys passed the checks: scalars */
            const core_yaml_node *prev = map->items[2 * j];
            if (prev->len == key->len && memcmp(prev->value, key->value, key->len) == 0)
                return core_yaml_errorf(doc, key, err,
                                        "field %s given twice in %s (first at line %d)",
                                        quote(key, q), what, prev->line);
        }
    }
    return 0;
}

int core_yaml_str(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                  const char **out, core_err *err)
{
    if (core_yaml_is_null(node)) {
        *out = "";
        return 0;
    }
    if (node->kind != CORE_YAML_SCALAR)
        return core_yaml_errorf(doc, node, err, "expected a scalar for %s, got %s", what,
                                kind_name(node->kind));
    *out = node->value;
    return 0;
}

/* Checks that `node` is a scalar that YAML types as `tag` ("!!bool", ...): plain
 * and untagged, or tagged so.  `type` names it in messages ("a boolean"). */
static int typed_scalar(const core_yaml_doc *doc, const core_yaml_node *node, const char *tag,
                        const char *type, const char *what, core_err *err)
{
    if (core_yaml_is_null(node))
        return core_yaml_errorf(doc, node, err, "expected %s for %s, got null", type, what);
    if (node->kind != CORE_YAML_SCALAR)
        return core_yaml_errorf(doc, node, err, "expected a scalar for %s, got %s", what,
                                kind_name(node->kind));
    if (node->tag == NULL ? node->plain : strcmp(node->tag, tag) == 0) return 0;
    char q[CORE_ERR_MAX];
    return core_yaml_errorf(doc, node, err, "expected %s for %s, got %s %s", type, what,
                            node->tag ? node->tag : "the string", quote(node, q));
}

static int cannot_parse(const core_yaml_doc *doc, const core_yaml_node *node, const char *type,
                        const char *what, const char *reason, core_err *err)
{
    char q[CORE_ERR_MAX];
    return core_yaml_errorf(doc, node, err, "cannot parse %s as %s in %s%s%s", quote(node, q), type,
                            what, reason ? ": " : "", reason ? reason : "");
}

int core_yaml_bool(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                   bool *out, core_err *err)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON",  NULL};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                     "False", "FALSE", "off", "Off", "OFF", NULL};
    if (typed_scalar(doc, node, "!!bool", "a boolean", what, err) < 0) return -1;
    if (in_list(yes, node->value, node->len))
        *out = true;
    else if (in_list(no, node->value, node->len))
        *out = false;
    else
        return cannot_parse(doc, node, "a boolean", what, NULL, err);
    return 0;
}

static unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (unsigned)(c - 'A' + 10);
    return 99;
}

/* Reads the base prefix at s[*i] ("0x", "0o", "0b", or a leading 0 for octal). */
static unsigned int_base(const char *s, size_t n, size_t *i)
{
    if (n - *i < 2 || s[*i] != '0') return 10;
    switch (s[*i + 1]) {
    case 'x':
    case 'X': *i += 2; return 16;
    case 'o':
    case 'O': *i += 2; return 8;
    case 'b':
    case 'B': *i += 2; return 2;
    default: return 8; /* the 0 is an octal digit itself */
    }
}

/* Parses the NUL-terminated YAML integer s[0..n-1]; returns 0, EINVAL or ERANGE. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') neg = s[i++] == '-';
    unsigned base = int_base(s, n, &i);
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool digits = false, over = false;
    for (; i < n; i++) {
        if (s[i] == '_') continue;
        unsigned d = digit_value(s[i]);
        if (d >= base) return EINVAL;
        digits = true;
        if (v > (limit - d) / base)
            over = true;
        else
            v = v * base + d;
    }
    if (!digits) return EINVAL;
    if (over) return ERANGE;
    *out = neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
    return 0;
}

int core_yaml_int64(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                    int64_t *out, core_err *err)
{
    if (typed_scalar(doc, node, "!!int", "an integer", what, err) < 0) return -1;
    int rc = parse_int(node->value, node->len, out);
    if (rc != 0)
        return cannot_parse(doc, node, "an integer", what, rc == ERANGE ? "out of range" : NULL,
                            err);
    return 0;
}

static size_t skip_digits(const char *s, size_t i)
{
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* True if the NUL-terminated `s` matches yaml.v2's float syntax:
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool float_syntax(const char *s)
{
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    size_t int_end = skip_digits(s, i);
    size_t end = int_end;
    if (s[end] == '.') end = skip_digits(s, end + 1);
    if (int_end == i && end <= int_end + 1) return false; /* no digit before or after the point */
    if (s[end] == 'e' || s[end] == 'E') {
        size_t exp = end + 1 + (s[end + 1] == '+' || s[end + 1] == '-');
        end = skip_digits(s, exp);
        if (end == exp) return false;
    }
    return s[end] == '\0';
}

/* Parses a YAML float; returns 0, EINVAL or ERANGE. */
static int parse_double(const char *s, size_t n, double *out)
{
    static const char *const infs[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                       "+.INF", "-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (in_list(infs, s, n)) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (in_list(nans, s, n)) {
        *out = NAN;
        return 0;
    }
    char *digits = core_malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') digits[k++] = s[i];
    digits[k] = '\0';
    int rc = EINVAL;
    if (float_syntax(digits)) {
        errno = 0;
        *out = strtod(digits, NULL);
        rc = errno == ERANGE && isinf(*out) ? ERANGE : 0;
    }
    free(digits);
    return rc;
}

int core_yaml_double(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                     double *out, core_err *err)
{
    if (typed_scalar(doc, node, "!!float", "a number", what, err) < 0) return -1;
    int rc = parse_double(node->value, node->len, out);
    if (rc != 0)
        return cannot_parse(doc, node, "a number", what, rc == ERANGE ? "out of range" : NULL, err);
    return 0;
}

int core_yaml_duration(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                       int64_t *out_ms, core_err *err)
{
    if (core_yaml_is_null(node))
        return core_yaml_errorf(doc, node, err, "expected a duration for %s, got null", what);
    if (node->kind != CORE_YAML_SCALAR)
        return core_yaml_errorf(doc, node, err, "expected a scalar for %s, got %s", what,
                                kind_name(node->kind));
    core_err why;
    if (core_duration_parse(node->value, node->len, out_ms, &why) < 0)
        return cannot_parse(doc, node, "a duration", what, why.msg, err);
    return 0;
}
