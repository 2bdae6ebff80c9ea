/*
 * mountinfo_parse.h - the mount table as prometheus/procfs reads it, for the
 * filesystem and btrfs collectors: <procfs>/1/mountinfo, or <procfs>/self/mountinfo
 * when the first is missing (hidepid), parsed line by line.
 *
 *   mi_read(o, &mounts, &n, why, sizeof why)   0, or -1 with the reason in
 *                             why (unreadable, or a malformed line: procfs
 *                             rejects the whole file); the caller decides
 *                             whether that fails its scrape
 *
 * Each mount keeps upstream's labels: the mount point with \040 and \011
 * decoded and --path.rootfs stripped (rootfsStripPrefix), invalid UTF-8
 * replaced by U+FFFD, major and minor as decimal numbers, and whether "ro"
 * is among the mount options or "ro"/"emergency_ro" among the super options.
 */
#ifndef EXPORTERS_NODE_MOUNTINFO_PARSE_H
#define EXPORTERS_NODE_MOUNTINFO_PARSE_H

#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mi_mount {
    const char *device, *mount_point, *fs_type, *major, *minor;
    bool read_only;
} mi_mount;

/* Replaces every `from` in s (in place, `to` is one byte). */
static inline void mi_unescape(char *s, const char *from, char to)
{
    size_t fl = strlen(from);
    char *r = s, *w = s;
    while (*r != '\0') {
        if (strncmp(r, from, fl) == 0)
            *w++ = to, r += fl;
        else
            *w++ = *r++;
    }
    *w = '\0';
}

/* Whether the comma-separated options hold `opt` as a key (opt or opt=...). */
static inline bool mi_has_option(const char *opts, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = opts; p != NULL; p = strchr(p, ',')) {
        if (*p == ',') p++;
        if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '=' || p[n] == '\0')) return true;
    }
    return false;
}

/* rootfsStripPrefix: the mount point as seen from --path.rootfs. */
static inline const char *mi_strip_rootfs(const char *mp)
{
    const char *root = nx_path.rootfs;
    if (strcmp(root, "/") == 0) return mp;
    size_t n = strlen(root);
    if (strncmp(mp, root, n) == 0) mp += n;
    return *mp == '\0' ? "/" : mp;
}

/* Parses one line (split on single spaces, as procfs); false if malformed. */
static inline bool mi_parse_line(nx_out *o, char *line, mi_mount *m)
{
    char *f[64];
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n == 64) return false;
        f[n++] = p;
        p = strchr(p, ' ');
        if (p == NULL) break;
        *p = '\0';
    }
    if (n < 10 || strcmp(f[n - 4], "-") != 0) return false;
    char *end;
    strtol(f[0], &end, 10);
    if (*f[0] == '\0' || *end != '\0') return false;
    strtol(f[1], &end, 10);
    if (*f[1] == '\0' || *end != '\0') return false;
    int major, minor;
    if (sscanf(f[2], "%d:%d", &major, &minor) != 2) return false;
    mi_unescape(f[4], "\\040", ' ');
    mi_unescape(f[4], "\\011", '\t');
    m->device = nx_valid_utf8(o, f[n - 2]);
    m->mount_point = nx_valid_utf8(o, mi_strip_rootfs(f[4]));
    m->fs_type = nx_valid_utf8(o, f[n - 3]);
    m->major = nx_sprintf(o, "%d", major);
    m->minor = nx_sprintf(o, "%d", minor);
    m->read_only = mi_has_option(f[5], "ro") || mi_has_option(f[n - 1], "ro") ||
                   mi_has_option(f[n - 1], "emergency_ro");
    return true;
}

static inline int mi_read(nx_out *o, mi_mount **mounts, size_t *n_mounts, char *why, size_t why_len)
{
    const char *path = nx_proc(o, "1/mountinfo");
    char *text = nx_read_mounts(o, path, NULL); /* read again only after a change */
    if (text == NULL && errno == ENOENT) {
        path = nx_proc(o, "self/mountinfo");
        text = nx_read_mounts(o, path, NULL);
    }
    if (text == NULL) {
        snprintf(why, why_len, "couldn't read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 16, n = 0;
    mi_mount *m = core_arena_alloc(nx_arena(o), cap * sizeof *m);
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) {
            mi_mount *bigger = core_arena_alloc(nx_arena(o), 2 * cap * sizeof *m);
            memcpy(bigger, m, n * sizeof *m);
            m = bigger, cap *= 2;
        }
        char *copy = core_arena_strdup(nx_arena(o), line);
        if (!mi_parse_line(o, line, &m[n])) {
            snprintf(why, why_len, "malformed mount point information in %s: %.80s", path, copy);
            return -1;
        }
        n++;
    }
    *mounts = m;
    *n_mounts = n;
    return 0;
}

#endif
