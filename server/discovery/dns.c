/*
 * dns.c - dns_sd_configs, as upstream's discovery/dns.
 *
 * Upstream does not use the system resolver: it reads /etc/resolv.conf with
 * miekg/dns (servers, search list, ndots), tries each name of the search
 * list in turn against each server, and tells three outcomes apart: an
 * answer (possibly empty), "every server says the name does not exist" (no
 * targets), and errors (keep the last targets).  The system resolver
 * (res_nsearch) would blur the last two, and a lookup on it cannot be
 * interrupted when a provider stops, so the same is done here: resolv.conf
 * read the way miekg reads it, queries built here (with an EDNS0 record
 * offering 4096-byte answers, as miekg sends), sent over UDP and, when the
 * answer comes back truncated, again over TCP without EDNS, each exchange
 * waiting at most 2 s (miekg's default) in poll() alongside the provider's
 * stop descriptor; answers are parsed with libresolv's ns_initparse /
 * ns_parserr / ns_name_uncompress.
 *
 * Names are looked up one after the other (upstream starts one goroutine per
 * name); a slow name delays the others of the same config by at most
 * servers x 2 s per search domain.
 *
 * Targets: SRV -> target:port with `__meta_dns_srv_record_target` (the name
 * as answered, with its final dot) and `__meta_dns_srv_record_port`; A / AAAA
 * -> address:port (IPv6 in brackets, printed as Go prints it); MX and NS ->
 * host:port with `__meta_dns_mx_record_target` / `__meta_dns_ns_record_target`;
 * every target has `__meta_dns_name` (the configured name).  CNAMEs in the
 * answer are skipped, other record types are logged and skipped.
 */
#define _GNU_SOURCE
#include "discovery/internal.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 2000
#define EDNS_SIZE          4096

/* ---- resolv.conf */

static void strs_push(char ***v, size_t *n, const char *s)
{
    *v = core_reallocarray(*v, *n + 1, sizeof **v);
    (*v)[(*n)++] = core_strdup(s);
}

static void strs_free(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

int disc_resolv_load(const char *path, disc_resolv *rc, core_err *err)
{
    memset(rc, 0, sizeof *rc);
    rc->ndots = 1;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return core_err_set(err, "could not load resolv.conf: open %s: %s", path, strerror(errno));
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        char *save = NULL;
        char *w = strtok_r(line, " \t\r\n", &save);
        if (w == NULL) continue;
        if (strcmp(w, "nameserver") == 0) {
            char *s = strtok_r(NULL, " \t\r\n", &save);
            if (s) strs_push(&rc->servers, &rc->n_servers, s);
        } else if (strcmp(w, "domain") == 0) {
            strs_free(&rc->search, &rc->n_search);
            char *s = strtok_r(NULL, " \t\r\n", &save);
            if (s) strs_push(&rc->search, &rc->n_search, s);
        } else if (strcmp(w, "search") == 0) {
            strs_free(&rc->search, &rc->n_search);
            for (char *s; (s = strtok_r(NULL, " \t\r\n", &save)) != NULL;)
                strs_push(&rc->search, &rc->n_search, s);
        } else if (strcmp(w, "options") == 0) {
            for (char *s; (s = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
                if (strncmp(s, "ndots:", 6) == 0) {
                    int n = atoi(s + 6);
                    rc->ndots = n < 0 ? 0 : n > 15 ? 15 : n;
                }
            }
        }
    }
    fclose(f);
    return 0;
}

void disc_resolv_destroy(disc_resolv *rc)
{
    strs_free(&rc->servers, &rc->n_servers);
    strs_free(&rc->search, &rc->n_search);
}

static size_t count_labels(const char *name)
{
    size_t n = 0;
    bool in = false;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            in = false;
        } else if (!in) {
            in = true;
            n++;
        }
    }
    return n;
}

static char *fqdn(const char *name, const char *suffix)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, name);
    if (suffix) core_sb_adds(&sb, suffix);
    if (sb.len == 0 || sb.buf[sb.len - 1] != '.') core_sb_addc(&sb, '.');
    return core_sb_detach(&sb, NULL);
}

size_t disc_dns_namelist(const disc_resolv *rc, const char *name, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.') {
        v = core_malloc(sizeof *v);
        v[n++] = core_strdup(name);
        *out = v;
        return n;
    }
    bool has_ndots = count_labels(name) > (size_t)rc->ndots;
    char *full = fqdn(name, NULL);
    v = core_mallocarray(rc->n_search + 1, sizeof *v);
    if (has_ndots) v[n++] = core_strdup(full);
    for (size_t i = 0; i < rc->n_search; i++)
        v[n++] = fqdn(full, rc->search[i]);
    if (!has_ndots) v[n++] = core_strdup(full);
    free(full);
    *out = v;
    return n;
}

int disc_dns_qtype(const char *type)
{
    if (type == NULL) return DISC_DNS_SRV;
    if (strcasecmp(type, "A") == 0) return DISC_DNS_A;
    if (strcasecmp(type, "AAAA") == 0) return DISC_DNS_AAAA;
    if (strcasecmp(type, "MX") == 0) return DISC_DNS_MX;
    if (strcasecmp(type, "NS") == 0) return DISC_DNS_NS;
    return DISC_DNS_SRV;
}

/* ---- Messages */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

size_t disc_dns_query(unsigned char *buf, size_t cap, uint16_t id, const char *name, int qtype,
                      bool edns)
{
    if (cap < 12 + 256 + 4 + 11) return 0;
    memset(buf, 0, 12);
    put16(buf, id);
    buf[2] = 0x01; /* RD */
    put16(buf + 4, 1);
    put16(buf + 10, edns ? 1 : 0);
    size_t at = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || at - 12 + l + 2 > 255) return 0;
        buf[at++] = (unsigned char)l;
        memcpy(buf + at, p, l);
        at += l;
        p += l;
        if (*p == '.') p++;
    }
    buf[at++] = 0;
    put16(buf + at, (unsigned)qtype);
    put16(buf + at + 2, 1); /* IN */
    at += 4;
    if (edns) {
        buf[at++] = 0;       /* root */
        put16(buf + at, 41); /* OPT */
        put16(buf + at + 2, EDNS_SIZE);
        memset(buf + at + 4, 0, 6); /* extended rcode, version, flags, rdlength */
        at += 10;
    }
    return at;
}

/* Go's net.IP.String(): IPv4-mapped addresses as dotted quads, otherwise
 * RFC 5952 (the longest run of two or more zero groups as "::"). */
static void format_ipv6(const unsigned char a[16], char *out, size_t cap)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) {
        snprintf(out, cap, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        return;
    }
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < 8 && at < cap;) {
        if (i == best) {
            at += (size_t)snprintf(out + at, cap - at, "::");
            i += best_len;
            continue;
        }
        if (i > 0 && i != best + best_len) at += (size_t)snprintf(out + at, cap - at, ":");
        if (at < cap) at += (size_t)snprintf(out + at, cap - at, "%x", g[i]);
        i++;
    }
}

int disc_dns_group(const unsigned char *msg, size_t len, const char *name, int port, disc_tg **out,
                   core_err *err)
{
    ns_msg h;
    if (ns_initparse(msg, (int)len, &h) < 0) return core_err_set(err, "dns: bad message");
    disc_tg *tg = disc_tg_new(name);
    int n = ns_msg_count(h, ns_s_an);
    core_sb addr = CORE_SB_INIT;
    for (int i = 0; i < n; i++) {
        ns_rr rr;
        if (ns_parserr(&h, ns_s_an, i, &rr) < 0) {
            core_sb_destroy(&addr);
            disc_tg_unref(tg);
            return core_err_set(err, "dns: bad answer record");
        }
        const unsigned char *rd = ns_rr_rdata(rr);
        size_t rdlen = ns_rr_rdlen(rr);
        char host[NS_MAXDNAME + 2] = "", target[NS_MAXDNAME + 4] = "", portbuf[8] = "";
        const char *srv_target = NULL, *srv_port = NULL, *mx = NULL, *nsn = NULL;
        long p = port;
        int type = ns_rr_type(rr);
        switch (type) {
        case DISC_DNS_A:
            if (rdlen != 4) continue;
            inet_ntop(AF_INET, rd, host, sizeof host);
            break;
        case DISC_DNS_AAAA:
            if (rdlen != 16) continue;
            format_ipv6(rd, host, sizeof host);
            break;
        case DISC_DNS_SRV:
        case DISC_DNS_MX:
        case DISC_DNS_NS: {
            size_t skip = type == DISC_DNS_SRV ? 6 : type == DISC_DNS_MX ? 2 : 0;
            if (rdlen < skip ||
                ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), rd + skip, host, NS_MAXDNAME) < 0)
                continue;
            /* miekg/dns gives names fully qualified; upstream keeps that in the
             * meta label and trims the final dot for the address. */
            snprintf(target, sizeof target, "%s.", strcmp(host, ".") == 0 ? "" : host);
            if (type == DISC_DNS_SRV) {
                p = (long)(rd[4] << 8 | rd[5]);
                snprintf(portbuf, sizeof portbuf, "%ld", p);
                srv_target = target;
                srv_port = portbuf;
            } else if (type == DISC_DNS_MX) {
                mx = target;
            } else {
                nsn = target;
            }
            size_t hl = strlen(host);
            while (hl > 0 && host[hl - 1] == '.')
                host[--hl] = '\0';
            break;
        }
        case DISC_DNS_CNAME: continue;
        default: {
            char t[16];
            snprintf(t, sizeof t, "%d", type);
            core_warn(DISC_COMPONENT, "Invalid record", "name", name, "type", t);
            continue;
        }
        }
        core_sb_reset(&addr);
        disc_join_host_port(&addr, host, p);
        core_label ls[] = {
            {DISC_ADDRESS_LABEL, addr.buf},
            {"__meta_dns_name", name},
            {"__meta_dns_srv_record_target", srv_target},
            {"__meta_dns_srv_record_port", srv_port},
            {"__meta_dns_mx_record_target", mx},
            {"__meta_dns_ns_record_target", nsn},
        };
        disc_tg_add_target(tg, ls, sizeof ls / sizeof ls[0]);
    }
    core_sb_destroy(&addr);
    *out = tg;
    return 0;
}

/* ---- Exchanges */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline; 1 ready, 0 timeout, -1 cancelled. */
static int wait_fd(int fd, short events, int cancel_fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) return 0;
        struct pollfd p[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
        int r = poll(p, cancel_fd >= 0 ? 2 : 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return 0;
        if (cancel_fd >= 0 && (p[1].revents & POLLIN)) return -1;
        if (r > 0) return 1;
    }
}

typedef struct server {
    struct sockaddr_storage addr;
    socklen_t len;
} server;

static int server_addr(const char *host, int port, server *s)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || res == NULL) return -1;
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static bool reply_matches(const unsigned char *q, const unsigned char *r, size_t rlen)
{
    return rlen >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80);
}

static int exchange_udp(const server *sv, const unsigned char *q, size_t qlen, unsigned char *r,
                        size_t cap, size_t *rlen, int cancel_fd, int timeout_ms, core_err *err)
{
    int fd = socket(sv->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return core_err_set(err, "socket: %s", strerror(errno));
    int rc = -1;
    if (connect(fd, (const struct sockaddr *)&sv->addr, sv->len) < 0) {
        core_err_set(err, "dial udp: %s", strerror(errno));
        goto out;
    }
    if (send(fd, q, qlen, 0) < 0) {
        core_err_set(err, "write udp: %s", strerror(errno));
        goto out;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        int w = wait_fd(fd, POLLIN, cancel_fd, deadline);
        if (w <= 0) {
            core_err_set(err, w < 0 ? "context canceled" : "read udp: i/o timeout");
            goto out;
        }
        ssize_t n = recv(fd, r, cap, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            core_err_set(err, "read udp: %s", strerror(errno));
            goto out;
        }
        if (reply_matches(q, r, (size_t)n)) {
            *rlen = (size_t)n;
            rc = 0;
            goto out;
        }
    }
out:
    close(fd);
    return rc;
}

static int io_all(int fd, unsigned char *buf, size_t n, bool write_, int cancel_fd,
                  int64_t deadline, core_err *err)
{
    size_t done = 0;
    while (done < n) {
        int w = wait_fd(fd, write_ ? POLLOUT : POLLIN, cancel_fd, deadline);
        if (w <= 0) return core_err_set(err, w < 0 ? "context canceled" : "tcp: i/o timeout");
        ssize_t k = write_ ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
                           : recv(fd, buf + done, n - done, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k < 0) return core_err_set(err, "tcp: %s", strerror(errno));
        if (k == 0) return core_err_set(err, "tcp: EOF");
        done += (size_t)k;
    }
    return 0;
}

static int exchange_tcp(const server *sv, const unsigned char *q, size_t qlen, unsigned char *r,
                        size_t cap, size_t *rlen, int cancel_fd, int timeout_ms, core_err *err)
{
    int fd = socket(sv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return core_err_set(err, "socket: %s", strerror(errno));
    int rc = -1;
    int64_t deadline = mono_ms() + timeout_ms;
    if (connect(fd, (const struct sockaddr *)&sv->addr, sv->len) < 0 && errno != EINPROGRESS) {
        core_err_set(err, "dial tcp: %s", strerror(errno));
        goto out;
    }
    int w = wait_fd(fd, POLLOUT, cancel_fd, deadline);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
        core_err_set(err, "dial tcp: %s",
                     w < 0    ? "context canceled"
                     : w == 0 ? "i/o timeout"
                              : strerror(soerr));
        goto out;
    }
    unsigned char *out = core_malloc(qlen + 2);
    put16(out, (unsigned)qlen);
    memcpy(out + 2, q, qlen);
    int wr = io_all(fd, out, qlen + 2, true, cancel_fd, deadline, err);
    free(out);
    if (wr < 0) goto out;
    unsigned char lb[2];
    if (io_all(fd, lb, 2, false, cancel_fd, deadline, err) < 0) goto out;
    size_t n = (size_t)(lb[0] << 8 | lb[1]);
    if (n > cap) {
        core_err_set(err, "tcp: message too long");
        goto out;
    }
    if (io_all(fd, r, n, false, cancel_fd, deadline, err) < 0) goto out;
    if (!reply_matches(q, r, n)) {
        core_err_set(err, "dns: id mismatch");
        goto out;
    }
    *rlen = n;
    rc = 0;
out:
    close(fd);
    return rc;
}

/* upstream's askServerForName: UDP with EDNS0, then TCP if truncated. */
static int ask(const disc_dns *s, const server *sv, const char *name, int qtype, unsigned char *r,
               size_t cap, size_t *rlen, core_err *err)
{
    unsigned char q[600];
    uint16_t id;
    if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint16_t)mono_ms();
    size_t qlen = disc_dns_query(q, sizeof q, id, name, qtype, true);
    if (qlen == 0)
        return core_err_set(err, "dns: domain must be fully qualified and valid: %s", name);
    int timeout = s->timeout_ms > 0 ? s->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (exchange_udp(sv, q, qlen, r, cap, rlen, s->cancel_fd, timeout, err) < 0) return -1;
    if (!(r[2] & 0x02)) return 0; /* not truncated */
    qlen = disc_dns_query(q, sizeof q, id, name, qtype, false);
    return exchange_tcp(sv, q, qlen, r, cap, rlen, s->cancel_fd, timeout, err);
}

static bool cancelled(const disc_dns *s)
{
    if (s->cancel_fd < 0) return false;
    struct pollfd p = {s->cancel_fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

/* upstream's lookupWithSearchPath: 0 with the answer (NULL: every name is
 * NXDOMAIN) or -1. */
static int lookup(const disc_dns *s, const disc_resolv *rc, const char *name, int qtype,
                  unsigned char **answer, size_t *alen, core_err *err)
{
    char **names;
    size_t nn = disc_dns_namelist(rc, name, &names);
    bool all_valid = true;
    int result = 1;
    unsigned char *r = core_malloc(65536);
    for (size_t i = 0; i < nn && result == 1; i++) {
        bool viable = false;
        int rcode = 0;
        size_t rlen = 0;
        for (size_t j = 0; j < rc->n_servers && !viable; j++) {
            server sv;
            core_err e;
            if (server_addr(rc->servers[j], s->port > 0 ? s->port : 53, &sv) < 0) {
                core_warn(DISC_COMPONENT, "DNS resolution failed", "server", rc->servers[j], "name",
                          names[i], "err", "not an IP address");
                continue;
            }
            if (ask(s, &sv, names[i], qtype, r, 65536, &rlen, &e) < 0) {
                if (cancelled(s)) {
                    result = core_err_set(err, "context canceled");
                    break;
                }
                core_warn(DISC_COMPONENT, "DNS resolution failed", "server", rc->servers[j], "name",
                          names[i], "err", e.msg);
                continue;
            }
            rcode = r[3] & 0x0f;
            if (rcode == ns_r_noerror || rcode == ns_r_nxdomain) viable = true;
        }
        if (result != 1) break;
        if (!viable) {
            all_valid = false;
        } else if (rcode == ns_r_noerror) {
            *answer = core_malloc(rlen);
            memcpy(*answer, r, rlen);
            *alen = rlen;
            result = 0;
        }
    }
    free(r);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (result != 1) return result;
    if (all_valid) {
        *answer = NULL;
        *alen = 0;
        return 0;
    }
    core_sb q = CORE_SB_INIT;
    core_sb_add_quoted(&q, name, strlen(name));
    core_err_set(err,
                 "could not resolve %s: all servers responded with errors to at least one search "
                 "domain",
                 q.buf);
    core_sb_destroy(&q);
    return -1;
}

int disc_dns_refresh(disc_dns *s, disc_tgs *out, core_err *err)
{
    disc_resolv rc;
    if (disc_resolv_load(s->resolv_conf ? s->resolv_conf : "/etc/resolv.conf", &rc, err) < 0) {
        /* Every name fails the same way: upstream logs it per name. */
        for (size_t i = 0; i < s->cfg->names.n; i++) {
            atomic_fetch_add(&s->lookups, 1);
            atomic_fetch_add(&s->failures, 1);
            core_error(DISC_COMPONENT, "Error refreshing DNS targets", "err", err ? err->msg : "");
        }
        return 0;
    }
    int qtype = disc_dns_qtype(s->cfg->type);
    for (size_t i = 0; i < s->cfg->names.n && !cancelled(s); i++) {
        const char *name = s->cfg->names.v[i];
        unsigned char *ans = NULL;
        size_t alen = 0;
        core_err e;
        atomic_fetch_add(&s->lookups, 1);
        if (lookup(s, &rc, name, qtype, &ans, &alen, &e) < 0) {
            atomic_fetch_add(&s->failures, 1);
            if (!cancelled(s))
                core_error(DISC_COMPONENT, "Error refreshing DNS targets", "err", e.msg);
            continue;
        }
        disc_tg *tg = NULL;
        if (ans == NULL) {
            tg = disc_tg_new(name);
        } else if (disc_dns_group(ans, alen, name, s->cfg->port, &tg, &e) < 0) {
            atomic_fetch_add(&s->failures, 1);
            core_error(DISC_COMPONENT, "Error refreshing DNS targets", "err", e.msg);
        }
        free(ans);
        if (tg) disc_tgs_push(out, tg);
    }
    disc_resolv_destroy(&rc);
    return 0;
}
