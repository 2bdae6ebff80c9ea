/*
 * nodetest.h - helpers for the node exporter's collector tests.
 *
 *   nt_fixtures()           the fixture host (../shared/node-exporter-fixtures)
 *   nt_use_root(dir)        points --path.procfs/sysfs/rootfs/udev.data at dir
 *   nt_run(&nx_collector_x) runs a collector once; returns its output
 *   nt_value(o, "node_load1", NULL)                 a sample's value (NaN if absent)
 *   nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=idle")  by labels, any order
 *   nt_family(o, name)      a family (NULL if absent), for type and help checks
 *   nt_write(dir, rel, text) writes a file under dir (for malformed inputs)
 */
#ifndef TESTS_NODETEST_H
#define TESTS_NODETEST_H

#include "unit/unit.h"

#include "out.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

static inline const char *nt_fixtures(void)
{
    static char path[1024];
    const char *shared = getenv("PROM_SHARED_DIR"); /* set by ctest */
    const char *src = getenv("PROM_SOURCE_DIR");
    if (shared != NULL)
        snprintf(path, sizeof path, "%s/node-exporter-fixtures", shared);
    else
        snprintf(path, sizeof path, "%s/../shared/node-exporter-fixtures", src ? src : ".");
    return path;
}

static inline void nt_use_root(const char *dir)
{
    static char proc[1100], sys[1100], udev[1100], root[1100];
    if (strlen(dir) > 1000) fail_msg("path too long: %s", dir);
    snprintf(proc, sizeof proc, "%.1000s/proc", dir);
    snprintf(sys, sizeof sys, "%.1000s/sys", dir);
    snprintf(udev, sizeof udev, "%.1000s/udev/data", dir);
    snprintf(root, sizeof root, "%.1000s", dir);
    nx_path.procfs = proc;
    nx_path.sysfs = sys;
    nx_path.udev_data = udev;
    nx_path.rootfs = root;
}

/* Runs a collector; the caller frees with nt_free.  *rc gets collect's result. */
static inline nx_out *nt_run_rc(const nx_collector *c, int *rc)
{
    nx_out *o = calloc(1, sizeof *o);
    nx_out_init(o, c->name);
    int r = c->collect(o);
    if (rc != NULL) *rc = r;
    return o;
}

static inline nx_out *nt_run(const nx_collector *c)
{
    int rc;
    nx_out *o = nt_run_rc(c, &rc);
    if (rc != 0) fail_msg("collector %s failed: %s", c->name, o->err.msg);
    return o;
}

static inline void nt_free(nx_out *o)
{
    nx_out_destroy(o);
    free(o);
}

static inline const nx_fam *nt_family(const nx_out *o, const char *name)
{
    for (size_t i = 0; i < o->n_families; i++)
        if (strcmp(o->families[i].name, name) == 0) return &o->families[i];
    return NULL;
}

/* Does sample s carry every "k=v" of the comma-separated list? */
static inline bool nt_has_labels(const nx_fam *f, const nx_sample_rec *s, const char *want)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", want != NULL ? want : "");
    size_t n_want = 0;
    for (char *save, *kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL) return false;
        *eq = '\0';
        bool ok = false;
        for (size_t i = 0; i < f->n_labels && !ok; i++)
            ok = strcmp(f->labels[i], kv) == 0 && strcmp(s->values[i], eq + 1) == 0;
        if (!ok) return false;
        n_want++;
    }
    return n_want == f->n_labels;
}

static inline double nt_value(const nx_out *o, const char *family, const char *labels)
{
    const nx_fam *f = nt_family(o, family);
    for (size_t i = 0; f != NULL && i < f->n_samples; i++)
        if (nt_has_labels(f, &f->samples[i], labels)) return f->samples[i].value;
    return NAN;
}

static inline void nt_write(const char *dir, const char *rel, const char *text)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

#endif
