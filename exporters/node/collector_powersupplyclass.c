/*
 * collector_powersupplyclass.c - node_power_supply_* from the regular files of
 * /sys/class/power_supply/<supply>/.
 *
 * Values keep upstream's units: micro-units (µA, µV, µWh, µW) become A, V,
 * Wh, W; tenths of a degree become degrees.  Supplies matching
 * --collector.powersupply.ignored-supplies are left out.
 *
 * node_power_supply_info labels each supply only with the text attributes
 * it has (non-empty), as upstream, so its samples carry different label names.
 */
#include "sysfs_read.h"

#include <sys/stat.h>

static const char *ignored_supplies;
static nx_regex *ignored;

static core_flag flags[] = {
    {"collector.powersupply.ignored-supplies", CORE_FLAG_STRING, &ignored_supplies, "^$",
     "Regexp of power supplies to ignore for powersupplyclass collector.", false},
};

static const struct {
    const char *file, *metric;
    double div;
} numbers[] = {
    {"authentic", "authentic", 1},
    {"calibrate", "calibrate", 1},
    {"capacity", "capacity", 1},
    {"capacity_alert_max", "capacity_alert_max", 1},
    {"capacity_alert_min", "capacity_alert_min", 1},
    {"cycle_count", "cyclecount", 1},
    {"online", "online", 1},
    {"present", "present", 1},
    {"time_to_empty_now", "time_to_empty_seconds", 1},
    {"time_to_full_now", "time_to_full_seconds", 1},
    {"current_boot", "current_boot", 1e6},
    {"current_max", "current_max", 1e6},
    {"current_now", "current_ampere", 1e6},
    {"energy_empty", "energy_empty", 1e6},
    {"energy_empty_design", "energy_empty_design", 1e6},
    {"energy_full", "energy_full", 1e6},
    {"energy_full_design", "energy_full_design", 1e6},
    {"energy_now", "energy_watthour", 1e6},
    {"voltage_boot", "voltage_boot", 1e6},
    {"voltage_max", "voltage_max", 1e6},
    {"voltage_max_design", "voltage_max_design", 1e6},
    {"voltage_min", "voltage_min", 1e6},
    {"voltage_min_design", "voltage_min_design", 1e6},
    {"voltage_now", "voltage_volt", 1e6},
    {"voltage_ocv", "voltage_ocv", 1e6},
    {"charge_control_limit", "charge_control_limit", 1e6},
    {"charge_control_limit_max", "charge_control_limit_max", 1e6},
    {"charge_counter", "charge_counter", 1e6},
    {"charge_empty", "charge_empty", 1e6},
    {"charge_empty_design", "charge_empty_design", 1e6},
    {"charge_full", "charge_full", 1e6},
    {"charge_full_design", "charge_full_design", 1e6},
    {"charge_now", "charge_ampere", 1e6},
    {"charge_term_current", "charge_term_current", 1e6},
    {"constant_charge_current", "constant_charge_current", 1e6},
    {"constant_charge_current_max", "constant_charge_current_max", 1e6},
    {"constant_charge_voltage", "constant_charge_voltage", 1e6},
    {"constant_charge_voltage_max", "constant_charge_voltage_max", 1e6},
    {"precharge_current", "precharge_current", 1e6},
    {"input_current_limit", "input_current_limit", 1e6},
    {"power_now", "power_watt", 1e6},
    {"temp", "temp_celsius", 10},
    {"temp_alert_max", "temp_alert_max_celsius", 10},
    {"temp_alert_min", "temp_alert_min_celsius", 10},
    {"temp_ambient", "temp_ambient_celsius", 10},
    {"temp_ambient_max", "temp_ambient_max_celsius", 10},
    {"temp_ambient_min", "temp_ambient_min_celsius", 10},
    {"temp_max", "temp_max_celsius", 10},
    {"temp_min", "temp_min_celsius", 10},
};
#define N_NUMBERS (sizeof numbers / sizeof numbers[0])

/* The info labels after power_supply, in a fixed order. */
static const char *const texts[] = {"capacity_level", "charge_type",   "health", "manufacturer",
                                    "model_name",     "serial_number", "status", "technology",
                                    "type",           "usb_type",      "scope"};
#define N_TEXTS (sizeof texts / sizeof texts[0])

typedef struct supply {
    const char *name;
    const char *text[N_TEXTS];
} supply;

static int read_supply(nx_out *o, const char *dir, supply *s)
{
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0) return nx_error(o, "could not get power_supply class info: %s: %m", dir);
    static const char *const supply_label[] = {"power_supply", NULL};
    for (int i = 0; i < n; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, names[i]);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        char *v = sr_read(o, path);
        if (v == NULL) {
            if (errno == ENOENT || errno == EOPNOTSUPP || errno == ENODEV || errno == EINVAL ||
                errno == EACCES)
                continue;
            return nx_error(o, "failed to read file %s: %m", path);
        }
        for (size_t k = 0; k < N_TEXTS; k++)
            if (strcmp(names[i], texts[k]) == 0) s->text[k] = *v ? nx_valid_utf8(o, v) : NULL;
        for (size_t k = 0; k < N_NUMBERS; k++) {
            if (strcmp(names[i], numbers[k].file) != 0) continue;
            int64_t x;
            if (!sr_i64(v, &x)) {
                nx_warn(o, "skipping %s: not a number: %.40s", path, v);
                break;
            }
            nx_family(o, nx_sprintf(o, "node_power_supply_%s", numbers[k].metric),
                      nx_sprintf(o, "%s value of /sys/class/power_supply/<power_supply>.",
                                 numbers[k].metric),
                      PROM_GAUGE, supply_label);
            nx_samplev(o, numbers[k].div == 1 ? (double)x : (double)x / numbers[k].div, s->name,
                       NULL);
        }
    }
    return 0;
}

/* Each supply with only the text attributes it has (a NULL value leaves the
 * label out of that sample), as upstream's per-supply descriptions. */
static void emit_info(nx_out *o, const supply *v, size_t n)
{
    const char *labels[N_TEXTS + 2] = {"power_supply"};
    for (size_t k = 0; k < N_TEXTS; k++)
        labels[k + 1] = texts[k];
    labels[N_TEXTS + 1] = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *values[N_TEXTS + 1] = {v[i].name};
        for (size_t k = 0; k < N_TEXTS; k++)
            values[k + 1] = v[i].text[k];
        nx_family(o, "node_power_supply_info", "info of /sys/class/power_supply/<power_supply>.",
                  PROM_GAUGE, labels);
        nx_sample(o, 1, values);
    }
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/power_supply");
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0 && errno == ENOENT)
        return nx_no_data(o, "power_supply class not found, skipping: %s", class_dir);
    if (n < 0) return nx_error(o, "could not get power_supply class info: %s: %m", class_dir);
    supply *v = core_arena_alloc(nx_arena(o), ((size_t)n + 1) * sizeof *v);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (ignored != NULL && nx_regex_match(ignored, names[i])) continue;
        v[k] = (supply){.name = names[i]};
        if (read_supply(o, nx_sprintf(o, "%s/%s", class_dir, names[i]), &v[k]) < 0) return -1;
        k++;
    }
    emit_info(o, v, k);
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(ignored);
    ignored = NULL;
    if (ignored_supplies != NULL && strcmp(ignored_supplies, "^$") == 0) return 0;
    return nx_regex_compile(ignored_supplies, "collector.powersupply.ignored-supplies", &ignored,
                            err);
}

const nx_collector nx_collector_powersupplyclass = {
    .name = "powersupplyclass",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
