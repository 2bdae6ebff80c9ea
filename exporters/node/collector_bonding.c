/*
 * collector_bonding.c - node_bonding_slaves and node_bonding_active from
 * /sys/class/net/bonding_masters, <master>/bonding/slaves and each slave's
 * lower_<slave> (or slave_<slave>)/bonding_slave/mii_status ("up" = active).
 *
 * As upstream: every file must be readable; a missing one makes the whole
 * collector "no data" and another read error fails it, with nothing printed.
 */
#include "sysfs_read.h"

typedef struct bond {
    const char *master;
    int slaves, active;
} bond;

/* 0, or -1 after nx_no_data / nx_error. */
static int read_or_fail(nx_out *o, const char *path, char **out)
{
    *out = nx_read_file(o, path, NULL);
    if (*out != NULL) return 0;
    if (errno == ENOENT) return nx_no_data(o, "Not collecting bonding, %s does not exist", path);
    return nx_error(o, "couldn't read %s: %m", path);
}

static int read_master(nx_out *o, const char *root, bond *b)
{
    char *text, *f[256];
    if (read_or_fail(o, nx_sprintf(o, "%s/%s/bonding/slaves", root, b->master), &text) < 0)
        return -1;
    size_t n = nx_fields(sr_trim(text), f, 256);
    for (size_t i = 0; i < n; i++) {
        const char *path =
            nx_sprintf(o, "%s/%s/lower_%s/bonding_slave/mii_status", root, b->master, f[i]);
        char *state = nx_read_file(o, path, NULL);
        if (state == NULL && errno == ENOENT)
            path = nx_sprintf(o, "%s/%s/slave_%s/bonding_slave/mii_status", root, b->master, f[i]);
        if (state == NULL && read_or_fail(o, path, &state) < 0) return -1;
        b->slaves++;
        b->active += strcmp(sr_trim(state), "up") == 0;
    }
    return 0;
}

static int collect(nx_out *o)
{
    const char *root = nx_sys(o, "class/net");
    char *masters, *f[256];
    if (read_or_fail(o, nx_sprintf(o, "%s/bonding_masters", root), &masters) < 0) return -1;
    size_t n = nx_fields(sr_trim(masters), f, 256);
    bond *b = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i] = (bond){.master = f[i]};
        if (read_master(o, root, &b[i]) < 0) return -1;
    }
    static const char *const l[] = {"master", NULL};
    for (size_t i = 0; i < n; i++) {
        nx_family(o, "node_bonding_slaves", "Number of configured slaves per bonding interface.",
                  PROM_GAUGE, l);
        nx_samplev(o, b[i].slaves, b[i].master, NULL);
        nx_family(o, "node_bonding_active", "Number of active slaves per bonding interface.",
                  PROM_GAUGE, l);
        nx_samplev(o, b[i].active, b[i].master, NULL);
    }
    return 0;
}

const nx_collector nx_collector_bonding = {
    .name = "bonding",
    .default_on = true,
    .collect = collect,
};
