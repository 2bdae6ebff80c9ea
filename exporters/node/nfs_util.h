/*
 * nfs_util.h - what collector_nfs.c and collector_nfsd.c share: reading
 * <procfs>/net/rpc/nfs{,d} into per-line value arrays, and the procedure
 * names of the proc2/proc3 lines (upstream's V2Stats/V3Stats field names,
 * which become the "method" label).
 */
#ifndef EXPORTERS_NODE_NFS_UTIL_H
#define EXPORTERS_NODE_NFS_UTIL_H

#include "statfile_util.h"

/* proc2 values 1..18 and proc3 values 1..22 (value 0 is the count). */
static const char *const nfs_v2_names[] = {
    "Null",   "GetAttr", "SetAttr", "Root", "Lookup",  "ReadLink", "Read",  "WrCache", "Write",
    "Create", "Remove",  "Rename",  "Link", "SymLink", "MkDir",    "RmDir", "ReadDir", "FsStat",
};
static const char *const nfs_v3_names[] = {
    "Null",    "GetAttr",     "SetAttr", "Lookup", "Access",   "ReadLink", "Read",   "Write",
    "Create",  "MkDir",       "SymLink", "MkNod",  "Remove",   "RmDir",    "Rename", "Link",
    "ReadDir", "ReadDirPlus", "FsStat",  "FsInfo", "PathConf", "Commit",
};

/* One line of the file: its label and up to NFS_MAX_VALUES values. */
#define NFS_MAX_VALUES 128
typedef struct nfs_line {
    const char *label;
    uint64_t v[NFS_MAX_VALUES];
    size_t n;
} nfs_line;

/* Splits and parses a line; on the line labelled `capped` (if not NULL) only
 * the first `cap` values are read (nfsd's "th" line has float fields after its
 * two counters).  false, after a warning, when the line is malformed. */
static inline bool nfs_parse_line(nx_out *o, const char *file, char *text, const char *capped,
                                  size_t cap, nfs_line *out)
{
    char *f[NFS_MAX_VALUES + 1];
    size_t n = sf_fields(text, f, NFS_MAX_VALUES + 1);
    if (n == 0) return false;
    if (n < 2) {
        nx_warn(o, "%s: invalid metric line %s", file, f[0]);
        return false;
    }
    out->label = f[0];
    out->n = n - 1;
    if (capped != NULL && strcmp(f[0], capped) == 0 && out->n > cap) out->n = cap;
    if (!sf_parse_u64s(f + 1, out->n, out->v)) {
        nx_warn(o, "%s: error parsing metric line %s", file, f[0]);
        return false;
    }
    return true;
}

/* A procN line is valid when its first value counts the others and there are
 * at least `min` of them. */
static inline bool nfs_proc_ok(const nfs_line *l, size_t min)
{
    return l->n >= 1 && l->v[0] == l->n - 1 && l->v[0] >= min;
}

#endif
