/*
 * notifier.c - the alert queue and its sender thread (see notifier.h).
 *
 * The queue is a ring of owned alerts guarded by one mutex.  The sender
 * takes a batch, and, still under the mutex (CPU work only), turns it into
 * one JSON body per Alertmanager config (each config's alert relabeling may
 * differ) and copies what each request needs, so a configuration swapped in
 * meanwhile never pulls memory from under a transfer.  The transfers then run
 * without the lock, all at once on a curl multi handle.
 */
#define _GNU_SOURCE
#include "notifier/notifier.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 256

typedef struct qalert {
    core_labels *labels, *annotations;
    int64_t starts, ends;
    char *gen;
} qalert;

typedef struct am {
    char *url;
    size_t cfg_index; /* which alertmanagers entry */
    uint64_t sent, errors, latency_count;
    double latency_sum;
} am;

struct notifier {
    pthread_mutex_t mtx;
    pthread_cond_t cond;
    qalert *q; /* ring */
    size_t head, n, cap;
    const cfg_config *cfg;
    am *ams;
    size_t nams;
    bool stop;
    uint64_t dropped;
    char *ua;
    pthread_t thread;
};

static void qalert_free(qalert *a)
{
    free(a->labels);
    free(a->annotations);
    free(a->gen);
}

/* ---- Configuration: the Alertmanagers */

static char *alerts_path(const cfg_alertmanager *c)
{
    core_sb p = CORE_SB_INIT;
    const char *prefix = c->path_prefix ? c->path_prefix : "";
    while (*prefix == '/')
        prefix++;
    core_sb_adds(&p, "/");
    core_sb_adds(&p, prefix);
    while (p.len > 1 && p.buf[p.len - 1] == '/')
        p.buf[--p.len] = '\0';
    core_sb_adds(&p, p.len > 1 ? "/api/v2/alerts" : "api/v2/alerts");
    return core_sb_detach(&p, NULL);
}

/* One Alertmanager from a target's labels (__address__ and, from discovery,
 * __meta_*) and its group's, through the config's relabel_configs. */
static void add_am(am **ams, size_t *nams, size_t idx, const cfg_alertmanager *c,
                   const core_labels *target, const core_labels *group)
{
    char *path = alerts_path(c);
    core_labels_builder b;
    core_labels_builder_init(&b, target);
    for (size_t i = 0; group && i < group->len; i++)
        if (!core_labels_builder_get(&b, group->v[i].name))
            core_labels_builder_set(&b, group->v[i].name, group->v[i].value);
    if (!core_labels_builder_get(&b, "__scheme__"))
        core_labels_builder_set(&b, "__scheme__", c->scheme ? c->scheme : "http");
    if (!core_labels_builder_get(&b, "__alerts_path__"))
        core_labels_builder_set(&b, "__alerts_path__", path);
    core_arena arena;
    core_arena_init(&arena, 0);
    bool keep = model_relabel_process(c->relabel_configs.v, c->relabel_configs.n, &b, &arena);
    if (keep) {
        const char *a = core_labels_builder_get(&b, "__address__");
        const char *s = core_labels_builder_get(&b, "__scheme__");
        const char *p = core_labels_builder_get(&b, "__alerts_path__");
        if (a && *a) {
            core_sb url = CORE_SB_INIT;
            core_sb_addf(&url, "%s://%s%s", s && *s ? s : "http", a, p ? p : "");
            *ams = core_reallocarray(*ams, *nams + 1, sizeof(**ams));
            (*ams)[(*nams)++] = (am){.url = core_sb_detach(&url, NULL), .cfg_index = idx};
        }
    }
    core_arena_destroy(&arena);
    core_labels_builder_destroy(&b);
    free(path);
}

int notifier_apply_config(notifier *n, const cfg_config *c, core_err *err)
{
    return notifier_apply_config_sd(n, c, NULL, NULL, err);
}

int notifier_apply_config_sd(notifier *n, const cfg_config *c, notifier_discovered_fn discovered,
                             void *ctx, core_err *err)
{
    (void)err;
    am *ams = NULL;
    size_t nams = 0;
    core_arena arena;
    core_arena_init(&arena, 0);
    for (size_t i = 0; i < c->alerting.n_alertmanagers; i++) {
        const cfg_alertmanager *amc = &c->alerting.alertmanagers[i];
        for (size_t g = 0; g < amc->sd.n_static; g++) {
            const cfg_target_group *tg = &amc->sd.static_configs[g];
            for (size_t t = 0; t < tg->targets.n; t++) {
                core_label addr = {"__address__", tg->targets.v[t]};
                core_labels *target = core_labels_new(&addr, 1);
                add_am(&ams, &nams, i, amc, target, tg->labels);
                free(target);
            }
        }
        if (!discovered) continue;
        core_arena_reset(&arena);
        core_labels **targets;
        size_t nt = discovered(ctx, i, &arena, &targets);
        for (size_t t = 0; t < nt; t++)
            add_am(&ams, &nams, i, amc, targets[t], NULL);
    }
    core_arena_destroy(&arena);
    pthread_mutex_lock(&n->mtx);
    /* Counters of an Alertmanager that stays carry over. */
    for (size_t i = 0; i < nams; i++)
        for (size_t k = 0; k < n->nams; k++)
            if (!strcmp(ams[i].url, n->ams[k].url)) {
                ams[i].sent = n->ams[k].sent;
                ams[i].errors = n->ams[k].errors;
                ams[i].latency_sum = n->ams[k].latency_sum;
                ams[i].latency_count = n->ams[k].latency_count;
            }
    for (size_t k = 0; k < n->nams; k++)
        free(n->ams[k].url);
    free(n->ams);
    n->ams = ams;
    n->nams = nams;
    n->cfg = c;
    pthread_mutex_unlock(&n->mtx);
    return 0;
}

/* ---- Queueing */

void notifier_send(notifier *n, const notifier_alert *alerts, size_t k)
{
    pthread_mutex_lock(&n->mtx);
    const cfg_config *c = n->cfg;
    for (size_t i = 0; i < k; i++) {
        core_labels_builder b;
        core_labels_builder_init(&b, alerts[i].labels);
        for (size_t e = 0; c && e < c->global.external_labels->len; e++) {
            const core_label *l = &c->global.external_labels->v[e];
            if (!core_labels_get(alerts[i].labels, l->name))
                core_labels_builder_set(&b, l->name, l->value);
        }
        core_arena arena;
        core_arena_init(&arena, 0);
        bool keep = !c || model_relabel_process(c->alerting.alert_relabel_configs.v,
                                                c->alerting.alert_relabel_configs.n, &b, &arena);
        core_labels *ls = keep ? core_labels_builder_labels(&b, NULL) : NULL;
        core_arena_destroy(&arena);
        core_labels_builder_destroy(&b);
        if (!ls || ls->len == 0) {
            free(ls);
            continue;
        }
        if (n->n == n->cap) { /* full: the oldest goes */
            qalert_free(&n->q[n->head]);
            n->head = (n->head + 1) % n->cap;
            n->n--;
            n->dropped++;
        }
        qalert *q = &n->q[(n->head + n->n) % n->cap];
        *q = (qalert){
            .labels = ls,
            .annotations = alerts[i].annotations ? core_labels_clone(alerts[i].annotations) : NULL,
            .starts = alerts[i].starts_ms,
            .ends = alerts[i].ends_ms,
            .gen = alerts[i].generator_url ? core_strdup(alerts[i].generator_url) : NULL,
        };
        n->n++;
    }
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->mtx);
}

/* ---- Sending */

static json_t *labels_json(const core_labels *ls)
{
    json_t *o = json_object();
    for (size_t i = 0; ls && i < ls->len; i++)
        json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
    return o;
}

static void add_time(json_t *o, const char *key, int64_t ms)
{
    if (!ms) return;
    char buf[CORE_TIME_BUFSZ];
    core_time_format_rfc3339(ms, buf);
    json_object_set_new(o, key, json_string(buf));
}

/* The JSON body for one Alertmanager config: its alert relabeling applied. */
static char *batch_json(const cfg_alertmanager *amc, const qalert *batch, size_t k)
{
    json_t *arr = json_array();
    core_arena arena;
    core_arena_init(&arena, 0);
    for (size_t i = 0; i < k; i++) {
        const core_labels *ls = batch[i].labels;
        core_labels *relabeled = NULL;
        if (amc->alert_relabel_configs.n) {
            relabeled = model_relabel_labels(amc->alert_relabel_configs.v,
                                             amc->alert_relabel_configs.n, ls);
            if (!relabeled || relabeled->len == 0) {
                free(relabeled);
                continue;
            }
            ls = relabeled;
        }
        json_t *o = json_object();
        json_object_set_new(o, "labels", labels_json(ls));
        json_object_set_new(o, "annotations", labels_json(batch[i].annotations));
        add_time(o, "startsAt", batch[i].starts);
        add_time(o, "endsAt", batch[i].ends);
        if (batch[i].gen) json_object_set_new(o, "generatorURL", json_string(batch[i].gen));
        json_array_append_new(arr, o);
        free(relabeled);
    }
    core_arena_destroy(&arena);
    char *s = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}

typedef struct request {
    CURL *easy;
    struct curl_slist *headers;
    char *url, *body, *user, *pass;
    size_t am;
    double started;
} request;

static size_t discard(char *p, size_t s, size_t k, void *ud)
{
    (void)p, (void)ud;
    return s * k;
}

/* The first line of a secret file (upstream trims surrounding space). */
static char *read_secret(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return NULL;
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    return core_strndup(buf, len);
}

static void prepare(notifier *n, request *r, const am *a, const cfg_alertmanager *amc, char *body)
{
    r->url = core_strdup(a->url);
    r->body = body;
    r->easy = curl_easy_init();
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    const cfg_http *h = &amc->http;
    if (h->authorization) {
        const char *cred = h->authorization->credentials;
        char *fromfile = cred ? NULL : read_secret(h->authorization->credentials_file);
        core_sb hdr = CORE_SB_INIT;
        core_sb_addf(&hdr, "Authorization: %s %s",
                     h->authorization->type ? h->authorization->type : "Bearer",
                     cred       ? cred
                     : fromfile ? fromfile
                                : "");
        r->headers = curl_slist_append(r->headers, hdr.buf);
        core_sb_destroy(&hdr);
        free(fromfile);
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, n->ua);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(amc->timeout_ms ? amc->timeout_ms : 10000));
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    if (h->basic_auth) {
        r->user = core_strdup(h->basic_auth->username ? h->basic_auth->username : "");
        r->pass = h->basic_auth->password ? core_strdup(h->basic_auth->password)
                                          : read_secret(h->basic_auth->password_file);
        curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, r->pass ? r->pass : "");
    }
    if (h->tls.ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, h->tls.ca_file);
    if (h->tls.cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, h->tls.cert_file);
    if (h->tls.key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, h->tls.key_file);
    if (h->tls.insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static void request_free(request *r)
{
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r->body);
    free(r->user);
    free(r->pass);
}

/* Sends one batch to every Alertmanager; updates their counters. */
static void send_batch(notifier *n, CURLM *multi, qalert *batch, size_t k)
{
    pthread_mutex_lock(&n->mtx);
    request *reqs = core_calloc(n->nams ? n->nams : 1, sizeof(*reqs));
    size_t nreq = 0;
    for (size_t i = 0; n->cfg && i < n->nams; i++) {
        const cfg_alertmanager *amc = &n->cfg->alerting.alertmanagers[n->ams[i].cfg_index];
        char *body = batch_json(amc, batch, k);
        if (!body) continue;
        prepare(n, &reqs[nreq], &n->ams[i], amc, body);
        reqs[nreq].am = i;
        reqs[nreq].started = core_monotonic_seconds();
        curl_multi_add_handle(multi, reqs[nreq].easy);
        nreq++;
    }
    pthread_mutex_unlock(&n->mtx);
    int running = (int)nreq;
    while (running > 0) {
        curl_multi_perform(multi, &running);
        if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        request *r;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        bool ok = msg->data.result == CURLE_OK && status / 100 == 2;
        double took = core_monotonic_seconds() - r->started;
        pthread_mutex_lock(&n->mtx);
        for (size_t i = 0; i < n->nams; i++) { /* by URL: the list may have changed */
            if (strcmp(n->ams[i].url, r->url) != 0) continue;
            if (ok)
                n->ams[i].sent += k;
            else
                n->ams[i].errors += k;
            n->ams[i].latency_sum += took;
            n->ams[i].latency_count++;
        }
        pthread_mutex_unlock(&n->mtx);
        if (!ok) {
            char code[16];
            snprintf(code, sizeof code, "%ld", status);
            core_error("notifier", "Error sending alerts", "alertmanager", r->url, "count", code,
                       "err",
                       msg->data.result != CURLE_OK ? curl_easy_strerror(msg->data.result)
                                                    : "bad response status");
        }
    }
    for (size_t i = 0; i < nreq; i++) {
        curl_multi_remove_handle(multi, reqs[i].easy);
        request_free(&reqs[i]);
    }
    free(reqs);
}

static void *run(void *arg)
{
    notifier *n = arg;
    CURLM *multi = curl_multi_init();
    qalert *batch = core_calloc(MAX_BATCH, sizeof(*batch));
    pthread_mutex_lock(&n->mtx);
    for (;;) {
        while (!n->n && !n->stop)
            pthread_cond_wait(&n->cond, &n->mtx);
        if (!n->n && n->stop) break;
        size_t k = 0;
        while (n->n && k < MAX_BATCH) {
            batch[k++] = n->q[n->head];
            n->head = (n->head + 1) % n->cap;
            n->n--;
        }
        pthread_mutex_unlock(&n->mtx);
        send_batch(n, multi, batch, k);
        for (size_t i = 0; i < k; i++)
            qalert_free(&batch[i]);
        pthread_mutex_lock(&n->mtx);
    }
    pthread_mutex_unlock(&n->mtx);
    free(batch);
    curl_multi_cleanup(multi);
    return NULL;
}

/* ---- Life cycle */

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

notifier *notifier_new(const notifier_opts *o, core_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    notifier *n = core_calloc(1, sizeof(*n));
    n->cap = o && o->queue_capacity ? o->queue_capacity : 10000;
    n->q = core_calloc(n->cap, sizeof(*n->q));
    if (o && o->user_agent) {
        n->ua = core_strdup(o->user_agent);
    } else {
        core_sb ua = CORE_SB_INIT;
        core_sb_addf(&ua, "Prometheus/%s", core_buildinfo_get()->version);
        n->ua = core_sb_detach(&ua, NULL);
    }
    pthread_mutex_init(&n->mtx, NULL);
    pthread_cond_init(&n->cond, NULL);
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        core_err_set(err, "cannot start the notifier");
        free(n->q);
        free(n->ua);
        free(n);
        return NULL;
    }
    return n;
}

void notifier_free(notifier *n)
{
    if (!n) return;
    pthread_mutex_lock(&n->mtx);
    n->stop = true;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->mtx);
    pthread_join(n->thread, NULL);
    for (size_t i = 0; i < n->n; i++)
        qalert_free(&n->q[(n->head + i) % n->cap]);
    free(n->q);
    for (size_t k = 0; k < n->nams; k++)
        free(n->ams[k].url);
    free(n->ams);
    free(n->ua);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mtx);
    free(n);
}

size_t notifier_alertmanagers(notifier *n, core_arena *arena, const char ***out)
{
    pthread_mutex_lock(&n->mtx);
    const char **v = core_arena_calloc(arena, n->nams + 1, sizeof(*v));
    for (size_t i = 0; i < n->nams; i++)
        v[i] = core_arena_strdup(arena, n->ams[i].url);
    size_t k = n->nams;
    pthread_mutex_unlock(&n->mtx);
    *out = v;
    return k;
}

void notifier_get_stats(notifier *n, core_arena *arena, notifier_stats *out)
{
    pthread_mutex_lock(&n->mtx);
    out->dropped = n->dropped;
    out->queue_length = n->n;
    out->queue_capacity = n->cap;
    out->n_ams = n->nams;
    out->ams = core_arena_calloc(arena, n->nams + 1, sizeof(*out->ams));
    for (size_t i = 0; i < n->nams; i++)
        out->ams[i] = (notifier_am_stats){
            .url = core_arena_strdup(arena, n->ams[i].url),
            .sent = n->ams[i].sent,
            .errors = n->ams[i].errors,
            .latency_sum_s = n->ams[i].latency_sum,
            .latency_count = n->ams[i].latency_count,
        };
    pthread_mutex_unlock(&n->mtx);
}
