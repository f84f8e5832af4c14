/*
 * Temporary stand-in for util's include/qemu/bitmap.h until it lands on
 * main (same names and semantics, the subset the RAM section uses).
 * Removed when main has the real header.
 */
#ifndef TERN_BITMAP_H
#define TERN_BITMAP_H

#include <glib.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define BITS_PER_LONG       (sizeof(unsigned long) * CHAR_BIT)
#define BITS_TO_LONGS(n)    (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_WORD(nr)        ((nr) / BITS_PER_LONG)
#define BIT_MASK(nr)        (1UL << ((nr) % BITS_PER_LONG))

static inline unsigned long *bitmap_new(size_t nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits) ? BITS_TO_LONGS(nbits) : 1);
}

static inline void set_bit(size_t nr, unsigned long *map)
{
    map[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline bool test_bit(size_t nr, const unsigned long *map)
{
    return (map[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

static inline bool test_and_clear_bit(size_t nr, unsigned long *map)
{
    bool was = test_bit(nr, map);
    map[BIT_WORD(nr)] &= ~BIT_MASK(nr);
    return was;
}

static inline void bitmap_set(unsigned long *map, size_t start, size_t nr)
{
    for (size_t i = start; i < start + nr; i++) {
        set_bit(i, map);
    }
}

static inline size_t bitmap_count_one(const unsigned long *map, size_t nbits)
{
    size_t n = 0;
    for (size_t i = 0; i < nbits; i++) {
        n += test_bit(i, map);
    }
    return n;
}

static inline size_t find_next_bit(const unsigned long *map, size_t size, size_t offset)
{
    while (offset < size) {
        unsigned long w = map[BIT_WORD(offset)] >> (offset % BITS_PER_LONG);
        if (w) {
            offset += __builtin_ctzl(w);
            return offset < size ? offset : size;
        }
        offset = (BIT_WORD(offset) + 1) * BITS_PER_LONG;
    }
    return size;
}

#endif
