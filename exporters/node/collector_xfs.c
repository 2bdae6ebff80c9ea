/*
 * collector_xfs.c - node_xfs_* counters from <sysfs>/fs/xfs/<device>/stats/stats.
 *
 * Each line is a section name and its uint32 values; the sections the
 * exporter reports must have exactly upstream's number of values (vnodes 7 or
 * 8), otherwise the line is skipped.  A section that is absent reports 0, as
 * upstream's zero-valued structs do.  Note the "rw" section holds writes
 * first, then reads.
 */
#include "statfile_util.h"

#include <glob.h>

enum {
    SEC_EXTENT_ALLOC,
    SEC_ABT,
    SEC_BLK_MAP,
    SEC_BMBT,
    SEC_DIR,
    SEC_IG,
    SEC_RW,
    SEC_VNODES,
    N_SEC
};

static const struct {
    const char *name;
    size_t min, max; /* accepted number of values */
} sections[N_SEC] = {
    [SEC_EXTENT_ALLOC] = {"extent_alloc", 4, 4},
    [SEC_ABT] = {"abt", 4, 4},
    [SEC_BLK_MAP] = {"blk_map", 7, 7},
    [SEC_BMBT] = {"bmbt", 4, 4},
    [SEC_DIR] = {"dir", 4, 4},
    [SEC_IG] = {"ig", 7, 7},
    [SEC_RW] = {"rw", 2, 2},
    [SEC_VNODES] = {"vnodes", 7, 8},
};

static const struct {
    int section, index;
    const char *name, *help;
} metrics[] = {
    {SEC_EXTENT_ALLOC, 0, "extent_allocation_extents_allocated_total",
     "Number of extents allocated for a filesystem."},
    {SEC_EXTENT_ALLOC, 1, "extent_allocation_blocks_allocated_total",
     "Number of blocks allocated for a filesystem."},
    {SEC_EXTENT_ALLOC, 2, "extent_allocation_extents_freed_total",
     "Number of extents freed for a filesystem."},
    {SEC_EXTENT_ALLOC, 3, "extent_allocation_blocks_freed_total",
     "Number of blocks freed for a filesystem."},
    {SEC_ABT, 0, "allocation_btree_lookups_total",
     "Number of allocation B-tree lookups for a filesystem."},
    {SEC_ABT, 1, "allocation_btree_compares_total",
     "Number of allocation B-tree compares for a filesystem."},
    {SEC_ABT, 2, "allocation_btree_records_inserted_total",
     "Number of allocation B-tree records inserted for a filesystem."},
    {SEC_ABT, 3, "allocation_btree_records_deleted_total",
     "Number of allocation B-tree records deleted for a filesystem."},
    {SEC_BLK_MAP, 0, "block_mapping_reads_total",
     "Number of block map for read operations for a filesystem."},
    {SEC_BLK_MAP, 1, "block_mapping_writes_total",
     "Number of block map for write operations for a filesystem."},
    {SEC_BLK_MAP, 2, "block_mapping_unmaps_total",
     "Number of block unmaps (deletes) for a filesystem."},
    {SEC_BLK_MAP, 3, "block_mapping_extent_list_insertions_total",
     "Number of extent list insertions for a filesystem."},
    {SEC_BLK_MAP, 4, "block_mapping_extent_list_deletions_total",
     "Number of extent list deletions for a filesystem."},
    {SEC_BLK_MAP, 5, "block_mapping_extent_list_lookups_total",
     "Number of extent list lookups for a filesystem."},
    {SEC_BLK_MAP, 6, "block_mapping_extent_list_compares_total",
     "Number of extent list compares for a filesystem."},
    {SEC_BMBT, 0, "block_map_btree_lookups_total",
     "Number of block map B-tree lookups for a filesystem."},
    {SEC_BMBT, 1, "block_map_btree_compares_total",
     "Number of block map B-tree compares for a filesystem."},
    {SEC_BMBT, 2, "block_map_btree_records_inserted_total",
     "Number of block map B-tree records inserted for a filesystem."},
    {SEC_BMBT, 3, "block_map_btree_records_deleted_total",
     "Number of block map B-tree records deleted for a filesystem."},
    {SEC_DIR, 0, "directory_operation_lookup_total",
     "Number of file name directory lookups which miss the operating systems directory name "
     "lookup cache."},
    {SEC_DIR, 1, "directory_operation_create_total",
     "Number of times a new directory entry was created for a filesystem."},
    {SEC_DIR, 2, "directory_operation_remove_total",
     "Number of times an existing directory entry was created for a filesystem."},
    {SEC_DIR, 3, "directory_operation_getdents_total",
     "Number of times the directory getdents operation was performed for a filesystem."},
    {SEC_IG, 0, "inode_operation_attempts_total",
     "Number of times the OS looked for an XFS inode in the inode cache."},
    {SEC_IG, 1, "inode_operation_found_total",
     "Number of times the OS looked for and found an XFS inode in the inode cache."},
    {SEC_IG, 2, "inode_operation_recycled_total",
     "Number of times the OS found an XFS inode in the cache, but could not use it as it was "
     "being recycled."},
    {SEC_IG, 3, "inode_operation_missed_total",
     "Number of times the OS looked for an XFS inode in the cache, but did not find it."},
    {SEC_IG, 4, "inode_operation_duplicates_total",
     "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it "
     "had already been added by another process."},
    {SEC_IG, 5, "inode_operation_reclaims_total",
     "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for "
     "another purpose."},
    {SEC_IG, 6, "inode_operation_attribute_changes_total",
     "Number of times the OS explicitly changed the attributes of an XFS inode."},
    {SEC_RW, 1, "read_calls_total",
     "Number of read(2) system calls made to files in a filesystem."},
    {SEC_RW, 0, "write_calls_total",
     "Number of write(2) system calls made to files in a filesystem."},
    {SEC_VNODES, 0, "vnode_active_total", "Number of vnodes not on free lists for a filesystem."},
    {SEC_VNODES, 1, "vnode_allocate_total", "Number of times vn_alloc called for a filesystem."},
    {SEC_VNODES, 2, "vnode_get_total", "Number of times vn_get called for a filesystem."},
    {SEC_VNODES, 3, "vnode_hold_total", "Number of times vn_hold called for a filesystem."},
    {SEC_VNODES, 4, "vnode_release_total", "Number of times vn_rele called for a filesystem."},
    {SEC_VNODES, 5, "vnode_reclaim_total", "Number of times vn_reclaim called for a filesystem."},
    {SEC_VNODES, 6, "vnode_remove_total", "Number of times vn_remove called for a filesystem."},
};

/* Values per section, zero where the file lacks the section. */
typedef struct xfs_stats {
    uint32_t v[N_SEC][8];
} xfs_stats;

static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!nx_parse_u64(s, &v) || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

static void parse_line(nx_out *o, const char *path, char *line, xfs_stats *st)
{
    char *f[16];
    size_t n = sf_fields(line, f, 16);
    if (n < 2) return;
    for (int s = 0; s < N_SEC; s++) {
        if (strcmp(f[0], sections[s].name) != 0) continue;
        size_t nv = n - 1;
        uint32_t v[8] = {0};
        bool ok = nv >= sections[s].min && nv <= sections[s].max;
        for (size_t i = 0; ok && i < nv; i++)
            ok = parse_u32(f[i + 1], &v[i]);
        if (!ok) {
            nx_warn(o, "xfs: %s: malformed %s line", path, f[0]);
            return;
        }
        memcpy(st->v[s], v, sizeof v);
        return;
    }
}

static void emit(nx_out *o, const char *device, const xfs_stats *st)
{
    static const char *const labels[] = {"device", NULL};
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        nx_family(o, nx_sprintf(o, "node_xfs_%s", metrics[i].name), metrics[i].help, PROM_COUNTER,
                  labels);
        nx_samplev(o, st->v[metrics[i].section][metrics[i].index], device, NULL);
    }
}

/* <sysfs>/fs/xfs/<device>/stats/stats -> <device> */
static const char *device_of(nx_out *o, const char *path)
{
    const char *end = path + strlen(path) - strlen("/stats/stats");
    const char *start = end;
    while (start > path && start[-1] != '/')
        start--;
    return core_arena_strndup(nx_arena(o), start, (size_t)(end - start));
}

static int collect(nx_out *o)
{
    const char *pattern = nx_sys(o, "fs/xfs/*/stats/stats");
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) return nx_error(o, "failed to retrieve XFS stats: glob %s failed", pattern);
    int result = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = nx_read_file(o, g.gl_pathv[i], NULL);
        if (text == NULL) {
            result = nx_error(o, "failed to retrieve XFS stats: %s: %m", g.gl_pathv[i]);
            break;
        }
        xfs_stats st;
        memset(&st, 0, sizeof st);
        for (char *line; (line = sf_next_line(&text)) != NULL;)
            parse_line(o, g.gl_pathv[i], line, &st);
        emit(o, device_of(o, g.gl_pathv[i]), &st);
    }
    globfree(&g);
    return result;
}

const nx_collector nx_collector_xfs = {
    .name = "xfs",
    .default_on = true,
    .collect = collect,
};
