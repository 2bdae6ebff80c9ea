/*
 * httpsd.c - http_sd_configs: one refresh, as upstream's discovery/http.
 *
 * A GET of the configured URL with upstream's headers (Accept:
 * application/json, X-Prometheus-Refresh-Interval-Seconds) and a timeout of
 * one refresh interval.  The answer must be 200 with a Content-Type of
 * application/json (optionally with charset=utf-8) and a JSON list of target
 * groups; anything else is an error and the caller keeps the last targets.
 * Group i gets the source "<url>:<i>" and `__meta_url`; when the list gets
 * shorter, the sources past its end are sent as empty groups so their
 * targets go away.
 */
#include "discovery/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* upstream's matchContentType: ^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$,
 * applied to the trimmed header. */
static bool json_content_type(const char *ct)
{
    while (isspace((unsigned char)*ct))
        ct++;
    size_t n = strlen(ct);
    while (n > 0 && isspace((unsigned char)ct[n - 1]))
        n--;
    static const char base[] = "application/json";
    size_t bl = sizeof base - 1;
    if (n < bl || strncasecmp(ct, base, bl) != 0) return false;
    if (n == bl) return true;
    const char *p = ct + bl, *end = ct + n;
    if (*p++ != ';') return false;
    while (p < end &&
           (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v'))
        p++;
    size_t rest = (size_t)(end - p);
    if (rest < 8 || strncasecmp(p, "charset=", 8) != 0) return false;
    p += 8;
    rest -= 8;
    return (rest == 5 && strncasecmp(p, "utf-8", 5) == 0) ||
           (rest == 7 && strncasecmp(p, "\"utf-8\"", 7) == 0);
}

/* Go's strconv.FormatFloat(seconds, 'f', -1, 64) for a whole number of ms. */
static void seconds(char *buf, size_t cap, int64_t ms)
{
    if (ms % 1000 == 0) {
        snprintf(buf, cap, "%lld", (long long)(ms / 1000));
        return;
    }
    snprintf(buf, cap, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
    size_t n = strlen(buf);
    while (buf[n - 1] == '0')
        buf[--n] = '\0';
}

int disc_httpsd_refresh(disc_httpsd *s, disc_tgs *out, core_err *err)
{
    char secs[32], interval_hdr[96];
    seconds(secs, sizeof secs, s->cfg->refresh_interval_ms);
    snprintf(interval_hdr, sizeof interval_hdr, "X-Prometheus-Refresh-Interval-Seconds: %s", secs);
    const char *hdrs[] = {"Accept: application/json", interval_hdr};
    disc_http_req req = {
        .cfg = &s->cfg->http,
        .method = "GET",
        .url = s->cfg->url,
        .headers = hdrs,
        .n_headers = 2,
        .timeout_ms = s->cfg->refresh_interval_ms,
        .user_agent = s->user_agent,
        .cancel = s->cancel,
    };
    disc_http_resp resp;
    if (disc_http_do(&req, &resp, err) < 0) {
        atomic_fetch_add(&s->failures, 1);
        return -1;
    }
    int rc = 0;
    if (resp.status != 200) {
        rc = core_err_set(err, "server returned HTTP status %s", resp.status_text);
    } else if (!json_content_type(resp.content_type)) {
        core_sb q = CORE_SB_INIT;
        core_sb_add_quoted(&q, resp.content_type, strlen(resp.content_type));
        rc = core_err_set(err, "unsupported content type %s", q.buf);
        core_sb_destroy(&q);
    } else {
        size_t before = out->n;
        rc = disc_parse_groups(DISC_FMT_JSON, s->cfg->url, resp.body.buf ? resp.body.buf : "",
                               resp.body.len, "__meta_url", out, err);
        if (rc == 0) {
            size_t n = out->n - before;
            core_sb src = CORE_SB_INIT;
            for (size_t i = n; i < s->last_len; i++) {
                core_sb_reset(&src);
                core_sb_addf(&src, "%s:%zu", s->cfg->url, i);
                disc_tgs_push(out, disc_tg_new(src.buf));
            }
            core_sb_destroy(&src);
            s->last_len = n;
        }
    }
    if (rc < 0) atomic_fetch_add(&s->failures, 1);
    disc_http_resp_destroy(&resp);
    return rc;
}
