/*
 * sysfs_shim.c - an LD_PRELOAD library for the hwmon/libsensors test.
 *
 * libsensors insists that /sys is a sysfs mount (it checks statfs's f_type).
 * The test binds a fixture tree over /sys in a private mount namespace; this
 * shim makes statfs("/sys") report the sysfs magic so libsensors reads it.
 * Nothing else is changed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/vfs.h>

#define SYSFS_MAGIC 0x62656572

int statfs(const char *path, struct statfs *buf);
int statfs64(const char *path, struct statfs64 *buf);

int statfs(const char *path, struct statfs *buf)
{
    int (*real)(const char *, struct statfs *) =
        (int (*)(const char *, struct statfs *))dlsym(RTLD_NEXT, "statfs");
    int rc = real(path, buf);
    if (rc == 0 && strcmp(path, "/sys") == 0) buf->f_type = SYSFS_MAGIC;
    return rc;
}

int statfs64(const char *path, struct statfs64 *buf)
{
    int (*real)(const char *, struct statfs64 *) =
        (int (*)(const char *, struct statfs64 *))dlsym(RTLD_NEXT, "statfs64");
    int rc = real(path, buf);
    if (rc == 0 && strcmp(path, "/sys") == 0) buf->f_type = SYSFS_MAGIC;
    return rc;
}
