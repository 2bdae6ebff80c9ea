/*
 * collector_vmstat.c - node_vmstat_<field> (untyped) from /proc/vmstat, the
 * fields filtered by --collector.vmstat.fields.  A name table (nx_names)
 * keeps the regex's answer and the family's name and help per field, so a
 * line costs a hash lookup rather than a regex match and two printfs.
 */
#include "node.h"

#include <string.h>

static const char *fields_flag;
static nx_regex *fields_re;

static core_flag flags[] = {
    {"collector.vmstat.fields", CORE_FLAG_STRING, &fields_flag, "^(oom_kill|pgpg|pswp|pg.*fault).*",
     "Regexp of fields to return for vmstat collector.", false},
};

/* Per field name: whether the regex wants it, and its family's name and help. */
static nx_names names = NX_NAMES_INIT;

static void make_name(nx_out *o, const char *field, nx_name *e, void *ctx)
{
    e->wanted = nx_regex_match(fields_re, field);
    if (!e->wanted) return;
    e->family = nx_sprintf(o, "node_vmstat_%s", field);
    e->help = nx_sprintf(o, "/proc/vmstat information field %s.", field);
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "vmstat");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[2];
        if (nx_fields(line, f, 2) < 2) {
            nx_warn(o, "malformed line in %s: %.40s", path, line);
            continue;
        }
        const nx_name *e = nx_names_get(&names, o, f[0], strlen(f[0]), make_name, NULL);
        if (!e->wanted) continue; /* its value is not even parsed */
        double v;
        if (!nx_parse_double(f[1], &v)) {
            nx_warn(o, "malformed line in %s: %.40s", path, line);
            continue;
        }
        nx_family(o, e->family, e->help, PROM_UNTYPED, NULL);
        nx_sample(o, v, NULL);
    }
    return 0;
}

static int init(core_err *err)
{
    nx_names_clear(&names);
    nx_regex_free(fields_re); /* init may run again (tests) */
    return nx_regex_compile(fields_flag, "collector.vmstat.fields", &fields_re, err);
}

const nx_collector nx_collector_vmstat = {
    .name = "vmstat",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
