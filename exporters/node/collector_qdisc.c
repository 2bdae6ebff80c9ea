/*
 * collector_qdisc.c - node_qdisc_* per root queueing discipline.
 *
 * Only upstream's fixture path is implemented: --collector.qdisc.fixtures=<dir>
 * reads <dir>/results.json, a JSON array of qdisc objects (IfaceName, Parent,
 * Kind, Bytes, Packets, Drops, Requeues, Overlimits, Qlen, Backlog; keys
 * matched case-insensitively as Go's encoding/json does, absent ones 0).
 * Without it the collector fails: reading qdiscs over rtnetlink is not done
 * yet.  Only root qdiscs (Parent 0) are reported, filtered by
 * --collector.qdisc.device-include/-exclude (or the deprecated qdisk names).
 */
#include "statfile_util.h"

#include <jansson.h>
#include <math.h>

static const char *fixtures, *dev_include, *dev_exclude, *old_include, *old_exclude;
static nx_filter filter;

static core_flag flags[] = {
    {"collector.qdisc.fixtures", CORE_FLAG_STRING, &fixtures, "",
     "test fixtures to use for qdisc collector end-to-end testing", false},
    {"collector.qdisc.device-include", CORE_FLAG_STRING, &dev_include, NULL,
     "Regexp of qdisc devices to include (mutually exclusive to device-exclude).", false},
    {"collector.qdisk.device-include", CORE_FLAG_STRING, &old_include, NULL,
     "DEPRECATED: Use collector.qdisc.device-include", false},
    {"collector.qdisc.device-exclude", CORE_FLAG_STRING, &dev_exclude, NULL,
     "Regexp of qdisc devices to exclude (mutually exclusive to device-include).", false},
    {"collector.qdisk.device-exclude", CORE_FLAG_STRING, &old_exclude, NULL,
     "DEPRECATED: Use collector.qdisc.device-exclude", false},
};

static bool set(const char *s)
{
    return s != NULL && *s != '\0';
}

/* Applies a deprecated flag's value to its replacement. */
static int take_old(const char *old_name, const char *old, const char *name, const char **dest,
                    core_err *err)
{
    if (!set(old)) return 0;
    if (set(*dest))
        return core_err_set(err, "--collector.%s and --collector.%s are mutually exclusive",
                            old_name, name);
    core_warn("collector", "flag is DEPRECATED and will be removed in 2.0.0", "flag", old_name,
              "use", name);
    *dest = old;
    return 0;
}

static int init(core_err *err)
{
    if (take_old("qdisk.device-include", old_include, "qdisc.device-include", &dev_include, err) ||
        take_old("qdisk.device-exclude", old_exclude, "qdisc.device-exclude", &dev_exclude, err))
        return -1;
    if (set(dev_include) && set(dev_exclude))
        return core_err_set(err, "collector.qdisc.device-include and "
                                 "collector.qdisc.device-exclude are mutaly exclusive");
    nx_regex_free(filter.include); /* when init runs again (tests) */
    nx_regex_free(filter.exclude);
    return nx_filter_init(&filter, set(dev_include) ? dev_include : NULL,
                          set(dev_exclude) ? dev_exclude : NULL, "qdisc", err);
}

enum { F_PARENT, F_BYTES, F_PACKETS, F_DROPS, F_REQUEUES, F_OVERLIMITS, F_QLEN, F_BACKLOG, N_F };
static const char *const number_keys[N_F] = {"Parent",   "Bytes",      "Packets", "Drops",
                                             "Requeues", "Overlimits", "Qlen",    "Backlog"};

typedef struct qdisc_info {
    const char *iface, *kind;
    double v[N_F];
} qdisc_info;

/* One array element into info; false when a value has the wrong type. */
static bool decode(json_t *obj, qdisc_info *info)
{
    memset(info, 0, sizeof *info);
    info->iface = info->kind = "";
    if (!json_is_object(obj)) return false;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (strcasecmp(key, "IfaceName") == 0 || strcasecmp(key, "Kind") == 0) {
            if (json_is_null(val)) continue;
            if (!json_is_string(val)) return false;
            *(strcasecmp(key, "Kind") == 0 ? &info->kind : &info->iface) = json_string_value(val);
            continue;
        }
        for (int i = 0; i < N_F; i++) {
            if (strcasecmp(key, number_keys[i]) != 0 || json_is_null(val)) continue;
            if (!json_is_integer(val) || json_integer_value(val) < 0) return false;
            info->v[i] = (double)json_integer_value(val);
        }
    }
    return true;
}

static void emit(nx_out *o, const qdisc_info *q)
{
    static const char *const labels[] = {"device", "kind", NULL};
    static const struct {
        const char *name, *help;
        int field;
        prom_type type;
    } metrics[] = {
        {"node_qdisc_bytes_total", "Number of bytes sent.", F_BYTES, PROM_COUNTER},
        {"node_qdisc_packets_total", "Number of packets sent.", F_PACKETS, PROM_COUNTER},
        {"node_qdisc_drops_total", "Number of packets dropped.", F_DROPS, PROM_COUNTER},
        {"node_qdisc_requeues_total", "Number of packets dequeued, not transmitted, and requeued.",
         F_REQUEUES, PROM_COUNTER},
        {"node_qdisc_overlimits_total", "Number of overlimit packets.", F_OVERLIMITS, PROM_COUNTER},
        {"node_qdisc_current_queue_length", "Number of packets currently in queue to be sent.",
         F_QLEN, PROM_GAUGE},
        {"node_qdisc_backlog", "Number of bytes currently in queue to be sent.", F_BACKLOG,
         PROM_GAUGE},
    };
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        nx_family(o, metrics[i].name, metrics[i].help, metrics[i].type, labels);
        nx_samplev(o, q->v[metrics[i].field], q->iface, q->kind, NULL);
    }
}

static int collect(nx_out *o)
{
    if (!set(fixtures))
        return nx_error(o, "reading qdiscs over netlink is not supported yet; "
                           "only --collector.qdisc.fixtures is");
    const char *path = nx_sprintf(o, "%s/results.json", fixtures);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) return nx_error(o, "%s:%d: %s", path, jerr.line, jerr.text);
    if (!json_is_array(root) && !json_is_null(root)) {
        json_decref(root);
        return nx_error(o, "%s: not a JSON array of qdiscs", path);
    }
    size_t n = json_is_array(root) ? json_array_size(root) : 0;
    qdisc_info *all = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        if (!decode(json_array_get(root, i), &all[i])) {
            json_decref(root);
            return nx_error(o, "%s: element %zu is not a valid qdisc", path, i);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (all[i].v[F_PARENT] == 0 && !nx_filter_ignored(&filter, all[i].iface)) emit(o, &all[i]);
    json_decref(root);
    return 0;
}

const nx_collector nx_collector_qdisc = {
    .name = "qdisc",
    .default_on = false,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
