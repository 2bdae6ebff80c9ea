/*
 * collector_time.c - node_time_seconds and node_time_zone_offset_seconds
 * (the local zone as libc sees it, like Go's time.Now().Zone()), and the
 * clocksources of /sys/devices/system/clocksource/clocksource<N>/: the
 * "device" label is the position in the sorted list, as upstream's, not N.
 */
#include "node.h"

#include <string.h>
#include <time.h>

static const char *const cs_labels[] = {"device", "clocksource", NULL};

static void emit_now(nx_out *o)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    nx_gauge(o, "node_time_seconds", "System time in seconds since epoch (1970).",
             (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    struct tm tm;
    time_t now = ts.tv_sec;
    localtime_r(&now, &tm);
    static const char *const zone_labels[] = {"time_zone", NULL};
    nx_family(o, "node_time_zone_offset_seconds", "System time zone offset in seconds.", PROM_GAUGE,
              zone_labels);
    nx_samplev(o, (double)tm.tm_gmtoff, tm.tm_zone != NULL ? tm.tm_zone : "", NULL);
}

static int emit_clocksources(nx_out *o)
{
    char **names;
    int n = nx_list_dir(o, nx_sys(o, "devices/system/clocksource"), &names);
    int index = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(names[i], "clocksource", 11) != 0 || names[i][11] < '0' || names[i][11] > '9')
            continue;
        const char *dir = nx_sys(o, nx_sprintf(o, "devices/system/clocksource/%s", names[i]));
        char *available = nx_read_line(o, nx_sprintf(o, "%s/available_clocksource", dir));
        char *current = nx_read_line(o, nx_sprintf(o, "%s/current_clocksource", dir));
        if (available == NULL || current == NULL)
            return nx_error(o, "couldn't get clocksources: %s: %m", dir);
        const char *device = nx_sprintf(o, "%d", index++);
        char *f[64];
        size_t nf = nx_fields(available, f, 64);
        nx_family(o, "node_time_clocksource_available_info",
                  "Available clocksources read from '/sys/devices/system/clocksource'.", PROM_GAUGE,
                  cs_labels);
        for (size_t k = 0; k < nf; k++)
            nx_samplev(o, 1, device, f[k], NULL);
        nx_family(o, "node_time_clocksource_current_info",
                  "Current clocksource read from '/sys/devices/system/clocksource'.", PROM_GAUGE,
                  cs_labels);
        nx_samplev(o, 1, device, current, NULL);
    }
    return 0;
}

static int collect(nx_out *o)
{
    emit_now(o);
    return emit_clocksources(o);
}

static int init(core_err *err)
{
    (void)err;
    tzset();
    return 0;
}

const nx_collector nx_collector_time = {
    .name = "time",
    .default_on = true,
    .collect = collect,
    .init = init,
};
