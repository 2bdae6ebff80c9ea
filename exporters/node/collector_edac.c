/*
 * collector_edac.c - node_edac_* from /sys/devices/system/edac/mc/mc<N>/:
 * per controller ce_count, ue_count and the *_noinfo_count (as csrow
 * "unknown"), per csrow<M> ce_count and ue_count, per ch<K>_ce_count
 * channel counts labelled with the cleaned ch<K>_dimm_label.
 *
 * As upstream: a missing or malformed controller or csrow counter fails the
 * scrape, a missing ch<K>_ue_count is skipped, and the DIMM label loses its
 * '#' and gets '_' before "csrow" and "channel" ("unknown" when missing).
 */
#include "sysfs_read.h"

#include <ctype.h>
#include <glob.h>

/* The digits that follow `prefix` in the last path component. */
static const char *number_after(nx_out *o, const char *path, const char *prefix)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    base += strlen(prefix);
    size_t n = 0;
    while (isdigit((unsigned char)base[n]))
        n++;
    return nx_sprintf(o, "%.*s", (int)n, base);
}

static int read_count(nx_out *o, const char *dir, const char *file, const char *what, uint64_t *v)
{
    const char *path = nx_sprintf(o, "%s/%s", dir, file);
    char *s = sr_read_all(o, path);
    if (s == NULL) return nx_error(o, "couldn't get %s for %s: %m", file, what);
    if (!nx_parse_u64(s, v)) return nx_error(o, "couldn't get %s for %s: bad value", file, what);
    return 0;
}

/* Replaces each `from` in s with `to`, into scrape memory. */
static char *replace_all(nx_out *o, const char *s, const char *from, const char *to)
{
    core_sb sb = CORE_SB_INIT;
    size_t fl = strlen(from);
    for (const char *p = s; *p != '\0';) {
        if (strncmp(p, from, fl) == 0)
            core_sb_adds(&sb, to), p += fl;
        else
            core_sb_addc(&sb, *p++);
    }
    char *out = core_arena_strdup(nx_arena(o), sb.buf != NULL ? sb.buf : "");
    core_sb_destroy(&sb);
    return out;
}

static const char *dimm_label(nx_out *o, const char *csrow, const char *channel)
{
    char *s = sr_read_all(o, nx_sprintf(o, "%s/ch%s_dimm_label", csrow, channel));
    if (s == NULL) return "unknown";
    s = replace_all(o, s, "#", "");
    s = replace_all(o, s, "csrow", "_csrow");
    return replace_all(o, s, "channel", "_channel");
}

static const char *const l_ctl[] = {"controller", NULL};
static const char *const l_row[] = {"controller", "csrow", NULL};
static const char *const l_ch[] = {"controller", "csrow", "channel", "dimm_label", NULL};

static void row_sample(nx_out *o, bool ue, double v, const char *mc, const char *row)
{
    if (ue)
        nx_family(o, "node_edac_csrow_uncorrectable_errors_total",
                  "Total uncorrectable memory errors for this csrow.", PROM_COUNTER, l_row);
    else
        nx_family(o, "node_edac_csrow_correctable_errors_total",
                  "Total correctable memory errors for this csrow.", PROM_COUNTER, l_row);
    nx_samplev(o, v, mc, row, NULL);
}

static int collect_channels(nx_out *o, const char *csrow, const char *mc, const char *row)
{
    glob_t g;
    if (glob(nx_sprintf(o, "%s/ch*_ce_count", csrow), 0, NULL, &g) != 0) return 0;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        const char *m = strstr(base, "ch");
        while (m != NULL && !isdigit((unsigned char)m[2]))
            m = strstr(m + 1, "ch");
        if (m == NULL) continue;
        const char *chan = number_after(o, m, "ch");
        if (strncmp(m + 2 + strlen(chan), "_ce_count", 9) != 0) continue;
        const char *label = dimm_label(o, csrow, chan);
        const char *what = nx_sprintf(o, "controller/csrow/channel %s/%s/%s", mc, row, chan);
        uint64_t v;
        if ((rc = read_count(o, csrow, base, what, &v)) < 0) break;
        nx_family(o, "node_edac_channel_correctable_errors_total",
                  "Total correctable memory errors for this channel.", PROM_COUNTER, l_ch);
        nx_samplev(o, (double)v, mc, row, chan, label, NULL);
        char *s = sr_read_all(o, nx_sprintf(o, "%s/ch%s_ue_count", csrow, chan));
        if (s == NULL || !nx_parse_u64(s, &v)) continue;
        nx_family(o, "node_edac_channel_uncorrectable_errors_total",
                  "Total uncorrectable memory errors for this channel.", PROM_COUNTER, l_ch);
        nx_samplev(o, (double)v, mc, row, chan, label, NULL);
    }
    globfree(&g);
    return rc;
}

static int collect_controller(nx_out *o, const char *dir)
{
    const char *mc = number_after(o, dir, "mc");
    const char *what = nx_sprintf(o, "controller %s", mc);
    uint64_t ce, ce_noinfo, ue, ue_noinfo;
    if (read_count(o, dir, "ce_count", what, &ce) < 0 ||
        read_count(o, dir, "ce_noinfo_count", what, &ce_noinfo) < 0 ||
        read_count(o, dir, "ue_count", what, &ue) < 0 ||
        read_count(o, dir, "ue_noinfo_count", what, &ue_noinfo) < 0)
        return -1;
    nx_family(o, "node_edac_correctable_errors_total", "Total correctable memory errors.",
              PROM_COUNTER, l_ctl);
    nx_samplev(o, (double)ce, mc, NULL);
    row_sample(o, false, (double)ce_noinfo, mc, "unknown");
    nx_family(o, "node_edac_uncorrectable_errors_total", "Total uncorrectable memory errors.",
              PROM_COUNTER, l_ctl);
    nx_samplev(o, (double)ue, mc, NULL);
    row_sample(o, true, (double)ue_noinfo, mc, "unknown");

    glob_t g;
    if (glob(nx_sprintf(o, "%s/csrow[0-9]*", dir), 0, NULL, &g) != 0) return 0;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        const char *csrow = nx_sprintf(o, "%s", g.gl_pathv[i]);
        const char *row = number_after(o, csrow, "csrow");
        const char *rwhat = nx_sprintf(o, "controller/csrow %s/%s", mc, row);
        if (read_count(o, csrow, "ce_count", rwhat, &ce) < 0 ||
            read_count(o, csrow, "ue_count", rwhat, &ue) < 0) {
            rc = -1;
            break;
        }
        row_sample(o, false, (double)ce, mc, row);
        row_sample(o, true, (double)ue, mc, row);
        rc = collect_channels(o, csrow, mc, row);
    }
    globfree(&g);
    return rc;
}

static int collect(nx_out *o)
{
    glob_t g;
    if (glob(nx_sys(o, "devices/system/edac/mc/mc[0-9]*"), 0, NULL, &g) != 0) return 0;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
        rc = collect_controller(o, nx_sprintf(o, "%s", g.gl_pathv[i]));
    globfree(&g);
    return rc;
}

const nx_collector nx_collector_edac = {
    .name = "edac",
    .default_on = true,
    .collect = collect,
};
