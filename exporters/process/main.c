/*
 * prom-process-exporter - per-group process metrics for Prometheus, a drop-in
 * for ncabatoff/process-exporter.
 *
 * main.c holds the program: upstream's flags (Go style, one dash, and also
 * with two), the namer from -config.path or -procnames/-namemapping, and a
 * libprom registry served by prom_http with three collectors: the process
 * groups (scrape.c; one scrape at a time under a lock, as upstream's channel
 * does), the exporter's own process_* metrics (self.c: libprom's, without
 * listing the thousands of files procfs.c keeps open) and
 * process_exporter_build_info.
 * The tracker is primed once at start so the first scrape already has rates.
 */
#include "process.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    const char *listen, *path, *config, *procnames, *namemapping, *procfs;
    bool children, threads, smaps, recheck, remove_empty, debug, man;
    int64_t recheck_limit_ms, once_delay_ms, top_cpu, top_memory;
    const char *log_level, *log_format;
} cfg;

static core_flag flag_table[] = {
    {"web.listen-address", CORE_FLAG_STRING, &cfg.listen, ":9256",
     "Address on which to expose metrics and web interface.", false},
    {"web.telemetry-path", CORE_FLAG_STRING, &cfg.path, "/metrics",
     "Path under which to expose metrics.", false},
    {"config.path", CORE_FLAG_STRING, &cfg.config, "", "path to YAML config file", false},
    {"procnames", CORE_FLAG_STRING, &cfg.procnames, "",
     "comma-separated list of process names to monitor", false},
    {"namemapping", CORE_FLAG_STRING, &cfg.namemapping, "",
     "comma-separated list, alternating process name and capturing regex to apply to cmdline",
     false},
    {"procfs", CORE_FLAG_STRING, &cfg.procfs, "/proc", "path to read proc data from", false},
    {"children", CORE_FLAG_BOOL, &cfg.children, "true",
     "if a proc is tracked, track with it any children that aren't part of their own group", false},
    {"threads", CORE_FLAG_BOOL, &cfg.threads, "true", "report on per-threadname metrics as well",
     false},
    {"gather-smaps", CORE_FLAG_BOOL, &cfg.smaps, "true",
     "gather metrics from smaps file, which contains proportional resident memory size", false},
    {"recheck", CORE_FLAG_BOOL, &cfg.recheck, "false", "recheck process names on each scrape",
     false},
    {"recheck-with-time-limit", CORE_FLAG_DURATION, &cfg.recheck_limit_ms, "0s",
     "recheck processes only this much time after their start, but no longer.", false},
    {"remove-empty-groups", CORE_FLAG_BOOL, &cfg.remove_empty, "false",
     "forget process groups with no processes", false},
    {"once-to-stdout-delay", CORE_FLAG_DURATION, &cfg.once_delay_ms, "0s",
     "Don't bind, just wait this much time, print the metrics once to stdout, and exit", false},
    {"debug", CORE_FLAG_BOOL, &cfg.debug, "false", "log debugging information", false},
    {"man", CORE_FLAG_BOOL, &cfg.man, "false", "print manual", false},
    {"top.cpu", CORE_FLAG_INT, &cfg.top_cpu, "0",
     "expose the N processes using the most CPU between the last two scrapes, named or not, as "
     "namedprocess_top_cpu_seconds_rate{pid,comm} (CPU seconds per second); 0 turns it off",
     false},
    {"top.memory", CORE_FLAG_INT, &cfg.top_memory, "0",
     "expose the N processes with the largest resident memory, named or not, as "
     "namedprocess_top_memory_resident_bytes{pid,comm}; 0 turns it off",
     false},
    CORE_LOG_FLAGS(&cfg.log_level, &cfg.log_format),
};

static core_flags flags = {
    "prom-process-exporter",
    "Prometheus exporter for process metrics grouped by name (a drop-in for process-exporter). "
    "Flags take one dash or two.",
    NULL, flag_table, sizeof flag_table / sizeof flag_table[0]};

static const char manual[] =
    "Usage:\n"
    "  prom-process-exporter [options] -config.path filename.yml\n"
    "or\n"
    "  prom-process-exporter [options] -procnames name1,...,nameN [-namemapping k1,v1,...]\n\n"
    "-config.path reads process_names rules (name template; comm, exe, cmdline matchers);\n"
    "the first rule a process matches names its group.  -procnames makes a group per\n"
    "comm; -namemapping names a comm's group \"comm:<first capture>\" of its regex.\n"
    "-children (default true) counts a process without a group of its own in the group\n"
    "of its nearest tracked ancestor.\n";

/* ---- Go-style flags: "-name" is "--name" when name is one of ours. */

static bool known_flag(const char *arg, bool *takes_value)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    char name[128];
    if (n >= sizeof name) return false;
    memcpy(name, arg, n);
    name[n] = '\0';
    *takes_value = false;
    if (strcmp(name, "help") == 0 || strcmp(name, "version") == 0) return true;
    core_flag *f = core_flags_find(&flags, name);
    if (f == NULL && strncmp(name, "no-", 3) == 0) f = core_flags_find(&flags, name + 3);
    if (f == NULL) return false;
    *takes_value = f->kind != CORE_FLAG_BOOL && eq == NULL;
    return true;
}

/* A copy of argv with one-dash flags spelt with two; values stay as given. */
static char **go_style_args(int argc, char **argv)
{
    char **out = core_calloc((size_t)argc + 1, sizeof *out);
    bool value_next = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool takes = false;
        if (i > 0 && !value_next && a[0] == '-' && a[1] != '-' && a[1] != '\0' &&
            known_flag(a + 1, &takes)) {
            size_t n = strlen(a);
            out[i] = core_malloc(n + 2);
            out[i][0] = '-';
            memcpy(out[i] + 1, a, n + 1);
        } else {
            if (i > 0 && !value_next && a[0] == '-' && a[1] == '-') known_flag(a + 2, &takes);
            out[i] = core_strdup(a);
        }
        value_next = takes;
    }
    return out;
}

/* ---- Collectors */

static pe_exporter exporter;
static pthread_mutex_t scrape_lock = PTHREAD_MUTEX_INITIALIZER;

static int collect_groups(prom_emitter *e, void *userdata)
{
    pthread_mutex_lock(&scrape_lock);
    pe_exporter_update(&exporter);
    pe_exporter_emit(&exporter, e);
    pthread_mutex_unlock(&scrape_lock);
    return 0;
}

static int collect_build_info(prom_emitter *e, void *userdata)
{
    const core_buildinfo *bi = core_buildinfo_get();
    static const char *const labels[] = {"branch",   "goarch", "goos",   "goversion",
                                         "revision", "tags",   "version"};
    const char *arch = strchr(bi->platform, '/') ? strchr(bi->platform, '/') + 1 : "";
    const char *values[] = {bi->branch, arch, "linux", bi->compiler, bi->revision, "", bi->version};
    prom_emit_family(e, "process_exporter_build_info",
                     "A metric with a constant '1' value labeled by version, revision, branch, "
                     "goversion from which process_exporter was built, and the goos and goarch "
                     "for the build.",
                     PROM_GAUGE, NULL, labels, 7);
    return prom_emit_value(e, values, 1);
}

static prom_registry *make_registry(void)
{
    prom_registry *r = prom_registry_new();
    if (r == NULL ||
        prom_collector_register(r, "process", NULL, 0, pe_self_collect, &exporter) < 0 ||
        prom_collector_register(r, "build_info", NULL, 0, collect_build_info, NULL) < 0 ||
        prom_collector_register(r, "namedprocess", NULL, 0, collect_groups, NULL) < 0) {
        core_error(NULL, "registry", "err", prom_last_error());
        exit(1);
    }
    return r;
}

/* ---- Setup */

static pe_namer *make_namer(void)
{
    core_err err;
    pe_namer *n;
    if (cfg.config[0] != '\0') {
        if (cfg.procnames[0] != '\0' || cfg.namemapping[0] != '\0') {
            core_error(NULL, "-config.path cannot be used with -namemapping or -procnames");
            return NULL;
        }
        n = pe_namer_load_file(cfg.config, &err);
        if (n == NULL)
            core_error(NULL, "error reading config file", "file", cfg.config, "err", err.msg);
        if (n != NULL)
            core_info(NULL, "Reading metrics", "procfs", cfg.procfs, "config", cfg.config);
        return n;
    }
    n = pe_namer_from_flags(cfg.procnames, cfg.namemapping, &err);
    if (n == NULL) core_error(NULL, "error parsing -namemapping", "err", err.msg);
    if (n != NULL)
        core_info(NULL, "Reading metrics", "procfs", cfg.procfs, "procnames", cfg.procnames);
    return n;
}

static int start_exporter(void)
{
    pe_namer *namer = make_namer();
    if (namer == NULL) return -1;
    if (cfg.top_cpu < 0 || cfg.top_memory < 0) {
        core_error(NULL, "--top.cpu and --top.memory take a count >= 0");
        pe_namer_free(namer);
        return -1;
    }
    pe_options opt = {.procfs = cfg.procfs,
                      .children = cfg.children,
                      .threads = cfg.threads,
                      .smaps = cfg.smaps,
                      .recheck = cfg.recheck,
                      .remove_empty = cfg.remove_empty,
                      .recheck_limit = (double)cfg.recheck_limit_ms / 1000,
                      .top_cpu = (size_t)cfg.top_cpu,
                      .top_memory = (size_t)cfg.top_memory};
    core_err err;
    if (pe_exporter_init(&exporter, &opt, namer, &err) < 0) {
        core_error(NULL, "Error initializing", "err", err.msg);
        pe_namer_free(namer);
        return -1;
    }
    pe_exporter_update(&exporter);
    return 0;
}

static int print_once(prom_registry *r)
{
    struct timespec ts = {cfg.once_delay_ms / 1000, (cfg.once_delay_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    prom_buffer buf = {0};
    int rc = prom_render(r, PROM_FORMAT_TEXT, NULL, 0, &buf);
    if (rc == 0) fwrite(buf.data, 1, buf.len, stdout);
    prom_buffer_free(&buf);
    return rc == 0 ? 0 : 1;
}

/* "host:port", ":port", "[v6]:port" into opts; -1 when malformed. */
static int parse_listen(const char *addr, prom_http_opts *o, char *host, size_t cap)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL) return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535) return -1;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= cap) return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    o->address = hl > 0 ? host : NULL;
    o->port = (uint16_t)port;
    return 0;
}

static int serve(prom_registry *r)
{
    char host[256];
    prom_http_opts o = {.registry = r, .path = cfg.path};
    if (parse_listen(cfg.listen, &o, host, sizeof host) < 0) {
        core_error(NULL, "invalid listen address", "address", cfg.listen);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    prom_http_server *s = prom_http_start_opts(&o);
    if (s == NULL) {
        core_error(NULL, "Failed to start the server", "err", prom_last_error());
        return 1;
    }
    core_info(NULL, "Listening on", "address", cfg.listen);
    int sig;
    sigwait(&set, &sig);
    core_info(NULL, "Shutting down the server");
    prom_http_stop(s);
    return 0;
}

int main(int argc, char **argv)
{
    char **args = go_style_args(argc, argv);
    core_err err;
    int rc = core_flags_parse(&flags, argc, args, NULL, stdout, &err);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "%s: error: %s, try --help\n", flags.program, err.msg);
        return rc < 0 ? 1 : 0;
    }
    if (core_log_setup(cfg.debug ? "debug" : cfg.log_level, cfg.log_format, &err) < 0) {
        fprintf(stderr, "%s: error: %s\n", flags.program, err.msg);
        return 1;
    }
    if (cfg.man) {
        fputs(manual, stdout);
        return 0;
    }
    if (start_exporter() < 0) return 1;
    prom_registry *r = make_registry();
    rc = cfg.once_delay_ms > 0 ? print_once(r) : serve(r);
    prom_registry_free(r);
    pe_exporter_destroy(&exporter);
    for (int i = 0; i < argc; i++)
        free(args[i]);
    free(args);
    return rc;
}
