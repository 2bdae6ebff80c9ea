/*
 * harness.c - see harness.h.
 *
 * Processes live in a fixed table so the atexit handler can find them without
 * allocation; logs go to a mkdtemp directory.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 32

static th_proc procs[MAX_PROCS];
static size_t n_procs;
static char log_dir[256];
static bool passed;
static bool hooks_installed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("harness: finding a free port");
        abort();
    }
    close(fd);
    return ntohs(a.sin_port);
}

const char *th_bin_dir(void)
{
    const char *d = getenv("PROM_BIN_DIR");
    return d != NULL ? d : "build/bin";
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

typedef struct {
    char *buf;
    size_t len;
} body_buf;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    body_buf *b = ud;
    char *nb = realloc(b->buf, b->len + size * n + 1);
    if (nb == NULL) return 0;
    memcpy(nb + b->len, p, size * n);
    b->buf = nb;
    b->len += size * n;
    b->buf[b->len] = '\0';
    return size * n;
}

long th_http(const char *method, const char *url, const char *body, size_t body_len,
             char **out_body)
{
    CURL *c = curl_easy_init();
    body_buf b = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (method != NULL) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (out_body != NULL) {
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    } else {
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (out_body != NULL)
        *out_body = b.buf != NULL ? b.buf : calloc(1, 1);
    else
        free(b.buf);
    return status;
}

void th_print_log(const th_proc *p)
{
    fprintf(stderr, "---- log of %s (pid %d) ----\n", p->name, (int)p->pid);
    FILE *f = fopen(p->log_path, "r");
    if (f != NULL) {
        char line[4096];
        while (fgets(line, sizeof line, f) != NULL)
            fputs(line, stderr);
        fclose(f);
    }
    fprintf(stderr, "---- end of log of %s ----\n", p->name);
}

bool th_alive(th_proc *p)
{
    if (p->exited) return false;
    if (waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
        p->exited = true;
        return false;
    }
    return true;
}

int th_stop(th_proc *p)
{
    if (!th_alive(p)) return p->status;
    kill(-p->pid, SIGTERM); /* the whole process group */
    double deadline = now() + 5;
    while (th_alive(p) && now() < deadline)
        sleep_ms(20);
    if (th_alive(p)) {
        fprintf(stderr, "harness: %s (pid %d) ignored SIGTERM for 5 s; killing it\n", p->name,
                (int)p->pid);
        kill(-p->pid, SIGKILL);
        waitpid(p->pid, &p->status, 0);
        p->exited = true;
    }
    kill(-p->pid, SIGKILL); /* anything the program left in its group */
    return p->status;
}

static void stop_all(bool print_logs)
{
    for (size_t i = 0; i < n_procs; i++) {
        th_stop(&procs[i]);
        if (print_logs) th_print_log(&procs[i]);
    }
    n_procs = 0;
}

static void remove_log_dir(void)
{
    if (log_dir[0] == '\0') return;
    DIR *d = opendir(log_dir);
    if (d != NULL) {
        struct dirent *e;
        char path[768];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            snprintf(path, sizeof path, "%s/%s", log_dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(log_dir);
    log_dir[0] = '\0';
}

static void at_exit(void)
{
    if (n_procs > 0) {
        fprintf(stderr, "harness: the test ended with processes running; stopping them\n");
        stop_all(!passed);
    }
    remove_log_dir();
}

static void install_hooks(void)
{
    if (hooks_installed) return;
    hooks_installed = true;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(at_exit);
}

static const char *ensure_log_dir(void)
{
    if (log_dir[0] == '\0') {
        snprintf(log_dir, sizeof log_dir, "%s/prom-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(log_dir) == NULL) {
            perror("harness: mkdtemp");
            abort();
        }
    }
    return log_dir;
}

static pid_t spawn(char *const argv[], const char *log_path)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the test died before prctl took effect */
            _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        dup2(fd, 1);
        dup2(fd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    if (pid > 0) setpgid(pid, pid); /* also from here, so kill(-pid) works at once */
    return pid;
}

th_proc *th_start(const char *name, char *const argv[], const char *ready_url, double timeout_s)
{
    install_hooks();
    if (n_procs == MAX_PROCS) {
        fprintf(stderr, "harness: too many processes\n");
        return NULL;
    }
    th_proc *p = &procs[n_procs];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log_path, sizeof p->log_path, "%s/%s-%zu.log", ensure_log_dir(), name, n_procs);
    p->pid = spawn(argv, p->log_path);
    if (p->pid < 0) {
        fprintf(stderr, "harness: cannot start %s: %s\n", name, strerror(errno));
        return NULL;
    }
    n_procs++;
    double deadline = now() + timeout_s;
    for (;;) {
        if (!th_alive(p)) {
            fprintf(stderr, "harness: %s exited before it was ready (wait status %d)\n", name,
                    p->status);
            break;
        }
        if (ready_url == NULL || th_http(NULL, ready_url, NULL, 0, NULL) == 200) return p;
        if (now() > deadline) {
            fprintf(stderr, "harness: %s was not ready at %s after %.1f s\n", name, ready_url,
                    timeout_s);
            break;
        }
        sleep_ms(50);
    }
    th_stop(p);
    th_print_log(p);
    return NULL;
}

int th_setup(void **state)
{
    install_hooks();
    passed = false;
    return 0;
}

int th_teardown(void **state)
{
    stop_all(!passed);
    return 0;
}

void th_pass(void)
{
    passed = true;
}
