/*
 * yaml.h - YAML documents that remember where every node came from.
 *
 * Configuration files (prometheus.yml, rule files, alertmanager.yml, web config)
 * are loaded with libyaml into a tree of nodes, each carrying its 1-based line and
 * column, so every error can say `file:line:col: what is wrong`.  Decoding is
 * strict, like upstream's UnmarshalStrict: a mapping is checked against the keys
 * its type allows, and an unknown or repeated key is an error.
 *
 * Anchors and aliases are resolved (an alias node is the anchored node itself), and
 * merge keys (`<<: *base`, `<<: [*a, *b]`) are folded into the mapping that holds
 * them, keys given in that mapping winning over merged ones, wherever they are
 * written, and earlier merged mappings over later ones.  Only the first document of
 * a stream is read; the ones after it are not even looked at.  Sequences and
 * mappings nest at most 1000 deep.
 *
 * The whole tree lives in the document's arena: node pointers and scalar strings
 * stay valid until core_yaml_free().
 */
#ifndef CORE_YAML_H
#define CORE_YAML_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum core_yaml_kind {
    CORE_YAML_SCALAR,
    CORE_YAML_SEQ,
    CORE_YAML_MAP,
} core_yaml_kind;

typedef struct core_yaml_node core_yaml_node;

struct core_yaml_node {
    core_yaml_kind kind;
    /* 1-based position of the node's first character (its anchor or tag when it has
     * one; for an empty value such as `key:`, just after the colon).  Columns count
     * characters, not bytes. */
    int line;
    int col;
    bool plain; /* scalar written without quotes or block style (null/bool/number candidates) */
    /* The tag written on the node, or NULL.  Tags of the YAML namespace are given in
     * their short form whichever way they were written ("!!str" for `!!str` and for
     * `!<tag:yaml.org,2002:str>`); other tags as libyaml resolves them ("!foo"). */
    const char *tag;
    /* CORE_YAML_SCALAR: the text, NUL-terminated (len excludes the NUL). */
    const char *value;
    size_t len;
    /* CORE_YAML_SEQ: n items in items[0..n-1].
     * CORE_YAML_MAP: n pairs; items[2i] is a key, items[2i+1] its value. */
    size_t n;
    core_yaml_node **items;
};

typedef struct core_yaml_doc core_yaml_doc;

/* Parses `len` bytes of YAML (`buf` may be NULL when len is 0).  `name` (usually
 * the file path) prefixes error messages.  A syntax error comes back as
 * "name:line:col: <problem>", with libyaml's context where it has one
 * ("... (while parsing a flow sequence that began at line 1, column 4)") and a hint
 * where one helps (`mapping values are not allowed in this context (a value that
 * contains ": " must be quoted)`).  An alias of an unknown anchor, a merge key whose
 * value is not a mapping or a sequence of mappings, nesting deeper than 1000 levels
 * and aliases that would expand the document by more than a million nodes beyond
 * ten times its size ("document contains excessive aliasing", against "billion
 * laughs") are errors with a position too.  An empty document (no bytes, or only
 * comments) is valid: its root is NULL; a lone "---" gives a null scalar as root. */
core_yaml_doc *core_yaml_parse(const char *name, const char *buf, size_t len, core_err *err);
/* Reads and parses a file; "name" in messages is the path as given.  A file that
 * cannot be read gives "open <path>: <strerror>" (or "read <path>: ..."). */
core_yaml_doc *core_yaml_load_file(const char *path, core_err *err);
/* Frees the document with all its nodes and strings; NULL is a no-op. */
void core_yaml_free(core_yaml_doc *doc);

/* The root node, or NULL when the document is empty. */
const core_yaml_node *core_yaml_root(const core_yaml_doc *doc);
/* The name given to core_yaml_parse. */
const char *core_yaml_name(const core_yaml_doc *doc);

/* True for a plain untagged scalar "", "~", "null", "Null" or "NULL", for a scalar
 * tagged !!null, and for a missing (NULL) node.  Any other tag makes it no null:
 * `!!str null` is the string "null". */
bool core_yaml_is_null(const core_yaml_node *node);
/* The value stored under `key` in a mapping (the first, if the key is repeated), or
 * NULL (also when node is no mapping). */
const core_yaml_node *core_yaml_get(const core_yaml_node *map, const char *key);

/* Writes "name:line:col: <message>" for `at` into err and returns -1.  With a NULL
 * node the position is left out ("name: <message>"). */
int core_yaml_errorf(const core_yaml_doc *doc, const core_yaml_node *at, core_err *err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Checks that `map` is a mapping (or null, as for `global:` with nothing after it)
 * whose keys are all scalars from the NULL-terminated `allowed` list, each at most
 * once.  `what` names the type in messages: `file:3:5: unknown field "foo" in scrape
 * config`, `... field "foo" given twice in scrape config (first at line 2)`,
 * `... expected a mapping for scrape config, got a sequence` (or "a scalar"),
 * `... expected a scalar key in scrape config, got a mapping`.  Keys are quoted in
 * messages as Go quotes strings. */
int core_yaml_check_keys(const core_yaml_doc *doc, const core_yaml_node *map,
                         const char *const allowed[], const char *what, core_err *err);

/* Scalar decoders.  Each fails with a positioned message when the node is not a
 * scalar ("file:4:18: expected a scalar for job_name, got a mapping") or its text is
 * not of the type ("file:4:18: cannot parse \"1x\" as a duration in
 * scrape_interval: <reason>").  `what` names the field for those messages.
 *
 * core_yaml_str takes any scalar, quoted or not, and gives "" for a null (see
 * core_yaml_is_null, a NULL node included); the string is the document's.  The
 * other decoders refuse a null ("expected a boolean for honor_labels, got null"):
 * a caller that wants a default for an empty field checks core_yaml_is_null
 * first.  Booleans and numbers must be plain and untagged, or tagged with their
 * type (!!bool, !!int, !!float), as yaml.v2 wants them: `"true"` is a string
 * ("expected a boolean for honor_labels, got the string \"true\"").  A duration
 * may be quoted. */
int core_yaml_str(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                  const char **out, core_err *err);
/* YAML 1.1 booleans as yaml.v2 reads them: true/false, yes/no, on/off, y/n in their
 * usual cases. */
int core_yaml_bool(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                   bool *out, core_err *err);
/* Decimal, 0x hex, 0o or leading-0 octal, 0b binary, with optional sign and `_`
 * separators.  A value past int64 is an error ("...: out of range"). */
int core_yaml_int64(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                    int64_t *out, core_err *err);
/* Decimal or exponent notation ("1.5", ".5", "5.", "-2e3", `_` separators allowed),
 * also .inf, +.inf, -.inf and .nan in lower, title or upper case.  A finite value
 * too large for a double is an error ("...: out of range"); hex, "inf" and "nan"
 * are not numbers here. */
int core_yaml_double(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                     double *out, core_err *err);
/* A Prometheus duration ("1h30m", "0"), in milliseconds, read by
 * core_duration_parse, whose message is the <reason>. */
int core_yaml_duration(const core_yaml_doc *doc, const core_yaml_node *node, const char *what,
                       int64_t *out_ms, core_err *err);

#endif
