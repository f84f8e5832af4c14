/*
 * Unit tests for word-based bitmaps (util/bitmap.c): every range operation is
 * checked against a bool-array model over many random ranges, and the atomic
 * collect is checked with concurrent setters for lost bits.
 */
#include "qemu/bitmap.h"

#define MODEL_BITS 300      /* not a multiple of BITS_PER_LONG */

typedef struct {
    unsigned long *map;
    bool bits[MODEL_BITS];
} Model;

static void model_check(const Model *m)
{
    for (size_t i = 0; i < MODEL_BITS; i++) {
        g_assert_cmpint(test_bit(i, m->map), ==, m->bits[i]);
    }
    /* Bits past the end of the bitmap stay clear. */
    g_assert_cmpuint(m->map[BITS_TO_LONGS(MODEL_BITS) - 1] >>
                     (MODEL_BITS % BITS_PER_LONG), ==, 0);
}

static void model_check_queries(const Model *m, size_t start, size_t nr)
{
    size_t count = 0, first_set = MODEL_BITS, first_zero = MODEL_BITS;

    for (size_t i = start; i < start + nr; i++) {
        count += m->bits[i];
    }
    g_assert_cmpuint(bitmap_count_one_range(m->map, start, nr), ==, count);
    for (size_t i = MODEL_BITS; i-- > start;) {
        if (m->bits[i]) {
            first_set = i;
        } else {
            first_zero = i;
        }
    }
    g_assert_cmpuint(find_next_bit(m->map, MODEL_BITS, start), ==, first_set);
    g_assert_cmpuint(find_next_zero_bit(m->map, MODEL_BITS, start), ==,
                     first_zero);
}

static void test_single_bits(void)
{
    g_autofree unsigned long *map = bitmap_new(130);

    g_assert_true(bitmap_empty(map, 130));
    g_assert_cmpuint(find_first_bit(map, 130), ==, 130);
    set_bit(129, map);
    set_bit(0, map);
    g_assert_true(test_bit(129, map) && test_bit(0, map) && !test_bit(64, map));
    g_assert_cmpuint(find_first_bit(map, 130), ==, 0);
    g_assert_cmpuint(find_next_bit(map, 130, 1), ==, 129);
    g_assert_cmpuint(find_next_bit(map, 129, 1), ==, 129);   /* size bound */
    g_assert_true(test_and_clear_bit(0, map));
    g_assert_false(test_and_clear_bit(0, map));
    g_assert_false(test_and_set_bit(64, map));
    g_assert_true(test_and_set_bit(64, map));
    clear_bit(64, map);
    set_bit_atomic(5, map);
    set_bit_atomic(5, map);
    g_assert_cmpuint(bitmap_count_one(map, 130), ==, 2);
    g_assert_cmpuint(find_next_bit(map, 130, 130), ==, 130);
    g_assert_cmpuint(find_next_zero_bit(map, 130, 200), ==, 130);
}

static void test_ranges_against_model(void)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(20240501);
    Model m = { .map = bitmap_new(MODEL_BITS) };

    for (int iter = 0; iter < 4000; iter++) {
        size_t start = (size_t)g_rand_int_range(rand, 0, MODEL_BITS + 1);
        size_t nr = (size_t)g_rand_int_range(rand, 0, MODEL_BITS - start + 1);
        int op = g_rand_int_range(rand, 0, 4);
        bool any = false;

        for (size_t i = start; i < start + nr; i++) {
            any |= m.bits[i];
            m.bits[i] = op == 0 || op == 2;
        }
        switch (op) {
        case 0:
            bitmap_set(m.map, start, nr);
            break;
        case 1:
            bitmap_clear(m.map, start, nr);
            break;
        case 2:
            bitmap_set_atomic(m.map, start, nr);
            break;
        default:
            g_assert_cmpint(bitmap_test_and_clear_atomic(m.map, start, nr),
                            ==, any);
            break;
        }
        model_check(&m);
        model_check_queries(&m, start, nr);
    }
    g_free(m.map);
}

static void test_empty_full_or(void)
{
    g_autofree unsigned long *a = bitmap_new(MODEL_BITS);
    g_autofree unsigned long *b = bitmap_new(MODEL_BITS);
    g_autofree unsigned long *c = bitmap_new(MODEL_BITS);

    bitmap_set(a, 0, 150);
    bitmap_set(b, 150, MODEL_BITS - 150);
    g_assert_false(bitmap_full(a, MODEL_BITS));
    g_assert_true(bitmap_full(a, 150));
    g_assert_false(bitmap_empty(b, MODEL_BITS));
    g_assert_true(bitmap_empty(b, 150));
    bitmap_or(c, a, b, MODEL_BITS);
    g_assert_true(bitmap_full(c, MODEL_BITS));
    g_assert_cmpuint(bitmap_count_one(c, MODEL_BITS), ==, MODEL_BITS);
    bitmap_or(a, a, b, MODEL_BITS);
    g_assert_true(bitmap_full(a, MODEL_BITS));
    g_assert_true(bitmap_empty(a, 0) && bitmap_full(a, 0));
}

static void test_collect(void)
{
    g_autofree unsigned long *src = bitmap_new(MODEL_BITS);
    g_autofree unsigned long *dst = bitmap_new(MODEL_BITS);

    set_bit(3, dst);
    bitmap_set(src, 0, 10);
    set_bit(MODEL_BITS - 1, src);
    g_assert_cmpuint(bitmap_collect_and_clear_atomic(dst, src, MODEL_BITS),
                     ==, 10);                  /* bit 3 was already there */
    g_assert_true(bitmap_empty(src, MODEL_BITS));
    g_assert_cmpuint(bitmap_count_one(dst, MODEL_BITS), ==, 11);
    g_assert_true(test_bit(MODEL_BITS - 1, dst));
    g_assert_cmpuint(bitmap_collect_and_clear_atomic(dst, src, MODEL_BITS),
                     ==, 0);
}

/* ---- concurrent setters vs. collector ---- */

#define RACE_BITS (1u << 22)

typedef struct {
    unsigned long *log;
    unsigned parity;        /* this writer sets bits of this parity */
    int *running;           /* writers still running (atomic) */
} RaceWriter;

static gpointer race_writer(gpointer opaque)
{
    RaceWriter *w = opaque;

    /*
     * Each bit is set exactly once, so a bit the collector drops is never
     * set again.  Both writers hit the same words while they are emptied.
     */
    for (size_t i = w->parity; i < RACE_BITS; i += 2) {
        set_bit_atomic(i, w->log);
    }
    __atomic_fetch_sub(w->running, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_collect_race(void)
{
    g_autofree unsigned long *log = bitmap_new(RACE_BITS);
    g_autofree unsigned long *dst = bitmap_new(RACE_BITS);
    int running = 2;
    RaceWriter writers[2] = { { log, 0, &running }, { log, 1, &running } };
    GThread *threads[2];
    size_t collected = 0;
    int rounds = 0;

    for (int i = 0; i < 2; i++) {
        threads[i] = g_thread_new("bitmap-writer", race_writer, &writers[i]);
    }
    while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) > 0) {
        collected += bitmap_collect_and_clear_atomic(dst, log, RACE_BITS);
        rounds++;
    }
    for (int i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
    }
    collected += bitmap_collect_and_clear_atomic(dst, log, RACE_BITS);
    g_test_message("%d collect rounds", rounds);
    g_assert_cmpuint(collected, ==, RACE_BITS);
    g_assert_true(bitmap_full(dst, RACE_BITS));
    g_assert_true(bitmap_empty(log, RACE_BITS));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bitmap/single-bits", test_single_bits);
    g_test_add_func("/bitmap/ranges", test_ranges_against_model);
    g_test_add_func("/bitmap/empty-full-or", test_empty_full_or);
    g_test_add_func("/bitmap/collect", test_collect);
    g_test_add_func("/bitmap/collect-race", test_collect_race);
    return g_test_run();
}
