/*
 * example-render-server - serving metrics from an HTTP server of your own.
 *
 * libprom's prom_http_start is optional: any server can call prom_render()
 * into a buffer it keeps and send the bytes.  This one is a minimal blocking
 * server on plain sockets (one request per connection) that answers
 * GET /metrics with the format the client's Accept header asks for.
 *
 * Usage: example-render-server [--port N]   (port 8001)
 */
#include <prom/prom.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/* The value of header `name` in a raw request, copied into out. */
static void header(const char *req, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *line = strstr(req, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        size_t nl = strlen(name);
        if (strncasecmp(line + 2, name, nl) == 0 && line[2 + nl] == ':') {
            const char *v = line + 3 + nl, *end = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), v);
            return;
        }
    }
}

static void serve(int fd, prom_buffer *buf, prom_counter *scrapes)
{
    char req[8192], accept[1024];
    ssize_t n = read(fd, req, sizeof req - 1);
    if (n <= 0) return;
    req[n] = '\0';
    char head[512];
    if (strncmp(req, "GET /metrics ", 13) != 0) {
        const char *nf = "404 page not found\n";
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 404 Not Found\r\nContent-Length: %zu\r\n"
                          "Content-Type: text/plain\r\nConnection: close\r\n\r\n",
                          strlen(nf));
        write_all(fd, head, (size_t)hl);
        write_all(fd, nf, strlen(nf));
        return;
    }
    prom_counter_inc(scrapes);
    header(req, "Accept", accept, sizeof accept);
    prom_format f = prom_negotiate(accept[0] ? accept : NULL);
    if (prom_render(NULL, f, NULL, 0, buf) < 0) {
        fprintf(stderr, "render: %s\n", prom_last_error());
        return;
    }
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      prom_content_type(f), buf->len);
    write_all(fd, head, (size_t)hl);
    write_all(fd, buf->data, buf->len);
}

int main(int argc, char **argv)
{
    long port = 8001;
    if (argc == 3 && strcmp(argv[1], "--port") == 0)
        port = strtol(argv[2], NULL, 10);
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
        return 2;
    }
    prom_counter *scrapes = prom_counter_new(
        &(prom_opts){.name = "example_scrapes_total", .help = "Scrapes served by this example."});
    if (scrapes == NULL) {
        fprintf(stderr, "%s\n", prom_last_error());
        return 1;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
        perror("listen");
        return 1;
    }
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("serving metrics on http://localhost:%u/metrics\n", ntohs(a.sin_port));
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    prom_buffer buf = {0}; /* reused: a steady server allocates nothing per scrape */
    while (!stop) {
        int fd = accept(s, NULL, NULL);
        if (fd < 0) continue;
        serve(fd, &buf, scrapes);
        close(fd);
    }
    close(s);
    prom_buffer_free(&buf);
    prom_registry_free(prom_registry_default());
    return 0;
}
