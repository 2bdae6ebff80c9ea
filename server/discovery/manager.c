/*
 * manager.c - the discovery manager: target sets, providers and their
 * threads, and throttled publication (upstream's discovery.Manager).
 *
 * Providers.  Each mechanism config of a set becomes a provider identified by
 * its key (keys.c); a config equal to a running provider's joins it as one
 * more subscriber instead of starting another, as upstream's DeepEqual check
 * does.  A provider owns a copy of its config, its current groups by source
 * (sorted, replaced as updates arrive; an update with an empty group removes
 * that source), and a thread: file providers wait in poll() on their inotify
 * descriptor, a stop eventfd and the refresh timer; HTTP, DNS and EC2
 * providers refresh, post, and sleep in poll() on the stop eventfd until the
 * next tick.  Static configs have no thread: their groups are posted when the
 * provider starts.
 *
 * Reload (sync/apply).  Under the manager's lock every provider's new
 * subscriber list is computed (upstream's newSubs), new providers are created
 * and started, and providers left without subscribers are told to stop and
 * taken out; their threads are joined after the lock is released (a thread
 * posting at that moment takes the lock, sees its stop flag and drops the
 * update).  An HTTP transfer notices the flag in its progress callback, a DNS
 * exchange through the eventfd in its poll().
 *
 * Publication.  Updates set a trigger; the sender thread wakes on upstream's
 * backoff schedule (100 ms growing by 1.5x, +-50% jitter, up to the update
 * interval; back to 100 ms after a quiet update interval), and when the
 * trigger is set takes a snapshot: for each set, the groups of its providers
 * (provider order, then source order), shared by reference.  A set whose
 * snapshot has the same content as before keeps its `changed` generation.
 * Then the generation is bumped, waiters are woken and the notify callback is
 * called without the lock held.
 */
#define _GNU_SOURCE
#include "discovery/internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_UPDATE_MS 5000
#define BACKOFF_INITIAL   100

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static bool strlist_has(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return true;
    return false;
}

static void strlist_add(strlist *l, const char *s)
{
    if (strlist_has(l, s)) return;
    l->v = core_reallocarray(l->v, l->n + 1, sizeof *l->v);
    l->v[l->n++] = core_strdup(s);
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

typedef struct provider {
    disc_manager *m;
    disc_mechanism mech;
    char *name; /* "file/3", as upstream's provider names */
    char *key;
    char *log_set; /* the set that created it, for log lines */
    core_arena arena;
    union {
        cfg_file_sd file;
        cfg_http_sd http;
        cfg_dns_sd dns;
        cfg_ec2_sd ec2;
    } cfg;
    disc_tgs static_groups;
    union {
        disc_file file;
        disc_httpsd http;
        disc_dns dns;
        disc_ec2 ec2;
    } st;
    strlist subs, new_subs;
    uint64_t order;
    bool started, has_thread;
    pthread_t thread;
    atomic_bool stop;
    int wake_fd;
    disc_tgs groups; /* current, sorted by source */
} provider;

typedef struct set {
    char *name;
    disc_tg **pub;
    size_t n_pub;
    size_t n_targets;
    uint64_t changed;
    int64_t updated_ms;
    uint64_t failed; /* mechanism configs that could not be started */
} set;

struct disc_manager {
    disc_opts opts;
    char *name, *user_agent, *resolv_conf;
    int64_t update_ms;
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* the sender's sleep */
    pthread_cond_t published; /* waiters on the generation */
    provider **provs;
    size_t n_provs;
    set **sets; /* sorted by name */
    size_t n_sets;
    uint64_t next_provider;
    bool trigger, stop;
    uint64_t gen;
    pthread_t sender;
    /* counters, under mu; the mechanisms' own are summed at read time */
    uint64_t received, updates, refresh_failures[DISC_MECHANISMS];
    uint64_t gone_read_errors, gone_dns_lookups, gone_dns_failures, gone_http_failures;
};

const char *disc_mechanism_name(disc_mechanism mech)
{
    static const char *const names[] = {"static", "file", "http", "dns", "ec2"};
    return (unsigned)mech < DISC_MECHANISMS ? names[mech] : "";
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Current groups of a provider */

/* Index of the group with `source`, or where it would go (*found false). */
static size_t find_source(const disc_tgs *l, const char *source, bool *found)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->v[mid]->g.source, source);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* upstream's updateGroup: takes over the references in tgs. */
static void post_locked(provider *p, disc_tgs *tgs)
{
    for (size_t i = 0; i < tgs->n; i++) {
        disc_tg *tg = tgs->v[i];
        tgs->v[i] = NULL;
        bool found;
        size_t at = find_source(&p->groups, tg->g.source, &found);
        if (tg->g.n_targets > 0) {
            if (found) {
                disc_tg_unref(p->groups.v[at]);
                p->groups.v[at] = tg;
                continue;
            }
            disc_tgs_push(&p->groups, tg); /* grows; then shift into place */
            memmove(&p->groups.v[at + 1], &p->groups.v[at],
                    (p->groups.n - 1 - at) * sizeof *p->groups.v);
            p->groups.v[at] = tg;
        } else {
            if (found) {
                disc_tg_unref(p->groups.v[at]);
                memmove(&p->groups.v[at], &p->groups.v[at + 1],
                        (p->groups.n - at - 1) * sizeof *p->groups.v);
                p->groups.n--;
            }
            disc_tg_unref(tg);
        }
    }
    tgs->n = 0;
    p->m->received++;
    p->m->trigger = true;
    pthread_cond_signal(&p->m->wake);
}

static void post(provider *p, disc_tgs *tgs)
{
    disc_manager *m = p->m;
    pthread_mutex_lock(&m->mu);
    if (!atomic_load(&p->stop)) post_locked(p, tgs);
    pthread_mutex_unlock(&m->mu);
    disc_tgs_clear(tgs);
}

/* ---- Provider threads */

/* Sleeps up to ms or until the stop flag; 1 stop, 2 `fd` readable, 0 time up. */
static int sleep_on(provider *p, int fd, int64_t ms)
{
    if (ms < 0) ms = 0;
    if (ms > 3600 * 1000) ms = 3600 * 1000;
    struct pollfd pf[2] = {{p->wake_fd, POLLIN, 0}, {fd, POLLIN, 0}};
    int r;
    do {
        r = poll(pf, fd >= 0 ? 2 : 1, (int)ms);
    } while (r < 0 && errno == EINTR);
    if (atomic_load(&p->stop)) return 1;
    if (r > 0 && fd >= 0 && (pf[1].revents & POLLIN)) return 2;
    return 0;
}

static int64_t interval_of(const provider *p)
{
    int64_t ms = 0;
    switch (p->mech) {
    case DISC_FILE: ms = p->cfg.file.refresh_interval_ms; break;
    case DISC_HTTP: ms = p->cfg.http.refresh_interval_ms; break;
    case DISC_DNS: ms = p->cfg.dns.refresh_interval_ms; break;
    case DISC_EC2: ms = p->cfg.ec2.refresh_interval_ms; break;
    default: break;
    }
    return ms > 0 ? ms : 1000; /* a zero interval would spin */
}

static void run_file(provider *p)
{
    disc_tgs out = {0};
    int64_t interval = interval_of(p);
    disc_file_refresh(&p->st.file, &out);
    post(p, &out);
    int64_t next = mono_ms() + interval;
    for (;;) {
        int r = sleep_on(p, p->st.file.inotify_fd, next - mono_ms());
        if (r == 1) break;
        bool reread = false;
        if (r == 2) reread = disc_file_drain(&p->st.file);
        if (mono_ms() >= next) {
            reread = true;
            next = mono_ms() + interval;
        }
        if (!reread) continue;
        disc_file_refresh(&p->st.file, &out);
        post(p, &out);
    }
    disc_tgs_destroy(&out);
}

static int refresh_once(provider *p, disc_tgs *out, core_err *err)
{
    switch (p->mech) {
    case DISC_HTTP: return disc_httpsd_refresh(&p->st.http, out, err);
    case DISC_DNS: return disc_dns_refresh(&p->st.dns, out, err);
    case DISC_EC2: return disc_ec2_refresh(&p->st.ec2, out, err);
    default: return 0;
    }
}

/* upstream's refresh.Discovery: right away, then on every tick. */
static void run_refresh(provider *p)
{
    disc_tgs out = {0};
    int64_t interval = interval_of(p);
    for (;;) {
        int64_t started = mono_ms();
        core_err err;
        int rc = refresh_once(p, &out, &err);
        if (atomic_load(&p->stop)) break;
        if (rc < 0) {
            pthread_mutex_lock(&p->m->mu);
            p->m->refresh_failures[p->mech]++;
            pthread_mutex_unlock(&p->m->mu);
            core_error(DISC_COMPONENT, "Unable to refresh target groups", "discovery",
                       disc_mechanism_name(p->mech), "config", p->log_set, "err", err.msg);
            disc_tgs_clear(&out);
        } else {
            post(p, &out);
        }
        if (sleep_on(p, -1, started + interval - mono_ms()) == 1) break;
    }
    disc_tgs_destroy(&out);
}

static void *provider_main(void *arg)
{
    provider *p = arg;
    if (p->mech == DISC_FILE)
        run_file(p);
    else
        run_refresh(p);
    return NULL;
}

/* ---- Creating, starting and freeing providers */

static provider *provider_new(disc_manager *m, disc_mechanism mech, const char *set_name, char *key)
{
    provider *p = core_calloc(1, sizeof *p);
    p->m = m;
    p->mech = mech;
    p->key = key;
    p->log_set = core_strdup(set_name);
    core_sb name = CORE_SB_INIT;
    core_sb_addf(&name, "%s/%llu", disc_mechanism_name(mech), (unsigned long long)m->next_provider);
    p->name = core_sb_detach(&name, NULL);
    p->order = m->next_provider++;
    core_arena_init(&p->arena, 4096);
    atomic_init(&p->stop, false);
    p->wake_fd = -1;
    return p;
}

static void provider_free(provider *p)
{
    disc_manager *m = p->m;
    if (p->has_thread) pthread_join(p->thread, NULL);
    switch (p->mech) {
    case DISC_FILE:
        if (p->started) {
            m->gone_read_errors += atomic_load(&p->st.file.read_errors);
            disc_file_destroy(&p->st.file);
        }
        break;
    case DISC_HTTP: m->gone_http_failures += atomic_load(&p->st.http.failures); break;
    case DISC_DNS:
        m->gone_dns_lookups += atomic_load(&p->st.dns.lookups);
        m->gone_dns_failures += atomic_load(&p->st.dns.failures);
        break;
    case DISC_EC2: disc_ec2_destroy(&p->st.ec2); break;
    default: break;
    }
    if (p->wake_fd >= 0) close(p->wake_fd);
    disc_tgs_destroy(&p->groups);
    disc_tgs_destroy(&p->static_groups);
    strlist_free(&p->subs);
    strlist_free(&p->new_subs);
    core_arena_destroy(&p->arena);
    free(p->key);
    free(p->name);
    free(p->log_set);
    free(p);
}

/* Under the lock. */
static void provider_start(provider *p)
{
    disc_manager *m = p->m;
    p->started = true;
    core_debug(DISC_COMPONENT, "Starting provider", "provider", p->name, "config", p->log_set);
    switch (p->mech) {
    case DISC_STATIC: {
        disc_tgs copy = {0};
        for (size_t i = 0; i < p->static_groups.n; i++)
            disc_tgs_push(&copy, disc_tg_ref(p->static_groups.v[i]));
        post_locked(p, &copy);
        disc_tgs_destroy(&copy);
        return;
    }
    case DISC_FILE: disc_file_init(&p->st.file, &p->cfg.file); break;
    case DISC_HTTP:
        p->st.http =
            (disc_httpsd){.cfg = &p->cfg.http, .user_agent = m->user_agent, .cancel = &p->stop};
        break;
    case DISC_DNS:
        p->st.dns =
            (disc_dns){.cfg = &p->cfg.dns, .resolv_conf = m->resolv_conf, .port = m->opts.dns_port};
        break;
    case DISC_EC2:
        p->st.ec2 = (disc_ec2){.cfg = &p->cfg.ec2, .user_agent = m->user_agent, .cancel = &p->stop};
        break;
    default: break;
    }
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->mech == DISC_DNS) p->st.dns.cancel_fd = p->wake_fd;
    if (p->wake_fd < 0 || pthread_create(&p->thread, NULL, provider_main, p) != 0) {
        core_error(DISC_COMPONENT, "Cannot start service discovery", "provider", p->name, "config",
                   p->log_set);
        return;
    }
    p->has_thread = true;
}

static void provider_stop(provider *p)
{
    atomic_store(&p->stop, true);
    if (p->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(p->wake_fd, &one, sizeof one);
        (void)w;
    }
}

/* ---- Sets */

static size_t find_set(const disc_manager *m, const char *name, bool *found)
{
    size_t lo = 0, hi = m->n_sets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->sets[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void set_free(set *s)
{
    for (size_t i = 0; i < s->n_pub; i++)
        disc_tg_unref(s->pub[i]);
    free(s->pub);
    free(s->name);
    free(s);
}

static set *set_get(disc_manager *m, const char *name)
{
    bool found;
    size_t at = find_set(m, name, &found);
    if (found) return m->sets[at];
    set *s = core_calloc(1, sizeof *s);
    s->name = core_strdup(name);
    m->sets = core_reallocarray(m->sets, m->n_sets + 1, sizeof *m->sets);
    memmove(&m->sets[at + 1], &m->sets[at], (m->n_sets - at) * sizeof *m->sets);
    m->sets[at] = s;
    m->n_sets++;
    return s;
}

static void set_remove(disc_manager *m, const char *name)
{
    bool found;
    size_t at = find_set(m, name, &found);
    if (!found) return;
    set_free(m->sets[at]);
    memmove(&m->sets[at], &m->sets[at + 1], (m->n_sets - at - 1) * sizeof *m->sets);
    m->n_sets--;
}

/* ---- Registering a set's configs (upstream's registerProviders) */

static provider *find_key(disc_manager *m, const char *key)
{
    for (size_t i = 0; i < m->n_provs; i++)
        if (strcmp(m->provs[i]->key, key) == 0) return m->provs[i];
    return NULL;
}

/* Subscribes `set` to the provider with this key, creating it if needed;
 * takes `key`.  Returns the new provider (to fill in) or NULL when one
 * existed. */
static provider *subscribe(disc_manager *m, disc_mechanism mech, const char *set_name, char *key)
{
    provider *p = find_key(m, key);
    if (p) {
        free(key);
        strlist_add(&p->new_subs, set_name);
        return NULL;
    }
    p = provider_new(m, mech, set_name, key);
    strlist_add(&p->new_subs, set_name);
    m->provs = core_reallocarray(m->provs, m->n_provs + 1, sizeof *m->provs);
    m->provs[m->n_provs++] = p;
    return p;
}

static void failed(disc_manager *m, set *s, disc_mechanism mech, const char *msg)
{
    s->failed++;
    core_error(DISC_COMPONENT, "Cannot create service discovery", "err", msg, "type",
               disc_mechanism_name(mech), "config", s->name);
    (void)m;
}

static void register_set(disc_manager *m, set *s, const cfg_sd *sd)
{
    core_sb key = CORE_SB_INIT;
    if (sd->n_static > 0) {
        disc_key_static(&key, sd->static_configs, sd->n_static);
        provider *p = subscribe(m, DISC_STATIC, s->name, core_sb_detach(&key, NULL));
        if (p) {
            core_sb src = CORE_SB_INIT;
            for (size_t i = 0; i < sd->n_static; i++) {
                const cfg_target_group *g = &sd->static_configs[i];
                core_sb_reset(&src);
                core_sb_addf(&src, "%zu", i);
                disc_tg *tg = disc_tg_new(src.buf);
                if (g->labels) disc_tg_set_labels(tg, g->labels->v, g->labels->len);
                for (size_t j = 0; j < g->targets.n; j++) {
                    core_label addr = {DISC_ADDRESS_LABEL, g->targets.v[j]};
                    disc_tg_add_target(tg, &addr, 1);
                }
                disc_tgs_push(&p->static_groups, tg);
            }
            core_sb_destroy(&src);
        }
    }
    for (size_t i = 0; i < sd->n_file; i++) {
        disc_key_file_sd(&key, &sd->file[i]);
        provider *p = subscribe(m, DISC_FILE, s->name, core_sb_detach(&key, NULL));
        if (p) disc_copy_file_sd(&p->arena, &p->cfg.file, &sd->file[i]);
    }
    for (size_t i = 0; i < sd->n_http; i++) {
        core_err err;
        if (disc_http_check(&sd->http[i].http, &err) < 0) {
            failed(m, s, DISC_HTTP, err.msg);
            continue;
        }
        disc_key_http_sd(&key, &sd->http[i]);
        provider *p = subscribe(m, DISC_HTTP, s->name, core_sb_detach(&key, NULL));
        if (p) disc_copy_http_sd(&p->arena, &p->cfg.http, &sd->http[i]);
    }
    for (size_t i = 0; i < sd->n_dns; i++) {
        disc_key_dns_sd(&key, &sd->dns[i]);
        provider *p = subscribe(m, DISC_DNS, s->name, core_sb_detach(&key, NULL));
        if (p) disc_copy_dns_sd(&p->arena, &p->cfg.dns, &sd->dns[i]);
    }
    for (size_t i = 0; i < sd->n_ec2; i++) {
        core_err err;
        if (disc_http_check(&sd->ec2[i].http, &err) < 0) {
            failed(m, s, DISC_EC2, err.msg);
            continue;
        }
        if (sd->ec2[i].role_arn && *sd->ec2[i].role_arn) {
            failed(m, s, DISC_EC2, "role_arn is not supported by prom-server's EC2 discovery");
            continue;
        }
        disc_key_ec2_sd(&key, &sd->ec2[i]);
        provider *p = subscribe(m, DISC_EC2, s->name, core_sb_detach(&key, NULL));
        if (p) disc_copy_ec2_sd(&p->arena, &p->cfg.ec2, &sd->ec2[i]);
    }
    core_sb_destroy(&key);
}

/* Starts new providers, stops unneeded ones (returned for joining), swaps in
 * the new subscriber lists.  Under the lock. */
static provider **commit(disc_manager *m, size_t *n_stopped)
{
    provider **stopped = NULL;
    size_t ns = 0, k = 0;
    for (size_t i = 0; i < m->n_provs; i++) {
        provider *p = m->provs[i];
        if (p->new_subs.n == 0) {
            provider_stop(p);
            stopped = core_reallocarray(stopped, ns + 1, sizeof *stopped);
            stopped[ns++] = p;
            continue;
        }
        strlist_free(&p->subs);
        p->subs = p->new_subs;
        p->new_subs = (strlist){0};
        m->provs[k++] = p;
        if (!p->started) provider_start(p);
    }
    m->n_provs = k;
    m->trigger = true;
    pthread_cond_signal(&m->wake);
    *n_stopped = ns;
    return stopped;
}

static void finish(disc_manager *m, provider **stopped, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (stopped[i]->has_thread) pthread_join(stopped[i]->thread, NULL);
        stopped[i]->has_thread = false;
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < n; i++)
        provider_free(stopped[i]);
    pthread_mutex_unlock(&m->mu);
    free(stopped);
}

int disc_manager_sync(disc_manager *m, const disc_set_cfg *sets, size_t n, core_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (sets[i].name == NULL || sets[i].name[0] == '\0')
            return core_err_set(err, "target set %zu has no name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(sets[i].name, sets[j].name) == 0)
                return core_err_set(err, "target set \"%s\" given twice", sets[i].name);
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_provs; i++)
        strlist_free(&m->provs[i]->new_subs);
    /* Sets no longer configured go; the others keep their snapshots. */
    for (size_t i = m->n_sets; i-- > 0;) {
        bool keep = false;
        for (size_t j = 0; j < n && !keep; j++)
            keep = strcmp(m->sets[i]->name, sets[j].name) == 0;
        if (!keep) set_remove(m, m->sets[i]->name);
    }
    for (size_t i = 0; i < n; i++) {
        set *s = set_get(m, sets[i].name);
        s->failed = 0;
        if (sets[i].sd) register_set(m, s, sets[i].sd);
    }
    size_t ns;
    provider **stopped = commit(m, &ns);
    pthread_mutex_unlock(&m->mu);
    finish(m, stopped, ns);
    return 0;
}

int disc_manager_apply(disc_manager *m, const char *name, const cfg_sd *sd, core_err *err)
{
    if (name == NULL || name[0] == '\0') return core_err_set(err, "target set has no name");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_provs; i++) {
        provider *p = m->provs[i];
        strlist_free(&p->new_subs);
        for (size_t j = 0; j < p->subs.n; j++)
            if (strcmp(p->subs.v[j], name) != 0) strlist_add(&p->new_subs, p->subs.v[j]);
    }
    if (sd == NULL) {
        set_remove(m, name);
    } else {
        set *s = set_get(m, name);
        s->failed = 0;
        register_set(m, s, sd);
    }
    size_t ns;
    provider **stopped = commit(m, &ns);
    pthread_mutex_unlock(&m->mu);
    finish(m, stopped, ns);
    return 0;
}

/* ---- Publication */

static bool group_equal(const disc_tg *a, const disc_tg *b)
{
    if (a == b) return true;
    if (strcmp(a->g.source, b->g.source) != 0 || a->g.n_targets != b->g.n_targets) return false;
    if (!core_labels_equal(a->g.labels, b->g.labels)) return false;
    for (size_t i = 0; i < a->g.n_targets; i++)
        if (!core_labels_equal(a->g.targets[i], b->g.targets[i])) return false;
    return true;
}

static bool serves(const provider *p, const char *set_name)
{
    for (size_t i = 0; i < p->subs.n; i++)
        if (strcmp(p->subs.v[i], set_name) == 0) return true;
    return false;
}

static void publish_locked(disc_manager *m)
{
    uint64_t gen = m->gen + 1;
    int64_t now = core_time_now_ms();
    for (size_t i = 0; i < m->n_sets; i++) {
        set *s = m->sets[i];
        disc_tgs snap = {0};
        size_t targets = 0;
        for (size_t j = 0; j < m->n_provs; j++) {
            provider *p = m->provs[j];
            if (!serves(p, s->name)) continue;
            for (size_t k = 0; k < p->groups.n; k++) {
                disc_tgs_push(&snap, disc_tg_ref(p->groups.v[k]));
                targets += p->groups.v[k]->g.n_targets;
            }
        }
        bool same = snap.n == s->n_pub;
        for (size_t k = 0; same && k < snap.n; k++)
            same = group_equal(snap.v[k], s->pub[k]);
        if (!same || s->changed == 0) s->changed = gen;
        for (size_t k = 0; k < s->n_pub; k++)
            disc_tg_unref(s->pub[k]);
        free(s->pub);
        s->pub = snap.v;
        s->n_pub = snap.n;
        s->n_targets = targets;
        s->updated_ms = now;
    }
    m->gen = gen;
    m->updates++;
    pthread_cond_broadcast(&m->published);
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *sender_main(void *arg)
{
    disc_manager *m = arg;
    int64_t initial = m->update_ms < BACKOFF_INITIAL ? m->update_ms : BACKOFF_INITIAL;
    int64_t cur = initial;
    int64_t last_sent = mono_ms() - m->update_ms;
    unsigned seed = (unsigned)mono_ms();
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        /* NextBackOff: the current interval +-50%, then the interval grows. */
        int64_t delta = cur / 2;
        int64_t wait = cur - delta + (delta > 0 ? (int64_t)(rand_r(&seed) % (2 * delta + 1)) : 0);
        cur = cur * 3 / 2 > m->update_ms ? m->update_ms : cur * 3 / 2;
        struct timespec ts;
        deadline_in(&ts, wait);
        while (!m->stop && pthread_cond_timedwait(&m->wake, &m->mu, &ts) != ETIMEDOUT) {
        }
        if (m->stop) break;
        if (m->trigger) {
            m->trigger = false;
            publish_locked(m);
            last_sent = mono_ms();
            uint64_t gen = m->gen;
            if (m->opts.notify) {
                pthread_mutex_unlock(&m->mu);
                m->opts.notify(gen, m->opts.userdata);
                pthread_mutex_lock(&m->mu);
            }
        }
        if (mono_ms() - last_sent > m->update_ms) cur = initial;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- Public API */

disc_manager *disc_manager_new(const disc_opts *opts, core_err *err)
{
    disc_manager *m = core_calloc(1, sizeof *m);
    if (opts) m->opts = *opts;
    m->name = m->opts.name ? core_strdup(m->opts.name) : NULL;
    m->opts.name = m->name;
    m->resolv_conf = m->opts.resolv_conf ? core_strdup(m->opts.resolv_conf) : NULL;
    m->opts.resolv_conf = m->resolv_conf;
    if (m->opts.user_agent) {
        m->user_agent = core_strdup(m->opts.user_agent);
    } else {
        core_sb ua = CORE_SB_INIT;
        core_sb_addf(&ua, "Prometheus/%s", core_buildinfo_get()->version);
        m->user_agent = core_sb_detach(&ua, NULL);
    }
    m->opts.user_agent = m->user_agent;
    m->update_ms = m->opts.update_interval_ms > 0 ? m->opts.update_interval_ms : DEFAULT_UPDATE_MS;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_cond_init(&m->published, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->sender, NULL, sender_main, m) != 0) {
        core_err_set(err, "cannot start the discovery manager's thread");
        pthread_cond_destroy(&m->wake);
        pthread_cond_destroy(&m->published);
        pthread_mutex_destroy(&m->mu);
        free(m->name);
        free(m->resolv_conf);
        free(m->user_agent);
        free(m);
        return NULL;
    }
    return m;
}

void disc_manager_free(disc_manager *m)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->wake);
    pthread_cond_broadcast(&m->published);
    for (size_t i = 0; i < m->n_provs; i++)
        provider_stop(m->provs[i]);
    provider **provs = m->provs;
    size_t n = m->n_provs;
    m->provs = NULL;
    m->n_provs = 0;
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->sender, NULL);
    finish(m, provs, n);
    for (size_t i = 0; i < m->n_sets; i++)
        set_free(m->sets[i]);
    free(m->sets);
    pthread_cond_destroy(&m->wake);
    pthread_cond_destroy(&m->published);
    pthread_mutex_destroy(&m->mu);
    free(m->name);
    free(m->resolv_conf);
    free(m->user_agent);
    free(m);
}

uint64_t disc_manager_generation(disc_manager *m)
{
    pthread_mutex_lock(&m->mu);
    uint64_t g = m->gen;
    pthread_mutex_unlock(&m->mu);
    return g;
}

uint64_t disc_manager_wait(disc_manager *m, uint64_t after, int64_t timeout_ms)
{
    struct timespec ts;
    deadline_in(&ts, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&m->mu);
    while (m->gen <= after && !m->stop &&
           pthread_cond_timedwait(&m->published, &m->mu, &ts) != ETIMEDOUT) {
    }
    uint64_t g = m->gen;
    pthread_mutex_unlock(&m->mu);
    return g;
}

static const core_labels *copy_labels(core_arena *a, const core_labels *ls)
{
    return core_labels_new_in(a, ls->v, ls->len);
}

int disc_manager_targets(disc_manager *m, const char *name, core_arena *arena, disc_group **groups,
                         size_t *n, uint64_t *changed, core_err *err)
{
    pthread_mutex_lock(&m->mu);
    bool found;
    size_t at = find_set(m, name, &found);
    if (!found) {
        pthread_mutex_unlock(&m->mu);
        *groups = NULL;
        *n = 0;
        if (changed) *changed = 0;
        core_sb q = CORE_SB_INIT;
        core_sb_add_quoted(&q, name, strlen(name));
        core_err_set(err, "unknown target set %s", q.buf);
        core_sb_destroy(&q);
        return -1;
    }
    const set *s = m->sets[at];
    disc_group *out = core_arena_calloc(arena, s->n_pub + 1, sizeof *out);
    for (size_t i = 0; i < s->n_pub; i++) {
        const disc_group *g = &s->pub[i]->g;
        const core_labels **t = core_arena_calloc(arena, g->n_targets + 1, sizeof *t);
        for (size_t j = 0; j < g->n_targets; j++)
            t[j] = copy_labels(arena, g->targets[j]);
        out[i] = (disc_group){core_arena_strdup(arena, g->source), copy_labels(arena, g->labels),
                              (const core_labels *const *)t, g->n_targets};
    }
    *groups = out;
    *n = s->n_pub;
    if (changed) *changed = s->changed;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

size_t disc_manager_sets(disc_manager *m, core_arena *arena, disc_set_info **out)
{
    pthread_mutex_lock(&m->mu);
    disc_set_info *v = core_arena_calloc(arena, m->n_sets + 1, sizeof *v);
    for (size_t i = 0; i < m->n_sets; i++) {
        const set *s = m->sets[i];
        v[i] = (disc_set_info){core_arena_strdup(arena, s->name), s->n_targets, s->changed,
                               s->updated_ms};
    }
    size_t n = m->n_sets;
    pthread_mutex_unlock(&m->mu);
    *out = v;
    return n;
}

void disc_manager_stats(disc_manager *m, disc_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_sets; i++)
        out->failed_configs += m->sets[i]->failed;
    out->received_updates = m->received;
    out->updates = m->updates;
    memcpy(out->refresh_failures, m->refresh_failures, sizeof out->refresh_failures);
    out->file_read_errors = m->gone_read_errors;
    out->dns_lookups = m->gone_dns_lookups;
    out->dns_lookup_failures = m->gone_dns_failures;
    out->http_failures = m->gone_http_failures;
    for (size_t i = 0; i < m->n_provs; i++) {
        const provider *p = m->provs[i];
        if (!p->started) continue;
        out->providers++;
        if (p->mech == DISC_FILE) out->file_read_errors += atomic_load(&p->st.file.read_errors);
        if (p->mech == DISC_HTTP) out->http_failures += atomic_load(&p->st.http.failures);
        if (p->mech == DISC_DNS) {
            out->dns_lookups += atomic_load(&p->st.dns.lookups);
            out->dns_lookup_failures += atomic_load(&p->st.dns.failures);
        }
    }
    pthread_mutex_unlock(&m->mu);
}
