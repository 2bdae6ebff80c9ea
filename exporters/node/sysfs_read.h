/*
 * sysfs_read.h - small readers shared by the /sys collectors, mirroring the
 * helpers of prometheus/procfs they replace:
 *
 *   sr_read(o, path)      util.SysReadFile: one read(2) of at most 128 bytes
 *                         (drivers that answer EAGAIN forever cannot hang a
 *                         read loop), surrounding white space trimmed
 *   sr_read_all(o, path)  os.ReadFile + strings.TrimSpace
 *   sr_u64(s, &v)         strconv.ParseUint(s, 0, 64): 0x / 0o / 0b prefixes
 *   sr_i64(s, &v)         strconv.ParseInt(s, 0, 64)
 *   sr_u64_file(o, path, &v)  sr_read then sr_u64
 */
#ifndef EXPORTERS_NODE_SYSFS_READ_H
#define EXPORTERS_NODE_SYSFS_READ_H

#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *sr_trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\n\r\v\f", s[n - 1]) != NULL)
        s[--n] = '\0';
    return s;
}

static inline char *sr_read(nx_out *o, const char *path)
{
    char buf[129];
    if (nx_read_bytes(path, buf, sizeof buf) < 0) return NULL;
    return core_arena_strdup(nx_arena(o), sr_trim(buf));
}

static inline char *sr_read_all(nx_out *o, const char *path)
{
    char *s = nx_read_file(o, path, NULL);
    return s != NULL ? sr_trim(s) : NULL;
}

static inline bool sr_u64(const char *s, uint64_t *out)
{
    int base = 10;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1] != '\0')
        base = 8, p += 1;
    if (!((*p >= '0' && *p <= '9') || (base == 16 && strchr("abcdefABCDEF", *p) && *p)))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, base);
    if (*end != '\0' || errno != 0) return false;
    *out = v;
    return true;
}

static inline bool sr_i64(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t v;
    if (!sr_u64(neg || *s == '+' ? s + 1 : s, &v)) return false;
    if (v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static inline bool sr_u64_file(nx_out *o, const char *path, uint64_t *out)
{
    char *s = sr_read(o, path);
    return s != NULL && sr_u64(s, out);
}

#endif
