/*
 * ec2.c - ec2_sd_configs, as upstream's discovery/aws/ec2.go.
 *
 * A refresh resolves the region (once) and the credentials (every time, so
 * rotated keys and expiring instance-role credentials are picked up; upstream
 * caches its client and drops it on AuthFailure), asks once for the
 * availability zone IDs (DescribeAvailabilityZones; a failure only leaves
 * `__meta_ec2_availability_zone_id` empty, and is retried next time), then
 * pages through DescribeInstances with the config's filters, following
 * NextToken until there is none (or it repeats, where the SDK's paginator
 * stops too).  Requests are EC2 Query API POSTs (Action, Version 2016-11-15,
 * Filter.N.Name / Filter.N.Value.M, NextToken) to the endpoint (the config's,
 * else AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, else
 * https://ec2.<region>.amazonaws.com), signed with SigV4 for service "ec2";
 * the Host header is sent exactly as signed, without a default port.
 *
 * The result is one group whose source is the region, with a target per
 * instance that has a private IPv4 address or an IPv6 one, labelled as
 * upstream labels it: `__address__` (private IP, else the default IPv6
 * address, with the config's port), and `__meta_ec2_` ami, architecture,
 * availability_zone, availability_zone_id, default_ipv6_address,
 * instance_id, instance_lifecycle, instance_state, instance_type,
 * ipv6_addresses, owner_id, platform, primary_ipv6_addresses,
 * primary_subnet_id, private_dns_name, private_ip, public_dns_name,
 * public_ip, region, subnet_id, tag_<key> and vpc_id.  List labels are
 * comma-separated with a comma at each end (",a,b,").
 *
 * role_arn (STS AssumeRole) is not supported: a config with it fails every
 * refresh with a message that says so.
 */
#include "discovery/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_VERSION "2016-11-15"

void disc_ec2_destroy(disc_ec2 *s)
{
    free(s->region);
    for (size_t i = 0; i < s->n_azs; i++) {
        free(s->azs[i].name);
        free(s->azs[i].id);
    }
    free(s->azs);
    s->region = NULL;
    s->azs = NULL;
    s->n_azs = 0;
    s->have_azs = false;
}

static void form_add(core_sb *b, const char *k, const char *v)
{
    if (b->len) core_sb_addc(b, '&');
    disc_aws_uri_encode(b, k, strlen(k), false);
    core_sb_addc(b, '=');
    disc_aws_uri_encode(b, v, strlen(v), false);
}

typedef struct endpoint {
    char *url;  /* what curl is given */
    char *host; /* the Host header, default port dropped */
    char *path;
} endpoint;

static void endpoint_free(endpoint *e)
{
    free(e->url);
    free(e->host);
    free(e->path);
}

static void endpoint_of(const char *configured, const char *region, endpoint *e)
{
    core_sb base = CORE_SB_INIT;
    const char *b = configured && *configured ? configured : NULL;
    if (!b) b = getenv("AWS_ENDPOINT_URL_EC2");
    if (!b || !*b) b = getenv("AWS_ENDPOINT_URL");
    if (b && *b)
        core_sb_adds(&base, b);
    else
        core_sb_addf(&base, "https://ec2.%s.amazonaws.com%s", region,
                     strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    const char *u = base.buf;
    const char *sep = strstr(u, "://");
    bool https = sep == NULL || strncasecmp(u, "https", 5) == 0;
    const char *h = sep ? sep + 3 : u;
    size_t hl = strcspn(h, "/?#");
    const char *path = h + hl;
    size_t pl = strcspn(path, "?#");
    /* Drop a default port, as the SDK's signer does. */
    size_t keep = hl;
    const char *colon = NULL;
    for (size_t i = 0; i < hl; i++)
        if (h[i] == ':') colon = h + i;
    if (colon && (h[0] != '[' || colon > (const char *)memchr(h, ']', hl))) {
        const char *port = colon + 1;
        size_t portl = (size_t)(h + hl - port);
        if ((https && portl == 3 && strncmp(port, "443", 3) == 0) ||
            (!https && portl == 2 && strncmp(port, "80", 2) == 0))
            keep = (size_t)(colon - h);
    }
    e->host = core_strndup(h, keep);
    e->path = pl ? core_strndup(path, pl) : core_strdup("/");
    core_sb url = CORE_SB_INIT;
    if (sep)
        core_sb_add(&url, u, (size_t)(sep + 3 - u));
    else
        core_sb_adds(&url, "https://");
    core_sb_add(&url, h, hl);
    core_sb_adds(&url, e->path);
    e->url = core_sb_detach(&url, NULL);
    core_sb_destroy(&base);
}

static void amz_date(int64_t ms, char out[17])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* One signed call; the parsed answer's root in `a`, or -1. */
static const disc_xml *call(disc_ec2 *s, const endpoint *ep, const disc_aws_creds *creds,
                            const char *action, const core_sb *form, core_arena *a, core_err *err)
{
    char date[17];
    amz_date(s->now_ms ? s->now_ms : core_time_now_ms(), date);
    const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
    core_label sh[4] = {
        {"Content-Type", ctype},
        {"Host", ep->host},
        {"X-Amz-Date", date},
        {"X-Amz-Security-Token", creds->token},
    };
    size_t nsh = creds->token ? 4 : 3;
    disc_sigv4_req sr = {
        .method = "POST",
        .path = ep->path,
        .headers = sh,
        .n_headers = nsh,
        .body = form->buf,
        .body_len = form->len,
        .region = s->region,
        .service = "ec2",
        .amz_date = date,
    };
    core_sb auth = CORE_SB_INIT;
    disc_sigv4_sign(&sr, creds, &auth, NULL, NULL);
    core_sb lines[5];
    const char *hdrs[5];
    for (size_t i = 0; i < nsh; i++) {
        lines[i] = (core_sb)CORE_SB_INIT;
        core_sb_addf(&lines[i], "%s: %s", sh[i].name, sh[i].value);
        hdrs[i] = lines[i].buf;
    }
    lines[nsh] = (core_sb)CORE_SB_INIT;
    core_sb_addf(&lines[nsh], "Authorization: %s", auth.buf);
    hdrs[nsh] = lines[nsh].buf;
    disc_http_req req = {
        .cfg = &s->cfg->http,
        .method = "POST",
        .url = ep->url,
        .headers = hdrs,
        .n_headers = nsh + 1,
        .body = form->buf,
        .body_len = form->len,
        .timeout_ms = s->cfg->refresh_interval_ms,
        .user_agent = s->user_agent,
        .cancel = s->cancel,
    };
    disc_http_resp resp;
    int rc = disc_http_do(&req, &resp, err);
    for (size_t i = 0; i <= nsh; i++)
        core_sb_destroy(&lines[i]);
    core_sb_destroy(&auth);
    if (rc < 0) {
        core_err_prefix(err, "operation error EC2: %s", action);
        return NULL;
    }
    core_err perr;
    const disc_xml *root =
        disc_xml_parse(a, resp.body.buf ? resp.body.buf : "", resp.body.len, &perr);
    if (resp.status != 200) {
        const disc_xml *e = disc_xml_child(disc_xml_child(root, "Errors"), "Error");
        const char *code = disc_xml_text(e, "Code"), *msg = disc_xml_text(e, "Message");
        const char *rid = disc_xml_text(root, "RequestID");
        if (code)
            core_err_set(
                err,
                "operation error EC2: %s, https response error StatusCode: %ld, RequestID: "
                "%s, api error %s: %s",
                action, resp.status, rid ? rid : "", code, msg ? msg : "");
        else
            core_err_set(err, "operation error EC2: %s, https response error StatusCode: %ld",
                         action, resp.status);
        root = NULL;
    } else if (root == NULL) {
        core_err_set(err, "operation error EC2: %s, deserialization failed: %s", action, perr.msg);
    }
    disc_http_resp_destroy(&resp);
    return root;
}

static void load_azs(disc_ec2 *s, const endpoint *ep, const disc_aws_creds *creds)
{
    core_arena a;
    core_arena_init(&a, 0);
    core_sb form = CORE_SB_INIT;
    form_add(&form, "Action", "DescribeAvailabilityZones");
    form_add(&form, "Version", API_VERSION);
    core_err err;
    const disc_xml *root = call(s, ep, creds, "DescribeAvailabilityZones", &form, &a, &err);
    if (root == NULL) {
        core_debug(DISC_COMPONENT, "Unable to describe availability zones", "err", err.msg);
    } else {
        const disc_xml *set = disc_xml_child(root, "availabilityZoneInfo");
        for (const disc_xml *it = set ? set->child : NULL; it; it = it->next) {
            const char *name = disc_xml_text(it, "zoneName"), *id = disc_xml_text(it, "zoneId");
            if (strcmp(it->name, "item") != 0 || !name || !id) continue;
            s->azs = core_reallocarray(s->azs, s->n_azs + 1, sizeof *s->azs);
            s->azs[s->n_azs++] = (disc_ec2_az){core_strdup(name), core_strdup(id)};
        }
        s->have_azs = true;
    }
    core_sb_destroy(&form);
    core_arena_destroy(&a);
}

/* upstream's strutil.SanitizeLabelName: every character outside
 * [a-zA-Z0-9_] (a whole UTF-8 sequence counting as one) becomes '_'. */
static void sanitize(core_sb *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_') {
            core_sb_addc(out, (char)c);
            p++;
            continue;
        }
        size_t n = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        size_t k = 1;
        while (k < n && (p[k] & 0xc0) == 0x80)
            k++;
        core_sb_addc(out, '_');
        p += k == n ? n : 1;
    }
}

static const char *text(const disc_xml *n, const char *name)
{
    const char *t = disc_xml_text(n, name);
    return t && *t ? t : NULL;
}

static void joined(core_arena *a, const char **v, size_t n, const char **out)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_addc(&sb, ',');
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(&sb, ',');
        core_sb_adds(&sb, v[i]);
    }
    core_sb_addc(&sb, ',');
    *out = core_arena_strdup(a, sb.buf);
    core_sb_destroy(&sb);
}

typedef struct lbls {
    core_label *v;
    size_t n, cap;
} lbls;

static void put(lbls *l, const char *name, const char *value)
{
    if (value == NULL) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = core_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->n++] = (core_label){name, value};
}

static void instance(const disc_xml *inst, const char *owner, const disc_ec2 *s, disc_tg *tg,
                     core_arena *a, lbls *l)
{
    const char *vpc = text(inst, "vpcId");
    /* IPv6: only in a VPC, from interfaces with a subnet. */
    const char **v6 = NULL, **primary = NULL, **subnets = NULL;
    size_t n6 = 0, np = 0, ns = 0;
    const disc_xml *enis = disc_xml_child(inst, "networkInterfaceSet");
    size_t cnt = 0;
    for (const disc_xml *e = enis ? enis->child : NULL; e; e = e->next)
        cnt++;
    if (vpc && cnt) {
        size_t n6max = 0;
        for (const disc_xml *e = enis->child; e; e = e->next) {
            const disc_xml *set = disc_xml_child(e, "ipv6AddressesSet");
            for (const disc_xml *i = set ? set->child : NULL; i; i = i->next)
                n6max++;
        }
        v6 = core_arena_calloc(a, n6max + 1, sizeof *v6);
        subnets = core_arena_calloc(a, cnt + 1, sizeof *subnets);
        size_t pcap = 0;
        for (const disc_xml *e = enis->child; e; e = e->next) {
            const char *sub = text(e, "subnetId");
            if (sub == NULL) continue;
            bool dup = false;
            for (size_t i = 0; i < ns; i++)
                dup |= strcmp(subnets[i], sub) == 0;
            if (!dup) subnets[ns++] = sub;
            const disc_xml *set = disc_xml_child(e, "ipv6AddressesSet");
            for (const disc_xml *i = set ? set->child : NULL; i; i = i->next) {
                const char *addr = text(i, "ipv6Address");
                if (addr == NULL) continue;
                v6[n6++] = addr;
                const char *prim = disc_xml_text(i, "isPrimaryIpv6");
                if (prim == NULL || strcmp(prim, "true") != 0) continue;
                const char *di = disc_xml_text(disc_xml_child(e, "attachment"), "deviceIndex");
                long idx = di ? strtol(di, NULL, 10) : 0;
                if (idx < 0 || idx > 1024) continue;
                if ((size_t)idx >= pcap) {
                    size_t ncap = (size_t)idx + 1;
                    const char **np2 = core_arena_calloc(a, ncap, sizeof *np2);
                    for (size_t k = 0; k < np; k++)
                        np2[k] = primary[k];
                    primary = np2;
                    pcap = ncap;
                }
                while (np <= (size_t)idx)
                    primary[np++] = "";
                primary[idx] = addr;
            }
        }
    } else if (vpc) {
        subnets = core_arena_calloc(a, 1, sizeof *subnets);
    }
    const char *default_v6 = NULL;
    for (size_t i = 0; i < np && !default_v6; i++)
        if (*primary[i]) default_v6 = primary[i];
    for (size_t i = 0; i < n6 && !default_v6; i++)
        if (*v6[i]) default_v6 = v6[i];

    const char *private_ip = text(inst, "privateIpAddress");
    if (private_ip == NULL && default_v6 == NULL) return;

    l->n = 0;
    core_sb addr = CORE_SB_INIT;
    disc_join_host_port(&addr, private_ip ? private_ip : default_v6, s->cfg->port);
    put(l, DISC_ADDRESS_LABEL, core_arena_strdup(a, addr.buf));
    core_sb_destroy(&addr);
    put(l, "__meta_ec2_instance_id", disc_xml_text(inst, "instanceId"));
    put(l, "__meta_ec2_region", s->region);
    put(l, "__meta_ec2_owner_id", owner);
    put(l, "__meta_ec2_default_ipv6_address", default_v6);
    put(l, "__meta_ec2_private_ip", private_ip);
    put(l, "__meta_ec2_private_dns_name", disc_xml_text(inst, "privateDnsName"));
    put(l, "__meta_ec2_platform", disc_xml_text(inst, "platform"));
    const char *public_ip = text(inst, "ipAddress");
    if (public_ip) {
        put(l, "__meta_ec2_public_ip", public_ip);
        put(l, "__meta_ec2_public_dns_name", disc_xml_text(inst, "dnsName"));
    }
    const char *list;
    if (np) {
        joined(a, primary, np, &list);
        put(l, "__meta_ec2_primary_ipv6_addresses", list);
    }
    if (n6) {
        joined(a, v6, n6, &list);
        put(l, "__meta_ec2_ipv6_addresses", list);
    }
    put(l, "__meta_ec2_ami", disc_xml_text(inst, "imageId"));
    const char *az = disc_xml_text(disc_xml_child(inst, "placement"), "availabilityZone");
    put(l, "__meta_ec2_availability_zone", az);
    for (size_t i = 0; az && i < s->n_azs; i++)
        if (strcmp(s->azs[i].name, az) == 0)
            put(l, "__meta_ec2_availability_zone_id", s->azs[i].id);
    put(l, "__meta_ec2_instance_state",
        disc_xml_text(disc_xml_child(inst, "instanceState"), "name"));
    put(l, "__meta_ec2_instance_type", disc_xml_text(inst, "instanceType"));
    put(l, "__meta_ec2_instance_lifecycle", disc_xml_text(inst, "instanceLifecycle"));
    put(l, "__meta_ec2_architecture", disc_xml_text(inst, "architecture"));
    if (vpc) {
        put(l, "__meta_ec2_vpc_id", vpc);
        put(l, "__meta_ec2_primary_subnet_id", disc_xml_text(inst, "subnetId"));
        joined(a, subnets, ns, &list);
        put(l, "__meta_ec2_subnet_id", list);
    }
    const disc_xml *tags = disc_xml_child(inst, "tagSet");
    core_sb name = CORE_SB_INIT;
    for (const disc_xml *t = tags ? tags->child : NULL; t; t = t->next) {
        const char *k = disc_xml_text(t, "key"), *v = disc_xml_text(t, "value");
        if (k == NULL || v == NULL) continue;
        core_sb_reset(&name);
        core_sb_adds(&name, "__meta_ec2_tag_");
        sanitize(&name, k);
        /* A later tag whose key sanitizes to the same name wins, as in a Go map. */
        const char *ln = core_arena_strdup(a, name.buf);
        size_t j = 0;
        while (j < l->n && strcmp(l->v[j].name, ln) != 0)
            j++;
        if (j < l->n)
            l->v[j].value = v;
        else
            put(l, ln, v);
    }
    core_sb_destroy(&name);
    disc_tg_add_target(tg, l->v, l->n);
}

void disc_ec2_page(const disc_xml *root, const disc_ec2 *s, disc_tg *tg, const char **next_token)
{
    core_arena a;
    core_arena_init(&a, 0);
    lbls l = {0};
    const disc_xml *rset = disc_xml_child(root, "reservationSet");
    for (const disc_xml *r = rset ? rset->child : NULL; r; r = r->next) {
        const char *owner = disc_xml_text(r, "ownerId");
        const disc_xml *iset = disc_xml_child(r, "instancesSet");
        for (const disc_xml *i = iset ? iset->child : NULL; i; i = i->next)
            instance(i, owner, s, tg, &a, &l);
    }
    free(l.v);
    core_arena_destroy(&a);
    *next_token = text(root, "nextToken");
}

int disc_ec2_refresh(disc_ec2 *s, disc_tgs *out, core_err *err)
{
    if (s->cfg->role_arn && *s->cfg->role_arn)
        return core_err_set(err, "role_arn is not supported by prom-server's EC2 discovery");
    if (s->region == NULL && disc_aws_region(s->cfg->region, NULL, &s->region, err) < 0) return -1;
    disc_aws_creds creds;
    if (disc_aws_credentials(s->cfg->access_key, s->cfg->secret_key, s->cfg->profile, &creds, err) <
        0)
        return core_err_prefix(err, "could not create aws config");
    endpoint ep;
    endpoint_of(s->cfg->endpoint, s->region, &ep);
    if (!s->have_azs) load_azs(s, &ep, &creds);

    disc_tg *tg = disc_tg_new(s->region);
    core_arena a;
    core_arena_init(&a, 0);
    core_sb form = CORE_SB_INIT;
    char *token = NULL;
    int rc = 0;
    for (;;) {
        core_sb_reset(&form);
        form_add(&form, "Action", "DescribeInstances");
        form_add(&form, "Version", API_VERSION);
        core_sb key = CORE_SB_INIT;
        for (size_t i = 0; i < s->cfg->n_filters; i++) {
            core_sb_reset(&key);
            core_sb_addf(&key, "Filter.%zu.Name", i + 1);
            form_add(&form, key.buf, s->cfg->filters[i].name);
            for (size_t j = 0; j < s->cfg->filters[i].values.n; j++) {
                core_sb_reset(&key);
                core_sb_addf(&key, "Filter.%zu.Value.%zu", i + 1, j + 1);
                form_add(&form, key.buf, s->cfg->filters[i].values.v[j]);
            }
        }
        core_sb_destroy(&key);
        if (token) form_add(&form, "NextToken", token);
        core_arena_reset(&a);
        const disc_xml *root = call(s, &ep, &creds, "DescribeInstances", &form, &a, err);
        if (root == NULL) {
            rc = core_err_prefix(err, "could not describe instances");
            break;
        }
        const char *next;
        disc_ec2_page(root, s, tg, &next);
        if (next == NULL || (token && strcmp(next, token) == 0)) break;
        free(token);
        token = core_strdup(next);
    }
    free(token);
    core_sb_destroy(&form);
    core_arena_destroy(&a);
    endpoint_free(&ep);
    disc_aws_creds_destroy(&creds);
    if (rc < 0) {
        disc_tg_unref(tg);
        return -1;
    }
    disc_tgs_push(out, tg);
    return 0;
}
