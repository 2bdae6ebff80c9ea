/*
 * internal.h - what the files of server/config share; not for other modules.
 *
 *   decode.c  the decoding context, scalar decoders with yaml.v2's null rule,
 *             sizes, path joining, environment expansion
 *   http.c    HTTP client settings (basic_auth, authorization, oauth2, TLS,
 *             proxy, headers) and SigV4
 *   sd.c      service discovery configs
 *   relabel.c relabel rules from YAML
 *   load.c    the file: global, scrape configs, alerting, remote, storage
 *   render.c  the config back as YAML
 *
 * Decoding follows yaml.v2 into upstream's structs: a struct starts from its
 * defaults, each key given overwrites its field, and a key given as null sets
 * the field to its zero value (not to its default), as yaml.v2 does.
 */
#ifndef CONFIG_INTERNAL_H
#define CONFIG_INTERNAL_H

#include "config/config.h"

#include <string.h>

typedef core_yaml_node ynode;

typedef struct dec {
    const core_yaml_doc *doc;
    core_err *err;
    core_arena *a;
    const char *dir; /* directory relative paths are joined with, or NULL */
    unsigned flags;
    cfg_config *cfg;
} dec;

/* "file:line:col: message"; returns -1. */
int dec_fail(dec *d, const ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The pairs of a mapping (none for a null node). */
size_t dec_pairs(const ynode *map);
const char *dec_key(const ynode *map, size_t i);
const ynode *dec_keynode(const ynode *map, size_t i);
const ynode *dec_val(const ynode *map, size_t i);

/* Strict key check (core_yaml_check_keys). */
int dec_check(dec *d, const ynode *map, const char *const allowed[], const char *what);

/* Scalars; a null node gives the zero value.  Strings are copied to the
 * config's arena. */
int dec_str(dec *d, const ynode *n, const char *what, const char **out);
/* The same, NULL for a null or empty value. */
int dec_opt_str(dec *d, const ynode *n, const char *what, const char **out);
int dec_bool(dec *d, const ynode *n, const char *what, bool *out);
int dec_int(dec *d, const ynode *n, const char *what, int64_t *out);
int dec_uint(dec *d, const ynode *n, const char *what, uint64_t *out);
int dec_double(dec *d, const ynode *n, const char *what, double *out);
int dec_duration(dec *d, const ynode *n, const char *what, int64_t *ms);
/* units.Base2Bytes ("512MB", "1GiB", "0"). */
int dec_bytes(dec *d, const ynode *n, const char *what, int64_t *out);
/* A sequence of strings (null: empty). */
int dec_strs(dec *d, const ynode *n, const char *what, cfg_strs *out);
/* A map of strings to strings, in file order. */
int dec_kvs(dec *d, const ynode *n, const char *what, cfg_kvs *out);
/* A sequence node (null: 0 items); fails for anything else. */
int dec_seq(dec *d, const ynode *n, const char *what, size_t *count);

/* Joins a relative path with d->dir as Go's filepath.Join (cleaned); NULL
 * and "" stay as they are. */
const char *dec_path(dec *d, const char *path);
void dec_join_paths(dec *d, cfg_strs *paths);

/* Go's os.Expand with upstream's mapping: $$ is $, unset variables are "". */
char *dec_expand_env(core_arena *a, const char *s);

/* Go's %q of s, into the arena. */
const char *dec_quote(dec *d, const char *s);

/* Go's strconv.Quote into out (invalid UTF-8 bytes as \xNN). */
void cfg_quote(core_sb *out, const char *s, size_t n);

/* ---- http.c */

extern const char *const cfg_http_keys[]; /* NULL-terminated */
void cfg_http_defaults(cfg_http *h);
/* Decodes key `key` of an inline HTTP client config: 1 if it was one, 0 if
 * not, -1 on error. */
int cfg_http_field(dec *d, const char *key, const ynode *val, cfg_http *h);
/* Upstream's HTTPClientConfig.Validate (turns bearer_token(_file) into
 * authorization); `at` places the message. */
int cfg_http_validate(dec *d, const ynode *at, cfg_http *h);
int cfg_tls_decode(dec *d, const ynode *n, cfg_tls *t);
int cfg_sigv4_decode(dec *d, const ynode *n, cfg_sigv4 **out);
void cfg_http_join_paths(dec *d, cfg_http *h);

/* ---- sd.c */

/* Decodes key `key` of a config that holds service discovery: 1 if it was an
 * SD key (decoded into sd), 0 if not, -1 on error (an SD mechanism prom-server
 * does not have included). */
int cfg_sd_field(dec *d, const char *key, const ynode *keynode, const ynode *val, cfg_sd *sd);
extern const char *const cfg_sd_keys[];
/* Upstream's checkStaticTargets: no "/" in a static target.  `owner` is the
 * mapping that holds static_configs. */
int cfg_sd_check_static(dec *d, const ynode *owner, const cfg_sd *sd);
bool cfg_sd_any_unsupported_key(const char *key);

/* ---- relabel.c */

/* A sequence of relabel rules, validated under `scheme`.  `null_msg` is
 * upstream's message for a null rule. */
int cfg_relabels_decode(dec *d, const ynode *n, const char *null_msg, cfg_relabels *out);
int cfg_relabels_validate(dec *d, const ynode *n, cfg_relabels *r, model_name_scheme scheme);
void cfg_relabels_free(cfg_relabels *r);

#endif
