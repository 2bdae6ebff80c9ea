/*
 * collector_interrupts.c - node_interrupts_total{cpu,type,info,devices} from
 * /proc/interrupts, filtered on "<type>;<info>;<devices>" by
 * --collector.interrupts.name-include / name-exclude, zero values dropped
 * unless --collector.interrupts.include-zeros (default true).
 *
 * As upstream: the header gives the CPU count; a line with fewer values (ERR,
 * MIS) is skipped; for a numbered IRQ the first word after the counts is the
 * info and the rest the devices, otherwise all of it is the info; a type seen
 * twice keeps its last line.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

static const char *include_flag, *exclude_flag;
static bool include_zeros;
static nx_regex *include_re, *exclude_re;

static core_flag flags[] = {
    {"collector.interrupts.name-include", CORE_FLAG_STRING, &include_flag, "",
     "Regexp of interrupts name to include (mutually exclusive to "
     "--collector.interrupts.name-exclude).",
     false},
    {"collector.interrupts.name-exclude", CORE_FLAG_STRING, &exclude_flag, "",
     "Regexp of interrupts name to exclude (mutually exclusive to "
     "--collector.interrupts.name-include).",
     false},
    {"collector.interrupts.include-zeros", CORE_FLAG_BOOL, &include_zeros, "true",
     "Include interrupts that have a zero value", false},
};

#define MAX_FIELDS 1024

typedef struct irq {
    const char *type, *info, *devices;
    char **values;
} irq;

static bool is_int(const char *s)
{
    if (*s == '+' || *s == '-') s++;
    return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static char *join(nx_out *o, char **parts, size_t n)
{
    core_sb sb = CORE_SB_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) core_sb_add(&sb, " ", 1);
        core_sb_add(&sb, parts[i], strlen(parts[i]));
    }
    char *s = core_arena_strndup(nx_arena(o), sb.buf != NULL ? sb.buf : "", sb.len);
    core_sb_destroy(&sb);
    return s;
}

/* One "TYPE: v0 v1 ... info [devices]" line into *q; false to skip it. */
static bool parse_line(nx_out *o, char *line, size_t n_cpus, irq *q)
{
    char *colon = strchr(line, ':');
    if (colon == NULL) return false;
    *colon = '\0';
    char **parts = core_arena_alloc(nx_arena(o), MAX_FIELDS * sizeof *parts);
    size_t n = nx_fields(colon + 1, parts, MAX_FIELDS);
    if (n < n_cpus + 1) return false;
    q->type = line + strspn(line, " ");
    q->values = parts;
    if (is_int(q->type)) {
        q->info = parts[n_cpus];
        q->devices = join(o, parts + n_cpus + 1, n - n_cpus - 1);
    } else {
        q->info = join(o, parts + n_cpus, n - n_cpus);
        q->devices = "";
    }
    return true;
}

static bool ignored(nx_out *o, const irq *q)
{
    const char *name = nx_sprintf(o, "%s;%s;%s", q->type, q->info, q->devices);
    return (exclude_re != NULL && nx_regex_match(exclude_re, name)) ||
           (include_re != NULL && !nx_regex_match(include_re, name));
}

static void emit(nx_out *o, const irq *q, size_t n_cpus)
{
    if (ignored(o, q)) return;
    for (size_t c = 0; c < n_cpus; c++) {
        double v;
        if (!nx_parse_double(q->values[c], &v)) {
            nx_warn(o, "invalid value %.20s in interrupts", q->values[c]);
            continue;
        }
        if (!include_zeros && v == 0) continue;
        nx_samplev(o, v, nx_sprintf(o, "%zu", c), q->type, q->info, q->devices, NULL);
    }
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "interrupts");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get interrupts: %s: %m", path);
    char *save, *header = strtok_r(text, "\n", &save);
    if (header == NULL) return nx_error(o, "couldn't get interrupts: interrupts empty");
    char *cpus[MAX_FIELDS];
    size_t n_cpus = nx_fields(header, cpus, MAX_FIELDS);
    size_t n = 0, cap = 64;
    irq *irqs = core_arena_alloc(nx_arena(o), cap * sizeof *irqs);
    for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
        irq q;
        if (!parse_line(o, line, n_cpus, &q)) continue;
        size_t i = 0;
        while (i < n && strcmp(irqs[i].type, q.type) != 0)
            i++;
        if (i == cap) {
            irq *more = core_arena_alloc(nx_arena(o), 2 * cap * sizeof *more);
            memcpy(more, irqs, cap * sizeof *irqs);
            irqs = more;
            cap *= 2;
        }
        irqs[i] = q;
        if (i == n) n++;
    }
    static const char *const labels[] = {"cpu", "type", "info", "devices", NULL};
    nx_family(o, "node_interrupts_total", "Interrupt details.", PROM_COUNTER, labels);
    for (size_t i = 0; i < n; i++)
        emit(o, &irqs[i], n_cpus);
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(include_re); /* init may run again (tests) */
    nx_regex_free(exclude_re);
    if (nx_regex_compile(include_flag, "collector.interrupts.name-include", &include_re, err) < 0 ||
        nx_regex_compile(exclude_flag, "collector.interrupts.name-exclude", &exclude_re, err) < 0)
        return -1;
    return 0;
}

const nx_collector nx_collector_interrupts = {
    .name = "interrupts",
    .default_on = false,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
