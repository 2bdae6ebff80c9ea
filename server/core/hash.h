/*
 * hash.h - hashing on xxHash (XXH3, 64-bit).
 *
 * One hash function for the whole server: label sets, interned strings, hash
 * maps.  XXH3 is fast on short keys, which is what label names and values are.
 */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t core_hash(const void *data, size_t len);
uint64_t core_hash_str(const char *s);
/* Hash with a seed, e.g. to chain pieces or to make hash maps differ per process. */
uint64_t core_hash_seeded(const void *data, size_t len, uint64_t seed);

/* Incremental hashing of several pieces, equal to core_hash of their concatenation. */
typedef struct core_hasher {
    void *state; /* XXH3_state_t */
} core_hasher;

void core_hasher_init(core_hasher *h);
void core_hasher_add(core_hasher *h, const void *data, size_t len);
uint64_t core_hasher_sum(const core_hasher *h);
void core_hasher_destroy(core_hasher *h);

#endif
