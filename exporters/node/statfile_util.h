/*
 * statfile_util.h - small helpers shared by the collectors that read large
 * line-oriented stats files (zfs, xfs, nfs, nfsd, mountstats, ipvs, xfrm, ...).
 *
 * Everything is static inline so each collector_*.c that includes it stays
 * self-contained (the build globs collector_*.c only).
 */
#ifndef EXPORTERS_NODE_STATFILE_UTIL_H
#define EXPORTERS_NODE_STATFILE_UTIL_H

#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Cuts the next line off *cursor (in place, without its '\n'); NULL at the end. */
static inline char *sf_next_line(char **cursor)
{
    char *line = *cursor;
    if (line == NULL || *line == '\0') return NULL;
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = line + strlen(line);
    }
    return line;
}

/* Splits on any ASCII whitespace, like Go's strings.Fields; returns the count
 * (at most max). */
static inline size_t sf_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f')
            p++;
        if (*p == '\0') break;
        fields[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\v' && *p != '\f')
            p++;
        if (*p == '\0') break;
        *p++ = '\0';
    }
    return n;
}

/* A whole string as a signed 64-bit integer (Go's strconv.ParseInt base 10). */
static inline bool sf_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0') return false;
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (*d < '0' || *d > '9') return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno != 0) return false;
    *out = v;
    return true;
}

/* A whole string as an unsigned 64-bit integer in hexadecimal (no 0x). */
static inline bool sf_parse_hex_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end != '\0' || errno != 0) return false;
    *out = v;
    return true;
}

/* Trims ASCII whitespace off both ends, in place (Go's strings.TrimSpace). */
static inline char *sf_trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                     s[n - 1] == '\v' || s[n - 1] == '\f'))
        s[--n] = '\0';
    return s;
}

/* Parses n whole fields as uint64 (Go's util.ParseUint64s); false if one is not. */
static inline bool sf_parse_u64s(char *const *f, size_t n, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (!nx_parse_u64(f[i], &out[i])) return false;
    return true;
}

/* Splits on every ',' in place, keeping empty pieces (Go's strings.Split);
 * returns the count, at most max. */
static inline size_t sf_split_commas(char *s, char **out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        out[n++] = s;
        char *comma = strchr(s, ',');
        if (comma == NULL) break;
        *comma = '\0';
        s = comma + 1;
    }
    return n;
}

static inline bool sf_name_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

/* Upstream's SanitizeMetricName: each run of characters outside [0-9A-Za-z_],
 * with the underscores around it, becomes one '_'. */
static inline char *sf_sanitize_metric_name(nx_out *o, const char *name)
{
    char *out = core_arena_alloc(nx_arena(o), strlen(name) + 1);
    size_t n = 0, keep = 0; /* out[0..keep) is never trimmed */
    for (const char *p = name; *p != '\0';) {
        if (sf_name_char(*p)) {
            out[n++] = *p;
            p++;
            continue;
        }
        while (n > keep && out[n - 1] == '_')
            n--;
        while (*p != '\0' && !sf_name_char(*p))
            p++;
        while (*p == '_')
            p++;
        out[n++] = '_';
        keep = n;
    }
    out[n] = '\0';
    return out;
}

#endif
