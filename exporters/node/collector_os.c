/*
 * collector_os.c - node_os_info, node_os_version and
 * node_os_support_end_timestamp_seconds from <rootfs>/etc/os-release, or
 * <rootfs>/usr/lib/os-release when that is missing ("no data" when both are).
 *
 * The files are read as shell-style KEY=VALUE assignments (as envparse):
 * double quotes allow backslash escapes, single quotes are literal, "export "
 * and comments are ignored.  node_os_version is the leading "major.minor" of
 * VERSION_ID, printed only when above 0.
 */
#include "node.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    BUILD_ID,
    ID,
    ID_LIKE,
    IMAGE_ID,
    IMAGE_VERSION,
    NAME,
    PRETTY_NAME,
    VARIANT,
    VARIANT_ID,
    VERSION,
    VERSION_CODENAME,
    VERSION_ID,
    SUPPORT_END,
    N_KEYS
};

static const char *const keys[N_KEYS] = {
    "BUILD_ID",    "ID",      "ID_LIKE",    "IMAGE_ID", "IMAGE_VERSION",    "NAME",
    "PRETTY_NAME", "VARIANT", "VARIANT_ID", "VERSION",  "VERSION_CODENAME", "VERSION_ID",
    "SUPPORT_END",
};

/* Unquotes a value in place; false when a quote is not closed. */
static bool unquote(char *v)
{
    char *out = v, quote = 0;
    for (char *p = v; *p != '\0'; p++) {
        if (quote == 0 && (*p == '"' || *p == '\'')) {
            quote = *p;
        } else if (quote != 0 && *p == quote) {
            quote = 0;
        } else if (quote != '\'' && *p == '\\' && p[1] != '\0') {
            p++;
            *out++ = quote == '"' && *p == 'n' ? '\n' : *p;
        } else if (quote == 0 && *p == '#' && (out == v || isspace((unsigned char)out[-1]))) {
            break; /* a trailing comment */
        } else {
            *out++ = *p;
        }
    }
    while (quote == 0 && out > v && isspace((unsigned char)out[-1]))
        out--;
    *out = '\0';
    return quote == 0;
}

static void parse(nx_out *o, char *text, const char *path, const char **values)
{
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '\0' || *line == '#') continue;
        if (strncmp(line, "export ", 7) == 0) line += 7;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            nx_warn(o, "malformed line in %s: %.40s", path, line);
            continue;
        }
        *eq = '\0';
        char *value = eq + 1;
        if (!unquote(value)) {
            nx_warn(o, "unterminated quote in %s for %s", path, line);
            continue;
        }
        for (size_t i = 0; i < N_KEYS; i++)
            if (strcmp(line, keys[i]) == 0) values[i] = value;
    }
}

/* The leading `^[0-9]+\.?[0-9]*` of VERSION_ID, as a number (0 when none). */
static double major_minor(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0) return 0;
    if (s[n] == '.') n += 1 + strspn(s + n + 1, "0123456789");
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(n < 63 ? n : 63), s);
    return strtod(buf, NULL);
}

/* "YYYY-MM-DD" as a Unix time (UTC midnight); false when malformed. */
static bool parse_date(const char *s, double *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0' || strlen(s) != 10) return false;
    *out = (double)timegm(&tm);
    return true;
}

static int collect(nx_out *o)
{
    const char *path = nx_root(o, "etc/os-release");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT) {
        path = nx_root(o, "usr/lib/os-release");
        text = nx_read_file(o, path, NULL);
    }
    if (text == NULL && errno == ENOENT) return nx_no_data(o, "collector returned no data");
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    const char *v[N_KEYS];
    for (size_t i = 0; i < N_KEYS; i++)
        v[i] = "";
    parse(o, text, path, v);
    double support_end = 0;
    if (v[SUPPORT_END][0] != '\0' && !parse_date(v[SUPPORT_END], &support_end))
        return nx_error(o, "cannot parse SUPPORT_END %.20s in %s", v[SUPPORT_END], path);
    static const char *const info_labels[] = {
        "build_id",    "id",      "id_like",    "image_id", "image_version",    "name",
        "pretty_name", "variant", "variant_id", "version",  "version_codename", "version_id",
        NULL};
    nx_family(o, "node_os_info",
              "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, "
              "image_version, name, pretty_name, variant, variant_id, version, version_codename, "
              "version_id.",
              PROM_GAUGE, info_labels);
    nx_samplev(o, 1, v[BUILD_ID], v[ID], v[ID_LIKE], v[IMAGE_ID], v[IMAGE_VERSION], v[NAME],
               v[PRETTY_NAME], v[VARIANT], v[VARIANT_ID], v[VERSION], v[VERSION_CODENAME],
               v[VERSION_ID], NULL);
    double version = major_minor(v[VERSION_ID]);
    if (version > 0) {
        static const char *const version_labels[] = {"id", "id_like", "name", NULL};
        nx_family(o, "node_os_version", "Metric containing the major.minor part of the OS version.",
                  PROM_GAUGE, version_labels);
        nx_samplev(o, version, v[ID], v[ID_LIKE], v[NAME], NULL);
    }
    if (v[SUPPORT_END][0] != '\0')
        nx_gauge(o, "node_os_support_end_timestamp_seconds",
                 "Metric containing the end-of-life date timestamp of the OS.", support_end);
    return 0;
}

const nx_collector nx_collector_os = {
    .name = "os",
    .default_on = true,
    .collect = collect,
};
