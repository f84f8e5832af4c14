/*
 * Word-based bitmap operations (see include/qemu/bitmap.h).  Range operations
 * walk the words the range touches, masking the partial first and last words,
 * so a whole-word loop handles every range shape.
 */
#include "qemu/bitmap.h"

unsigned long *bitmap_new(size_t nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

/* The bits of word @w that fall inside [@start, @end); @end > @start. */
static inline unsigned long range_word_mask(size_t w, size_t start,
                                            size_t end)
{
    unsigned long mask = ~0UL;

    if (w == BIT_WORD(start)) {
        mask &= ~0UL << (start % BITS_PER_LONG);
    }
    if (w == BIT_WORD(end - 1)) {
        mask &= ~0UL >> ((BITS_PER_LONG - end % BITS_PER_LONG) % BITS_PER_LONG);
    }
    return mask;
}

/* The bits of the last word that belong to a bitmap of @nbits bits. */
static inline unsigned long last_word_mask(size_t nbits)
{
    return ~0UL >> ((BITS_PER_LONG - nbits % BITS_PER_LONG) % BITS_PER_LONG);
}

void bitmap_set(unsigned long *map, size_t start, size_t nr)
{
    size_t end = start + nr;

    for (size_t w = BIT_WORD(start); nr && w <= BIT_WORD(end - 1); w++) {
        map[w] |= range_word_mask(w, start, end);
    }
}

void bitmap_clear(unsigned long *map, size_t start, size_t nr)
{
    size_t end = start + nr;

    for (size_t w = BIT_WORD(start); nr && w <= BIT_WORD(end - 1); w++) {
        map[w] &= ~range_word_mask(w, start, end);
    }
}

void bitmap_or(unsigned long *dst, const unsigned long *a,
               const unsigned long *b, size_t nbits)
{
    for (size_t w = 0; w < BITS_TO_LONGS(nbits); w++) {
        dst[w] = a[w] | b[w];
    }
}

bool bitmap_empty(const unsigned long *map, size_t nbits)
{
    return find_first_bit(map, nbits) == nbits;
}

bool bitmap_full(const unsigned long *map, size_t nbits)
{
    return find_next_zero_bit(map, nbits, 0) == nbits;
}

size_t bitmap_count_one(const unsigned long *map, size_t nbits)
{
    return bitmap_count_one_range(map, 0, nbits);
}

size_t bitmap_count_one_range(const unsigned long *map, size_t start,
                              size_t nr)
{
    size_t end = start + nr;
    size_t count = 0;

    for (size_t w = BIT_WORD(start); nr && w <= BIT_WORD(end - 1); w++) {
        count += (size_t)__builtin_popcountl(map[w] &
                                             range_word_mask(w, start, end));
    }
    return count;
}

/*
 * Shared search: the first bit at or after @offset whose value, after XOR
 * with @invert (0 or ~0UL), is one.
 */
static size_t find_next(const unsigned long *map, size_t size, size_t offset,
                        unsigned long invert)
{
    size_t w, nwords = BITS_TO_LONGS(size), found;
    unsigned long word;

    if (offset >= size) {
        return size;
    }
    w = BIT_WORD(offset);
    word = (map[w] ^ invert) & (~0UL << (offset % BITS_PER_LONG));
    while (!word) {
        if (++w >= nwords) {
            return size;
        }
        word = map[w] ^ invert;
    }
    found = w * BITS_PER_LONG + (size_t)__builtin_ctzl(word);
    return found < size ? found : size;
}

size_t find_next_bit(const unsigned long *map, size_t size, size_t offset)
{
    return find_next(map, size, offset, 0);
}

size_t find_next_zero_bit(const unsigned long *map, size_t size,
                          size_t offset)
{
    return find_next(map, size, offset, ~0UL);
}

void bitmap_set_atomic(unsigned long *map, size_t start, size_t nr)
{
    size_t end = start + nr;

    for (size_t w = BIT_WORD(start); nr && w <= BIT_WORD(end - 1); w++) {
        unsigned long mask = range_word_mask(w, start, end);

        /* As in set_bit_atomic(): no locked instruction if already set. */
        if ((__atomic_load_n(&map[w], __ATOMIC_RELAXED) & mask) != mask) {
            __atomic_fetch_or(&map[w], mask, __ATOMIC_SEQ_CST);
        }
    }
}

bool bitmap_test_and_clear_atomic(unsigned long *map, size_t start,
                                  size_t nr)
{
    size_t end = start + nr;
    unsigned long any = 0;

    for (size_t w = BIT_WORD(start); nr && w <= BIT_WORD(end - 1); w++) {
        unsigned long mask = range_word_mask(w, start, end);

        if (__atomic_load_n(&map[w], __ATOMIC_RELAXED) & mask) {
            any |= __atomic_fetch_and(&map[w], ~mask, __ATOMIC_SEQ_CST) & mask;
        }
    }
    return any != 0;
}

size_t bitmap_collect_and_clear_atomic(unsigned long *dst_or_into,
                                       unsigned long *src, size_t nbits)
{
    size_t nwords = BITS_TO_LONGS(nbits);
    size_t newly = 0;

    for (size_t w = 0; w < nwords; w++) {
        unsigned long old;

        /* Most words of a dirty log are clear: read before writing. */
        if (!__atomic_load_n(&src[w], __ATOMIC_RELAXED)) {
            continue;
        }
        if (w == nwords - 1 && nbits % BITS_PER_LONG) {
            unsigned long mask = last_word_mask(nbits);

            old = __atomic_fetch_and(&src[w], ~mask, __ATOMIC_SEQ_CST) & mask;
        } else {
            old = __atomic_exchange_n(&src[w], 0UL, __ATOMIC_SEQ_CST);
        }
        newly += (size_t)__builtin_popcountl(old & ~dst_or_into[w]);
        dst_or_into[w] |= old;
    }
    return newly;
}
