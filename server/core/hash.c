/* hash.c - see hash.h. */
#include "core/hash.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t core_hash(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

uint64_t core_hash_str(const char *s)
{
    return XXH3_64bits(s, strlen(s));
}

uint64_t core_hash_seeded(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

void core_hasher_init(core_hasher *h)
{
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL) {
        fprintf(stderr, "fatal: out of memory creating a hash state\n");
        abort();
    }
    XXH3_64bits_reset(st);
    h->state = st;
}

void core_hasher_add(core_hasher *h, const void *data, size_t len)
{
    XXH3_64bits_update(h->state, data, len);
}

uint64_t core_hasher_sum(const core_hasher *h)
{
    return XXH3_64bits_digest(h->state);
}

void core_hasher_destroy(core_hasher *h)
{
    XXH3_freeState(h->state);
    h->state = NULL;
}
