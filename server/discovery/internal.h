/*
 * internal.h - what the files of server/discovery share; not for other modules
 * (unit tests include it to test the parts on their own).
 *
 *   group.c    stored target groups (reference-counted, immutable once
 *              posted) and the JSON / YAML target group lists of file and
 *              HTTP discovery
 *   keys.c     deep copies of mechanism configs and the keys that tell
 *              whether two configs are the same provider
 *   http.c     one HTTP request through libcurl with a cfg_http's settings
 *   file.c     file_sd: globs, reading, inotify watches
 *   httpsd.c   http_sd: one refresh
 *   dns.c      dns_sd: resolv.conf, queries over UDP/TCP, answers to groups
 *   xml.c      a small XML reader for the EC2 API's answers
 *   sigv4.c    AWS Signature Version 4
 *   aws.c      AWS credentials and region from the usual sources
 *   ec2.c      ec2_sd: DescribeInstances pages to a group
 *   manager.c  the manager: sets, providers and their threads, publication
 */
#ifndef DISCOVERY_INTERNAL_H
#define DISCOVERY_INTERNAL_H

#include "discovery/discovery.h"

#include <stdatomic.h>
#include <stdbool.h>

#define DISC_COMPONENT "discovery"

/* ---- group.c */

/* A target group as a provider posts it.  Immutable once posted; shared by
 * reference between the provider's current groups and published snapshots. */
typedef struct disc_tg {
    atomic_int refs;
    core_arena arena; /* strings and label sets */
    disc_group g;     /* g.targets points at `targets` */
    core_labels **targets;
    size_t cap;
} disc_tg;

/* A new group with one reference, no targets and no labels. */
disc_tg *disc_tg_new(const char *source);
/* Adds a target from pairs in any order; pairs with an empty value are left
 * out (upstream's label builder drops them too). */
void disc_tg_add_target(disc_tg *tg, const core_label *pairs, size_t n);
void disc_tg_set_labels(disc_tg *tg, const core_label *pairs, size_t n);
disc_tg *disc_tg_ref(disc_tg *tg);
void disc_tg_unref(disc_tg *tg);

/* A list of groups, each entry holding one reference. */
typedef struct disc_tgs {
    disc_tg **v;
    size_t n, cap;
} disc_tgs;

/* Appends, taking over the caller's reference. */
void disc_tgs_push(disc_tgs *l, disc_tg *tg);
/* Drops every reference; keeps the memory. */
void disc_tgs_clear(disc_tgs *l);
void disc_tgs_destroy(disc_tgs *l);

typedef enum disc_fmt {
    DISC_FMT_JSON,
    DISC_FMT_YAML,
} disc_fmt;

/* Parses a list of target groups ([{targets: [...], labels: {...}}, ...]) as
 * upstream's file and HTTP discovery decode it: JSON with unknown fields
 * refused, or strict YAML (an empty YAML document is an empty list).  Group i
 * gets the source "<origin>:<i>" and the label meta_label=origin
 * (__meta_filepath, __meta_url).  On error nothing is appended and err says
 * why ("nil target group item found", "\"a b\" is not a valid label name",
 * ...). */
int disc_parse_groups(disc_fmt fmt, const char *origin, const char *buf, size_t len,
                      const char *meta_label, disc_tgs *out, core_err *err);

/* Go's net.JoinHostPort: "[::1]:80" for a host with a colon. */
void disc_join_host_port(core_sb *out, const char *host, long port);

/* ---- keys.c */

/* Copies of mechanism configs into `a`, deep (strings and arrays). */
void disc_copy_file_sd(core_arena *a, cfg_file_sd *dst, const cfg_file_sd *src);
void disc_copy_http_sd(core_arena *a, cfg_http_sd *dst, const cfg_http_sd *src);
void disc_copy_dns_sd(core_arena *a, cfg_dns_sd *dst, const cfg_dns_sd *src);
void disc_copy_ec2_sd(core_arena *a, cfg_ec2_sd *dst, const cfg_ec2_sd *src);
/* Keys: equal exactly when the configs are equal field for field. */
void disc_key_static(core_sb *out, const cfg_target_group *g, size_t n);
void disc_key_file_sd(core_sb *out, const cfg_file_sd *c);
void disc_key_http_sd(core_sb *out, const cfg_http_sd *c);
void disc_key_dns_sd(core_sb *out, const cfg_dns_sd *c);
void disc_key_ec2_sd(core_sb *out, const cfg_ec2_sd *c);

/* ---- http.c */

typedef struct disc_http_req {
    const cfg_http *cfg; /* NULL: Go's defaults */
    const char *method;  /* "GET", "POST" */
    const char *url;
    const char *const *headers; /* extra "Name: value" lines */
    size_t n_headers;
    const char *body; /* POST body or NULL */
    size_t body_len;
    int64_t timeout_ms; /* whole request; 0: none */
    size_t max_body;    /* 0: 256 MiB */
    const char *user_agent;
    const atomic_bool *cancel; /* set: the transfer stops soon */
} disc_http_req;

typedef struct disc_http_resp {
    long status;
    char status_text[80];   /* "404 Not Found", as Go's resp.Status */
    char content_type[256]; /* the Content-Type header, "" when none */
    core_sb body;
} disc_http_resp;

/* Sends one request with the client settings of req->cfg (basic auth,
 * authorization, headers, TLS files, proxy, redirects, HTTP/2), secrets from
 * files read now, as upstream reads them per request.  Any HTTP status is
 * success here; -1 for a transport error ("Get \"url\": ..."). */
int disc_http_do(const disc_http_req *req, disc_http_resp *resp, core_err *err);
void disc_http_resp_destroy(disc_http_resp *resp);
/* Refuses the settings disc_http_do cannot honour (oauth2, *_ref secrets,
 * tls_config.server_name), naming them. */
int disc_http_check(const cfg_http *cfg, core_err *err);
/* Reads a secret file, whitespace trimmed at both ends, as upstream does. */
char *disc_read_secret_file(const char *path, core_err *err);

/* ---- file.c */

typedef struct disc_file {
    const cfg_file_sd *cfg;
    /* what the last refresh found: file -> number of groups */
    char **files;
    size_t *counts;
    size_t n_files;
    int inotify_fd; /* -1 when inotify is not available */
    atomic_uint_fast64_t read_errors;
} disc_file;

void disc_file_init(disc_file *s, const cfg_file_sd *cfg);
void disc_file_destroy(disc_file *s);
/* Reads every matching file into `out` (groups of files that vanished or
 * shrank as empty groups with their old sources); a file that cannot be read
 * or parsed is logged and keeps its last groups.  Then (re)sets the watches. */
void disc_file_refresh(disc_file *s, disc_tgs *out);
/* Reads the pending inotify events; true if any asks for a re-read (anything
 * but a change of attributes). */
bool disc_file_drain(disc_file *s);

/* ---- httpsd.c */

typedef struct disc_httpsd {
    const cfg_http_sd *cfg;
    const char *user_agent;
    const atomic_bool *cancel;
    size_t last_len; /* groups of the last good refresh */
    atomic_uint_fast64_t failures;
} disc_httpsd;

/* One refresh: the groups (with empty ones for sources that went away) or -1
 * with upstream's message ("server returned HTTP status 500 Internal Server
 * Error", "unsupported content type \"text/plain\"", ...). */
int disc_httpsd_refresh(disc_httpsd *s, disc_tgs *out, core_err *err);

/* ---- dns.c */

/* The parts of resolv.conf upstream reads (miekg/dns's ClientConfig). */
typedef struct disc_resolv {
    char **servers;
    size_t n_servers;
    char **search;
    size_t n_search;
    int ndots; /* default 1 */
} disc_resolv;

int disc_resolv_load(const char *path, disc_resolv *rc, core_err *err);
void disc_resolv_destroy(disc_resolv *rc);
/* The names to try for `name`, in order (miekg/dns's NameList): malloc'd
 * array of malloc'd strings. */
size_t disc_dns_namelist(const disc_resolv *rc, const char *name, char ***out);

/* DNS record types (RFC 1035, 3596, 2782). */
enum {
    DISC_DNS_A = 1,
    DISC_DNS_NS = 2,
    DISC_DNS_CNAME = 5,
    DISC_DNS_MX = 15,
    DISC_DNS_AAAA = 28,
    DISC_DNS_SRV = 33
};

/* The query type for a dns_sd type (case-insensitive); SRV for anything else. */
int disc_dns_qtype(const char *type);

/* Builds a query for `name` (a trailing dot optional) with an EDNS0 OPT
 * record when edns; returns the length, or 0 when the name is not valid. */
size_t disc_dns_query(unsigned char *buf, size_t cap, uint16_t id, const char *name, int qtype,
                      bool edns);

/* The group of `name` from a response's answers (records of other types are
 * skipped, CNAMEs silently); -1 for a message that does not parse. */
int disc_dns_group(const unsigned char *msg, size_t len, const char *name, int port, disc_tg **out,
                   core_err *err);

typedef struct disc_dns {
    const cfg_dns_sd *cfg;
    const char *resolv_conf; /* NULL: /etc/resolv.conf */
    int port;                /* 0: 53 */
    int cancel_fd;           /* readable: stop (-1: none) */
    int timeout_ms;          /* per server; 0: 2 s as miekg/dns */
    atomic_uint_fast64_t lookups, failures;
} disc_dns;

/* One refresh: a group per name that got an answer (an empty one for a name
 * that does not exist); a name whose servers all failed is logged and left
 * out, so its last targets stay. */
int disc_dns_refresh(disc_dns *s, disc_tgs *out, core_err *err);

/* ---- xml.c */

typedef struct disc_xml {
    const char *name; /* local name, prefix dropped */
    const char *text; /* character data directly inside, entities decoded */
    struct disc_xml *child, *last, *next;
} disc_xml;

/* Parses a document into `a`: elements, attributes skipped, character data
 * and CDATA, the five entities and character references; comments,
 * processing instructions and a doctype skipped.  The root element or NULL
 * with a message. */
disc_xml *disc_xml_parse(core_arena *a, const char *buf, size_t len, core_err *err);
const disc_xml *disc_xml_child(const disc_xml *n, const char *name);
/* The text of child `name`, or NULL when there is no such child. */
const char *disc_xml_text(const disc_xml *n, const char *name);

/* ---- sigv4.c */

typedef struct disc_aws_creds {
    char *access_key, *secret_key, *token; /* token may be NULL */
} disc_aws_creds;

void disc_aws_creds_destroy(disc_aws_creds *c);

/* Lowercase hex SHA-256 of data into hex[65]. */
void disc_sha256_hex(const void *data, size_t len, char hex[65]);
/* RFC 3986 percent-encoding as SigV4 wants it (unreserved kept; '/' kept
 * when keep_slash). */
void disc_aws_uri_encode(core_sb *out, const char *s, size_t n, bool keep_slash);

typedef struct disc_sigv4_req {
    const char *method;
    const char *path;          /* as sent, e.g. "/" */
    const char *query;         /* raw query string without '?', may be NULL */
    const core_label *headers; /* name, value: every header to sign (host included) */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const char *region, *service;
    const char *amz_date; /* "20150830T123600Z" */
} disc_sigv4_req;

/* The Authorization header value for req with creds.  The canonical request
 * and the string to sign can be had for tests. */
void disc_sigv4_sign(const disc_sigv4_req *req, const disc_aws_creds *creds, core_sb *authorization,
                     core_sb *canonical, core_sb *to_sign);

/* ---- aws.c */

/* The region: configured, else AWS_REGION / AWS_DEFAULT_REGION, else the
 * profile's region in the shared config file, else the instance metadata
 * service.  -1: "could not determine AWS region: ...". */
int disc_aws_region(const char *configured, const char *profile, char **out, core_err *err);
/* Credentials: configured keys (both given), else (unless a profile is
 * configured) AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * else the profile (configured, AWS_PROFILE or "default") in the shared
 * credentials and config files, else the instance metadata service's role
 * credentials. */
int disc_aws_credentials(const char *access_key, const char *secret_key, const char *profile,
                         disc_aws_creds *out, core_err *err);
/* Reads key `key` of section `section` from an INI-style AWS file; malloc'd
 * value or NULL. */
char *disc_aws_ini_get(const char *path, const char *section, const char *key);

/* ---- ec2.c */

typedef struct disc_ec2_az {
    char *name, *id;
} disc_ec2_az;

typedef struct disc_ec2 {
    const cfg_ec2_sd *cfg;
    const char *user_agent;
    const atomic_bool *cancel;
    char *region;     /* resolved at the first refresh */
    disc_ec2_az *azs; /* availability zone -> zone id, once known */
    size_t n_azs;
    bool have_azs;
    /* test hook: the time requests are signed with (ms since epoch; 0: now) */
    int64_t now_ms;
} disc_ec2;

void disc_ec2_destroy(disc_ec2 *s);
/* One refresh: one group (source = region) with every instance that has a
 * private IPv4 or an IPv6 address. */
int disc_ec2_refresh(disc_ec2 *s, disc_tgs *out, core_err *err);
/* The instances of one DescribeInstances answer into tg; *next_token points
 * into the document (NULL on the last page). */
void disc_ec2_page(const disc_xml *root, const disc_ec2 *s, disc_tg *tg, const char **next_token);

#endif
