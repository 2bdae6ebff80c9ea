/*
 * collector_hwmon.c - node_hwmon_* from the hardware monitor chips.
 *
 * Two sources, one set of metric names.  With --path.sysfs anything but
 * "/sys" (a fixture tree, a container's bind mount) the files under
 * <sysfs>/class/hwmon/hwmonN (and their device/ subdirectory) are read the
 * way upstream does.  With --path.sysfs=/sys the chips are read through
 * libsensors, initialised with the system configuration, so the labels,
 * compute lines and ignore statements of sensors.conf apply; the kinds of
 * sensor libsensors has no notion of (pwm, freq, vrm, update_interval) are
 * still read from the chip's directory.  If libsensors cannot start (/sys not
 * sysfs, a broken configuration) the collector falls back to reading sysfs.
 *
 * Upstream quirks kept: chips are named after their device link
 * (platform_coretemp_0), chips sharing a device get the name file (or hwmonN)
 * as suffix; a sensor's "input" element is its plain value unless the sensor
 * also has a bare file; freq sensors report under their cleaned label; each
 * value file is read with a single read of at most 128 bytes.
 */
#include "node.h"

#include <sensors/sensors.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *chip_include, *chip_exclude, *sensor_include, *sensor_exclude;
static nx_filter chip_filter, sensor_filter;

static core_flag flags[] = {
    {"collector.hwmon.chip-include", CORE_FLAG_STRING, &chip_include, NULL,
     "Regexp of hwmon chip to include (mutually exclusive to device-exclude).", false},
    {"collector.hwmon.chip-exclude", CORE_FLAG_STRING, &chip_exclude, NULL,
     "Regexp of hwmon chip to exclude (mutually exclusive to device-include).", false},
    {"collector.hwmon.sensor-include", CORE_FLAG_STRING, &sensor_include, NULL,
     "Regexp of hwmon sensor to include (mutually exclusive to sensor-exclude).", false},
    {"collector.hwmon.sensor-exclude", CORE_FLAG_STRING, &sensor_exclude, NULL,
     "Regexp of hwmon sensor to exclude (mutually exclusive to sensor-include).", false},
};

static const char *const sensor_types[] = {
    "vrm",  "beep_enable", "update_interval", "in",     "cpu",      "fan",       "pwm",
    "temp", "curr",        "power",           "energy", "humidity", "intrusion", "freq",
};

/* ---- Per-chip data: sensor -> element -> value */

typedef struct hw_elem {
    const char *name; /* "" for the bare file, "input", "max", "label", ... */
    const char *text; /* the file's content (sysfs), or NULL */
    double value;     /* libsensors' value when text is NULL */
    double scale;     /* libsensors' divisor for that value */
} hw_elem;

typedef struct hw_sensor {
    const char *name; /* "temp1" */
    hw_elem *elems;
    size_t n, cap;
} hw_sensor;

typedef struct hw_chip {
    hw_sensor *sensors;
    size_t n, cap;
} hw_chip;

static hw_sensor *chip_sensor(nx_out *o, hw_chip *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->sensors[i].name, name) == 0) return &c->sensors[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->sensors = core_reallocarray(c->sensors, c->cap, sizeof *c->sensors);
    }
    c->sensors[c->n] = (hw_sensor){.name = core_arena_strdup(nx_arena(o), name)};
    return &c->sensors[c->n++];
}

static hw_elem *sensor_elem(nx_out *o, hw_sensor *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->elems[i].name, name) == 0) return &s->elems[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->elems = core_reallocarray(s->elems, s->cap, sizeof *s->elems);
    }
    s->elems[s->n] = (hw_elem){.name = core_arena_strdup(nx_arena(o), name)};
    return &s->elems[s->n++];
}

static const hw_elem *find_elem(const hw_sensor *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->elems[i].name, name) == 0) return &s->elems[i];
    return NULL;
}

static void chip_free(hw_chip *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->sensors[i].elems);
    free(c->sensors);
    *c = (hw_chip){0};
}

/* ---- Names */

/* Lower case, every character outside [a-z0-9:_] made '_' (a UTF-8
 * sequence counting as one character), '_' trimmed at both ends. */
static char *clean_name(nx_out *o, const char *s)
{
    size_t n = strlen(s);
    char *out = core_arena_alloc(nx_arena(o), n + 1), *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_') {
            *w++ = (char)c;
            continue;
        }
        *w++ = '_';
        if (c >= 0xC0)
            while ((p[1] & 0xC0) == 0x80)
                p++;
    }
    *w = '\0';
    char *start = out;
    while (*start == '_')
        start++;
    while (w > start && w[-1] == '_')
        *--w = '\0';
    return start;
}

/* Splits a file name as ^([^0-9]+)([0-9]*)(_(.+))?$ with Go's leftmost-first
 * preference: type, number (0 when absent) and property ("" when absent). */
static bool explode(const char *name, char *type, size_t type_cap, long *num, const char **prop)
{
    size_t t = strcspn(name, "0123456789");
    if (t == 0) return false;
    size_t d = strspn(name + t, "0123456789");
    const char *rest = name + t + d;
    if (!(*rest == '\0' || (rest[0] == '_' && rest[1] != '\0'))) {
        /* backtrack: the longest type followed by "_<something>" and no number */
        while (t > 1 && !(name[t - 1] == '_' && name[t] != '\0'))
            t--;
        if (t <= 1) return false;
        t--;
        d = 0;
        rest = name + t;
    }
    if (t >= type_cap || d > 18) return false;
    memcpy(type, name, t);
    type[t] = '\0';
    *num = d > 0 ? strtol(name + t, NULL, 10) : 0;
    *prop = *rest == '_' ? rest + 1 : rest;
    return true;
}

static bool known_type(const char *type)
{
    for (size_t i = 0; i < sizeof sensor_types / sizeof sensor_types[0]; i++)
        if (strcmp(sensor_types[i], type) == 0) return true;
    return false;
}

/* ---- Reading a chip's directory */

/* One read of at most 128 bytes, as upstream (broken drivers answer EAGAIN
 * forever to a read loop); the newlines at both ends are dropped. */
static char *read_value(nx_out *o, const char *path)
{
    char buf[129];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buf, 128);
    close(fd);
    if (n < 0) return NULL;
    char *p = buf;
    while (n > 0 && p[n - 1] == '\n')
        n--;
    while (n > 0 && *p == '\n')
        p++, n--;
    return core_arena_strndup(nx_arena(o), p, (size_t)n);
}

static bool lib_lacks_kind(const char *type)
{
    return strcmp(type, "pwm") == 0 || strcmp(type, "freq") == 0 || strcmp(type, "vrm") == 0 ||
           strcmp(type, "update_interval") == 0;
}

/* The sensor called name if the chip has it already, or NULL. */
static hw_sensor *find_sensor(hw_chip *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->sensors[i].name, name) == 0) return &c->sensors[i];
    return NULL;
}

/* Adds the sensor files of dir.  After libsensors (`after_lib`) only what it
 * did not give is added: the kinds it lacks, and the properties it does not
 * read (fan target, tolerance...) of the sensors it shows; a sensor it does
 * not show was ignored by sensors.conf and stays out. */
static int read_dir(nx_out *o, hw_chip *c, const char *dir, bool after_lib)
{
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        char type[64], sensor[96];
        long num;
        const char *prop;
        if (!explode(names[i], type, sizeof type, &num, &prop) || !known_type(type)) continue;
        snprintf(sensor, sizeof sensor, "%s%ld", type, num);
        if (after_lib && !lib_lacks_kind(type)) {
            hw_sensor *known = find_sensor(c, sensor);
            if (known == NULL || find_elem(known, prop) != NULL) continue;
        }
        char *text = read_value(o, nx_sprintf(o, "%s/%s", dir, names[i]));
        if (text == NULL) continue;
        sensor_elem(o, chip_sensor(o, c, sensor), prop)->text = text;
    }
    return 0;
}

static int read_chip_dir(nx_out *o, hw_chip *c, const char *dir, bool after_lib)
{
    if (read_dir(o, c, dir, after_lib) < 0) return -1;
    const char *dev = nx_sprintf(o, "%s/device", dir);
    struct stat st;
    if (stat(dev, &st) == 0 && read_dir(o, c, dev, after_lib) < 0) return -1;
    return 0;
}

/* ---- Emitting */

enum conv { RAW, MILLI, MICRO }; /* upstream's value, value*0.001, value/1e6 */

/* The element's value as upstream computes it from the sysfs number. */
static bool elem_value(const hw_elem *e, enum conv conv, double *out)
{
    double raw;
    if (e->text == NULL) {
        if ((conv == RAW && e->scale == 1) || (conv == MILLI && e->scale == 1000) ||
            (conv == MICRO && e->scale == 1000000)) {
            *out = e->value; /* libsensors already divided by what upstream divides by */
            return true;
        }
        raw = e->value * e->scale;
    } else if (!nx_parse_double(e->text, &raw)) {
        return false;
    }
    *out = conv == MILLI ? raw * 0.001 : conv == MICRO ? raw / 1000000.0 : raw;
    return true;
}

static const char *const chip_sensor_labels[] = {"chip", "sensor", NULL};

static void put(nx_out *o, const char *name, const char *help, prom_type type, double v,
                const char *chip, const char *sensor)
{
    nx_family(o, name, help, type, chip_sensor_labels);
    nx_samplev(o, v, chip, sensor, NULL);
}

static void emit_element(nx_out *o, const char *chip, const hw_sensor *s, const char *stype,
                         const hw_elem *e)
{
    const char *el = e->name;
    char name[256], help[512];
    if (strcmp(el, "input") == 0 && find_elem(s, "") != NULL)
        snprintf(name, sizeof name, "node_hwmon_%s_input", stype);
    else if (*el != '\0' && strcmp(el, "input") != 0)
        snprintf(name, sizeof name, "node_hwmon_%s_%s", stype, clean_name(o, el));
    else
        snprintf(name, sizeof name, "node_hwmon_%s", stype);
    double v;
    if (!elem_value(e, RAW, &v)) return;
    const char *sn = s->name;
#define NAMED(suffix) nx_sprintf(o, "%s%s", name, suffix)
    if (strcmp(el, "fault") == 0 || strcmp(el, "alarm") == 0) {
        snprintf(help, sizeof help, "Hardware sensor %s status (%s)", el, stype);
        put(o, name, help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(el, "beep") == 0) {
        put(o, NAMED("_enabled"), "Hardware monitor sensor has beeping enabled", PROM_GAUGE, v,
            chip, sn);
    } else if (strcmp(stype, "in") == 0 || strcmp(stype, "cpu") == 0) {
        snprintf(help, sizeof help, "Hardware monitor for voltage (%s)", el);
        if (elem_value(e, MILLI, &v)) put(o, NAMED("_volts"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "temp") == 0 && strcmp(el, "type") != 0) {
        snprintf(help, sizeof help, "Hardware monitor for temperature (%s)", *el ? el : "input");
        if (elem_value(e, MILLI, &v)) put(o, NAMED("_celsius"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "curr") == 0) {
        snprintf(help, sizeof help, "Hardware monitor for current (%s)", el);
        if (elem_value(e, MILLI, &v)) put(o, NAMED("_amps"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "energy") == 0) {
        snprintf(help, sizeof help, "Hardware monitor for joules used so far (%s)", el);
        if (elem_value(e, MICRO, &v))
            put(o, NAMED("_joule_total"), help, PROM_COUNTER, v, chip, sn);
    } else if (strcmp(stype, "power") == 0 && strcmp(el, "accuracy") == 0) {
        if (elem_value(e, MICRO, &v))
            put(o, name, "Hardware monitor power meter accuracy, as a ratio", PROM_GAUGE, v, chip,
                sn);
    } else if (strcmp(stype, "power") == 0 && strncmp(el, "average_interval", 16) == 0 &&
               (el[16] == '\0' || strcmp(el + 16, "_min") == 0 || strcmp(el + 16, "_max") == 0)) {
        snprintf(help, sizeof help, "Hardware monitor power usage update interval (%s)", el);
        if (elem_value(e, MILLI, &v)) put(o, NAMED("_seconds"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "power") == 0) {
        snprintf(help, sizeof help, "Hardware monitor for power usage in watts (%s)", el);
        if (elem_value(e, MICRO, &v)) put(o, NAMED("_watt"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "humidity") == 0) {
        snprintf(help, sizeof help,
                 "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the "
                 "humidity as a percentage) (%s)",
                 el);
        if (elem_value(e, MICRO, &v)) put(o, name, help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "fan") == 0 && (strcmp(el, "input") == 0 || strcmp(el, "min") == 0 ||
                                             strcmp(el, "max") == 0 || strcmp(el, "target") == 0)) {
        snprintf(help, sizeof help, "Hardware monitor for fan revolutions per minute (%s)", el);
        put(o, NAMED("_rpm"), help, PROM_GAUGE, v, chip, sn);
    } else if (strcmp(stype, "freq") == 0 && strcmp(el, "input") == 0) {
        const hw_elem *label = find_elem(s, "label");
        if (label != NULL && label->text != NULL && elem_value(e, MICRO, &v))
            put(o, NAMED("_freq_mhz"), "Hardware monitor for GPU frequency in MHz", PROM_GAUGE, v,
                chip, clean_name(o, label->text));
    } else {
        snprintf(help, sizeof help, "Hardware monitor %s element %s", stype, el);
        put(o, name, help, PROM_GAUGE, v, chip, sn);
    }
#undef NAMED
}

static void emit_sensor(nx_out *o, const char *chip, const hw_sensor *s)
{
    if (nx_filter_ignored(&sensor_filter, nx_sprintf(o, "%s;%s", chip, s->name))) return;
    char stype[64];
    long num;
    const char *prop;
    if (!explode(s->name, stype, sizeof stype, &num, &prop)) return;
    const hw_elem *label = find_elem(s, "label");
    if (label != NULL && label->text != NULL) {
        static const char *const l[] = {"chip", "sensor", "label", NULL};
        nx_family(o, "node_hwmon_sensor_label", "Label for given chip and sensor", PROM_GAUGE, l);
        nx_samplev(o, 1, chip, s->name, nx_valid_utf8(o, label->text), NULL);
    }
    const hw_elem *bare = find_elem(s, "");
    double v;
    if (strcmp(stype, "beep_enable") == 0) {
        bool on =
            bare != NULL && (bare->text != NULL ? strcmp(bare->text, "1") == 0 : bare->value == 1);
        put(o, "node_hwmon_beep_enabled", "Hardware beep enabled", PROM_GAUGE, on, chip, s->name);
        return;
    }
    if (strcmp(stype, "vrm") == 0) {
        if (bare != NULL && elem_value(bare, RAW, &v))
            put(o, "node_hwmon_voltage_regulator_version", "Hardware voltage regulator", PROM_GAUGE,
                v, chip, s->name);
        return;
    }
    if (strcmp(stype, "update_interval") == 0) {
        if (bare != NULL && elem_value(bare, MILLI, &v))
            put(o, "node_hwmon_update_interval_seconds", "Hardware monitor update interval",
                PROM_GAUGE, v, chip, s->name);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->elems[i].name, "label") != 0) emit_element(o, chip, s, stype, &s->elems[i]);
}

static void emit_chip(nx_out *o, const char *chip, const char *dir, const hw_chip *c)
{
    char *raw = nx_read_file(o, nx_sprintf(o, "%s/name", dir), NULL);
    if (raw != NULL && *raw != '\0' && *clean_name(o, raw) != '\0') {
        static const char *const l[] = {"chip", "chip_name", NULL};
        nx_family(o, "node_hwmon_chip_names", "Annotation metric for human-readable chip names",
                  PROM_GAUGE, l);
        nx_samplev(o, 1, chip, clean_name(o, raw), NULL);
    }
    for (size_t i = 0; i < c->n; i++)
        emit_sensor(o, chip, &c->sensors[i]);
}

/* ---- Chips and their names */

typedef struct hw_entry {
    const char *dir;
    const char *base;      /* name from the device link, name file or hwmonN */
    const char *name_file; /* the name file, blanks trimmed, or "" */
    const sensors_chip_name *lib;
} hw_entry;

static const char *last_elem(nx_out *o, const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/')
        s--;
    return core_arena_strndup(nx_arena(o), path + s, n - s);
}

static const char *chip_base_name(nx_out *o, const char *dir)
{
    char real[PATH_MAX];
    if (realpath(nx_sprintf(o, "%s/device", dir), real) != NULL) {
        const char *dev = clean_name(o, last_elem(o, real));
        char *slash = strrchr(real, '/');
        if (slash != NULL) *slash = '\0';
        const char *type = clean_name(o, last_elem(o, real[0] ? real : "/"));
        if (*type != '\0' && *dev != '\0') return nx_sprintf(o, "%s_%s", type, dev);
        if (*dev != '\0') return dev;
    }
    char *raw = nx_read_file(o, nx_sprintf(o, "%s/name", dir), NULL);
    if (raw != NULL && *raw != '\0' && *clean_name(o, raw) != '\0') return clean_name(o, raw);
    if (realpath(dir, real) == NULL) return NULL;
    const char *name = clean_name(o, last_elem(o, real));
    return *name != '\0' ? name : NULL;
}

static const char *trim_space(nx_out *o, const char *s)
{
    if (s == NULL) return "";
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\n\r\v\f", s[n - 1]) != NULL)
        n--;
    return core_arena_strndup(nx_arena(o), s, n);
}

static bool add_entry(nx_out *o, hw_entry *e, const char *dir)
{
    e->dir = dir;
    e->base = chip_base_name(o, dir);
    if (e->base == NULL) return false;
    e->name_file = trim_space(o, nx_read_file(o, nx_sprintf(o, "%s/name", dir), NULL));
    return true;
}

/* The unique chip label of entry i: the base name, or with a suffix when
 * other chips share it. */
static const char *chip_label(nx_out *o, const hw_entry *v, size_t n, size_t i)
{
    size_t same_base = 0, same_name = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(v[k].base, v[i].base) != 0) continue;
        same_base++;
        if (strcmp(v[k].name_file, v[i].name_file) == 0) same_name++;
    }
    if (same_base <= 1) return v[i].base;
    const char *suffix = clean_name(o, v[i].name_file);
    if (*suffix == '\0' || same_name > 1) suffix = clean_name(o, last_elem(o, v[i].dir));
    return nx_sprintf(o, "%s_%s", v[i].base, suffix);
}

/* ---- libsensors */

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* libsensors divides a sysfs value by this (its get_type_scaling). */
static double lib_scale(sensors_subfeature_type t)
{
    switch ((int)t & 0xFF80) {
    case SENSORS_SUBFEATURE_IN_INPUT:
    case SENSORS_SUBFEATURE_TEMP_INPUT:
    case SENSORS_SUBFEATURE_CURR_INPUT:
    case SENSORS_SUBFEATURE_HUMIDITY_INPUT: return 1000;
    case SENSORS_SUBFEATURE_FAN_INPUT: return 1;
    case SENSORS_SUBFEATURE_POWER_AVERAGE:
    case SENSORS_SUBFEATURE_ENERGY_INPUT: return 1000000;
    default: break;
    }
    switch (t) {
    case SENSORS_SUBFEATURE_POWER_AVERAGE_INTERVAL:
    case SENSORS_SUBFEATURE_VID:
    case SENSORS_SUBFEATURE_TEMP_OFFSET: return 1000;
    default: return 1;
    }
}

/* The chip's features as libsensors sees them (ignored ones left out,
 * compute lines applied, configured labels). */
static void read_lib_chip(nx_out *o, hw_chip *c, const sensors_chip_name *chip)
{
    const sensors_feature *f;
    int fnr = 0;
    while ((f = sensors_get_features(chip, &fnr)) != NULL) {
        const sensors_subfeature *sf;
        int snr = 0;
        while ((sf = sensors_get_all_subfeatures(chip, f, &snr)) != NULL) {
            char type[64], sensor[96];
            long num;
            const char *prop;
            double v;
            if (!(sf->flags & SENSORS_MODE_R) ||
                !explode(sf->name, type, sizeof type, &num, &prop) || !known_type(type) ||
                sensors_get_value(chip, sf->number, &v) < 0)
                continue;
            snprintf(sensor, sizeof sensor, "%s%ld", type, num);
            hw_elem *e = sensor_elem(o, chip_sensor(o, c, sensor), prop);
            e->text = NULL;
            e->value = v;
            e->scale = lib_scale(sf->type);
        }
        char *label = sensors_get_label(chip, f);
        if (label != NULL && strcmp(label, f->name) != 0) {
            char type[64], sensor[96];
            long num;
            const char *prop;
            if (explode(f->name, type, sizeof type, &num, &prop)) {
                snprintf(sensor, sizeof sensor, "%s%ld", type, num);
                sensor_elem(o, chip_sensor(o, c, sensor), "label")->text =
                    core_arena_strdup(nx_arena(o), label);
            }
        }
        free(label);
    }
}

/* Reads and emits every chip; an entry libsensors knows (lib set) is read
 * through it, with the sysfs files for what it does not cover. */
static int collect_entries(nx_out *o, hw_entry *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *chip = chip_label(o, v, n, i);
        if (nx_filter_ignored(&chip_filter, chip)) continue;
        hw_chip c = {0};
        if (v[i].lib != NULL) read_lib_chip(o, &c, v[i].lib);
        if (read_chip_dir(o, &c, v[i].dir, v[i].lib != NULL) < 0)
            rc = nx_error(o, "couldn't read %s: %m", v[i].dir);
        else
            emit_chip(o, chip, v[i].dir, &c);
        chip_free(&c);
    }
    return rc;
}

/* The chip libsensors detected at `dir` (its hwmon directory), or NULL. */
static const sensors_chip_name *lib_chip_at(const char *dir)
{
    const sensors_chip_name *chip;
    int nr = 0;
    while ((chip = sensors_get_detected_chips(NULL, &nr)) != NULL)
        if (chip->path != NULL && strcmp(chip->path, dir) == 0) return chip;
    return NULL;
}

/* Every chip directory of class_dir; with `lib`, each one libsensors knows
 * carries its libsensors chip, so that sensors.conf applies to it while a
 * chip libsensors cannot classify (an unknown bus, a chip without a device)
 * is still read from sysfs, as upstream reads every chip. */
static int collect_dirs(nx_out *o, const char *class_dir, bool lib)
{
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0) return nx_error(o, "couldn't read %s: %m", class_dir);
    hw_entry *v = core_calloc((size_t)n + 1, sizeof *v);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const char *dir = nx_sprintf(o, "%s/%s", class_dir, names[i]);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        v[k].lib = lib ? lib_chip_at(dir) : NULL;
        if (add_entry(o, &v[k], dir)) k++;
    }
    int rc = collect_entries(o, v, k);
    free(v);
    return rc;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/hwmon");
    struct stat st;
    if (stat(class_dir, &st) != 0 && errno == ENOENT)
        return nx_no_data(o, "hwmon collector metrics are not available for this system");
    if (stat(class_dir, &st) != 0) return nx_error(o, "couldn't read %s: %m", class_dir);
    if (strcmp(nx_path.sysfs, "/sys") != 0) return collect_dirs(o, class_dir, false);
    pthread_mutex_lock(&lib_lock);
    bool lib = sensors_init(NULL) == 0;
    if (!lib) nx_warn(o, "libsensors could not start, reading %s directly", class_dir);
    int rc = collect_dirs(o, class_dir, lib);
    if (lib) sensors_cleanup();
    pthread_mutex_unlock(&lib_lock);
    return rc;
}

static int init(core_err *err)
{
    nx_regex_free(chip_filter.include);
    nx_regex_free(chip_filter.exclude);
    nx_regex_free(sensor_filter.include);
    nx_regex_free(sensor_filter.exclude);
    if (nx_filter_init(&chip_filter, chip_include, chip_exclude, "collector.hwmon.chip", err) < 0)
        return -1;
    return nx_filter_init(&sensor_filter, sensor_include, sensor_exclude, "collector.hwmon.sensor",
                          err);
}

const nx_collector nx_collector_hwmon = {
    .name = "hwmon",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
