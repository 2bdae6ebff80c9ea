/*
 * tool_tsdb.c - prom-tool's read commands on a data directory, as promtool's:
 *
 *   tsdb list [-r] [<db path>]                      the blocks, one line each
 *   tsdb analyze [--limit] [--extended] [--match] [<db path>] [<block id>]
 *                                                   churn and cardinality of one block
 *   tsdb dump [--min-time] [--max-time] [--match]... [--format] [<db path>]
 *   tsdb dump-openmetrics (the same flags but --format)
 *
 * Upstream Prometheus 3.x promtool is the specification (output formats,
 * defaults, error texts); Debian's promtool 2.42 is the peer the integration
 * test compares with.  Where the two differ this file follows 3.x and says
 * so where it happens ("3.x:").
 *
 * The data directory is reached through one small layer, tool_db, which
 * mirrors upstream's DBReadOnly: open (the directory must exist), the
 * persisted blocks (opened as upstream's Blocks() opens them: a block whose
 * meta.json cannot be read is skipped, one that fails to open is reported as
 * corrupted unless a loadable block was compacted from it), the last block's
 * ID, one block by ID, and the head.  The head is what a dump reads besides
 * the blocks when they end at or before --max-time, as upstream's
 * loadDataAsQueryable decides: the TSDB's read-only open replays wal/ (its
 * checkpoint first) into a head kept in memory, writing nothing, and that
 * head joins the blocks loaded here in one querier.  The blocks are this
 * file's rather than the read-only database's own list so that which
 * directories count as blocks, and which corruption fails the command,
 * stay upstream's (the database also opens leftover directories that hold
 * a meta.json, and leaves corrupt blocks out with a log line).  upstream's
 * analyze and list read persisted blocks only, so only the dumps need the
 * head.
 *
 * Output goes through a large stdio buffer, a line at a time; floats are
 * printed as Go's %g prints them (model_format_float), label values quoted
 * as Go's strconv.Quote.  Ordering that upstream leaves to an unstable sort
 * over a map (ties in analyze's lists, several corrupted blocks) is made
 * deterministic here: ties by name, blocks by directory name.
 *
 * Not done yet: native histogram chunks (dump and analyze --extended stop
 * with an error naming them).  --sandbox-dir-root is accepted and unused:
 * nothing here writes to the data directory (upstream makes a sandbox there
 * for the head chunks it writes while replaying the WAL; our replay keeps
 * them in memory).
 */
#include "cmd/tool.h"
#include "model/model.h"
#include "promql/storage.h"
#include "tsdb/tsdb.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DB_PATH  "data/"
#define DEFAULT_SELECTOR "{__name__=~'(?s:.*)'}"

/* ---- Go's formatting of the values promtool prints */

/* Go's error text of an errno: strerror with a lower-case first letter
 * ("no such file or directory"). */
static void os_error(core_sb *sb, int errnum)
{
    const char *s = strerror(errnum);
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z')) {
        core_sb_addc(sb, (char)(s[0] - 'A' + 'a'));
        s++;
    }
    core_sb_adds(sb, s);
}

/* A span of milliseconds as Go's time.Duration(ms) * time.Millisecond, which
 * wraps around as Go's int64 arithmetic does. */
static void go_duration_ms(core_sb *sb, int64_t from, int64_t to)
{
    uint64_t ms = (uint64_t)to - (uint64_t)from;
    core_sb_add_go_duration(sb, (int64_t)(ms * UINT64_C(1000000)));
}

/* alecthomas/units Base2Bytes(n).String(): "587B", "1KiB512B", "2MiB". */
static void go_base2_bytes(core_sb *sb, int64_t n)
{
    static const char *const units[] = {"", "K", "M", "G", "T", "P", "E"};
    char parts[7][32];
    size_t np = 0;
    for (size_t i = 0; i < 7; i++) {
        if (n % 1024 != 0 || (i == 0 && n == 0))
            snprintf(parts[np++], sizeof parts[0], "%" PRId64 "%s%s", n % 1024, units[i],
                     i == 0 ? "B" : "iB");
        n /= 1024;
        if (n == 0) break;
    }
    while (np > 0)
        core_sb_adds(sb, parts[--np]);
}

/* Go's time.Unix(sec, 0).UTC().String(): "2023-11-14 22:13:20 +0000 UTC". */
static void go_time_utc(core_sb *sb, int64_t sec)
{
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) rem += 86400, days--;
    /* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    if (y < 0) core_sb_addc(sb, '-'), y = -y;
    core_sb_addf(sb, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 " %02d:%02d:%02d +0000 UTC", y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* Go's uint64(f) for a non-negative f as amd64 computes it: values that do
 * not fit (and NaN) give 1 << 63. */
static uint64_t go_uint64(double f)
{
    if (!(f >= 0 && f < 18446744073709551616.0)) return UINT64_C(1) << 63;
    return (uint64_t)f;
}

/* Appends a label name as upstream's Labels.String() writes it: bare when it
 * is a legacy name, quoted otherwise (3.x; 2.42 never quotes). */
static void add_label_name(core_sb *sb, const char *name, bool quote_odd)
{
    size_t n = strlen(name);
    if (quote_odd && !core_label_name_valid(name, n))
        core_sb_add_quoted(sb, name, n);
    else
        core_sb_add(sb, name, n);
}

/* Labels.String(): {__name__="up", job="x"}. */
static void add_labels(core_sb *sb, const core_labels *ls)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; i < ls->len; i++) {
        if (i) core_sb_add(sb, ", ", 2);
        add_label_name(sb, ls->v[i].name, true);
        core_sb_addc(sb, '=');
        core_sb_add_quoted(sb, ls->v[i].value, strlen(ls->v[i].value));
    }
    core_sb_addc(sb, '}');
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* A JSON string as Go's encoding/json writes it: <, > and & escaped for
 * HTML, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped. */
static void add_json_str(core_sb *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    core_sb_addc(sb, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0) {
                core_sb_adds(sb, "\\ufffd");
                i++;
            } else if (l == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] | 1) == 0xa9) {
                core_sb_addf(sb, "\\u202%c", p[i + 2] == 0xa8 ? '8' : '9');
                i += 3;
            } else {
                core_sb_add(sb, s + i, l);
                i += l;
            }
            continue;
        }
        i++;
        switch (c) {
        case '"': core_sb_adds(sb, "\\\""); continue;
        case '\\': core_sb_adds(sb, "\\\\"); continue;
        case '\n': core_sb_adds(sb, "\\n"); continue;
        case '\r': core_sb_adds(sb, "\\r"); continue;
        case '\t': core_sb_adds(sb, "\\t"); continue;
        default: break;
        }
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            core_sb_addf(sb, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            continue;
        }
        core_sb_addc(sb, (char)c);
    }
    core_sb_addc(sb, '"');
}

/* Go's text/tabwriter as promtool sets it up (minwidth 13, padding 2, no
 * flags): every cell but a line's last is padded with spaces to its column's
 * widest cell plus 2, at least 13. */
typedef struct table {
    char **cells; /* rows * cols */
    size_t rows, cols;
} table;

static void table_add(table *t, char **row)
{
    t->cells = core_reallocarray(t->cells, (t->rows + 1) * t->cols, sizeof *t->cells);
    for (size_t c = 0; c < t->cols; c++)
        t->cells[t->rows * t->cols + c] = row[c];
    t->rows++;
}

static void table_print(table *t, FILE *out)
{
    size_t *w = core_calloc(t->cols, sizeof *w);
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c + 1 < t->cols; c++) {
            size_t n = strlen(t->cells[r * t->cols + c]) + 2;
            if (n > w[c]) w[c] = n;
        }
    for (size_t c = 0; c < t->cols; c++)
        if (w[c] < 13) w[c] = 13;
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * t->cols + c];
            if (c + 1 < t->cols)
                fprintf(out, "%-*s", (int)w[c], cell);
            else
                fprintf(out, "%s\n", cell);
        }
    }
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(w);
}

/* Go's filepath.Join(dir, name) for the names used here: dir cleaned of
 * trailing and doubled slashes and "." elements. */
static char *path_join(const char *dir, const char *name)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, dir);
    core_sb_addc(&sb, '/');
    core_sb_adds(&sb, name);
    /* Clean: drop empty and "." elements (keeping a leading "/"). */
    char *s = core_sb_detach(&sb, NULL);
    core_sb out = CORE_SB_INIT;
    if (s[0] == '/') core_sb_addc(&out, '/');
    for (char *p = s; *p;) {
        char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out.len > 0 && out.buf[out.len - 1] != '/') core_sb_addc(&out, '/');
            core_sb_add(&out, p, n);
        }
        p += n;
        while (*p == '/')
            p++;
    }
    free(s);
    return core_sb_detach(&out, NULL);
}

/* ---- Series selectors (--match), through the PromQL parser */

/* A compiled regex matcher's state for tsdb_matcher.re_match. */
typedef struct re_ctx {
    pcre2_code *re;
    pcre2_match_data *md;
} re_ctx;

static bool re_match(void *ctx, tsdb_str v)
{
    re_ctx *r = ctx;
    return pcre2_match(r->re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0,
                       PCRE2_ANCHORED | PCRE2_ENDANCHORED, r->md, NULL) >= 0;
}

typedef struct selector {
    tsdb_matcher *m;
    size_t n;
} selector;

static void selector_destroy(selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        re_ctx *r = s->m[i].ctx;
        if (!r) continue;
        pcre2_match_data_free(r->md);
        pql_regex_free(r->re);
        free(r);
    }
    free(s->m);
    memset(s, 0, sizeof *s);
}

/* Parses a series selector as upstream's ParseMetricSelector: a vector
 * selector alone, where (unlike in a query) every matcher may match the empty
 * string.  The PromQL parser refuses such a selector in a query; the same
 * braces as info()'s second argument are taken, so the retry below parses
 * them with the check off and otherwise unchanged. */
static int selector_parse(const char *text, core_arena *a, selector *out, core_err *err)
{
    memset(out, 0, sizeof *out);
    pql_node *n = pql_parse(text, NULL, a, err);
    if (!n && strstr(err->msg, "vector selector must contain at least one non-empty matcher")) {
        core_err again;
        pql_parse_opts opts = {.experimental_functions = true};
        const char *wrapped = core_arena_sprintf(a, "info(prom_tool_selector, %s\n)", text);
        pql_node *w = pql_parse(wrapped, &opts, a, &again);
        if (w && w->kind == PQL_NODE_CALL && w->u.call.nargs == 2) n = w->u.call.args[1];
    }
    if (!n) return -1;
    if (n->kind != PQL_NODE_VECTOR || n->u.vector.timing.offset_ms != 0 ||
        n->u.vector.timing.offset_expr || n->u.vector.timing.at != PQL_AT_NONE ||
        n->u.vector.anchored || n->u.vector.smoothed)
        return core_err_set(err, "1:1: parse error: expected a series selector, got %s", text);
    size_t nm = n->u.vector.nmatchers;
    out->m = core_calloc(nm + 1, sizeof *out->m);
    for (size_t i = 0; i < nm; i++) {
        const pql_matcher *pm = &n->u.vector.matchers[i];
        static const tsdb_match_type types[] = {
            [PQL_MATCH_EQ] = TSDB_MATCH_EQ,
            [PQL_MATCH_NEQ] = TSDB_MATCH_NEQ,
            [PQL_MATCH_RE] = TSDB_MATCH_RE,
            [PQL_MATCH_NRE] = TSDB_MATCH_NRE,
        };
        tsdb_matcher *m = &out->m[out->n++];
        *m = (tsdb_matcher){
            .type = types[pm->type],
            .name = tsdb_str_c(pm->name),
            .value = {.p = pm->value, .len = pm->value_len},
            .re_match = re_match,
        };
        if (pm->type == PQL_MATCH_RE || pm->type == PQL_MATCH_NRE) {
            void *re = pql_regex_compile(pm, err);
            if (!re) {
                selector_destroy(out);
                return -1;
            }
            re_ctx *r = core_calloc(1, sizeof *r);
            r->re = re;
            r->md = pcre2_match_data_create_from_pattern(re, NULL);
            m->ctx = r;
        }
    }
    return 0;
}

/* Whether an index series' labels satisfy every matcher (an absent label has
 * the value ""), as upstream's PostingsForMatchers decides. */
static bool selector_matches(const selector *s, const tsdb_index_series *ser)
{
    for (size_t i = 0; i < s->n; i++) {
        tsdb_str v = {"", 0};
        for (size_t k = 0; k < ser->nlabels; k++)
            if (tsdb_str_cmp(ser->labels[k].name, s->m[i].name) == 0) v = ser->labels[k].value;
        if (!tsdb_matcher_matches(&s->m[i], v)) return false;
    }
    return true;
}

/* ---- The data directory (upstream's DBReadOnly) */

typedef struct tool_db {
    const char *dir; /* as given on the command line */
    tsdb_querier q;  /* persisted blocks by mint, after db_load_blocks; the head
                        joins them in q.head after db_load_head */
    tsdb_db *wal;    /* the read-only database whose head q.head is, or NULL */
} tool_db;

/* Upstream's OpenDBReadOnly: the directory must exist. */
static int db_open(tool_db *db, const char *dir, core_err *err)
{
    memset(db, 0, sizeof *db);
    db->dir = dir;
    struct stat st;
    if (stat(dir, &st) < 0) {
        core_sb sb = CORE_SB_INIT;
        os_error(&sb, errno);
        core_err_set(err, "opening the db dir: stat %s: %s", dir, sb.buf);
        core_sb_destroy(&sb);
        return -1;
    }
    return 0;
}

static void db_close(tool_db *db)
{
    /* q.db is NULL: closing the querier closes this file's blocks only. */
    db->q.head = NULL;
    tsdb_querier_close(&db->q);
    tsdb_db_close(db->wal, NULL);
    db->wal = NULL;
}

/* The names in a directory, sorted (Go's os.ReadDir), with whether each is a
 * directory (not following links, as fs.DirEntry.IsDir). */
typedef struct dir_entry {
    char *name;
    bool is_dir;
} dir_entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

static int read_dir(const char *dir, dir_entry **out, size_t *n, core_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        core_sb sb = CORE_SB_INIT;
        os_error(&sb, errno);
        core_err_set(err, "open %s: %s", dir, sb.buf);
        core_sb_destroy(&sb);
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        bool is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            char *p = path_join(dir, de->d_name);
            struct stat st;
            is_dir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
            free(p);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = core_reallocarray(*out, cap, sizeof **out);
        }
        (*out)[(*n)++] = (dir_entry){core_strdup(de->d_name), is_dir};
    }
    closedir(d);
    if (*n) qsort(*out, *n, sizeof **out, cmp_entry);
    return 0;
}

static void free_dir(dir_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

static bool is_ulid(const char *name, tsdb_ulid *u)
{
    tsdb_ulid tmp;
    return tsdb_ulid_parse(name, strlen(name), u ? u : &tmp, NULL) == 0;
}

static int cmp_block(const void *a, const void *b)
{
    const tsdb_block *x = a, *y = b;
    if (x->meta.mint != y->meta.mint) return x->meta.mint < y->meta.mint ? -1 : 1;
    return strcmp(x->dir, y->dir);
}

static bool ulid_eq(const tsdb_ulid *a, const tsdb_ulid *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

/* Upstream's DBReadOnly.Blocks(): every directory named by a ULID whose
 * meta.json reads is opened; the others are skipped.  A block that fails to
 * open is corrupted, which fails the whole call unless a loadable block names
 * it among its compaction parents. */
static int db_load_blocks(tool_db *db, core_err *err)
{
    dir_entry *ents;
    size_t nents;
    if (read_dir(db->dir, &ents, &nents, err) < 0) return core_err_prefix(err, "find blocks");
    tsdb_block *blocks = core_calloc(nents + 1, sizeof *blocks);
    size_t nb = 0;
    struct bad {
        tsdb_ulid ulid;
        char *msg;
    } *bad = core_calloc(nents + 1, sizeof *bad);
    size_t nbad = 0;
    for (size_t i = 0; i < nents; i++) {
        if (!ents[i].is_dir || !is_ulid(ents[i].name, NULL)) continue;
        char *bdir = path_join(db->dir, ents[i].name);
        tsdb_block_meta meta;
        core_err e;
        if (tsdb_block_meta_read(&meta, bdir, NULL, &e) < 0) {
            free(bdir);
            continue;
        }
        if (tsdb_block_open(&blocks[nb], bdir, &e) == 0) {
            nb++;
        } else {
            bad[nbad].ulid = meta.ulid;
            bad[nbad++].msg = core_strdup(e.msg);
        }
        tsdb_block_meta_destroy(&meta);
        free(bdir);
    }
    free_dir(ents, nents);
    core_sb msg = CORE_SB_INIT;
    for (size_t i = 0; i < nbad; i++) {
        bool superseded = false;
        for (size_t k = 0; k < nb && !superseded; k++)
            for (size_t p = 0; p < blocks[k].meta.nparents; p++)
                if (ulid_eq(&blocks[k].meta.parents[p].ulid, &bad[i].ulid)) superseded = true;
        if (!superseded) {
            char id[TSDB_ULID_LEN + 1];
            tsdb_ulid_format(&bad[i].ulid, id);
            if (msg.len) core_sb_addc(&msg, '\n');
            core_sb_addf(&msg, "corrupted block %s: %s", id, bad[i].msg);
        }
        free(bad[i].msg);
    }
    free(bad);
    if (msg.len) {
        core_err_set(err, "%s", msg.buf);
        core_sb_destroy(&msg);
        for (size_t i = 0; i < nb; i++)
            tsdb_block_close(&blocks[i]);
        free(blocks);
        return -1;
    }
    core_sb_destroy(&msg);
    if (nb) qsort(blocks, nb, sizeof *blocks, cmp_block);
    db->q.blocks = blocks;
    db->q.n = nb;
    return 0;
}

/* Upstream's DBReadOnly.LastBlockID(): of the entries named by a ULID, the
 * one whose ULID holds the latest time (the first in name order on a tie). */
static int db_last_block_id(tool_db *db, char id[TSDB_ULID_LEN + 1], core_err *err)
{
    dir_entry *ents;
    size_t nents;
    if (read_dir(db->dir, &ents, &nents, err) < 0) return -1;
    uint64_t max = 0;
    id[0] = '\0';
    for (size_t i = 0; i < nents; i++) {
        tsdb_ulid u;
        if (!is_ulid(ents[i].name, &u)) continue;
        uint64_t t = 0;
        for (int k = 0; k < 6; k++)
            t = t << 8 | u.b[k];
        if (t > max) {
            max = t;
            snprintf(id, TSDB_ULID_LEN + 1, "%s", ents[i].name);
        }
    }
    free_dir(ents, nents);
    if (!id[0]) return core_err_set(err, "no blocks found");
    return 0;
}

/* Upstream's DBReadOnly.Block(id). */
static int db_block(tool_db *db, const char *id, tsdb_block *b, core_err *err)
{
    char *bdir = path_join(db->dir, id);
    struct stat st;
    if (stat(bdir, &st) < 0 && errno == ENOENT) {
        free(bdir);
        return core_err_set(err, "invalid block ID %s", id);
    }
    int rc = tsdb_block_open(b, bdir, err);
    free(bdir);
    return rc;
}

/* The head block: what upstream's querier adds from wal/ when the persisted
 * blocks end at or before maxt.  A missing wal/ fails as upstream's replay
 * fails (its first step, finding the last checkpoint, lists the directory);
 * then the read-only database replays the WAL into a memory head, taking only
 * samples after the blocks' end, as upstream's head.Init(maxBlockTime).  An
 * empty wal/ (no segment, no checkpoint) gives an empty head: nothing is
 * opened for it. */
static int db_load_head(tool_db *db, int64_t maxt, core_err *err)
{
    int64_t last = db->q.n ? db->q.blocks[db->q.n - 1].meta.maxt : INT64_MIN;
    if (last > maxt) return 0;
    char *wal = path_join(db->dir, "wal");
    dir_entry *ents;
    size_t nents;
    if (read_dir(wal, &ents, &nents, err) < 0) {
        free(wal);
        return core_err_prefix(err, "read WAL: find last checkpoint");
    }
    int rc = 0;
    bool any = false; /* a checkpoint or a segment: something to replay */
    for (size_t i = 0; rc == 0 && i < nents; i++) {
        const char *name = ents[i].name;
        bool checkpoint = strncmp(name, "checkpoint.", 11) == 0;
        if (checkpoint && !ents[i].is_dir)
            rc = core_err_set(
                err, "read WAL: find last checkpoint: checkpoint %s is not a directory", name);
        any = any || checkpoint || strspn(name, "0123456789") == strlen(name);
    }
    free_dir(ents, nents);
    free(wal);
    if (rc < 0 || !any) return rc;
    db->wal = tsdb_db_open(db->dir, &(tsdb_db_opts){.read_only = true}, err);
    if (!db->wal) return core_err_prefix(err, "read WAL");
    db->q.head = tsdb_db_head(db->wal);
    return 0;
}

/* The series of the DB matching any of the selectors over [mint, maxt],
 * sorted by labels, each once (upstream merges the selections of several
 * --match flags). */
static int db_select(tool_db *db, const selector *sels, size_t nsels, int64_t mint, int64_t maxt,
                     core_arena *a, tsdb_qseries ***out, size_t *nout, core_err *err)
{
    tsdb_qseries **all = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nsels; i++) {
        tsdb_qseries *qs;
        size_t nq;
        if (tsdb_querier_select(&db->q, sels[i].m, sels[i].n, mint, maxt, a, &qs, &nq, err) < 0) {
            free(all);
            return -1;
        }
        all = core_reallocarray(all, n + nq + 1, sizeof *all);
        for (size_t k = 0; k < nq; k++)
            all[n++] = &qs[k];
    }
    *out = core_arena_calloc(a, n + 1, sizeof **out);
    *nout = 0;
    if (nsels == 1) {
        memcpy(*out, all, n * sizeof *all);
        *nout = n;
        free(all);
        return 0;
    }
    /* Merge: repeatedly take the smallest head of the per-selector runs.  A
     * plain sort would do as well; this keeps each run's order. */
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        for (size_t k = i + 1; k < n; k++)
            if (core_labels_compare(all[k]->labels, all[best]->labels) < 0) best = k;
        tsdb_qseries *t = all[i];
        all[i] = all[best];
        all[best] = t;
        if (*nout == 0 || !core_labels_equal((*out)[*nout - 1]->labels, all[i]->labels))
            (*out)[(*nout)++] = all[i];
    }
    free(all);
    return 0;
}

/* ---- tsdb list */

static int64_t block_size(const tsdb_block *b)
{
    int64_t n = b->meta_size + b->tombstones_size + (int64_t)b->index.len;
    for (size_t i = 0; i < b->chunks.files.n; i++)
        n += (int64_t)b->chunks.files.segs[i].len;
    return n;
}

static char *fmt_time(int64_t ms, bool human)
{
    core_sb sb = CORE_SB_INIT;
    if (human)
        go_time_utc(&sb, ms / 1000);
    else
        core_sb_add_i64(&sb, ms);
    return core_sb_detach(&sb, NULL);
}

static char *fmt_u64(uint64_t v)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_add_u64(&sb, v);
    return core_sb_detach(&sb, NULL);
}

void tool_tsdb_print_blocks(const tsdb_block *blocks, size_t n, bool header, bool human)
{
    table t = {.cols = 8};
    if (header) {
        char *head[] = {
            core_strdup("BLOCK ULID"), core_strdup("MIN TIME"),    core_strdup("MAX TIME"),
            core_strdup("DURATION"),   core_strdup("NUM SAMPLES"), core_strdup("NUM CHUNKS"),
            core_strdup("NUM SERIES"), core_strdup("SIZE"),
        };
        table_add(&t, head);
    }
    for (size_t i = 0; i < n; i++) {
        const tsdb_block *b = &blocks[i];
        char id[TSDB_ULID_LEN + 1];
        tsdb_ulid_format(&b->meta.ulid, id);
        core_sb dur = CORE_SB_INIT, size = CORE_SB_INIT;
        go_duration_ms(&dur, b->meta.mint, b->meta.maxt);
        if (human)
            go_base2_bytes(&size, block_size(b));
        else
            core_sb_add_i64(&size, block_size(b));
        char *row[] = {
            core_strdup(id),
            fmt_time(b->meta.mint, human),
            fmt_time(b->meta.maxt, human),
            core_sb_detach(&dur, NULL),
            fmt_u64(b->meta.stats.num_samples),
            fmt_u64(b->meta.stats.num_chunks),
            fmt_u64(b->meta.stats.num_series),
            core_sb_detach(&size, NULL),
        };
        table_add(&t, row);
    }
    table_print(&t, stdout);
}

int tool_tsdb_list(const tool_cmd *cmd, int argc, char **argv)
{
    bool human = false;
    const char *path = NULL;
    core_flag flags[] = {
        {"human-readable", CORE_FLAG_BOOL, &human, NULL, "Print human readable values.", false},
    };
    static const tool_short shorts[] = {{'r', "human-readable"}};
    tool_arg args[] = {
        {"db path", "Database path (default is " DEFAULT_DB_PATH ").", &path, DEFAULT_DB_PATH,
         false, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;

    tool_db db;
    core_err err;
    if (db_open(&db, path, &err) < 0 || db_load_blocks(&db, &err) < 0) return tool_fail(&err);
    tool_tsdb_print_blocks(db.q.blocks, db.q.n, true, human);
    db_close(&db);
    return 0;
}

/* ---- tsdb analyze */

typedef struct info {
    const char *key;
    uint64_t metric;
} info;

static int cmp_info(const void *a, const void *b)
{
    const info *x = a, *y = b;
    if (x->metric != y->metric) return x->metric > y->metric ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Upstream's printInfo: the largest first, at most `limit`. */
static void print_infos(const char *title, info *v, size_t n, int64_t limit)
{
    printf("\n%s:\n", title);
    if (n) qsort(v, n, sizeof *v, cmp_info);
    for (size_t i = 0; i < n && (int64_t)i < limit; i++)
        printf("%" PRIu64 " %s\n", v[i].metric, v[i].key);
}

/* Upstream's displayHistogram and generateBucket (3.x's extended analysis). */
static int cmp_int(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int ndigits(int64_t v)
{
    char buf[32];
    return snprintf(buf, sizeof buf, "%" PRId64, v);
}

static void display_histogram(const char *what, int64_t *v, size_t n, int64_t total)
{
    if (n == 0) {
        printf("%s: N/A\n\n", what);
        return;
    }
    qsort(v, n, sizeof *v, cmp_int);
    int64_t min = v[0], max = v[n - 1];
    int64_t s = (max - min) / 10, step = 10;
    while (step < s && step <= 10000)
        step *= 10;
    int64_t start = min - min % step, end = max - max % step + step;
    size_t nb = (size_t)((end - start) / step + 1);
    int64_t *buckets = core_calloc(nb, sizeof *buckets), sum = 0, max_count = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        int64_t c = ++buckets[(v[i] - start) / step];
        if (c > max_count) max_count = c;
    }
    printf("%s (min/avg/max): %" PRId64 "/%" PRId64 "/%" PRId64 "\n", what, min, sum / (int64_t)n,
           max);
    int lw = ndigits(end), rw = ndigits(end + step), cw = ndigits(max_count);
    for (size_t b = 0; b < nb; b++) {
        int64_t pct = 100 * buckets[b] / total;
        printf("[%*" PRId64 ", %*" PRId64 "]: %*" PRId64 " ", lw, (int64_t)b * step + start + 1, rw,
               ((int64_t)b + 1) * step + start, cw, buckets[b]);
        for (int64_t k = 0; k < pct; k++)
            putchar('#');
        putchar('\n');
    }
    putchar('\n');
    free(buckets);
}

typedef struct int_list {
    int64_t *v;
    size_t n, cap;
} int_list;

static void int_push(int_list *l, int64_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = core_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->n++] = x;
}

static void series_desc(core_sb *sb, const tsdb_index_series *s)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; i < s->nlabels; i++) {
        if (i) core_sb_add(sb, ", ", 2);
        core_sb_add(sb, s->labels[i].name.p, s->labels[i].name.len);
        core_sb_addc(sb, '=');
        core_sb_add_quoted(sb, s->labels[i].value.p, s->labels[i].value.len);
    }
    core_sb_addc(sb, '}');
}

/* 3.x's analyzeCompaction: sample counts and sizes of the chunks of the
 * selected series.  (2.42 printed one "Fullness" histogram instead.) */
static int analyze_compaction(const tsdb_block *b, const uint32_t *refs, size_t nrefs,
                              core_err *err)
{
    int_list samples = {0}, bytes = {0};
    int64_t total = 0;
    tsdb_index_series s = {0};
    int rc = 0;
    for (size_t i = 0; i < nrefs && rc == 0; i++) {
        if (tsdb_index_series_read(&b->index, refs[i], &s, err) < 0) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < s.nchunks; k++) {
            tsdb_chunk c;
            if (tsdb_chunk_reader_chunk(&b->chunks, s.chunks[k].ref, &c, err) < 0) {
                core_sb sb = CORE_SB_INIT;
                series_desc(&sb, &s);
                core_err_prefix(err, "series %s: chunk %" PRIu64 " of block %s", sb.buf,
                                s.chunks[k].ref, b->dir);
                core_sb_destroy(&sb);
                rc = -1;
                break;
            }
            uint8_t enc = c.enc & (uint8_t)~TSDB_ENC_OOO_MASK;
            if (enc == TSDB_ENC_HISTOGRAM || enc == TSDB_ENC_FLOAT_HISTOGRAM) {
                core_sb sb = CORE_SB_INIT;
                series_desc(&sb, &s);
                core_err_set(err, "series %s: native histogram chunks are not supported yet",
                             sb.buf);
                core_sb_destroy(&sb);
                rc = -1;
                break;
            }
            if (enc == TSDB_ENC_XOR) {
                if (c.len < 2) {
                    rc = core_err_set(err, "chunk %" PRIu64 ": too short", s.chunks[k].ref);
                    break;
                }
                int_push(&samples, (int64_t)c.data[0] << 8 | c.data[1]);
                int_push(&bytes, (int64_t)c.len);
            }
            total++;
        }
    }
    tsdb_index_series_destroy(&s);
    if (rc == 0) {
        printf("\nCompaction analysis:\n\n");
        display_histogram("samples per float chunk", samples.v, samples.n, total);
        display_histogram("bytes per float chunk", bytes.v, bytes.n, total);
        display_histogram("samples per histogram chunk", NULL, 0, total);
        display_histogram("bytes per histogram chunk", NULL, 0, total);
        display_histogram("buckets per histogram chunk", NULL, 0, total);
    }
    free(samples.v);
    free(bytes.v);
    return rc;
}

/* The position of `name` among the index's label names, or -1. */
static ptrdiff_t find_name(const tsdb_index_name *names, size_t n, tsdb_str name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(names[mid].name, name);
        if (c == 0) return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The position of name=value in the postings offset table, or -1. */
static ptrdiff_t find_pair(const tsdb_index_reader *ix, const tsdb_index_name *nm, tsdb_str value)
{
    size_t lo = nm->first, hi = nm->first + nm->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(ix->entries[mid].value, value);
        if (c == 0) return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const char *str_dup(core_arena *a, tsdb_str s)
{
    return core_arena_strndup(a, s.p ? s.p : "", s.len);
}

/* Everything analyze prints after the header, for one open block. */
static int analyze_block(const tsdb_block *b, const selector *sel, int64_t limit, bool extended,
                         core_err *err)
{
    const tsdb_index_reader *ix = &b->index;
    size_t nnames;
    const tsdb_index_name *names = tsdb_index_label_names(ix, &nnames);
    size_t nentries = ix->nentries;
    uint64_t *name_unc = core_calloc(nnames + 1, sizeof *name_unc);
    uint64_t *pair_unc = core_calloc(nentries + 1, sizeof *pair_unc);
    uint64_t *pair_cnt = core_calloc(nentries + 1, sizeof *pair_cnt);
    bool *name_seen = core_calloc(nnames + 1, sizeof *name_seen);
    uint32_t *refs = NULL;
    size_t nrefs = 0, cap = 0;
    uint64_t entries = 0;
    int64_t range = b->meta.maxt - b->meta.mint;
    core_arena a = {0};
    info *v = NULL;
    int rc = -1;

    tsdb_postings all;
    tsdb_index_series s = {0};
    if (tsdb_index_postings(ix, (tsdb_str){"", 0}, (tsdb_str){"", 0}, &all, err) < 0) goto out;
    for (uint32_t i = 0; i < all.n; i++) {
        uint32_t ref = tsdb_postings_at(&all, i);
        if (tsdb_index_series_read(ix, ref, &s, err) < 0) goto out;
        if (sel && !selector_matches(sel, &s)) continue;
        if (nrefs == cap) {
            cap = cap ? cap * 2 : 1024;
            refs = core_reallocarray(refs, cap, sizeof *refs);
        }
        refs[nrefs++] = ref;
        /* The part of the block's range this series does not cover. */
        uint64_t span = s.nchunks ? (uint64_t)(s.chunks[s.nchunks - 1].maxt - s.chunks[0].mint) : 0;
        uint64_t unc = (uint64_t)range - span;
        for (size_t k = 0; k < s.nlabels; k++) {
            ptrdiff_t ni = find_name(names, nnames, s.labels[k].name);
            ptrdiff_t pi = ni < 0 ? -1 : find_pair(ix, &names[ni], s.labels[k].value);
            if (pi < 0) {
                core_err_set(err, "series %" PRIu32 ": label %.*s missing from the postings table",
                             ref, (int)s.labels[k].name.len, s.labels[k].name.p);
                goto out;
            }
            name_unc[ni] += unc;
            name_seen[ni] = true;
            pair_unc[pi] += unc;
            pair_cnt[pi]++;
            entries++;
        }
    }
    /* The label names (with --match: those of the matched series). */
    size_t nlabel_names = 0;
    for (size_t i = 0; i < nnames; i++)
        if (!sel || name_seen[i]) nlabel_names++;
    printf("Label names: %zu\n", nlabel_names);
    if (sel) printf("Matched series: %zu\n", nrefs);
    size_t npairs = 0;
    for (size_t i = 0; i < nentries; i++)
        if (pair_cnt[i]) npairs++;
    printf("Postings (unique label pairs): %zu\n", npairs);
    printf("Postings entries (total label pairs): %" PRIu64 "\n", entries);

    v = core_calloc(nentries + nnames + 1, sizeof *v);
    size_t n = 0;
    const char **pair_key = core_arena_calloc(&a, nentries + 1, sizeof *pair_key);
    for (size_t i = 0; i < nentries; i++)
        if (pair_cnt[i])
            pair_key[i] = core_arena_sprintf(&a, "%s=%s", str_dup(&a, ix->entries[i].name),
                                             str_dup(&a, ix->entries[i].value));
    for (size_t i = 0; i < nentries; i++)
        if (pair_cnt[i])
            v[n++] = (info){pair_key[i], go_uint64((double)pair_unc[i] / (double)range)};
    print_infos("Label pairs most involved in churning", v, n, limit);

    n = 0;
    for (size_t i = 0; i < nnames; i++)
        if (name_seen[i])
            v[n++] =
                (info){str_dup(&a, names[i].name), go_uint64((double)name_unc[i] / (double)range)};
    print_infos("Label names most involved in churning", v, n, limit);

    n = 0;
    for (size_t i = 0; i < nentries; i++)
        if (pair_cnt[i]) v[n++] = (info){pair_key[i], pair_cnt[i]};
    print_infos("Most common label pairs", v, n, limit);

    /* Per label name: its values' total length and their number (with
     * --match: the values the matched series have). */
    info *card = core_calloc(nnames + 1, sizeof *card);
    n = 0;
    for (size_t i = 0; i < nnames; i++) {
        if (sel && !name_seen[i]) continue;
        uint64_t len = 0, count = 0;
        for (size_t k = names[i].first; k < names[i].first + names[i].n; k++) {
            if (sel && !pair_cnt[k]) continue;
            len += ix->entries[k].value.len;
            count++;
        }
        const char *key = str_dup(&a, names[i].name);
        card[n] = (info){key, count};
        v[n++] = (info){key, len};
    }
    print_infos("Label names with highest cumulative label value length", v, n, limit);
    print_infos("Highest cardinality labels", card, n, limit);
    free(card);

    n = 0;
    ptrdiff_t mn = find_name(names, nnames, tsdb_str_c(CORE_METRIC_NAME));
    size_t first = mn < 0 ? 0 : names[mn].first, end = mn < 0 ? 0 : first + names[mn].n;
    for (size_t k = first; k < end; k++) {
        uint64_t count = pair_cnt[k];
        if (sel && !count) continue;
        if (!sel) {
            tsdb_postings p;
            if (tsdb_index_postings_at(ix, ix->entries[k].off, &p, err) < 0) goto out;
            count = p.n;
        }
        v[n++] = (info){str_dup(&a, ix->entries[k].value), count};
    }
    print_infos("Highest cardinality metric names", v, n, limit);

    rc = extended ? analyze_compaction(b, refs, nrefs, err) : 0;
out:
    tsdb_index_series_destroy(&s);
    core_arena_destroy(&a);
    free(v);
    free(refs);
    free(name_unc);
    free(pair_unc);
    free(pair_cnt);
    free(name_seen);
    return rc;
}

int tool_tsdb_analyze(const tool_cmd *cmd, int argc, char **argv)
{
    int64_t limit = 20;
    bool extended = false;
    const char *match = NULL, *path = NULL, *block_id = NULL;
    core_flag flags[] = {
        {"limit", CORE_FLAG_INT, &limit, "20", "How many items to show in each list.", false},
        {"extended", CORE_FLAG_BOOL, &extended, NULL, "Run extended analysis.", false},
        {"match", CORE_FLAG_STRING, &match, "",
         "Series selector to analyze. Only 1 set of matchers is supported now.", false},
    };
    tool_arg args[] = {
        {"db path", "Database path (default is " DEFAULT_DB_PATH ").", &path, DEFAULT_DB_PATH,
         false, NULL},
        {"block id", "Block to analyze (default is the last block).", &block_id, "", false, NULL},
    };
    tool_spec spec = {flags, TOOL_COUNT(flags), NULL, 0, args, TOOL_COUNT(args), 0};
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) return status;

    core_err err;
    core_arena a = {0};
    selector sel = {0};
    bool have_sel = match && match[0];
    if (have_sel && selector_parse(match, &a, &sel, &err) < 0) {
        core_arena_destroy(&a);
        return tool_fail(&err);
    }
    tool_db db;
    tsdb_block b = {0};
    char last[TSDB_ULID_LEN + 1];
    int rc = db_open(&db, path, &err);
    if (rc == 0 && !block_id[0]) {
        rc = db_last_block_id(&db, last, &err);
        block_id = last;
    }
    if (rc == 0) rc = db_block(&db, block_id, &b, &err);
    if (rc == 0) {
        char id[TSDB_ULID_LEN + 1];
        tsdb_ulid_format(&b.meta.ulid, id);
        core_sb dur = CORE_SB_INIT;
        go_duration_ms(&dur, b.meta.mint, b.meta.maxt);
        /* 3.x: "Total Series" (2.42: "Series"). */
        printf("Block ID: %s\nDuration: %s\nTotal Series: %" PRIu64 "\n", id, dur.buf,
               b.meta.stats.num_series);
        core_sb_destroy(&dur);
        if (have_sel) printf("Matcher: %s\n", match);
        rc = analyze_block(&b, have_sel ? &sel : NULL, limit, extended, &err);
        tsdb_block_close(&b);
    }
    db_close(&db);
    selector_destroy(&sel);
    core_arena_destroy(&a);
    if (rc < 0) return tool_fail(&err);
    return 0;
}

/* ---- tsdb dump, tsdb dump-openmetrics */

typedef enum dump_format {
    DUMP_PROM,       /* {labels} value ts */
    DUMP_SERIESJSON, /* one JSON object of labels per series */
    DUMP_OPENMETRICS,
} dump_format;

static void add_float(core_sb *sb, uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    char buf[MODEL_FLOAT_BUFSZ];
    size_t n = model_format_float(v, buf);
    core_sb_add(sb, buf, n);
}

/* Writes one series; fails when its chunks cannot be read. */
static int dump_series(const tsdb_qseries *qs, dump_format fmt, core_sb *line, core_err *err)
{
    const core_labels *ls = qs->labels;
    core_sb prefix = CORE_SB_INIT;
    if (fmt == DUMP_SERIESJSON) {
        core_sb_reset(line);
        core_sb_addc(line, '{');
        for (size_t i = 0; i < ls->len; i++) {
            if (i) core_sb_addc(line, ',');
            add_json_str(line, ls->v[i].name);
            core_sb_addc(line, ':');
            add_json_str(line, ls->v[i].value);
        }
        core_sb_adds(line, "}\n");
        fwrite(line->buf, 1, line->len, stdout);
        core_sb_destroy(&prefix);
        return 0;
    }
    if (fmt == DUMP_PROM) {
        add_labels(&prefix, ls);
    } else {
        /* The metric name, then the other labels without spaces and with
         * names never quoted (upstream's CondensedString). */
        const char *name = core_labels_get(ls, CORE_METRIC_NAME);
        core_sb_adds(&prefix, name ? name : "");
        core_sb_addc(&prefix, '{');
        bool first = true;
        for (size_t i = 0; i < ls->len; i++) {
            if (strcmp(ls->v[i].name, CORE_METRIC_NAME) == 0) continue;
            if (!first) core_sb_addc(&prefix, ',');
            first = false;
            add_label_name(&prefix, ls->v[i].name, false);
            core_sb_addc(&prefix, '=');
            core_sb_add_quoted(&prefix, ls->v[i].value, strlen(ls->v[i].value));
        }
        core_sb_addc(&prefix, '}');
    }
    core_sb_addc(&prefix, ' ');
    tsdb_qiter it;
    tsdb_qiter_init(&it, qs);
    while (tsdb_qiter_next(&it)) {
        core_sb_reset(line);
        core_sb_add(line, prefix.buf, prefix.len);
        add_float(line, it.v);
        if (fmt == DUMP_PROM) {
            core_sb_addc(line, ' ');
            core_sb_add_i64(line, it.t);
        } else {
            core_sb_addf(line, " %.3f", (double)it.t / 1000);
        }
        core_sb_addc(line, '\n');
        fwrite(line->buf, 1, line->len, stdout);
    }
    int rc = 0;
    if (it.failure) {
        /* Read the failing chunk again for the reader's own words. */
        core_err why = {{0}};
        const tsdb_qpart *p = it.part < qs->nparts ? &qs->parts[it.part] : NULL;
        tsdb_chunk c;
        core_sb_reset(line);
        add_labels(line, ls);
        if (p && p->block && it.chunk < p->nchunks &&
            tsdb_chunk_reader_chunk(&p->block->chunks, p->chunks[it.chunk].ref, &c, &why) < 0)
            rc = core_err_set(err, "series %s: chunk %" PRIu64 " of block %s: %s", line->buf,
                              p->chunks[it.chunk].ref, p->block->dir, why.msg);
        else if (p && p->block && it.chunk < p->nchunks &&
                 (c.enc & ~TSDB_ENC_OOO_MASK) != TSDB_ENC_XOR)
            rc = core_err_set(err,
                              "series %s: chunk encoding %u (native histograms) is not "
                              "supported yet",
                              line->buf, c.enc);
        else
            rc = core_err_set(err, "series %s: %s", line->buf, it.failure);
    }
    core_sb_destroy(&prefix);
    return rc;
}

static int dump(const tool_cmd *cmd, int argc, char **argv, bool openmetrics)
{
    int64_t mint = INT64_MIN, maxt = INT64_MAX;
    core_strlist match = {0};
    const char *format = "prom", *sandbox = NULL, *path = NULL;
    core_flag flags[] = {
        {"sandbox-dir-root", CORE_FLAG_STRING, &sandbox, "",
         "Root directory where a sandbox directory will be created, this sandbox is used in case "
         "WAL replay generates chunks (default is the database path). The sandbox is cleaned up "
         "at the end.",
         false},
        {"min-time", CORE_FLAG_INT, &mint, "-9223372036854775808",
         "Minimum timestamp to dump, in milliseconds since the Unix epoch.", false},
        {"max-time", CORE_FLAG_INT, &maxt, "9223372036854775807",
         "Maximum timestamp to dump, in milliseconds since the Unix epoch.", false},
        {"match", CORE_FLAG_LIST, &match, DEFAULT_SELECTOR,
         "Series selector. Can be specified multiple times.", false},
        {"format", CORE_FLAG_STRING, &format, "prom",
         "Output format of the dump (prom (default) or seriesjson).", false},
    };
    tool_arg args[] = {
        {"db path", "Database path (default is " DEFAULT_DB_PATH ").", &path, DEFAULT_DB_PATH,
         false, NULL},
    };
    /* dump-openmetrics has no --format. */
    tool_spec spec = {
        flags, TOOL_COUNT(flags) - (openmetrics ? 1 : 0), NULL, 0, args, TOOL_COUNT(args), 0};
    int status;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&match);
        return status;
    }
    dump_format fmt = openmetrics ? DUMP_OPENMETRICS : DUMP_PROM;
    if (!openmetrics && strcmp(format, "seriesjson") == 0) {
        fmt = DUMP_SERIESJSON;
    } else if (!openmetrics && strcmp(format, "prom") != 0) {
        core_strlist_destroy(&match);
        return tool_usage_error("enum value must be one of prom,seriesjson, got '%s'", format);
    }

    core_err err;
    core_arena a = {0};
    selector *sels = core_calloc(match.len + 1, sizeof *sels);
    size_t nsels = 0;
    tool_db db;
    int rc = db_open(&db, path, &err);
    if (rc == 0) rc = db_load_blocks(&db, &err);
    if (rc == 0) rc = db_load_head(&db, maxt, &err);
    for (size_t i = 0; rc == 0 && i < match.len; i++) {
        rc = selector_parse(match.v[i], &a, &sels[i], &err);
        if (rc == 0) nsels++;
    }
    tsdb_qseries **series = NULL;
    size_t n = 0;
    if (rc == 0) rc = db_select(&db, sels, nsels, mint, maxt, &a, &series, &n, &err);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    core_sb line = CORE_SB_INIT;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = dump_series(series[i], fmt, &line, &err);
    if (rc == 0 && fmt == DUMP_OPENMETRICS) fputs("# EOF\n", stdout);
    fflush(stdout);
    core_sb_destroy(&line);
    for (size_t i = 0; i < nsels; i++)
        selector_destroy(&sels[i]);
    free(sels);
    db_close(&db);
    core_arena_destroy(&a);
    core_strlist_destroy(&match);
    if (rc < 0) return tool_fail(&err);
    return 0;
}

int tool_tsdb_dump(const tool_cmd *cmd, int argc, char **argv)
{
    return dump(cmd, argc, argv, false);
}

int tool_tsdb_dump_openmetrics(const tool_cmd *cmd, int argc, char **argv)
{
    return dump(cmd, argc, argv, true);
}
