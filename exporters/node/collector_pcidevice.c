/*
 * collector_pcidevice.c - node_pcidevice_* from /sys/bus/pci/devices/<loc>
 * (a link whose target names the device and its parent bridge): ids, link
 * speeds and widths, NUMA node, SR-IOV and power files.
 *
 * As prometheus/procfs: the id files must be readable numbers (any base),
 * the optional files may be missing or empty ("Unknown" link speeds too),
 * anything else malformed fails the scrape.  As upstream: missing link
 * values print -1, a missing NUMA node is not printed, the parent is "*"
 * below a root bus; with --collector.pcidevice.names the info family gains
 * names from --collector.pcidevice.idsfile or /usr/share/misc/pci.ids or
 * /usr/share/hwdata/pci.ids (read once at start; a missing file gives ids).
 */
#include "sysfs_read.h"

#include <ctype.h>
#include <unistd.h>

static const char *ids_file;
static bool names;

static core_flag flags[] = {
    {"collector.pcidevice.idsfile", CORE_FLAG_STRING, &ids_file, "",
     "Path to pci.ids file to use for PCI device identification.", false},
    {"collector.pcidevice.names", CORE_FLAG_BOOL, &names, "false",
     "Enable PCI device name resolution (requires pci.ids file).", false},
};

/* ---- pci.ids: one sorted table of "<kind><id>" keys; the last of equal
 * keys wins, as upstream's maps. */

typedef struct pci_id {
    char *key, *name;
    size_t seq;
} pci_id;

static pci_id *ids;
static size_t n_ids, cap_ids;

static void add_id(char kind, const char *id, const char *name)
{
    if (n_ids == cap_ids) {
        size_t cap = cap_ids ? 2 * cap_ids : 4096;
        pci_id *bigger = realloc(ids, cap * sizeof *ids);
        if (bigger == NULL) return;
        ids = bigger, cap_ids = cap;
    }
    char *key = malloc(strlen(id) + 2), *copy = strdup(name);
    if (key == NULL || copy == NULL) {
        free(key), free(copy);
        return;
    }
    key[0] = kind;
    strcpy(key + 1, id);
    ids[n_ids] = (pci_id){key, copy, n_ids};
    n_ids++;
}

static int cmp_id(const void *a, const void *b)
{
    const pci_id *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static const char *find_id(char kind, const char *id)
{
    char key[128];
    snprintf(key, sizeof key, "%c%s", kind, id);
    size_t lo = 0, hi = n_ids, found = SIZE_MAX;
    while (lo < hi) { /* the last entry with this key */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ids[mid].key, key);
        if (c <= 0) {
            if (c == 0) found = mid;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return found != SIZE_MAX ? ids[found].name : NULL;
}

static char *trim(char *s)
{
    return sr_trim(s);
}

/* strings.SplitN(line, "  ", 2): false without a double space. */
static bool split2(char *line, char **id, char **name)
{
    char *sep = strstr(line, "  ");
    if (sep == NULL) return false;
    *sep = '\0';
    *id = trim(line), *name = trim(sep + 2);
    return true;
}

static void load_ids(void)
{
    FILE *f = NULL;
    if (ids_file != NULL && *ids_file != '\0')
        f = fopen(ids_file, "r");
    else if ((f = fopen("/usr/share/misc/pci.ids", "r")) == NULL)
        f = fopen("/usr/share/hwdata/pci.ids", "r");
    if (f == NULL) return;
    char line[1024], vendor[64] = "", device[64] = "", base[64] = "", sub[128] = "";
    bool in_class = false;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *id, *name;
        if (line[0] == '\0' || line[0] == '#') continue;
        bool t1 = line[0] == '\t', t2 = t1 && line[1] == '\t', t3 = t2 && line[2] == '\t';
        if (strncmp(line, "C ", 2) == 0) {
            if (split2(line + 1, &id, &name)) {
                add_id('C', id, name);
                snprintf(base, sizeof base, "%s", id);
                in_class = true;
            }
        } else if (t1 && !t2 && in_class) {
            if (split2(line + 1, &id, &name) && *base != '\0') {
                snprintf(sub, sizeof sub, "%s%s", base, id);
                add_id('c', sub, name);
            }
        } else if (t2 && !t3 && in_class) {
            if (split2(line + 2, &id, &name) && *sub != '\0') {
                char full[256];
                snprintf(full, sizeof full, "%s%s", sub, id);
                add_id('p', full, name);
            }
        } else if (!t1) {
            if (split2(line, &id, &name)) {
                snprintf(vendor, sizeof vendor, "%s", id);
                add_id('V', vendor, name);
                device[0] = '\0';
                in_class = false;
            }
        } else if (!t2) {
            if (split2(line + 1, &id, &name) && *vendor != '\0') {
                snprintf(device, sizeof device, "%s", id);
                char key[160];
                snprintf(key, sizeof key, "%s:%s", vendor, device);
                add_id('D', key, name);
            }
        } else if (split2(line + 2, &id, &name) && *vendor != '\0' && *device != '\0') {
            char *p[3];
            if (nx_fields(id, p, 3) == 2) {
                char key[320];
                snprintf(key, sizeof key, "%s:%s|%s:%s", vendor, device, p[0], p[1]);
                add_id('S', key, name);
            }
        }
    }
    fclose(f);
    qsort(ids, n_ids, sizeof *ids, cmp_id);
}

static void free_ids(void)
{
    for (size_t i = 0; i < n_ids; i++)
        free(ids[i].key), free(ids[i].name);
    free(ids);
    ids = NULL, n_ids = cap_ids = 0;
}

/* The info family's five name labels (ids without "0x" when unknown). */
static void name_labels(nx_out *o, const char **v, const char *vendor, const char *device,
                        const char *sv, const char *sd, const char *class_id)
{
    const char *n;
    v[0] = (n = find_id('V', vendor + 2)) != NULL ? n : vendor + 2;
    v[1] =
        (n = find_id('D', nx_sprintf(o, "%s:%s", vendor + 2, device + 2))) != NULL ? n : device + 2;
    v[2] = (n = find_id('V', sv + 2)) != NULL ? n : sv + 2;
    n = find_id('S', nx_sprintf(o, "%s:%s|%s:%s", vendor + 2, device + 2, sv + 2, sd + 2));
    v[3] = n != NULL ? n : sd + 2;
    const char *c = class_id + 2;
    if ((n = find_id('p', c)) == NULL && (n = find_id('c', nx_sprintf(o, "%.4s", c))) == NULL)
        n = find_id('C', nx_sprintf(o, "%.2s", c));
    v[4] = n != NULL ? n : nx_sprintf(o, "Unknown class (%s)", c);
}

/* ---- sysfs */

typedef struct loc {
    long seg, bus, dev, fn;
} loc;

static bool hex32(const char *s, const char *end, long *v)
{
    if (s == end || end - s > 8) return false;
    char buf[16];
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    char *e;
    *v = strtol(buf, &e, 16);
    return *e == '\0' && isxdigit((unsigned char)buf[0]) && *v <= INT32_MAX;
}

/* "ssss:bb:dd.f" */
static bool parse_loc(const char *s, loc *l)
{
    const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL || strchr(c2 + 1, ':') != NULL) return false;
    const char *dot = strchr(c2 + 1, '.');
    if (dot == NULL || strchr(dot + 1, '.') != NULL) return false;
    return hex32(s, c1, &l->seg) && hex32(c1 + 1, c2, &l->bus) && hex32(c2 + 1, dot, &l->dev) &&
           hex32(dot + 1, dot + 1 + strlen(dot + 1), &l->fn);
}

static void loc_strings(nx_out *o, const loc *l, const char **v)
{
    v[0] = nx_sprintf(o, "%04lx", l->seg);
    v[1] = nx_sprintf(o, "%02lx", l->bus);
    v[2] = nx_sprintf(o, "%02lx", l->dev);
    v[3] = nx_sprintf(o, "%lx", l->fn);
}

typedef struct pci_dev {
    const char *loc[4], *parent[4];
    int64_t id[6];
    double max_speed, cur_speed, max_width, cur_width;
    bool have_numa, have_power;
    int64_t numa;
    double autoprobe, numvfs, totalvfs, msix, d3cold;
    const char *power;
} pci_dev;

/* SysReadFile of an optional file: NULL and *fail false when missing. */
static char *optional(nx_out *o, const char *dir, const char *file, bool *fail)
{
    const char *path = nx_sprintf(o, "%s/%s", dir, file);
    char *s = sr_read(o, path);
    *fail = s == NULL && errno != ENOENT;
    if (*fail) nx_error(o, "error obtaining PCI device info: failed to read file %s: %m", path);
    return s != NULL && *s != '\0' ? s : NULL;
}

static bool parse_speed(const char *s, double *v)
{
    const char *sp = strchr(s, ' ');
    if (sp == NULL || strcmp(sp + 1, "GT/s PCIe") != 0) return false;
    char *num = strndup(s, (size_t)(sp - s));
    bool ok = num != NULL && nx_parse_double(num, v);
    free(num);
    return ok;
}

static bool parse_int(const char *s, int64_t min, int64_t max, int base, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, base);
    if (*s == '\0' || *end != '\0' || errno != 0 || x < min || x > max ||
        isspace((unsigned char)*s))
        return false;
    *v = x;
    return true;
}

static int read_optional(nx_out *o, const char *dir, pci_dev *d)
{
    static const char *const link[] = {"max_link_speed", "max_link_width", "current_link_speed",
                                       "current_link_width", "numa_node"};
    double *link_v[] = {&d->max_speed, &d->max_width, &d->cur_speed, &d->cur_width};
    bool fail;
    int64_t x;
    for (int i = 0; i < 5; i++) {
        char *s = optional(o, dir, link[i], &fail);
        if (fail) return -1;
        if (s == NULL || strncmp(s, "Unknown", 7) == 0) continue;
        bool ok = i == 0 || i == 2 ? parse_speed(s, link_v[i])
                  : i == 4         ? parse_int(s, INT32_MIN, INT32_MAX, 10, &d->numa)
                                   : parse_int(s, INT64_MIN, INT64_MAX, 10, &x);
        if (!ok) return nx_error(o, "error obtaining PCI device info: bad %s %.40s", link[i], s);
        if (i == 1 || i == 3) *link_v[i] = (double)x;
        if (i == 4) d->have_numa = true;
    }
    static const char *const sriov[] = {
        "sriov_drivers_autoprobe", "sriov_numvfs",    "sriov_offset",       "sriov_stride",
        "sriov_totalvfs",          "sriov_vf_device", "sriov_vf_total_msix"};
    for (int i = 0; i < 7; i++) {
        char *s = optional(o, dir, sriov[i], &fail);
        if (fail) return -1;
        if (s == NULL) continue;
        bool ok = i == 0   ? parse_int(s, INT32_MIN, INT32_MAX, 10, &x)
                  : i == 5 ? parse_int(s, 0, UINT32_MAX, 16, &x) && *s != '-' && *s != '+'
                  : i == 6 ? parse_int(s, 0, INT64_MAX, 10, &x) && *s != '+'
                           : parse_int(s, 0, UINT32_MAX, 10, &x) && *s != '+';
        if (!ok) return nx_error(o, "error obtaining PCI device info: bad %s %.40s", sriov[i], s);
        if (i == 0) d->autoprobe = x != 0;
        if (i == 1) d->numvfs = (double)x;
        if (i == 4) d->totalvfs = (double)x;
        if (i == 6) d->msix = (double)x;
    }
    char *s = optional(o, dir, "d3cold_allowed", &fail);
    if (fail) return -1;
    if (s != NULL && !parse_int(s, INT32_MIN, INT32_MAX, 10, &x))
        return nx_error(o, "error obtaining PCI device info: bad d3cold_allowed %.40s", s);
    if (s != NULL) d->d3cold = x != 0;
    d->power = optional(o, dir, "power_state", &fail);
    d->have_power = d->power != NULL;
    return fail ? -1 : 0;
}

static int read_device(nx_out *o, const char *base, const char *name, pci_dev *d)
{
    const char *dir = nx_sprintf(o, "%s/%s", base, name);
    char target[4096];
    ssize_t n = readlink(dir, target, sizeof target - 1);
    if (n < 0)
        return nx_error(o, "error obtaining PCI device info: failed to readlink %s: %m", dir);
    target[n] = '\0';
    char *slash = strrchr(target, '/');
    const char *dev_s = slash != NULL ? slash + 1 : target;
    if (slash != NULL) *slash = '\0';
    char *pslash = slash != NULL ? strrchr(target, '/') : NULL;
    const char *parent_s = slash == NULL ? "." : pslash != NULL ? pslash + 1 : target;
    loc l, p;
    if (!parse_loc(dev_s, &l))
        return nx_error(o, "error obtaining PCI device info: failed to parse device location %s",
                        dev_s);
    loc_strings(o, &l, d->loc);
    if (strncmp(parent_s, "pci", 3) == 0) {
        d->parent[0] = d->parent[1] = d->parent[2] = d->parent[3] = "*";
    } else if (!parse_loc(parent_s, &p)) {
        return nx_error(o, "error obtaining PCI device info: failed to parse parent location %s",
                        parent_s);
    } else {
        loc_strings(o, &p, d->parent);
    }
    static const char *const id_files[] = {
        "class", "vendor", "device", "subsystem_vendor", "subsystem_device", "revision"};
    for (int i = 0; i < 6; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, id_files[i]);
        char *s = sr_read(o, path);
        if (s == NULL)
            return nx_error(o, "error obtaining PCI device info: failed to read file %s: %m", path);
        if (!sr_i64(s, &d->id[i]) || d->id[i] > INT32_MAX || d->id[i] < INT32_MIN)
            return nx_error(o, "error obtaining PCI device info: failed to parse %s %.40s",
                            id_files[i], s);
        d->id[i] = (uint32_t)d->id[i];
    }
    d->max_speed = d->cur_speed = d->max_width = d->cur_width = -1;
    return read_optional(o, dir, d);
}

static void emit(nx_out *o, const pci_dev *d)
{
    static const char *const l_info[] = {"segment",
                                         "bus",
                                         "device",
                                         "function",
                                         "parent_segment",
                                         "parent_bus",
                                         "parent_device",
                                         "parent_function",
                                         "class_id",
                                         "vendor_id",
                                         "device_id",
                                         "subsystem_vendor_id",
                                         "subsystem_device_id",
                                         "revision",
                                         "vendor_name",
                                         "device_name",
                                         "subsystem_vendor_name",
                                         "subsystem_device_name",
                                         "class_name",
                                         NULL};
    const char *v[20];
    memcpy(v, d->loc, sizeof d->loc);
    memcpy(v + 4, d->parent, sizeof d->parent);
    v[8] = nx_sprintf(o, "0x%06llx", (unsigned long long)d->id[0]);
    for (int i = 1; i < 5; i++)
        v[8 + i] = nx_sprintf(o, "0x%04llx", (unsigned long long)d->id[i]);
    v[13] = nx_sprintf(o, "0x%02llx", (unsigned long long)d->id[5]);
    v[14] = NULL;
    if (names) name_labels(o, v + 14, v[9], v[10], v[11], v[12], v[8]);
    const char *labels[20];
    memcpy(labels, l_info, sizeof labels);
    if (!names) labels[14] = NULL;
    nx_family(o, "node_pcidevice_info",
              "Non-numeric data from /sys/bus/pci/devices/<location>, value is always 1.",
              PROM_GAUGE, labels);
    nx_sample(o, 1, v);
    static const char *const l_loc[] = {"segment", "bus", "device", "function", NULL};
    static const struct {
        const char *name, *help;
        size_t off;
    } g[] = {
        {"max_link_transfers_per_second", "Value of maximum link's transfers per second (T/s)",
         offsetof(pci_dev, max_speed)},
        {"max_link_width", "Value of maximum link's width (number of lanes)",
         offsetof(pci_dev, max_width)},
        {"current_link_transfers_per_second", "Value of current link's transfers per second (T/s)",
         offsetof(pci_dev, cur_speed)},
        {"current_link_width", "Value of current link's width (number of lanes)",
         offsetof(pci_dev, cur_width)},
        {"d3cold_allowed", "Whether the PCIe device supports D3cold power state (0/1).",
         offsetof(pci_dev, d3cold)},
        {"sriov_drivers_autoprobe",
         "Whether SR-IOV drivers autoprobe is enabled for the device (0/1).",
         offsetof(pci_dev, autoprobe)},
        {"sriov_numvfs", "Number of Virtual Functions (VFs) currently enabled for SR-IOV.",
         offsetof(pci_dev, numvfs)},
        {"sriov_totalvfs", "Total number of Virtual Functions (VFs) supported by the device.",
         offsetof(pci_dev, totalvfs)},
        {"sriov_vf_total_msix", "Total number of MSI-X vectors for Virtual Functions.",
         offsetof(pci_dev, msix)},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        double x = *(const double *)((const char *)d + g[i].off);
        if (i == 0 || i == 2) x = x == -1 ? -1 : x * 1e9;
        nx_family(o, nx_sprintf(o, "node_pcidevice_%s", g[i].name), g[i].help, PROM_GAUGE, l_loc);
        nx_sample(o, x, d->loc);
    }
    if (d->have_power) {
        static const char *const l_state[] = {"segment",  "bus",   "device",
                                              "function", "state", NULL};
        static const char *const states[] = {"D0",     "D1",      "D2",   "D3hot",
                                             "D3cold", "unknown", "error"};
        nx_family(o, "node_pcidevice_power_state",
                  "PCIe device power state, one of: D0, D1, D2, D3hot, D3cold, unknown or error.",
                  PROM_GAUGE, l_state);
        for (int i = 0; i < 7; i++)
            nx_samplev(o, strcmp(d->power, states[i]) == 0, d->loc[0], d->loc[1], d->loc[2],
                       d->loc[3], states[i], NULL);
    }
    if (d->have_numa && d->numa != -1) {
        nx_family(o, "node_pcidevice_numa_node",
                  "NUMA node number for the PCI device. -1 indicates unknown or not available.",
                  PROM_GAUGE, l_loc);
        nx_sample(o, (double)d->numa, d->loc);
    }
}

static int collect(nx_out *o)
{
    const char *base = nx_sys(o, "bus/pci/devices");
    char **entries;
    int n = nx_list_dir(o, base, &entries);
    if (n < 0 && errno == ENOENT) return nx_no_data(o, "PCI device not found, skipping");
    if (n < 0) return nx_error(o, "error obtaining PCI device info: %s: %m", base);
    pci_dev *devs = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *devs);
    for (int i = 0; i < n; i++) {
        memset(&devs[i], 0, sizeof devs[i]);
        if (read_device(o, base, entries[i], &devs[i]) < 0) return -1;
    }
    for (int i = 0; i < n; i++)
        emit(o, &devs[i]);
    return 0;
}

static int init(core_err *err)
{
    (void)err;
    free_ids();
    if (names) load_ids();
    return 0;
}

const nx_collector nx_collector_pcidevice = {
    .name = "pcidevice",
    .default_on = false,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
