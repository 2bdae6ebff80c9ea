/*
 * collector_textfile.c - the metrics of the *.prom files in the
 * --collector.textfile.directory directories (repeatable, globs), with
 * node_textfile_mtime_seconds{file} per file read and node_textfile_scrape_error.
 *
 * Each file is parsed with server/model's text parser and grouped into
 * families as client_golang's expfmt text parser does (a _sum/_count/_bucket
 * series joins a summary or histogram family of its base name; HELP or TYPE
 * twice, or TYPE after samples, is a parse error).  Upstream's rules:
 *   - a file that does not parse, or has a sample with a timestamp, is
 *     skipped whole and sets node_textfile_scrape_error;
 *   - an unreadable directory sets the error (the default "" does not);
 *   - a family whose HELP differs from the one an earlier file gave is
 *     dropped with an error; families without HELP get "Metric read from
 *     <files>";
 *   - within a file, a family's samples lacking some of its labels get them
 *     as "" (upstream's convertMetricFamily);
 *   - across files, families of one name are merged as the registry does:
 *     a family whose type or HELP differs from the first one, or a sample
 *     whose labels repeat an earlier one, is left out (logged, as upstream's
 *     gatherer does, without touching node_textfile_scrape_error).
 */
#include "model/model.h"
#include "node.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static core_strlist directories;

static core_flag flags[] = {
    {"collector.textfile.directory", CORE_FLAG_LIST, &directories, "",
     "Directory to read text files with metrics from, supports glob matching. (repeatable)", false},
};

/* ---- Families of one file */

typedef struct tf_sample {
    const char **names, **values; /* without quantile / le */
    size_t n;
    double value;                         /* counter, gauge, untyped */
    double *bounds, *bvalues, sum, count; /* summary quantiles or histogram buckets */
    size_t nb, capb;
} tf_sample;

typedef struct tf_family {
    const char *name, *help, *file;
    model_type type;
    bool typed, has_samples;
    tf_sample **s;
    size_t n, cap;
} tf_family;

typedef struct tf_file {
    tf_family **f;
    size_t n, cap;
} tf_file;

#define GROW(o, arr, n, cap)                                              \
    do {                                                                  \
        if ((n) == (cap)) {                                               \
            size_t c_ = (cap) ? 2 * (cap) : 8;                            \
            void *p_ = core_arena_alloc(nx_arena(o), c_ * sizeof *(arr)); \
            if ((n) > 0) memcpy(p_, (arr), (n) * sizeof *(arr));          \
            (arr) = p_, (cap) = c_;                                       \
        }                                                                 \
    } while (0)

static char *dup_str(nx_out *o, model_str s)
{
    return nx_sprintf(o, "%.*s", (int)s.len, s.p);
}

static tf_family *find_family(const tf_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->f[i]->name, name) == 0) return f->f[i];
    return NULL;
}

static tf_family *new_family(nx_out *o, tf_file *f, const char *name)
{
    tf_family *fam = core_arena_alloc(nx_arena(o), sizeof *fam);
    *fam = (tf_family){.name = name, .type = MODEL_TYPE_UNKNOWN};
    GROW(o, f->f, f->n, f->cap);
    f->f[f->n++] = fam;
    return fam;
}

/* expfmt's setOrCreateCurrentMF; *part is 's' (_sum), 'c' (_count), 'b'
 * (_bucket) or 0. */
static tf_family *family_of(nx_out *o, tf_file *f, const char *name, char *part)
{
    *part = 0;
    tf_family *fam = find_family(f, name);
    if (fam != NULL) return fam;
    size_t len = strlen(name);
    static const struct {
        const char *suffix;
        char part;
    } sfx[] = {{"_sum", 's'}, {"_count", 'c'}, {"_bucket", 'b'}};
    for (int k = 0; k < 3; k++) {
        size_t sl = strlen(sfx[k].suffix);
        if (len <= sl || strcmp(name + len - sl, sfx[k].suffix) != 0) continue;
        fam = find_family(f, nx_sprintf(o, "%.*s", (int)(len - sl), name));
        if (fam != NULL &&
            ((fam->type == MODEL_TYPE_SUMMARY && k < 2) || fam->type == MODEL_TYPE_HISTOGRAM)) {
            *part = sfx[k].part;
            return fam;
        }
    }
    return new_family(o, f, name);
}

static bool same_label_set(const tf_sample *s, const char **names, const char **values, size_t n)
{
    if (s->n != n) return false;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < n && strcmp(s->names[k], names[i]) != 0)
            k++;
        if (k == n || strcmp(s->values[k], values[i]) != 0) return false;
    }
    return true;
}

static tf_sample *new_sample(nx_out *o, tf_family *fam, const char **names, const char **values,
                             size_t n)
{
    tf_sample *s = core_arena_alloc(nx_arena(o), sizeof *s);
    *s = (tf_sample){.names = names, .values = values, .n = n};
    GROW(o, fam->s, fam->n, fam->cap);
    fam->s[fam->n++] = s;
    return s;
}

/* One series; false with *why on a malformed one. */
static bool add_series(nx_out *o, tf_file *f, model_parser *p, const char **why)
{
    char part;
    tf_family *fam = family_of(o, f, dup_str(o, model_parser_name(p)), &part);
    if (!fam->typed) fam->typed = true, fam->type = MODEL_TYPE_UNKNOWN;
    fam->has_samples = true;
    size_t n;
    const model_label *ls = model_parser_labels(p, &n);
    const char **names = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *names);
    const char **values = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *values);
    size_t k = 0;
    bool complex = fam->type == MODEL_TYPE_SUMMARY || fam->type == MODEL_TYPE_HISTOGRAM;
    const char *special = fam->type == MODEL_TYPE_SUMMARY ? "quantile" : "le";
    bool takes_bound = complex && part == (fam->type == MODEL_TYPE_HISTOGRAM ? 'b' : 0);
    double bound = NAN;
    bool have_bound = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = dup_str(o, ls[i].name), *value = dup_str(o, ls[i].value);
        if (takes_bound && strcmp(name, special) == 0) {
            char *end;
            bound = strtod(value, &end);
            if (*value == '\0' || *end != '\0') {
                *why = "invalid quantile or le label value";
                return false;
            }
            have_bound = true;
            continue;
        }
        names[k] = name, values[k++] = value;
    }
    double v = model_parser_value(p);
    if (!complex) {
        new_sample(o, fam, names, values, k)->value = v;
        return true;
    }
    tf_sample *s = NULL;
    for (size_t i = 0; i < fam->n && s == NULL; i++)
        if (same_label_set(fam->s[i], names, values, k)) s = fam->s[i];
    if (s == NULL) s = new_sample(o, fam, names, values, k);
    if (part == 's') {
        s->sum = v;
    } else if (part == 'c') {
        s->count = v;
    } else if (have_bound) {
        if (s->nb == s->capb) {
            size_t cap = s->capb ? 2 * s->capb : 8;
            double *b = core_arena_alloc(nx_arena(o), cap * sizeof *b);
            double *bv = core_arena_alloc(nx_arena(o), cap * sizeof *bv);
            if (s->nb > 0) memcpy(b, s->bounds, s->nb * sizeof *b);
            if (s->nb > 0) memcpy(bv, s->bvalues, s->nb * sizeof *bv);
            s->bounds = b, s->bvalues = bv, s->capb = cap;
        }
        size_t i = 0; /* a repeated bound replaces the value (a map upstream) */
        while (i < s->nb && s->bounds[i] != bound)
            i++;
        s->bounds[i] = bound, s->bvalues[i] = v;
        if (i == s->nb) s->nb++;
    }
    return true;
}

/* Parses one file; false with a message in why (parse error or timestamps). */
static bool parse_file(nx_out *o, const char *path, tf_file *f, char *why, size_t why_len)
{
    size_t len;
    char *text = nx_read_file(o, path, &len);
    if (text == NULL) {
        snprintf(why, why_len, "failed to open textfile data file %s: %s", path, strerror(errno));
        return false;
    }
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, text, len, path);
    core_err err;
    bool ok = true, timestamps = false;
    const char *bad = NULL;
    for (model_entry e; ok && (e = model_parser_next(p, &err)) != MODEL_ENTRY_EOF;) {
        char part;
        tf_family *fam;
        switch (e) {
        case MODEL_ENTRY_ERROR:
            snprintf(why, why_len, "failed to parse textfile data: %.400s", err.msg);
            ok = false;
            break;
        case MODEL_ENTRY_HELP: {
            model_str h = model_parser_help(p);
            if (h.len == 0) break; /* an empty HELP is a comment for expfmt */
            fam = family_of(o, f, dup_str(o, model_parser_name(p)), &part);
            if (fam->help != NULL) bad = "second HELP line for metric name";
            fam->help = dup_str(o, h);
            break;
        }
        case MODEL_ENTRY_TYPE:
            fam = family_of(o, f, dup_str(o, model_parser_name(p)), &part);
            if (fam->typed)
                bad = "second TYPE line for metric name, or TYPE reported after samples";
            fam->typed = true;
            fam->type = model_parser_type(p);
            break;
        case MODEL_ENTRY_SERIES:
            timestamps |= model_parser_timestamp(p, NULL);
            ok = add_series(o, f, p, &bad) || bad == NULL;
            break;
        default: break;
        }
        if (bad != NULL && ok) {
            snprintf(why, why_len, "failed to parse textfile data from %s: %s", path, bad);
            ok = false;
        }
    }
    model_parser_free(p);
    if (ok && timestamps) {
        snprintf(why, why_len,
                 "textfile %s contains unsupported client-side timestamps, skipping entire file",
                 path);
        ok = false;
    }
    return ok;
}

/* ---- All files */

typedef struct tf_state {
    tf_family **fams; /* parsed families, in order */
    size_t n, cap;
    const char **files; /* files read, for the mtimes */
    double *mtimes;
    size_t n_files, cap_files, cap_mtimes;
    bool errored;
} tf_state;

static const char *help_of(tf_state *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->fams[i]->name, name) == 0 && st->fams[i]->help != NULL)
            return st->fams[i]->help;
    return NULL;
}

static void process_file(nx_out *o, tf_state *st, const char *path)
{
    tf_file f = {0};
    char why[512];
    if (!parse_file(o, path, &f, why, sizeof why)) {
        st->errored = true;
        nx_warn(o, "failed to collect textfile data: %s", why);
        return;
    }
    for (size_t i = 0; i < f.n; i++) {
        tf_family *fam = f.f[i];
        if (!fam->has_samples) continue; /* expfmt drops families without samples */
        const char *seen = help_of(st, fam->name);
        if (seen != NULL && fam->help != NULL && strcmp(seen, fam->help) != 0) {
            st->errored = true;
            nx_warn(o, "inconsistent metric help text for %s: %s", fam->name, path);
            continue;
        }
        fam->file = path;
        GROW(o, st->fams, st->n, st->cap);
        st->fams[st->n++] = fam;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st->errored = true;
        nx_warn(o, "failed to stat %s: %m", path);
        return;
    }
    GROW(o, st->files, st->n_files, st->cap_files);
    GROW(o, st->mtimes, st->n_files, st->cap_mtimes);
    st->mtimes[st->n_files] = (double)sb.st_mtim.tv_sec;
    st->files[st->n_files++] = path;
}

static bool has_prom_suffix(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".prom") == 0;
}

/* filepath.Join(dir, name) for the common cases: no doubled or trailing '/'. */
static const char *join(nx_out *o, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return nx_sprintf(o, "%.*s%s%s", (int)n, dir, n > 0 && dir[n - 1] != '/' ? "/" : "", name);
}

static void read_directory(nx_out *o, tf_state *st, const char *dir)
{
    if (*dir == '\0') return; /* os.ReadDir("") fails, quietly */
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0) {
        st->errored = true;
        nx_warn(o, "failed to read textfile collector directory %s: %m", dir);
        return;
    }
    for (int i = 0; i < n; i++)
        if (has_prom_suffix(names[i])) process_file(o, st, join(o, dir, names[i]));
}

/* ---- Output */

/* Generated HELP: "Metric read from " and the files holding the name. */
static const char *generated_help(nx_out *o, const tf_state *st, const char *name)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "Metric read from ");
    bool first = true;
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->fams[i]->name, name) != 0) continue;
        if (!first) core_sb_adds(&sb, ", ");
        core_sb_adds(&sb, st->fams[i]->file);
        first = false;
    }
    const char *out = core_arena_strdup(nx_arena(o), sb.buf);
    core_sb_destroy(&sb);
    return out;
}

static prom_type prom_type_of(model_type t)
{
    switch (t) {
    case MODEL_TYPE_COUNTER: return PROM_COUNTER;
    case MODEL_TYPE_GAUGE: return PROM_GAUGE;
    case MODEL_TYPE_SUMMARY: return PROM_SUMMARY;
    case MODEL_TYPE_HISTOGRAM: return PROM_HISTOGRAM;
    default: return PROM_UNTYPED;
    }
}

/* The labels of one file's family (in first-seen order). */
static size_t family_labels(nx_out *o, const tf_family *fam, const char ***out)
{
    size_t n = 0, cap = 0;
    const char **l = NULL;
    for (size_t i = 0; i < fam->n; i++) {
        for (size_t k = 0; k < fam->s[i]->n; k++) {
            size_t j = 0;
            while (j < n && strcmp(l[j], fam->s[i]->names[k]) != 0)
                j++;
            if (j < n) continue;
            GROW(o, l, n, cap);
            l[n++] = fam->s[i]->names[k];
        }
    }
    *out = l;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void emit_sample(nx_out *o, const tf_family *fam, const tf_sample *s,
                        const char *const *values)
{
    if (fam->type == MODEL_TYPE_SUMMARY) {
        double *q = core_arena_alloc(nx_arena(o), (s->nb + 1) * sizeof *q);
        double *qv = core_arena_alloc(nx_arena(o), (s->nb + 1) * sizeof *qv);
        for (size_t i = 0; i < s->nb; i++)
            q[i] = s->bounds[i];
        qsort(q, s->nb, sizeof *q, cmp_double);
        for (size_t i = 0; i < s->nb; i++)
            for (size_t k = 0; k < s->nb; k++)
                if (s->bounds[k] == q[i]) qv[i] = s->bvalues[k];
        nx_summary(o, values, q, qv, s->nb, s->sum, (uint64_t)s->count);
        return;
    }
    if (fam->type == MODEL_TYPE_HISTOGRAM) {
        double *b = core_arena_alloc(nx_arena(o), (s->nb + 2) * sizeof *b);
        uint64_t *c = core_arena_alloc(nx_arena(o), (s->nb + 2) * sizeof *c);
        for (size_t i = 0; i < s->nb; i++)
            b[i] = s->bounds[i];
        qsort(b, s->nb, sizeof *b, cmp_double);
        for (size_t i = 0; i < s->nb; i++)
            for (size_t k = 0; k < s->nb; k++)
                if (s->bounds[k] == b[i]) c[i] = (uint64_t)s->bvalues[k];
        size_t n = s->nb;
        if (n == 0 || !isinf(b[n - 1])) b[n] = INFINITY, c[n++] = (uint64_t)s->count;
        nx_histogram(o, values, b, c, n, s->sum);
        return;
    }
    nx_sample(o, s->value, values);
}

/* Whether sample s of family a has the same label set as sample t of b. */
static bool duplicate(const tf_sample *s, const tf_sample *t, const char **la, size_t na,
                      const char **lb, size_t nb)
{
    /* a missing label within a file's family counts as "" */
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && strcmp(la[i], lb[j]) != 0)
            j++;
        if (j == nb) return false;
        const char *vs = "", *vt = "";
        for (size_t k = 0; k < s->n; k++)
            if (strcmp(s->names[k], la[i]) == 0) vs = s->values[k];
        for (size_t k = 0; k < t->n; k++)
            if (strcmp(t->names[k], la[i]) == 0) vt = t->values[k];
        if (strcmp(vs, vt) != 0) return false;
    }
    return true;
}

static void emit_name(nx_out *o, tf_state *st, size_t first, bool *done)
{
    const tf_family *f0 = st->fams[first];
    const char *help = f0->help != NULL ? f0->help : generated_help(o, st, f0->name);
    /* the families of this name that the registry would accept */
    size_t n = 0, n_labels = 0, cap = 0;
    const tf_family **ok = core_arena_alloc(nx_arena(o), (st->n + 1) * sizeof *ok);
    const char ***fl = core_arena_alloc(nx_arena(o), (st->n + 1) * sizeof *fl);
    size_t *nfl = core_arena_alloc(nx_arena(o), (st->n + 1) * sizeof *nfl);
    const char **labels = NULL;
    for (size_t i = first; i < st->n; i++) {
        const tf_family *f = st->fams[i];
        if (strcmp(f->name, f0->name) != 0) continue;
        done[i] = true;
        const char *h = f->help != NULL ? f->help : help;
        if (f->type != f0->type || strcmp(h, help) != 0) {
            nx_warn(o, "collected metric %s from %s is inconsistent with %s", f->name, f->file,
                    f0->file);
            continue;
        }
        nfl[n] = family_labels(o, f, &fl[n]);
        for (size_t k = 0; k < nfl[n]; k++) {
            size_t j = 0;
            while (j < n_labels && strcmp(labels[j], fl[n][k]) != 0)
                j++;
            if (j < n_labels) continue;
            GROW(o, labels, n_labels, cap);
            labels[n_labels++] = fl[n][k];
        }
        ok[n++] = f;
    }
    GROW(o, labels, n_labels, cap);
    labels[n_labels] = NULL;
    nx_family(o, f0->name, help, prom_type_of(f0->type), labels);
    const char **values = core_arena_alloc(nx_arena(o), (n_labels + 1) * sizeof *values);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ok[i]->n; k++) {
            const tf_sample *s = ok[i]->s[k];
            bool dup = false;
            for (size_t pi = 0; pi <= i && !dup; pi++)
                for (size_t pk = 0; pk < (pi == i ? k : ok[pi]->n) && !dup; pk++)
                    dup = duplicate(s, ok[pi]->s[pk], fl[i], nfl[i], fl[pi], nfl[pi]);
            if (dup) {
                nx_warn(o,
                        "collected metric %s from %s was collected before with the same "
                        "label values",
                        f0->name, ok[i]->file);
                continue;
            }
            for (size_t j = 0; j < n_labels; j++) {
                values[j] = NULL; /* not a label of this file's family */
                for (size_t m = 0; m < nfl[i]; m++)
                    if (strcmp(fl[i][m], labels[j]) == 0) values[j] = "";
                for (size_t m = 0; m < s->n; m++)
                    if (strcmp(s->names[m], labels[j]) == 0) values[j] = s->values[m];
            }
            emit_sample(o, ok[i], s, values);
        }
    }
}

static int collect(nx_out *o)
{
    tf_state st = {0};
    for (size_t i = 0; i < directories.len; i++) {
        const char *pattern = directories.v[i];
        glob_t g;
        if (*pattern != '\0' && glob(pattern, 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                read_directory(o, &st, nx_sprintf(o, "%s", g.gl_pathv[k]));
            globfree(&g);
        } else {
            read_directory(o, &st, pattern);
        }
    }
    bool *done = core_arena_alloc(nx_arena(o), (st.n + 1) * sizeof *done);
    memset(done, 0, (st.n + 1) * sizeof *done);
    for (size_t i = 0; i < st.n; i++)
        if (!done[i]) emit_name(o, &st, i, done);
    static const char *const l_file[] = {"file", NULL};
    /* sorted by path, as upstream */
    for (size_t i = 1; i < st.n_files; i++)
        for (size_t k = i; k > 0 && strcmp(st.files[k - 1], st.files[k]) > 0; k--) {
            const char *f = st.files[k];
            double m = st.mtimes[k];
            st.files[k] = st.files[k - 1], st.mtimes[k] = st.mtimes[k - 1];
            st.files[k - 1] = f, st.mtimes[k - 1] = m;
        }
    for (size_t i = 0; i < st.n_files; i++) {
        nx_family(o, "node_textfile_mtime_seconds",
                  "Unixtime mtime of textfiles successfully read.", PROM_GAUGE, l_file);
        nx_samplev(o, st.mtimes[i], st.files[i], NULL);
    }
    nx_gauge(o, "node_textfile_scrape_error",
             "1 if there was an error opening or reading a file, 0 otherwise", st.errored);
    return 0;
}

const nx_collector nx_collector_textfile = {
    .name = "textfile",
    .default_on = true,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
