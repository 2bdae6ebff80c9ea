/*
 * file.c - file_sd_configs, as upstream's discovery/file.
 *
 * A refresh expands every glob (glob(3) with GLOB_PERIOD, since Go's
 * filepath.Glob lets `*` match a leading dot), reads each file as JSON or
 * YAML by its extension, and sends every group it holds: group i of file f
 * has the source "f:i" and the label `__meta_filepath` = f.  A file that
 * cannot be read or parsed is logged and counted, and its groups from the
 * last good read stay (no empty groups are sent for it).  A file that went
 * away, or now holds fewer groups, gets empty groups for the sources it no
 * longer has, so their targets go away.
 *
 * Watches: like fsnotify in upstream, inotify watches the directory of each
 * pattern (or "./"), not the files, so a file created, replaced by rename or
 * deleted is seen as well as one written in place.  Every event but a change
 * of attributes triggers a full refresh, as upstream ("the most reliable
 * solution is to reload everything if anything happens"); the caller reads
 * all pending events at once, so a burst costs one refresh.  Watches are set
 * again after each refresh, so a directory created later is picked up at the
 * next refresh_interval at the latest.
 */
#define _GNU_SOURCE
#include "discovery/internal.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                                      \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | \
     IN_DELETE_SELF | IN_MOVE_SELF)

void disc_file_init(disc_file *s, const cfg_file_sd *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->inotify_fd < 0)
        core_error(DISC_COMPONENT, "Error adding file watcher", "err", strerror(errno));
}

static void forget(disc_file *s)
{
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i]);
    free(s->files);
    free(s->counts);
    s->files = NULL;
    s->counts = NULL;
    s->n_files = 0;
}

void disc_file_destroy(disc_file *s)
{
    forget(s);
    if (s->inotify_fd >= 0) close(s->inotify_fd);
    s->inotify_fd = -1;
}

static bool has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && strcasecmp(path + n - e, ext) == 0;
}

static int read_file(const char *path, disc_tgs *out, core_err *err)
{
    disc_fmt fmt;
    if (has_ext(path, ".json"))
        fmt = DISC_FMT_JSON;
    else if (has_ext(path, ".yml") || has_ext(path, ".yaml"))
        fmt = DISC_FMT_YAML;
    else
        return core_err_set(err, "unhandled file extension of %s", path);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return core_err_set(err, "open %s: %s", path, strerror(errno));
    core_sb sb = CORE_SB_INIT;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        core_sb_add(&sb, buf, n);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (rerr)
        rc = core_err_set(err, "read %s: %s", path, strerror(rerr));
    else
        rc =
            disc_parse_groups(fmt, path, sb.buf ? sb.buf : "", sb.len, "__meta_filepath", out, err);
    core_sb_destroy(&sb);
    return rc;
}

/* Index of `path` in the list, or n. */
static size_t find(char **files, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i], path) == 0) return i;
    return n;
}

static void watch(disc_file *s)
{
    if (s->inotify_fd < 0) return;
    for (size_t i = 0; i < s->cfg->files.n; i++) {
        const char *p = s->cfg->files.v[i];
        const char *slash = strrchr(p, '/');
        char *dir = slash ? core_strndup(p, (size_t)(slash - p + 1)) : core_strdup("./");
        if (inotify_add_watch(s->inotify_fd, dir, WATCH_MASK) < 0)
            core_error(DISC_COMPONENT, "Error adding file watch", "path", dir, "err",
                       strerror(errno));
        free(dir);
    }
}

void disc_file_refresh(disc_file *s, disc_tgs *out)
{
    char **files = NULL;
    size_t *counts = NULL, n = 0, cap = 0;
    for (size_t i = 0; i < s->cfg->files.n; i++) {
        glob_t g;
        int grc = glob(s->cfg->files.v[i], GLOB_PERIOD, NULL, &g);
        if (grc != 0) {
            if (grc != GLOB_NOMATCH)
                core_error(DISC_COMPONENT, "Error expanding glob", "glob", s->cfg->files.v[i],
                           "err", grc == GLOB_NOSPACE ? "out of memory" : "read error");
            globfree(&g);
            continue;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) {
            const char *path = g.gl_pathv[j];
            size_t k = find(files, n, path);
            if (k == n) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    files = core_reallocarray(files, cap, sizeof *files);
                    counts = core_reallocarray(counts, cap, sizeof *counts);
                }
                files[n] = core_strdup(path);
                counts[n] = 0;
                n++;
            }
            size_t before = out->n;
            core_err err;
            if (read_file(path, out, &err) < 0) {
                atomic_fetch_add(&s->read_errors, 1);
                core_error(DISC_COMPONENT, "Error reading file", "path", path, "err", err.msg);
                size_t last = find(s->files, s->n_files, path);
                counts[k] = last < s->n_files ? s->counts[last] : 0;
                continue;
            }
            counts[k] = out->n - before;
        }
        globfree(&g);
    }
    /* Empty groups for sources that disappeared. */
    core_sb src = CORE_SB_INIT;
    for (size_t i = 0; i < s->n_files; i++) {
        size_t k = find(files, n, s->files[i]);
        size_t now = k < n ? counts[k] : 0;
        if (k < n && s->counts[i] <= now) continue;
        core_debug(DISC_COMPONENT, "file_sd refresh found file that should be removed", "file",
                   s->files[i]);
        for (size_t j = now; j < s->counts[i]; j++) {
            core_sb_reset(&src);
            core_sb_addf(&src, "%s:%zu", s->files[i], j);
            disc_tgs_push(out, disc_tg_new(src.buf));
        }
    }
    core_sb_destroy(&src);
    forget(s);
    s->files = files;
    s->counts = counts;
    s->n_files = n;
    watch(s);
}

bool disc_file_drain(disc_file *s)
{
    if (s->inotify_fd < 0) return false;
    bool reread = false;
    _Alignas(struct inotify_event) char buf[8192];
    for (;;) {
        ssize_t n = read(s->inotify_fd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (WATCH_MASK | IN_IGNORED | IN_Q_OVERFLOW)) reread = true;
            p += sizeof *ev + ev->len;
        }
    }
    return reread;
}
