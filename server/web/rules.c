/*
 * rules.c - /api/v1/rules, /api/v1/alerts and /api/v1/alertmanagers, as
 * upstream's web/api/v1 writes them (Prometheus 3.x).
 *
 * The rules manager and the notifier are reached through the callbacks of
 * web_rules_source (the server wires them), so this module needs no thread of
 * its own: each request takes a snapshot into its arena and writes it out.
 * Filters of /rules: type (alert|record), rule_name[], rule_group[], file[],
 * exclude_alerts; a group left without rules by them is left out, as upstream.
 * Alert values are written as Go's FormatFloat(v, 'e', -1, 64) ("1e+00").
 */
#include "web/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Go's strconv.FormatFloat(v, 'e', -1, 64): the fewest digits that read
 * back as v, in %e form ("1e+00", "1.5e-07"); NaN and +-Inf as Go spells them. */
static void value_e(core_sb *d, double v)
{
    if (isnan(v)) {
        core_sb_adds(d, "NaN");
        return;
    }
    if (isinf(v)) {
        core_sb_adds(d, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char buf[40];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    core_sb_adds(d, buf);
}

static void alert_json(core_sb *d, const rules_alert_snap *a, bool keep_firing)
{
    core_sb_adds(d, "{\"labels\":");
    web_json_labels(d, a->labels);
    core_sb_adds(d, ",\"annotations\":");
    web_json_labels(d, a->annotations);
    core_sb_adds(d, ",\"state\":");
    web_json_cstr(d, rules_state_name(a->state));
    core_sb_adds(d, ",\"activeAt\":");
    web_json_go_time(d, a->active_at_ms);
    if (keep_firing && a->keep_firing_since_ms) {
        core_sb_adds(d, ",\"keepFiringSince\":");
        web_json_go_time(d, a->keep_firing_since_ms);
    }
    core_sb_adds(d, ",\"value\":\"");
    value_e(d, a->value);
    core_sb_adds(d, "\"}");
}

static bool in_list(const char *v, const char *const *list, size_t n)
{
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0) return true;
    return false;
}

void web_ep_rules(web_api *api, core_http_req *req, web_reply *r)
{
    if (!api->o.rules.groups) {
        core_sb_adds(&r->data, "{\"groups\":[]}");
        return;
    }
    const char *type = core_http_arg(req, "type");
    if (type && *type && strcmp(type, "alert") != 0 && strcmp(type, "record") != 0) {
        web_fail(r, WEB_ERR_BAD_DATA, "invalid query parameter type='%s'", type);
        return;
    }
    bool want_alert = !type || !*type || !strcmp(type, "alert");
    bool want_record = !type || !*type || !strcmp(type, "record");
    const char *ex = core_http_arg(req, "exclude_alerts");
    bool exclude_alerts = ex && !strcmp(ex, "true");
    const char *const *names, *const *groups, *const *files;
    size_t nnames = core_http_args(req, "rule_name[]", &names);
    size_t ngroups = core_http_args(req, "rule_group[]", &groups);
    size_t nfiles = core_http_args(req, "file[]", &files);
    rules_group_snap *g;
    size_t n = api->o.rules.groups(api->o.rules.ctx, r->arena, &g);
    core_sb *d = &r->data;
    core_sb_adds(d, "{\"groups\":[");
    bool first_group = true;
    for (size_t i = 0; i < n; i++) {
        if (!in_list(g[i].name, groups, ngroups) || !in_list(g[i].file, files, nfiles)) continue;
        core_sb rules = CORE_SB_INIT;
        bool first_rule = true;
        for (size_t k = 0; k < g[i].nrules; k++) {
            const rules_rule_snap *ru = &g[i].rules[k];
            bool alerting = ru->kind == RULES_ALERTING;
            if ((alerting && !want_alert) || (!alerting && !want_record)) continue;
            if (!in_list(ru->name, names, nnames)) continue;
            if (!first_rule) core_sb_addc(&rules, ',');
            first_rule = false;
            if (alerting) {
                core_sb_adds(&rules, "{\"state\":");
                web_json_cstr(&rules, rules_state_name(ru->state));
                core_sb_adds(&rules, ",\"name\":");
                web_json_cstr(&rules, ru->name);
                core_sb_adds(&rules, ",\"query\":");
                web_json_cstr(&rules, ru->query);
                core_sb_addf(&rules, ",\"duration\":%lld", (long long)(ru->for_ms / 1000));
                core_sb_addf(&rules, ",\"keepFiringFor\":%lld",
                             (long long)(ru->keep_firing_for_ms / 1000));
                core_sb_adds(&rules, ",\"labels\":");
                web_json_labels(&rules, ru->labels);
                core_sb_adds(&rules, ",\"annotations\":");
                web_json_labels(&rules, ru->annotations);
                if (!exclude_alerts) {
                    core_sb_adds(&rules, ",\"alerts\":[");
                    size_t shown = 0;
                    for (size_t a = 0; a < ru->nalerts; a++) {
                        if (ru->alerts[a].resolved_at_ms) continue; /* only active ones */
                        if (shown++) core_sb_addc(&rules, ',');
                        alert_json(&rules, &ru->alerts[a], true);
                    }
                    core_sb_addc(&rules, ']');
                }
            } else {
                core_sb_adds(&rules, "{\"name\":");
                web_json_cstr(&rules, ru->name);
                core_sb_adds(&rules, ",\"query\":");
                web_json_cstr(&rules, ru->query);
                core_sb_adds(&rules, ",\"labels\":");
                web_json_labels(&rules, ru->labels);
            }
            core_sb_adds(&rules, ",\"health\":");
            web_json_cstr(&rules, rules_health_name(ru->health));
            if (ru->last_error && *ru->last_error) {
                core_sb_adds(&rules, ",\"lastError\":");
                web_json_cstr(&rules, ru->last_error);
            }
            core_sb_adds(&rules, ",\"evaluationTime\":");
            web_json_number(&rules, ru->eval_seconds);
            core_sb_adds(&rules, ",\"lastEvaluation\":");
            web_json_go_time(&rules, ru->last_eval_ms);
            core_sb_adds(&rules, ",\"type\":");
            web_json_cstr(&rules, alerting ? "alerting" : "recording");
            core_sb_addc(&rules, '}');
        }
        if (first_rule && (nnames || (type && *type))) { /* filtered to nothing */
            core_sb_destroy(&rules);
            continue;
        }
        if (!first_group) core_sb_addc(d, ',');
        first_group = false;
        core_sb_adds(d, "{\"name\":");
        web_json_cstr(d, g[i].name);
        core_sb_adds(d, ",\"file\":");
        web_json_cstr(d, g[i].file);
        core_sb_adds(d, ",\"rules\":[");
        if (rules.len) core_sb_add(d, rules.buf, rules.len);
        core_sb_addf(d, "],\"interval\":");
        web_json_number(d, (double)g[i].interval_ms / 1000);
        core_sb_addf(d, ",\"limit\":%lld,\"evaluationTime\":", (long long)g[i].limit);
        web_json_number(d, g[i].eval_seconds);
        core_sb_adds(d, ",\"lastEvaluation\":");
        web_json_go_time(d, g[i].last_eval_ms);
        core_sb_addc(d, '}');
        core_sb_destroy(&rules);
    }
    core_sb_adds(d, "]}");
}

void web_ep_alerts(web_api *api, core_http_req *req, web_reply *r)
{
    (void)req;
    core_sb *d = &r->data;
    core_sb_adds(d, "{\"alerts\":[");
    if (api->o.rules.alerts) {
        rules_active_alert *a;
        size_t n = api->o.rules.alerts(api->o.rules.ctx, r->arena, &a);
        for (size_t i = 0; i < n; i++) {
            if (i) core_sb_addc(d, ',');
            alert_json(d, &a[i].alert, true);
        }
    }
    core_sb_adds(d, "]}");
}

void web_ep_alertmanagers(web_api *api, core_http_req *req, web_reply *r)
{
    (void)req;
    core_sb *d = &r->data;
    core_sb_adds(d, "{\"activeAlertmanagers\":[");
    if (api->o.rules.alertmanagers) {
        const char **urls;
        size_t n = api->o.rules.alertmanagers(api->o.rules.ctx, r->arena, &urls);
        for (size_t i = 0; i < n; i++) {
            core_sb_adds(d, i ? ",{\"url\":" : "{\"url\":");
            web_json_cstr(d, urls[i]);
            core_sb_addc(d, '}');
        }
    }
    core_sb_adds(d, "],\"droppedAlertmanagers\":[]}");
}
