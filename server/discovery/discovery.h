/*
 * discovery.h - the door of server/discovery: service discovery, turning the
 * `cfg_sd` of a scrape config (or an alertmanager config) into target groups,
 * as Prometheus 3.x's discovery package does.
 *
 * A target group (upstream's targetgroup.Group) is a source string that
 * names it within its provider, a list of targets (label sets, each with
 * `__address__` and the mechanism's `__meta_*` labels) and labels common to
 * every target of the group.  The scrape side merges the group labels under
 * each target's own (disc_target_labels) before relabeling.
 *
 * The manager keeps named target sets (a scrape config's job_name, or
 * "config-0", "config-1", ... for the alertmanager configs, as upstream names
 * them).  Each set's cfg_sd becomes providers, one per mechanism config:
 *
 *   static_configs    every static config of the set in one provider, its
 *                     groups' sources "0", "1", ... in order
 *   file_sd_configs   YAML (.yml, .yaml) or JSON (.json) files matched by
 *                     globs, re-read when inotify reports a change in their
 *                     directories and every refresh_interval; `__meta_filepath`
 *   http_sd_configs   a GET of a JSON list of {targets, labels} every
 *                     refresh_interval with the config's HTTP client settings;
 *                     `__meta_url`
 *   dns_sd_configs    SRV, A, AAAA, MX or NS lookups every refresh_interval
 *                     through the servers of /etc/resolv.conf; `__meta_dns_*`
 *   ec2_sd_configs    EC2 DescribeInstances (SigV4-signed, paginated) every
 *                     refresh_interval; `__meta_ec2_*`
 *
 * Providers whose configs are equal are shared between sets, and a
 * disc_manager_sync on reload keeps every provider whose config did not
 * change running (with its targets), stopping only those no set needs any
 * more, as upstream's ApplyConfig does.  Each provider runs in a thread of
 * its own (static configs need none), so a slow DNS server or HTTP endpoint
 * never holds up the others; stopping one interrupts its transfer or lookup.
 *
 * A failed refresh (unreachable endpoint, bad file, DNS error) is logged and
 * the provider's last good targets stay, as upstream.  Updates are throttled
 * like upstream's sender: after a quiet spell the first change is published
 * within about 100 ms, and under a stream of changes publications back off to
 * one per update interval (5 s by default).  Each publication snapshots every
 * set, increments the generation and calls the notify callback; the consumer
 * then reads the sets it cares about with disc_manager_targets.
 *
 * Not supported (each refused with a message naming it, the config counted
 * in disc_stats.failed_configs): oauth2 and the *_ref secret references in
 * HTTP client settings, tls_config.server_name, and EC2's role_arn (STS
 * AssumeRole).  EC2 credentials come from the config, the environment, the
 * shared credentials/config files or the instance metadata service.
 *
 * Thread safety: every function may be called from any thread; the notify
 * callback runs on the manager's own thread and must not call
 * disc_manager_sync/_apply/_free (reading targets is fine).
 */
#ifndef DISCOVERY_DISCOVERY_H
#define DISCOVERY_DISCOVERY_H

#include "config/config.h"
#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The label every target has: host:port. */
#define DISC_ADDRESS_LABEL "__address__"

typedef struct disc_group {
    const char *source;
    const core_labels *labels;         /* common to every target; never NULL */
    const core_labels *const *targets; /* each with __address__ */
    size_t n_targets;
} disc_group;

typedef struct disc_manager disc_manager;

/* Called after each publication with its generation (1, 2, ...). */
typedef void (*disc_notify_fn)(uint64_t generation, void *userdata);

typedef struct disc_opts {
    const char *name;           /* in log lines ("scrape", "notify"); NULL: none */
    int64_t update_interval_ms; /* throttle; 0: 5 s as upstream */
    disc_notify_fn notify;      /* may be NULL (poll the generation instead) */
    void *userdata;
    const char *user_agent; /* NULL: "Prometheus/<version>" */
    /* Test hooks: the resolver configuration read by DNS discovery and the
     * port its servers are asked on (upstream: /etc/resolv.conf, 53). */
    const char *resolv_conf;
    int dns_port;
} disc_opts;

/* Starts a manager with no sets.  Fails only when a thread cannot be started. */
disc_manager *disc_manager_new(const disc_opts *opts, core_err *err);
/* Stops every provider and frees the manager.  NULL is allowed. */
void disc_manager_free(disc_manager *m);

typedef struct disc_set_cfg {
    const char *name; /* job_name, or "config-N" for alertmanagers */
    const cfg_sd *sd;
} disc_set_cfg;

/* Replaces every set with `sets` (a config reload): providers whose config is
 * unchanged keep running, new ones start, the rest stop; sets not listed are
 * dropped.  The configs are copied; the caller may free them afterwards.  A
 * mechanism config that cannot run (see the log) is counted in
 * disc_stats.failed_configs, and its set still exists with the targets of its
 * other providers.  Fails (changing nothing) only for an empty or repeated
 * set name.  Triggers a publication, so the consumer soon sees every set. */
int disc_manager_sync(disc_manager *m, const disc_set_cfg *sets, size_t n, core_err *err);

/* Adds or replaces one set, leaving the others alone; sd NULL removes it. */
int disc_manager_apply(disc_manager *m, const char *set, const cfg_sd *sd, core_err *err);

/* The generation of the last publication (0 before the first). */
uint64_t disc_manager_generation(disc_manager *m);

/* Waits until the generation exceeds `after` or `timeout_ms` passes; returns
 * the generation then. */
uint64_t disc_manager_wait(disc_manager *m, uint64_t after, int64_t timeout_ms);

/* The groups of `set` as of the last publication, copied into `arena`, in a
 * stable order (providers in config order, groups by source).  Groups without
 * targets are left out.  `*changed` (may be NULL) receives the generation in
 * which the set's groups last changed, so a consumer can skip sets it has
 * already applied.  -1 for a set the manager does not know
 * (`unknown target set "x"`); a known set that has not been published yet has
 * no groups. */
int disc_manager_targets(disc_manager *m, const char *set, core_arena *arena, disc_group **groups,
                         size_t *n, uint64_t *changed, core_err *err);

typedef struct disc_set_info {
    const char *name;
    size_t n_targets;   /* prometheus_sd_discovered_targets{config=name} */
    uint64_t changed;   /* generation of its last change */
    int64_t updated_ms; /* last publication that included it (ms since epoch) */
} disc_set_info;

/* Every set as of the last publication, in name order, strings in `arena`. */
size_t disc_manager_sets(disc_manager *m, core_arena *arena, disc_set_info **out);

typedef enum disc_mechanism {
    DISC_STATIC,
    DISC_FILE,
    DISC_HTTP,
    DISC_DNS,
    DISC_EC2,
    DISC_MECHANISMS
} disc_mechanism;

/* Counters, each named after the upstream metric it feeds. */
typedef struct disc_stats {
    uint64_t failed_configs;   /* prometheus_sd_failed_configs (a gauge) */
    uint64_t received_updates; /* prometheus_sd_received_updates_total */
    uint64_t updates;          /* prometheus_sd_updates_total */
    /* prometheus_sd_refresh_failures_total{mechanism}, by disc_mechanism */
    uint64_t refresh_failures[DISC_MECHANISMS];
    uint64_t file_read_errors;    /* prometheus_sd_file_read_errors_total */
    uint64_t dns_lookups;         /* prometheus_sd_dns_lookups_total */
    uint64_t dns_lookup_failures; /* prometheus_sd_dns_lookup_failures_total */
    uint64_t http_failures;       /* prometheus_sd_http_failures_total */
    uint64_t providers;           /* providers running now */
} disc_stats;

const char *disc_mechanism_name(disc_mechanism mech);

void disc_manager_stats(disc_manager *m, disc_stats *out);

/* Target `i` of `g` with the group's labels merged under its own (a target
 * label wins), as the scrape and notifier sides start from. */
core_labels *disc_target_labels(const disc_group *g, size_t i, core_arena *arena);

#endif
