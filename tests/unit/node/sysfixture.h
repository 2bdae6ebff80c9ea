/*
 * sysfixture.h - a writable copy of the fixture host with its symlinks back.
 *
 * The shared fixture tree stores each symlink of upstream's fixtures as a
 * small regular file holding the link's target ("../../devices/...").  The
 * /sys collectors follow such links (class/hwmon/hwmonN, class/net/eth0, a
 * chip's device link), so their tests run on a copy in which every such file
 * is a symlink again and the empty directories of EMPTY_DIRS.txt exist.
 *
 *   const char *root = st_fixture_copy();   (made once per test program)
 *   nt_use_root(root);
 *   ...
 *   st_fixture_remove();                    (at the end of main)
 */
#ifndef TESTS_SYSFIXTURE_H
#define TESTS_SYSFIXTURE_H

#include "nodetest.h"

#include <dirent.h>
#include <unistd.h>

static char st_root[256];

/* A file of at most 300 bytes that starts with "../" and holds no newline or
 * NUL is a symlink the tree lost; dir is walked depth first. */
static void st_restore_links(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[4096], buf[320];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            st_restore_links(path);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_size < 3 || sb.st_size > 300) continue;
        FILE *f = fopen(path, "rb");
        if (f == NULL) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strncmp(buf, "../", 3) != 0 || strlen(buf) != n || strchr(buf, '\n') != NULL) continue;
        if (unlink(path) == 0 && symlink(buf, path) != 0)
            fail_msg("symlink %s: %s", path, strerror(errno));
    }
    closedir(d);
}

static inline const char *st_fixture_copy(void)
{
    if (st_root[0] != '\0') return st_root;
    snprintf(st_root, sizeof st_root, "/tmp/nt-sysfix-XXXXXX");
    if (mkdtemp(st_root) == NULL) fail_msg("mkdtemp: %s", strerror(errno));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -R '%s/.' '%s/' && chmod -R u+w '%s'", nt_fixtures(), st_root,
             st_root);
    if (system(cmd) != 0) fail_msg("cannot copy the fixtures");
    st_restore_links(st_root);
    char list[1100];
    snprintf(list, sizeof list, "%s/EMPTY_DIRS.txt", nt_fixtures());
    FILE *f = fopen(list, "r");
    char line[1024];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0') continue;
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", st_root, line);
        if (system(cmd) != 0) fail_msg("cannot create %s", line);
    }
    if (f != NULL) fclose(f);
    return st_root;
}

static inline void st_fixture_remove(void)
{
    if (st_root[0] == '\0') return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", st_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", st_root);
    st_root[0] = '\0';
}

/* A fresh empty directory for malformed inputs; removed with st_rmdir. */
static inline void st_tmpdir(char *dir, size_t cap, const char *what)
{
    snprintf(dir, cap, "/tmp/nt-%s-XXXXXX", what);
    if (mkdtemp(dir) == NULL) fail_msg("mkdtemp: %s", strerror(errno));
}

static inline void st_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

/* Sets a collector's flag by name (the flag tables are the collectors' own). */
static inline void st_set_flag(const nx_collector *c, const char *name, const void *value)
{
    for (size_t i = 0; i < c->n_flags; i++) {
        if (strcmp(c->flags[i].name, name) != 0) continue;
        switch (c->flags[i].kind) {
        case CORE_FLAG_STRING: *(const char **)c->flags[i].dest = value; return;
        case CORE_FLAG_BOOL: *(bool *)c->flags[i].dest = *(const bool *)value; return;
        default: fail_msg("flag %s: kind not handled", name);
        }
    }
    fail_msg("no flag %s in collector %s", name, c->name);
}

#endif
