/*
 * out.h - the inside of nx_out, for the scrape machinery (scrape.c) and the
 * collectors' tests; collectors themselves use node.h only.
 */
#ifndef EXPORTERS_NODE_OUT_H
#define EXPORTERS_NODE_OUT_H

#include "node.h"

#include <stdlib.h>

/* A histogram's or a summary's sample beyond its value. */
typedef struct nx_dist {
    /* histogram: bounds + cumulative counts; summary: quantiles (in bounds) + values */
    size_t n;
    double *bounds;
    uint64_t *counts;
    double *qvalues;
    double sum;
    uint64_t count;
} nx_dist;

typedef struct nx_sample_rec {
    const char **values; /* one per label name; NULL: absent */
    double value;
    nx_dist *dist; /* histograms and summaries only */
} nx_sample_rec;

/* A family's name, help, type and label names, made once for every output
 * that emits the same (out.c keeps them from scrape to scrape), with what
 * writing it takes worked out in advance (expose.c). */
typedef struct nx_desc {
    const char *name, *help;
    const char *const *labels;
    size_t n_labels;
    prom_type type;
    uint64_t hash; /* of the name */
    size_t name_len, help_len;
    const size_t *label_len;
    uint64_t key[2];      /* the name's first 16 bytes, big-endian, zero-padded */
    const char *invalid;  /* why the family cannot be written, or NULL */
    const uint8_t *order; /* label k in name order is labels[order[k]] */
    const uint32_t *rank; /* the name's place among the table's names (NULL: not in it) */
    bool help_escapes;    /* the help holds a backslash or a newline */
    bool help_quotes;     /* ... or a double quote */
} nx_desc;

/* The family record of one output; name, help, type and labels are its
 * desc's, repeated for the tests' sake. */
typedef struct nx_fam {
    const char *name, *help;
    prom_type type;
    const char *const *labels;
    size_t n_labels;
    const nx_desc *desc;
    nx_sample_rec *samples;
    size_t n_samples, cap_samples;
} nx_fam;

struct nx_out {
    const char *collector;
    core_arena arena;
    nx_fam *families;
    size_t n_families, cap_families;
    ptrdiff_t current;
    /* family name -> index + 1 (0: empty), open addressing, for collectors
     * that emit hundreds of families (zfs) */
    uint32_t *index;
    size_t index_cap;
    /* family name pointer -> index + 1, direct-mapped: a name given as the
     * very pointer the family holds (a literal) is found without hashing */
    uint32_t by_pointer[32];
    core_err err;
    bool failed;
    bool no_data;         /* failed by nx_no_data: logged at debug level */
    unsigned long scrape; /* the scrape it belongs to, for nx_read_shared; 0: none */
};

void nx_out_init(nx_out *o, const char *collector);
/* The same with the arena's block size: the scrape sizes each collector's
 * from what it used last time, so one block usually holds it all. */
void nx_out_init_sized(nx_out *o, const char *collector, size_t block);
void nx_out_destroy(nx_out *o);
/* Empties an output for another scrape of its collector, keeping the first
 * block of its memory. */
void nx_out_reuse(nx_out *o);
/* Emits every family with samples into a libprom emitter. */
void nx_out_replay(const nx_out *o, prom_emitter *e);
/* Writes the families of outs[0..n) in the text format (0.0.4) or, with
 * `openmetrics`, OpenMetrics 1.0.0, appending to sb: the bytes libprom renders
 * for the same outputs replayed in this order (expose.c). */
void nx_expose(const nx_out *const *outs, size_t n, bool openmetrics, core_sb *sb);
/* Works out what writing a description takes (its lengths, sort key, label
 * order, whether its names are valid), with memory from mem (expose.c). */
void nx_desc_prepare(nx_desc *d, core_arena *mem);
/* Holds the ranks of the shared descriptions steady (a read lock) and says how
 * many there are; nx_ranks_release lets them move again. */
size_t nx_ranks_hold(void);
void nx_ranks_release(void);

#endif
