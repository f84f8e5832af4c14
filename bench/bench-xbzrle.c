/*
 * XBZRLE encode rate, in GB/s of pages encoded on one core, for each
 * encoder variant the CPU runs, on page pairs shaped like what migration
 * meets: unchanged pages, the a-b guest's one changed byte per page, a few
 * short changed runs, and pages changed all over (which overflow).
 * Variants run interleaved; each figure is the median of five runs.
 *
 *   bench-xbzrle [PAGES]        PAGES defaults to 16384 (64 MiB of pairs)
 */
#include "xbzrle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE    4096
#define RUNS    5

static const char *const variant_names[] = { "scalar", "avx2", "avx512bw" };

typedef struct Workload {
    const char *name;
    void (*change)(uint8_t *page, GRand *r);
} Workload;

static void change_none(uint8_t *page, GRand *r)
{
}

static void change_one_byte(uint8_t *page, GRand *r)
{
    page[0]++;
}

static void change_few_runs(uint8_t *page, GRand *r)
{
    for (int k = 0; k < 8; k++) {
        int at = g_rand_int_range(r, 0, PAGE - 16);

        for (int i = 0; i < 16; i++) {
            page[at + i] ^= 1 + g_rand_int_range(r, 0, 255);
        }
    }
}

static void change_all_over(uint8_t *page, GRand *r)
{
    for (int i = 0; i < PAGE; i += 2) {
        page[i] ^= 0x5a;
    }
}

static const Workload workloads[] = {
    { "unchanged", change_none },
    { "one byte per page (a-b)", change_one_byte },
    { "8 runs of 16 bytes", change_few_runs },
    { "every other byte (overflow)", change_all_over },
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* GB/s of pages for one pass of @fn over the @pages pairs. */
static double run_once(XbzrleEncodeFn fn, const uint8_t *old, const uint8_t *new,
                       size_t pages, uint8_t *dst, long *sink)
{
    double t0 = now_s();

    for (size_t p = 0; p < pages; p++) {
        *sink += fn(old + p * PAGE, new + p * PAGE, PAGE, dst, PAGE);
    }
    return pages * (double)PAGE / (now_s() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 16384;
    g_autofree uint8_t *old = g_malloc(pages * PAGE);
    g_autofree uint8_t *new = g_malloc(pages * PAGE);
    uint8_t dst[PAGE];
    GRand *r = g_rand_new_with_seed(42);
    long sink = 0;

    printf("xbzrle_encode uses: %s; %zu page pairs (%zu MiB)\n",
           xbzrle_encoder_name(), pages, pages * PAGE >> 20);
    for (size_t i = 0; i < pages * PAGE; i++) {
        old[i] = g_rand_int_range(r, 0, 4) ? 0 : g_rand_int(r);
    }
    for (size_t w = 0; w < G_N_ELEMENTS(workloads); w++) {
        double rates[G_N_ELEMENTS(variant_names)][RUNS];

        memcpy(new, old, pages * PAGE);
        for (size_t p = 0; p < pages; p++) {
            workloads[w].change(new + p * PAGE, r);
        }
        for (int run = 0; run < RUNS; run++) {
            for (size_t v = 0; v < G_N_ELEMENTS(variant_names); v++) {
                XbzrleEncodeFn fn = xbzrle_encode_variant(variant_names[v]);

                rates[v][run] = fn ? run_once(fn, old, new, pages, dst, &sink) : 0;
            }
        }
        printf("%-30s", workloads[w].name);
        for (size_t v = 0; v < G_N_ELEMENTS(variant_names); v++) {
            qsort(rates[v], RUNS, sizeof(double), cmp_double);
            printf("  %s %6.2f GB/s", variant_names[v], rates[v][RUNS / 2]);
        }
        printf("\n");
    }
    g_rand_free(r);
    /* Printing the lengths' sum keeps the compiler from dropping the calls. */
    printf("(sum of encoded lengths: %ld)\n", sink);
    return 0;
}
