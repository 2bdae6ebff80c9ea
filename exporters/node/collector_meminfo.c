/*
 * collector_meminfo.c - node_memory_<field>_bytes from /proc/meminfo.
 *
 * Upstream (1.12) goes through procfs.Meminfo, so only the fields that struct
 * knows are reported (newer ones such as Hugetlb or FileHugePages are not),
 * "(anon)"/"(file)" become "_anon"/"_file", values with a kB unit are turned
 * into bytes, and the HugePages_* counts keep their raw value and no suffix.
 * A name table (nx_names) maps each key to its field and family once.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

typedef struct field {
    const char *key;  /* as in /proc/meminfo, without the colon */
    const char *name; /* metric name after node_memory_ */
    bool raw;         /* reported as read, not as bytes */
} field;

static const field fields[] = {
    {"Active", "Active_bytes", false},
    {"Active(anon)", "Active_anon_bytes", false},
    {"Active(file)", "Active_file_bytes", false},
    {"AnonHugePages", "AnonHugePages_bytes", false},
    {"AnonPages", "AnonPages_bytes", false},
    {"Bounce", "Bounce_bytes", false},
    {"Buffers", "Buffers_bytes", false},
    {"Cached", "Cached_bytes", false},
    {"CmaFree", "CmaFree_bytes", false},
    {"CmaTotal", "CmaTotal_bytes", false},
    {"CommitLimit", "CommitLimit_bytes", false},
    {"Committed_AS", "Committed_AS_bytes", false},
    {"DirectMap1G", "DirectMap1G_bytes", false},
    {"DirectMap2M", "DirectMap2M_bytes", false},
    {"DirectMap4k", "DirectMap4k_bytes", false},
    {"Dirty", "Dirty_bytes", false},
    {"HardwareCorrupted", "HardwareCorrupted_bytes", false},
    {"Hugepagesize", "Hugepagesize_bytes", false},
    {"Inactive", "Inactive_bytes", false},
    {"Inactive(anon)", "Inactive_anon_bytes", false},
    {"Inactive(file)", "Inactive_file_bytes", false},
    {"KernelStack", "KernelStack_bytes", false},
    {"Mapped", "Mapped_bytes", false},
    {"MemAvailable", "MemAvailable_bytes", false},
    {"MemFree", "MemFree_bytes", false},
    {"MemTotal", "MemTotal_bytes", false},
    {"Mlocked", "Mlocked_bytes", false},
    {"NFS_Unstable", "NFS_Unstable_bytes", false},
    {"PageTables", "PageTables_bytes", false},
    {"Percpu", "Percpu_bytes", false},
    {"SReclaimable", "SReclaimable_bytes", false},
    {"SUnreclaim", "SUnreclaim_bytes", false},
    {"Shmem", "Shmem_bytes", false},
    {"ShmemHugePages", "ShmemHugePages_bytes", false},
    {"ShmemPmdMapped", "ShmemPmdMapped_bytes", false},
    {"Slab", "Slab_bytes", false},
    {"SwapCached", "SwapCached_bytes", false},
    {"SwapFree", "SwapFree_bytes", false},
    {"SwapTotal", "SwapTotal_bytes", false},
    {"Unevictable", "Unevictable_bytes", false},
    {"VmallocChunk", "VmallocChunk_bytes", false},
    {"VmallocTotal", "VmallocTotal_bytes", false},
    {"VmallocUsed", "VmallocUsed_bytes", false},
    {"Writeback", "Writeback_bytes", false},
    {"WritebackTmp", "WritebackTmp_bytes", false},
    {"Zswap", "Zswap_bytes", false},
    {"Zswapped", "Zswapped_bytes", false},
    {"HugePages_Free", "HugePages_Free", true},
    {"HugePages_Rsvd", "HugePages_Rsvd", true},
    {"HugePages_Surp", "HugePages_Surp", true},
    {"HugePages_Total", "HugePages_Total", true},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Per key: the field it is (index), and its family's name and help. */
static nx_names names = NX_NAMES_INIT;

static void make_name(nx_out *o, const char *key, nx_name *e, void *ctx)
{
    for (size_t i = 0; i < N_FIELDS && !e->wanted; i++) {
        if (strcmp(fields[i].key, key) != 0) continue;
        e->wanted = true;
        e->index = (int)i;
        e->family = nx_sprintf(o, "node_memory_%s", fields[i].name);
        e->help = nx_sprintf(o, "Memory information field %s.", fields[i].name);
    }
}

/* Parses "Key: value [kB]"; false when the line is malformed. */
static bool parse_line(char *line, char **key, uint64_t *val, bool *kb)
{
    char *f[4];
    size_t n = nx_fields(line, f, 4);
    if (n < 2 || n > 3) return false;
    size_t kl = strlen(f[0]);
    if (kl < 2 || f[0][kl - 1] != ':') return false;
    f[0][kl - 1] = '\0';
    char *end;
    if (f[1][0] < '0' || f[1][0] > '9') return false;
    *val = strtoull(f[1], &end, 0);
    if (*end != '\0') return false;
    if (n == 3 && strcmp(f[2], "kB") != 0) return false;
    *key = f[0];
    *kb = n == 3;
    return true;
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "meminfo");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get meminfo: %s: %m", path);
    double values[N_FIELDS];
    const nx_name *seen[N_FIELDS] = {NULL};
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *key;
        uint64_t val;
        bool kb;
        if (!parse_line(line, &key, &val, &kb)) {
            nx_warn(o, "malformed line in %s: %.60s", path, line);
            continue;
        }
        const nx_name *e = nx_names_get(&names, o, key, strlen(key), make_name, NULL);
        if (!e->wanted) continue;
        size_t i = (size_t)e->index;
        values[i] = (double)(kb && !fields[i].raw ? val * 1024 : val);
        seen[i] = e;
    }
    for (size_t i = 0; i < N_FIELDS; i++)
        if (seen[i] != NULL) nx_gauge(o, seen[i]->family, seen[i]->help, values[i]);
    return 0;
}

const nx_collector nx_collector_meminfo = {
    .name = "meminfo",
    .default_on = true,
    .collect = collect,
};
