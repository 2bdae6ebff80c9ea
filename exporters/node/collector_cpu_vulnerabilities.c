/*
 * collector_cpu_vulnerabilities.c - node_cpu_vulnerabilities_info from the
 * files of /sys/devices/system/cpu/vulnerabilities/: the state is the
 * (case-insensitive) leading "not affected", "vulnerable", "mitigation" or
 * "unknown", the mitigation label the words after the first one joined by
 * single spaces; other text is state "unknown" with the whole text as the
 * mitigation.  An unreadable file fails the scrape, as upstream.
 */
#include "sysfs_read.h"

#include <glob.h>
#include <strings.h>

/* The words of s after the first, joined with single spaces. */
static const char *rest_words(nx_out *o, char *s)
{
    char *f[256];
    size_t n = nx_fields(s, f, 256);
    core_sb sb = CORE_SB_INIT;
    for (size_t i = 1; i < n; i++) {
        if (i > 1) core_sb_addc(&sb, ' ');
        core_sb_adds(&sb, f[i]);
    }
    const char *out = core_arena_strdup(nx_arena(o), sb.buf != NULL ? sb.buf : "");
    core_sb_destroy(&sb);
    return out;
}

static int collect(nx_out *o)
{
    glob_t g;
    if (glob(nx_sys(o, "devices/system/cpu/vulnerabilities/*"), 0, NULL, &g) != 0) return 0;
    static const char *const labels[] = {"codename", "state", "mitigation", NULL};
    static const char *const states[] = {"not affected", "vulnerable", "mitigation", "unknown"};
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = sr_read_all(o, g.gl_pathv[i]);
        if (text == NULL) {
            rc = nx_error(o, "failed to get vulnerabilities: %s: %m", g.gl_pathv[i]);
            break;
        }
        const char *state = "unknown", *mitigation = text;
        for (size_t k = 0; k < 4; k++) {
            if (strncasecmp(text, states[k], strlen(states[k])) != 0) continue;
            state = states[k];
            mitigation = k == 0 ? "" : rest_words(o, text);
            break;
        }
        nx_family(o, "node_cpu_vulnerabilities_info",
                  "Details of each CPU vulnerability reported by sysfs. The value of the series is "
                  "an int encoded state of the vulnerability. The same state is stored as a string "
                  "in the label",
                  PROM_GAUGE, labels);
        nx_samplev(o, 1, strrchr(g.gl_pathv[i], '/') + 1, state, mitigation, NULL);
    }
    globfree(&g);
    return rc;
}

const nx_collector nx_collector_cpu_vulnerabilities = {
    .name = "cpu_vulnerabilities",
    .default_on = false,
    .collect = collect,
};
