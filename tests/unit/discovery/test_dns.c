/*
 * test_dns.c - DNS discovery against a small DNS server this test runs on
 * loopback (UDP and TCP on one port): resolv.conf as miekg/dns reads it, the
 * search list order, queries, every record type's labels, NXDOMAIN (no
 * targets), SERVFAIL and silence (errors: the name is left out so its last
 * targets stay), a truncated UDP answer retried over TCP, a second server
 * used when the first is silent, and cancelling a lookup.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "discovery/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- The server */

static int udp_fd = -1, tcp_fd = -1, silent_fd = -1, port;
static atomic_bool stop_server;
static pthread_t server_thread;
static atomic_int queries;
static char dir[64];

static size_t put_name(unsigned char *b, size_t at, const char *name)
{
    const char *p = name;
    while (*p) {
        size_t l = strcspn(p, ".");
        b[at++] = (unsigned char)l;
        memcpy(b + at, p, l);
        at += l;
        p += l;
        if (*p) p++;
    }
    b[at++] = 0;
    return at;
}

static size_t rr(unsigned char *b, size_t at, int type, const unsigned char *rd, size_t rdlen)
{
    b[at++] = 0xc0; /* the question's name */
    b[at++] = 12;
    b[at++] = (unsigned char)(type >> 8);
    b[at++] = (unsigned char)type;
    b[at++] = 0;
    b[at++] = 1;
    memset(b + at, 0, 3);
    b[at + 3] = 60;
    at += 4;
    b[at++] = (unsigned char)(rdlen >> 8);
    b[at++] = (unsigned char)rdlen;
    memcpy(b + at, rd, rdlen);
    return at + rdlen;
}

static size_t name_rr(unsigned char *b, size_t at, int type, const unsigned char *prefix, size_t pl,
                      const char *name)
{
    unsigned char rd[300];
    if (pl) memcpy(rd, prefix, pl);
    size_t n = put_name(rd, pl, name);
    return rr(b, at, type, rd, n);
}

/* Answers query q; returns the length.  `tcp` lifts the truncation. */
static size_t respond(const unsigned char *q, size_t qlen, unsigned char *r, bool tcp)
{
    char name[256] = "";
    size_t at = 12, nl = 0;
    while (at < qlen && q[at]) {
        size_t l = q[at++];
        if (nl) name[nl++] = '.';
        memcpy(name + nl, q + at, l);
        nl += l;
        at += l;
    }
    name[nl] = '\0';
    at++;
    int qtype = q[at] << 8 | q[at + 1];
    size_t qend = at + 4;
    memcpy(r, q, qend);
    r[2] = 0x81;       /* QR RD */
    r[3] = 0x80;       /* RA */
    r[10] = r[11] = 0; /* no additional records */
    size_t out = qend, an = 0;
    if (strcmp(name, "srv.test") == 0 && qtype == DISC_DNS_SRV) {
        const unsigned char p1[] = {0, 10, 0, 5, 0x23, 0x8c}; /* prio 10, weight 5, port 9100 */
        const unsigned char p2[] = {0, 10, 0, 5, 0x1f, 0x90}; /* port 8080 */
        out = name_rr(r, out, DISC_DNS_SRV, p1, 6, "node1.test");
        out = name_rr(r, out, DISC_DNS_SRV, p2, 6, "node2.test");
        an = 2;
    } else if (strcmp(name, "a.test") == 0 && qtype == DISC_DNS_A) {
        out = name_rr(r, out, DISC_DNS_CNAME, NULL, 0, "real.test");
        const unsigned char a1[] = {10, 0, 0, 1}, a2[] = {10, 0, 0, 2};
        out = rr(r, out, DISC_DNS_A, a1, 4);
        out = rr(r, out, DISC_DNS_A, a2, 4);
        an = 3;
    } else if (strcmp(name, "aaaa.test") == 0 && qtype == DISC_DNS_AAAA) {
        unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8};
        v6[15] = 1;
        out = rr(r, out, DISC_DNS_AAAA, v6, 16);
        unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
        out = rr(r, out, DISC_DNS_AAAA, mapped, 16);
        an = 2;
    } else if (strcmp(name, "mx.test") == 0 && qtype == DISC_DNS_MX) {
        const unsigned char pref[] = {0, 10};
        out = name_rr(r, out, DISC_DNS_MX, pref, 2, "mail.test");
        an = 1;
    } else if (strcmp(name, "ns.test") == 0 && qtype == DISC_DNS_NS) {
        out = name_rr(r, out, DISC_DNS_NS, NULL, 0, "ns1.test");
        const unsigned char txt[] = {2, 'h', 'i'};
        out = rr(r, out, 16, txt, 3); /* TXT: skipped with a warning */
        an = 2;
    } else if (strcmp(name, "big.test") == 0) {
        if (!tcp) {
            r[2] |= 0x02; /* TC */
        } else {
            for (int i = 0; i < 40; i++) {
                const unsigned char a[] = {10, 1, 0, (unsigned char)i};
                out = rr(r, out, DISC_DNS_A, a, 4);
            }
            an = 40;
        }
    } else if (strcmp(name, "web.corp.example") == 0 && qtype == DISC_DNS_A) {
        const unsigned char a[] = {10, 9, 9, 9};
        out = rr(r, out, DISC_DNS_A, a, 4);
        an = 1;
    } else if (strcmp(name, "fail.test") == 0) {
        r[3] |= 2; /* SERVFAIL */
    } else if (strcmp(name, "empty.test") == 0) {
        /* NOERROR, no answer of that type */
    } else {
        r[3] |= 3; /* NXDOMAIN */
    }
    r[6] = (unsigned char)(an >> 8);
    r[7] = (unsigned char)an;
    return out;
}

static void serve_tcp(int c)
{
    unsigned char lb[2], q[600], r[4096];
    if (recv(c, lb, 2, MSG_WAITALL) != 2) return;
    size_t n = (size_t)(lb[0] << 8 | lb[1]);
    if (n > sizeof q || recv(c, q, n, MSG_WAITALL) != (ssize_t)n) return;
    atomic_fetch_add(&queries, 1);
    size_t rl = respond(q, n, r, true);
    unsigned char out[2 + 4096];
    out[0] = (unsigned char)(rl >> 8);
    out[1] = (unsigned char)rl;
    memcpy(out + 2, r, rl);
    send(c, out, rl + 2, MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_server)) {
        struct pollfd p[2] = {{udp_fd, POLLIN, 0}, {tcp_fd, POLLIN, 0}};
        if (poll(p, 2, 50) <= 0) continue;
        if (p[0].revents & POLLIN) {
            unsigned char q[600], r[4096];
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(udp_fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
            if (n > 12) {
                atomic_fetch_add(&queries, 1);
                size_t rl = respond(q, (size_t)n, r, false);
                sendto(udp_fd, r, rl, 0, (struct sockaddr *)&from, fl);
            }
        }
        if (p[1].revents & POLLIN) {
            int c = accept(tcp_fd, NULL, NULL);
            if (c >= 0) {
                serve_tcp(c);
                close(c);
            }
        }
    }
    return NULL;
}

static int bind_on(int type, const char *ip, int want)
{
    int fd = socket(AF_INET, type, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)want)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int setup(void **state)
{
    (void)state;
    for (int tries = 0; tries < 50 && udp_fd < 0; tries++) {
        tcp_fd = bind_on(SOCK_STREAM, "127.0.0.1", 0);
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        getsockname(tcp_fd, (struct sockaddr *)&a, &al);
        port = ntohs(a.sin_port);
        udp_fd = bind_on(SOCK_DGRAM, "127.0.0.1", port);
        if (udp_fd < 0) close(tcp_fd);
    }
    assert_true(udp_fd >= 0);
    listen(tcp_fd, 8);
    /* A server on 127.0.0.2 that never answers (same port). */
    silent_fd = bind_on(SOCK_DGRAM, "127.0.0.2", port);
    assert_true(silent_fd >= 0);
    atomic_store(&stop_server, false);
    pthread_create(&server_thread, NULL, server_main, NULL);
    snprintf(dir, sizeof dir, "/tmp/disc-dns-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&stop_server, true);
    pthread_join(server_thread, NULL);
    close(udp_fd);
    close(tcp_fd);
    close(silent_fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *resolv(const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/resolv.conf", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- Tests */

static void test_resolv_conf(void **state)
{
    (void)state;
    disc_resolv rc;
    core_err err = {{0}};
    assert_int_equal(
        disc_resolv_load(resolv("# comment\nnameserver 10.0.0.1\nnameserver ::1\n"
                                "search a.example b.example\noptions ndots:2 timeout:1\n"),
                         &rc, &err),
        0);
    assert_int_equal(rc.n_servers, 2);
    assert_string_equal(rc.servers[1], "::1");
    assert_int_equal(rc.n_search, 2);
    assert_int_equal(rc.ndots, 2);
    char **names;
    /* Fewer labels than ndots+1: the search list first. */
    size_t n = disc_dns_namelist(&rc, "web", &names);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "web.a.example.");
    assert_string_equal(names[1], "web.b.example.");
    assert_string_equal(names[2], "web.");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    n = disc_dns_namelist(&rc, "x.y.z", &names);
    assert_string_equal(names[0], "x.y.z.");
    assert_string_equal(names[1], "x.y.z.a.example.");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    n = disc_dns_namelist(&rc, "fq.example.", &names);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "fq.example.");
    free(names[0]);
    free(names);
    disc_resolv_destroy(&rc);

    /* domain replaces search; ndots is clamped. */
    assert_int_equal(
        disc_resolv_load(resolv("search a b\ndomain c\noptions ndots:99\n"), &rc, &err), 0);
    assert_int_equal(rc.n_search, 1);
    assert_string_equal(rc.search[0], "c");
    assert_int_equal(rc.ndots, 15);
    disc_resolv_destroy(&rc);

    assert_int_equal(disc_resolv_load("/nonexistent/resolv.conf", &rc, &err), -1);
    assert_string_equal(err.msg,
                        "could not load resolv.conf: open /nonexistent/resolv.conf: No such "
                        "file or directory");
    assert_int_equal(disc_dns_qtype("aaaa"), DISC_DNS_AAAA);
    assert_int_equal(disc_dns_qtype("Mx"), DISC_DNS_MX);
    assert_int_equal(disc_dns_qtype("SRV"), DISC_DNS_SRV);

    unsigned char q[600];
    assert_int_equal(disc_dns_query(q, sizeof q, 7, "a..b.", DISC_DNS_A, false), 0);
    size_t ql = disc_dns_query(q, sizeof q, 0x1234, "ab.c.", DISC_DNS_SRV, true);
    const unsigned char want[] = {0x12, 0x34, 1,   0,    0, 1,   0, 0, 0,  0, 0,
                                  1,    2,    'a', 'b',  1, 'c', 0, 0, 33, 0, 1,
                                  0,    0,    41,  0x10, 0, 0,   0, 0, 0,  0, 0};
    assert_int_equal(ql, sizeof want);
    assert_memory_equal(q, want, sizeof want);
}

static const disc_tg *group(const disc_tgs *l, const char *source)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i]->g.source, source) == 0) return l->v[i];
    return NULL;
}

static const char *label(const disc_tg *g, size_t t, const char *name)
{
    return core_labels_get(g->g.targets[t], name);
}

static disc_dns config(cfg_dns_sd *c, const char *conf)
{
    return (disc_dns){
        .cfg = c, .resolv_conf = resolv(conf), .port = port, .cancel_fd = -1, .timeout_ms = 300};
}

static void test_records(void **state)
{
    (void)state;
    const char *names[] = {"srv.test", "nx.test", "fail.test", "empty.test"};
    cfg_dns_sd c = {.names = {names, 4}, .type = "SRV"};
    disc_dns s = config(&c, "nameserver 127.0.0.1\n");
    disc_tgs out = {0};
    core_err err = {{0}};
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.n, 3); /* fail.test left out */
    const disc_tg *g = group(&out, "srv.test");
    assert_non_null(g);
    assert_int_equal(g->g.n_targets, 2);
    assert_string_equal(label(g, 0, "__address__"), "node1.test:9100");
    assert_string_equal(label(g, 0, "__meta_dns_name"), "srv.test");
    assert_string_equal(label(g, 0, "__meta_dns_srv_record_target"), "node1.test.");
    assert_string_equal(label(g, 0, "__meta_dns_srv_record_port"), "9100");
    assert_null(label(g, 0, "__meta_dns_mx_record_target"));
    assert_string_equal(label(g, 1, "__address__"), "node2.test:8080");
    assert_int_equal(group(&out, "nx.test")->g.n_targets, 0);
    assert_int_equal(group(&out, "empty.test")->g.n_targets, 0);
    assert_null(group(&out, "fail.test"));
    assert_int_equal(atomic_load(&s.lookups), 4);
    assert_int_equal(atomic_load(&s.failures), 1);
    disc_tgs_clear(&out);

    const char *an[] = {"a.test"};
    cfg_dns_sd ca = {.names = {an, 1}, .type = "A", .port = 9100};
    s.cfg = &ca;
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    g = out.v[0];
    assert_int_equal(g->g.n_targets, 2); /* the CNAME skipped */
    assert_string_equal(label(g, 0, "__address__"), "10.0.0.1:9100");
    assert_string_equal(label(g, 1, "__address__"), "10.0.0.2:9100");
    assert_int_equal(g->g.targets[0]->len, 2);
    disc_tgs_clear(&out);

    const char *a6[] = {"aaaa.test"};
    cfg_dns_sd c6 = {.names = {a6, 1}, .type = "AAAA", .port = 80};
    s.cfg = &c6;
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_string_equal(label(out.v[0], 0, "__address__"), "[2001:db8::1]:80");
    assert_string_equal(label(out.v[0], 1, "__address__"), "192.0.2.7:80");
    disc_tgs_clear(&out);

    const char *mx[] = {"mx.test"};
    cfg_dns_sd cm = {.names = {mx, 1}, .type = "MX", .port = 25};
    s.cfg = &cm;
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_string_equal(label(out.v[0], 0, "__address__"), "mail.test:25");
    assert_string_equal(label(out.v[0], 0, "__meta_dns_mx_record_target"), "mail.test.");
    disc_tgs_clear(&out);

    const char *ns[] = {"ns.test"};
    cfg_dns_sd cn = {.names = {ns, 1}, .type = "NS", .port = 53};
    s.cfg = &cn;
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.v[0]->g.n_targets, 1); /* the TXT record skipped */
    assert_string_equal(label(out.v[0], 0, "__address__"), "ns1.test:53");
    assert_string_equal(label(out.v[0], 0, "__meta_dns_ns_record_target"), "ns1.test.");
    disc_tgs_destroy(&out);
}

static void test_transport(void **state)
{
    (void)state;
    disc_tgs out = {0};
    core_err err = {{0}};
    /* Truncated over UDP: asked again over TCP. */
    const char *big[] = {"big.test"};
    cfg_dns_sd cb = {.names = {big, 1}, .type = "A", .port = 1};
    disc_dns s = config(&cb, "nameserver 127.0.0.1\n");
    atomic_store(&queries, 0);
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.v[0]->g.n_targets, 40);
    assert_int_equal(atomic_load(&queries), 2);
    disc_tgs_clear(&out);

    /* The first server is silent: the second answers. */
    const char *a[] = {"a.test"};
    cfg_dns_sd ca = {.names = {a, 1}, .type = "A", .port = 1};
    s = config(&ca, "nameserver 127.0.0.2\nnameserver 127.0.0.1\n");
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.v[0]->g.n_targets, 2);
    disc_tgs_clear(&out);

    /* Only a silent server: an error, the name left out. */
    s = config(&ca, "nameserver 127.0.0.2\n");
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(atomic_load(&s.failures), 1);

    /* The search list: "web" is found as web.corp.example after NXDOMAIN for
     * web.other.example. */
    const char *web[] = {"web"};
    cfg_dns_sd cw = {.names = {web, 1}, .type = "A", .port = 80};
    s = config(&cw, "nameserver 127.0.0.1\nsearch other.example corp.example\n");
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_string_equal(label(out.v[0], 0, "__address__"), "10.9.9.9:80");
    assert_string_equal(label(out.v[0], 0, "__meta_dns_name"), "web");
    disc_tgs_clear(&out);

    /* Cancelled: the lookup on the silent server stops at once. */
    int efd = eventfd(1, EFD_NONBLOCK);
    s = config(&ca, "nameserver 127.0.0.2\n");
    s.timeout_ms = 5000;
    s.cancel_fd = efd;
    double t0 = core_monotonic_seconds();
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_true(core_monotonic_seconds() - t0 < 1.0);
    assert_int_equal(out.n, 0);
    close(efd);

    /* resolv.conf missing: every name fails. */
    s = config(&ca, "");
    s.resolv_conf = "/nonexistent/resolv.conf";
    assert_int_equal(disc_dns_refresh(&s, &out, &err), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(atomic_load(&s.failures), 1);
    disc_tgs_destroy(&out);
}

static void test_bad_messages(void **state)
{
    (void)state;
    disc_tg *tg = NULL;
    core_err err = {{0}};
    const unsigned char junk[] = {1, 2, 3};
    assert_int_equal(disc_dns_group(junk, 3, "x", 80, &tg, &err), -1);
    /* An answer count larger than the records present. */
    unsigned char q[600], r[4096];
    size_t ql = disc_dns_query(q, sizeof q, 1, "a.test.", DISC_DNS_A, false);
    size_t rl = respond(q, ql, r, false);
    r[7] = 9;
    assert_int_equal(disc_dns_group(r, rl, "a.test", 80, &tg, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolv_conf),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_bad_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
