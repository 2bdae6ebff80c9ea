/*
 * push.h - pushing a registry to a Pushgateway (libcurl).
 *
 * The group is addressed by the job and the grouping labels:
 * <url>/metrics/job/<job>/<label>/<value>...  A value that is empty or holds a
 * '/' is sent base64url-encoded (<label>@base64/<encoded>), as the Pushgateway
 * expects; other values are percent-escaped.  A trailing '/' of the URL is
 * dropped, and "http://" is put in front of a URL without a scheme.
 *
 *   prom_push       PUT: replaces every metric of the group
 *   prom_push_add   POST: replaces only the families the push holds
 *   prom_push_delete DELETE: removes the group
 *
 * Every call returns 0 when the gateway answers with a 2xx status.  A refused
 * push returns PROM_EHTTP with the gateway's status and message in `result`
 * (and in prom_last_error(): "push to <group URL>: 400 Bad Request: <message>");
 * an unreachable or silent gateway returns PROM_EIO.  Bad options (no URL or
 * job, an invalid, repeated or "job" grouping label, a username without a
 * password, the OpenMetrics format) return PROM_EINVAL before anything is
 * sent, and so does a push whose registry holds a metric carrying the label
 * "job" or a grouping label, as client_golang refuses it.
 */
#ifndef PROM_PUSH_H
#define PROM_PUSH_H

#include "prom/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prom_push_opts {
    const char *url; /* the gateway, e.g. "http://localhost:9091" */
    const char *job; /* required, non-empty */
    const prom_label *grouping;
    size_t n_grouping;
    prom_registry *registry; /* what to push; NULL: the default registry */
    long timeout_ms;         /* 0: 10 s */
    const char *username;    /* basic auth, both or neither */
    const char *password;
    prom_format format; /* PROM_FORMAT_TEXT (default) or PROM_FORMAT_PROTOBUF */
} prom_push_opts;

typedef struct prom_push_result {
    long http_status; /* 0 when no answer came */
    char body[1024];  /* the start of the gateway's answer */
} prom_push_result;

/* `result` may be NULL. */
int prom_push(const prom_push_opts *opts, prom_push_result *result);
int prom_push_add(const prom_push_opts *opts, prom_push_result *result);
int prom_push_delete(const prom_push_opts *opts, prom_push_result *result);

#ifdef __cplusplus
}
#endif

#endif
