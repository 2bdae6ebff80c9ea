/*
 * map.c - the two hash tables the pushgateway needs.
 *
 * pgw_map maps strings to pointers (groups by grouping key, families by name);
 * pgw_hset counts 64-bit series hashes, so the duplicate check of a push looks
 * up each pushed series once instead of re-gathering every group as upstream
 * does.  Both use open addressing with linear probing, a load factor of at
 * most 1/2 and backward-shift deletion (no tombstones, so lookups stay short
 * however many deletes happen).  The map's key is borrowed from the value.
 */
#include "pushgateway/pushgateway.h"

#include <stdlib.h>
#include <string.h>

/* ---- pgw_map */

static size_t map_find(const pgw_map *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const pgw_map_slot *s = &m->slots[i];
        if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0)) return i;
    }
}

static void map_grow(pgw_map *m)
{
    pgw_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = core_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != NULL)
            m->slots[map_find(m, old.slots[i].key, old.slots[i].hash)] = old.slots[i];
    free(old.slots);
}

void *pgw_map_get(const pgw_map *m, const char *key)
{
    if (m->n == 0) return NULL;
    const pgw_map_slot *s = &m->slots[map_find(m, key, core_hash_str(key))];
    return s->key != NULL ? s->value : NULL;
}

void pgw_map_put(pgw_map *m, const char *key, void *value)
{
    if ((m->n + 1) * 2 > m->cap) map_grow(m);
    uint64_t h = core_hash_str(key);
    pgw_map_slot *s = &m->slots[map_find(m, key, h)];
    if (s->key == NULL) m->n++;
    *s = (pgw_map_slot){key, h, value};
}

void *pgw_map_del(pgw_map *m, const char *key)
{
    if (m->n == 0) return NULL;
    size_t mask = m->cap - 1, i = map_find(m, key, core_hash_str(key));
    if (m->slots[i].key == NULL) return NULL;
    void *value = m->slots[i].value;
    /* Backward shift: move later entries of the run into the hole when their
     * home slot allows it. */
    for (size_t j = (i + 1) & mask; m->slots[j].key != NULL; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (pgw_map_slot){0};
    m->n--;
    return value;
}

void pgw_map_destroy(pgw_map *m)
{
    free(m->slots);
    *m = (pgw_map){0};
}

/* ---- pgw_hset */

static size_t hset_find(const pgw_hset *s, uint64_t h)
{
    size_t mask = s->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask)
        if (s->counts[i] == 0 || s->keys[i] == h) return i;
}

static void hset_grow(pgw_hset *s)
{
    pgw_hset old = *s;
    s->cap = old.cap ? old.cap * 2 : 64;
    s->keys = core_mallocarray(s->cap, sizeof *s->keys);
    s->counts = core_calloc(s->cap, sizeof *s->counts);
    for (size_t i = 0; i < old.cap; i++) {
        if (old.counts[i] == 0) continue;
        size_t j = hset_find(s, old.keys[i]);
        s->keys[j] = old.keys[i];
        s->counts[j] = old.counts[i];
    }
    free(old.keys);
    free(old.counts);
}

uint32_t pgw_hset_count(const pgw_hset *s, uint64_t h)
{
    if (s->n == 0) return 0;
    return s->counts[hset_find(s, h)];
}

void pgw_hset_add(pgw_hset *s, uint64_t h)
{
    if ((s->n + 1) * 2 > s->cap) hset_grow(s);
    size_t i = hset_find(s, h);
    if (s->counts[i] == 0) {
        s->keys[i] = h;
        s->n++;
    }
    s->counts[i]++;
}

void pgw_hset_remove(pgw_hset *s, uint64_t h)
{
    if (s->n == 0) return;
    size_t mask = s->cap - 1, i = hset_find(s, h);
    if (s->counts[i] == 0 || --s->counts[i] > 0) return;
    for (size_t j = (i + 1) & mask; s->counts[j] != 0; j = (j + 1) & mask) {
        size_t home = s->keys[j] & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->keys[i] = s->keys[j];
            s->counts[i] = s->counts[j];
            i = j;
        }
    }
    s->counts[i] = 0;
    s->n--;
}

void pgw_hset_destroy(pgw_hset *s)
{
    free(s->keys);
    free(s->counts);
    *s = (pgw_hset){0};
}
