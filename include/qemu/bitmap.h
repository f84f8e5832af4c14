/*
 * Word-based bitmaps (arrays of unsigned long, bit n in word n / BITS_PER_LONG)
 * for dirty tracking: plain operations for bitmaps one thread owns, and
 * atomic ones for bitmaps that vCPUs set while the migration thread collects.
 * Bits past the bitmap's size in its last word are kept zero.
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

/* A zeroed bitmap of @nbits bits; free it with g_free(). */
unsigned long *bitmap_new(size_t nbits);

/* ---- single bits, not atomic ---- */

static inline void set_bit(size_t nr, unsigned long *map)
{
    map[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(size_t nr, unsigned long *map)
{
    map[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool test_bit(size_t nr, const unsigned long *map)
{
    return (map[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

/* Clear bit @nr and return whether it was set. */
static inline bool test_and_clear_bit(size_t nr, unsigned long *map)
{
    bool was_set = test_bit(nr, map);
    clear_bit(nr, map);
    return was_set;
}

/* Set bit @nr and return whether it was already set. */
static inline bool test_and_set_bit(size_t nr, unsigned long *map)
{
    bool was_set = test_bit(nr, map);
    set_bit(nr, map);
    return was_set;
}

/* ---- single bits, atomic ---- */

/*
 * Set bit @nr atomically with respect to other atomic setters and to
 * bitmap_collect_and_clear_atomic() / bitmap_test_and_clear_atomic().
 * Called on every guest store by the interpreter, so when the bit is already
 * set it only reads the word: no locked instruction, no cache-line ownership.
 *
 * Ordering: that fast path is a plain load, so a data store just before it
 * may still sit in the store buffer when the bit is read.  A collector that
 * must see the data of every store whose bit it did not get back has to make
 * the writers' stores visible between collecting and reading the pages (stop
 * the writers, or a process-wide barrier such as membarrier(2)).
 */
static inline void set_bit_atomic(size_t nr, unsigned long *map)
{
    unsigned long *p = &map[BIT_WORD(nr)];
    unsigned long mask = BIT_MASK(nr);

    if (!(__atomic_load_n(p, __ATOMIC_RELAXED) & mask)) {
        __atomic_fetch_or(p, mask, __ATOMIC_SEQ_CST);
    }
}

/* ---- ranges, not atomic ---- */

/* Set bits [@start, @start + @nr). */
void bitmap_set(unsigned long *map, size_t start, size_t nr);

/* Clear bits [@start, @start + @nr). */
void bitmap_clear(unsigned long *map, size_t start, size_t nr);

/* @dst = @a | @b over @nbits bits (@dst may be @a or @b). */
void bitmap_or(unsigned long *dst, const unsigned long *a,
               const unsigned long *b, size_t nbits);

/* True if none of the first @nbits bits is set. */
bool bitmap_empty(const unsigned long *map, size_t nbits);

/* True if all of the first @nbits bits are set. */
bool bitmap_full(const unsigned long *map, size_t nbits);

/* Number of set bits among the first @nbits. */
size_t bitmap_count_one(const unsigned long *map, size_t nbits);

/* Number of set bits in [@start, @start + @nr). */
size_t bitmap_count_one_range(const unsigned long *map, size_t start,
                              size_t nr);

/* Index of the first set bit at or after @offset, or @size if none. */
size_t find_next_bit(const unsigned long *map, size_t size, size_t offset);

/* Index of the first clear bit at or after @offset, or @size if none. */
size_t find_next_zero_bit(const unsigned long *map, size_t size,
                          size_t offset);

/* Index of the first set bit, or @size if none. */
static inline size_t find_first_bit(const unsigned long *map, size_t size)
{
    return find_next_bit(map, size, 0);
}

/* ---- ranges, atomic ---- */

/* Set bits [@start, @start + @nr) atomically (see set_bit_atomic()). */
void bitmap_set_atomic(unsigned long *map, size_t start, size_t nr);

/*
 * Clear bits [@start, @start + @nr) atomically; return true if any of them
 * was set.  A bit set concurrently is either reported here or left set.
 */
bool bitmap_test_and_clear_atomic(unsigned long *map, size_t start,
                                  size_t nr);

/*
 * The dirty-log sync primitive: for each word of @src (@nbits bits) that is
 * non-zero, atomically exchange it with zero and OR the old value into
 * @dst_or_into.  Every bit set in @src by a concurrent set_bit_atomic() ends
 * up either in @dst_or_into or still in @src; none is lost.  @dst_or_into
 * belongs to the caller (written without atomics).  Returns the number of
 * bits that were newly set in @dst_or_into.
 */
size_t bitmap_collect_and_clear_atomic(unsigned long *dst_or_into,
                                       unsigned long *src, size_t nbits);

#endif
