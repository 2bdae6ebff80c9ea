/*
 * sd.c - service discovery configs: static_configs, file_sd_configs,
 * http_sd_configs, dns_sd_configs and ec2_sd_configs, with the defaults and
 * checks of upstream's discovery packages (discovery/file, discovery/http,
 * discovery/dns, discovery/aws, discovery/targetgroup).
 *
 * Upstream registers some thirty mechanisms; a key of one prom-server does
 * not implement is refused by name instead of being reported as an unknown
 * field, so the user learns that the config is valid Prometheus but not
 * something this server can run.
 */
#include "config/internal.h"

#include <ctype.h>
#include <strings.h>

const char *const cfg_sd_keys[] = {
    "static_configs", "file_sd_configs", "http_sd_configs",
    "dns_sd_configs", "ec2_sd_configs",  NULL,
};

static const char *const unsupported[] = {
    "aws_sd_configs",
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "oci_sd_configs",
    "openstack_sd_configs",
    "outscale_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "stackit_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
    NULL,
};

bool cfg_sd_any_unsupported_key(const char *key)
{
    for (size_t i = 0; unsupported[i] != NULL; i++)
        if (strcmp(key, unsupported[i]) == 0) return true;
    return false;
}

static int target_group(dec *d, const ynode *n, cfg_target_group *g)
{
    static const char *const keys[] = {"targets", "labels", NULL};
    if (dec_check(d, n, keys, "static config") < 0) return -1;
    core_label *pairs = NULL;
    size_t np = 0;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        if (strcmp(k, "targets") == 0) {
            if (dec_strs(d, v, k, &g->targets) < 0) return -1;
        } else {
            cfg_kvs kv;
            if (dec_kvs(d, v, "labels", &kv) < 0) return -1;
            pairs = core_arena_calloc(d->a, kv.n + 1, sizeof *pairs);
            for (size_t j = 0; j < kv.n; j++) {
                if (!model_label_name_valid(MODEL_NAMES_UTF8, kv.v[j].key, strlen(kv.v[j].key)))
                    return dec_fail(d, dec_keynode(v, j), "%s is not a valid label name",
                                    dec_quote(d, kv.v[j].key));
                pairs[j] = (core_label){kv.v[j].key, kv.v[j].value};
            }
            np = kv.n;
        }
    }
    g->labels = core_labels_new_in(d->a, pairs, np);
    return 0;
}

/* upstream's patFileSDName: ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$ */
static bool file_sd_name_ok(const char *s)
{
    const char *star = strchr(s, '*');
    if (star != NULL && strchr(star, '/') != NULL) return false;
    static const char *const ext[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML", NULL};
    size_t n = strlen(s);
    for (size_t i = 0; ext[i] != NULL; i++) {
        size_t el = strlen(ext[i]);
        if (n >= el && strcmp(s + n - el, ext[i]) == 0) return true;
    }
    return false;
}

static int file_sd(dec *d, const ynode *n, cfg_file_sd *f)
{
    static const char *const keys[] = {"files", "refresh_interval", NULL};
    f->refresh_interval_ms = 5 * CORE_MS_PER_MINUTE;
    if (dec_check(d, n, keys, "file_sd config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = strcmp(k, "files") == 0 ? dec_strs(d, v, k, &f->files)
                                         : dec_duration(d, v, k, &f->refresh_interval_ms);
        if (rc < 0) return -1;
    }
    if (f->files.n == 0)
        return dec_fail(d, n, "file service discovery config must contain at least one path name");
    for (size_t i = 0; i < f->files.n; i++)
        if (!file_sd_name_ok(f->files.v[i]))
            return dec_fail(d, n, "path name %s is not valid for file discovery",
                            dec_quote(d, f->files.v[i]));
    dec_join_paths(d, &f->files);
    return 0;
}

/* The scheme and host of a URL as Go's url.Parse splits them. */
static void url_parts(const char *s, char *scheme, size_t ssz, const char **host, size_t *hlen)
{
    scheme[0] = '\0';
    *host = "";
    *hlen = 0;
    size_t i = 0;
    if ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) {
        while (s[i] && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
            i++;
        if (s[i] == ':') {
            size_t n = i < ssz - 1 ? i : ssz - 1;
            for (size_t k = 0; k < n; k++)
                scheme[k] = (char)tolower((unsigned char)s[k]);
            scheme[n] = '\0';
            s += i + 1;
        }
    }
    if (s[0] == '/' && s[1] == '/') {
        const char *h = s + 2, *end = h + strcspn(h, "/?#");
        const char *at = NULL;
        for (const char *p = h; p < end; p++)
            if (*p == '@') at = p;
        if (at != NULL) h = at + 1;
        *host = h;
        *hlen = (size_t)(end - h);
    }
}

static int http_sd(dec *d, const ynode *n, cfg_http_sd *h)
{
    static const char *const own[] = {"url", "refresh_interval", NULL};
    const char *keys[32];
    size_t nk = 0;
    for (size_t i = 0; own[i]; i++)
        keys[nk++] = own[i];
    for (size_t i = 0; cfg_http_keys[i]; i++)
        keys[nk++] = cfg_http_keys[i];
    keys[nk] = NULL;
    cfg_http_defaults(&h->http);
    h->refresh_interval_ms = 60 * CORE_MS_PER_SECOND;
    if (dec_check(d, n, keys, "http_sd config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &h->http);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "url") == 0)
            rc = dec_opt_str(d, v, k, &h->url);
        else
            rc = dec_duration(d, v, k, &h->refresh_interval_ms);
        if (rc < 0) return -1;
    }
    if (h->url == NULL) return dec_fail(d, n, "URL is missing");
    char scheme[16];
    const char *host;
    size_t hlen;
    url_parts(h->url, scheme, sizeof scheme, &host, &hlen);
    const ynode *at = core_yaml_get(n, "url");
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return dec_fail(d, at, "URL scheme must be 'http' or 'https'");
    if (hlen == 0) return dec_fail(d, at, "host is missing in URL");
    if (cfg_http_validate(d, n, &h->http) < 0) return -1;
    cfg_http_join_paths(d, &h->http);
    return 0;
}

static int dns_sd(dec *d, const ynode *n, cfg_dns_sd *s)
{
    static const char *const keys[] = {"names", "refresh_interval", "type", "port", NULL};
    s->refresh_interval_ms = 30 * CORE_MS_PER_SECOND;
    s->type = "SRV";
    if (dec_check(d, n, keys, "dns_sd config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = 0;
        if (strcmp(k, "names") == 0) {
            rc = dec_strs(d, v, k, &s->names);
        } else if (strcmp(k, "refresh_interval") == 0) {
            rc = dec_duration(d, v, k, &s->refresh_interval_ms);
        } else if (strcmp(k, "type") == 0) {
            rc = dec_str(d, v, k, &s->type);
        } else {
            int64_t port;
            rc = dec_int(d, v, k, &port);
            if (rc == 0 && (port < INT32_MIN || port > INT32_MAX))
                rc = dec_fail(d, v, "port %lld out of range", (long long)port);
            s->port = (int)port;
        }
        if (rc < 0) return -1;
    }
    if (s->names.n == 0)
        return dec_fail(d, n, "DNS-SD config must contain at least one SRV record name");
    const ynode *at = core_yaml_get(n, "type") ? core_yaml_get(n, "type") : n;
    if (strcasecmp(s->type, "SRV") == 0) return 0;
    if (strcasecmp(s->type, "A") == 0 || strcasecmp(s->type, "AAAA") == 0 ||
        strcasecmp(s->type, "MX") == 0 || strcasecmp(s->type, "NS") == 0) {
        if (s->port == 0)
            return dec_fail(d, n,
                            "a port is required in DNS-SD configs for all record types except SRV");
        return 0;
    }
    return dec_fail(d, at, "invalid DNS-SD records type %s", s->type);
}

static int ec2_sd(dec *d, const ynode *n, cfg_ec2_sd *e)
{
    static const char *const own[] = {"endpoint", "region",   "access_key",  "secret_key",
                                      "profile",  "role_arn", "external_id", "refresh_interval",
                                      "port",     "filters",  NULL};
    const char *keys[32];
    size_t nk = 0;
    for (size_t i = 0; own[i]; i++)
        keys[nk++] = own[i];
    for (size_t i = 0; cfg_http_keys[i]; i++)
        keys[nk++] = cfg_http_keys[i];
    keys[nk] = NULL;
    cfg_http_defaults(&e->http);
    e->port = 80;
    e->refresh_interval_ms = 60 * CORE_MS_PER_SECOND;
    if (dec_check(d, n, keys, "ec2_sd config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &e->http);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "refresh_interval") == 0) {
            rc = dec_duration(d, v, k, &e->refresh_interval_ms);
        } else if (strcmp(k, "port") == 0) {
            int64_t port;
            rc = dec_int(d, v, k, &port);
            if (rc == 0 && (port < INT32_MIN || port > INT32_MAX))
                rc = dec_fail(d, v, "port %lld out of range", (long long)port);
            e->port = (int)port;
        } else if (strcmp(k, "filters") == 0) {
            static const char *const fkeys[] = {"name", "values", NULL};
            size_t cnt;
            if (dec_seq(d, v, k, &cnt) < 0) return -1;
            e->filters = core_arena_calloc(d->a, cnt + 1, sizeof *e->filters);
            e->n_filters = cnt;
            for (size_t j = 0; j < cnt; j++) {
                const ynode *f = v->items[j];
                if (core_yaml_is_null(f)) return dec_fail(d, f, "empty or null EC2 SD filter");
                if (dec_check(d, f, fkeys, "ec2_sd filter") < 0) return -1;
                for (size_t m = 0; m < dec_pairs(f); m++) {
                    const char *fk = dec_key(f, m);
                    rc = strcmp(fk, "name") == 0
                             ? dec_str(d, dec_val(f, m), fk, &e->filters[j].name)
                             : dec_strs(d, dec_val(f, m), fk, &e->filters[j].values);
                    if (rc < 0) return -1;
                }
            }
        } else {
            const char **f = strcmp(k, "endpoint") == 0     ? &e->endpoint
                             : strcmp(k, "region") == 0     ? &e->region
                             : strcmp(k, "access_key") == 0 ? &e->access_key
                             : strcmp(k, "secret_key") == 0 ? &e->secret_key
                             : strcmp(k, "profile") == 0    ? &e->profile
                             : strcmp(k, "role_arn") == 0   ? &e->role_arn
                                                            : &e->external_id;
            rc = dec_opt_str(d, v, k, f);
        }
        if (rc < 0) return -1;
    }
    for (size_t j = 0; j < e->n_filters; j++)
        if (e->filters[j].values.n == 0)
            return dec_fail(d, core_yaml_get(n, "filters")->items[j],
                            "EC2 SD configuration filter values cannot be empty");
    if (cfg_http_validate(d, n, &e->http) < 0) return -1;
    cfg_http_join_paths(d, &e->http);
    return 0;
}

int cfg_sd_field(dec *d, const char *key, const ynode *keynode, const ynode *val, cfg_sd *sd)
{
    int which = -1;
    for (int i = 0; cfg_sd_keys[i] != NULL; i++)
        if (strcmp(key, cfg_sd_keys[i]) == 0) which = i;
    if (which < 0) {
        if (!cfg_sd_any_unsupported_key(key)) return 0;
        return dec_fail(d, keynode,
                        "%s: this service discovery mechanism is not supported by prom-server "
                        "(supported: static_configs, file_sd_configs, http_sd_configs, "
                        "dns_sd_configs, ec2_sd_configs)",
                        key);
    }
    size_t cnt;
    if (dec_seq(d, val, key, &cnt) < 0) return -1;
    for (size_t i = 0; i < cnt; i++)
        if (core_yaml_is_null(val->items[i]))
            return dec_fail(d, val->items[i], "empty or null section in %s", key);
    int rc = 0;
    switch (which) {
    case 0:
        sd->static_configs = core_arena_calloc(d->a, cnt + 1, sizeof *sd->static_configs);
        sd->n_static = cnt;
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = target_group(d, val->items[i], &sd->static_configs[i]);
        break;
    case 1:
        sd->file = core_arena_calloc(d->a, cnt + 1, sizeof *sd->file);
        sd->n_file = cnt;
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = file_sd(d, val->items[i], &sd->file[i]);
        break;
    case 2:
        sd->http = core_arena_calloc(d->a, cnt + 1, sizeof *sd->http);
        sd->n_http = cnt;
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = http_sd(d, val->items[i], &sd->http[i]);
        break;
    case 3:
        sd->dns = core_arena_calloc(d->a, cnt + 1, sizeof *sd->dns);
        sd->n_dns = cnt;
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = dns_sd(d, val->items[i], &sd->dns[i]);
        break;
    default:
        sd->ec2 = core_arena_calloc(d->a, cnt + 1, sizeof *sd->ec2);
        sd->n_ec2 = cnt;
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = ec2_sd(d, val->items[i], &sd->ec2[i]);
        break;
    }
    return rc < 0 ? -1 : 1;
}

int cfg_sd_check_static(dec *d, const ynode *owner, const cfg_sd *sd)
{
    const ynode *list = core_yaml_get(owner, "static_configs");
    for (size_t i = 0; i < sd->n_static; i++) {
        const cfg_strs *t = &sd->static_configs[i].targets;
        const ynode *tn =
            list != NULL && i < list->n ? core_yaml_get(list->items[i], "targets") : NULL;
        for (size_t j = 0; j < t->n; j++)
            if (strchr(t->v[j], '/') != NULL)
                return dec_fail(d, tn != NULL && tn->kind == CORE_YAML_SEQ ? tn->items[j] : owner,
                                "%s is not a valid hostname", dec_quote(d, t->v[j]));
    }
    return 0;
}
