/*
 * buffer_is_zero() throughput on a large zero-filled, resident buffer, next to
 * the plain memory-read bandwidth this program measures on the same buffer:
 * sums of 64-bit words (scalar, AVX2, AVX-512 loops, four accumulators each),
 * the fastest of which is the reference.
 * Also buffer_is_zero() called page by page, as migration calls it.  Runs are
 * interleaved and each figure is the median of five.
 *
 *   bench-bufferiszero [SIZE]      SIZE defaults to 1G (suffixes as for -m)
 */
#include "qemu/bufferiszero.h"
#include "qemu/cutils.h"
#include "qemu/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

#define RUNS 5
#define MAX_VARIANTS 8

typedef uint64_t (*ReadSumFn)(const void *buf, size_t len);

static uint64_t read_sum_scalar(const void *buf, size_t len)
{
    const uint64_t *w = buf;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

    for (size_t i = 0; i + 4 <= len / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

#ifdef BENCH_X86
static __attribute__((target("avx2")))
uint64_t read_sum_avx2(const void *buf, size_t len)
{
    const __m256i *v = buf, *e = v + len / 32;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    uint64_t out[4];

    for (; e - v >= 4; v += 4) {
        s0 = _mm256_add_epi64(s0, v[0]);
        s1 = _mm256_add_epi64(s1, v[1]);
        s2 = _mm256_add_epi64(s2, v[2]);
        s3 = _mm256_add_epi64(s3, v[3]);
    }
    s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    _mm256_storeu_si256((__m256i *)out, s0);
    return out[0] + out[1] + out[2] + out[3];
}

static __attribute__((target("avx512f")))
uint64_t read_sum_avx512(const void *buf, size_t len)
{
    const __m512i *v = buf, *e = v + len / 64;
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;

    for (; e - v >= 4; v += 4) {
        s0 = _mm512_add_epi64(s0, v[0]);
        s1 = _mm512_add_epi64(s1, v[1]);
        s2 = _mm512_add_epi64(s2, v[2]);
        s3 = _mm512_add_epi64(s3, v[3]);
    }
    s0 = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
    return (uint64_t)_mm512_reduce_add_epi64(s0);
}
#endif

typedef struct {
    const char *name;
    ReadSumFn fn;
} ReadLoop;

/* The read loops this CPU runs; returns how many were put in @loops. */
static size_t read_loops_usable(ReadLoop *loops)
{
    size_t n = 0;

    loops[n++] = (ReadLoop){ "scalar", read_sum_scalar };
#ifdef BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        loops[n++] = (ReadLoop){ "avx2", read_sum_avx2 };
    }
    if (__builtin_cpu_supports("avx512f")) {
        loops[n++] = (ReadLoop){ "avx512", read_sum_avx512 };
    }
#endif
    return n;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of RUNS figures (sorts @v). */
static double median(double *v)
{
    qsort(v, RUNS, sizeof(*v), cmp_double);
    return v[RUNS / 2];
}

/*
 * GB/s of buffer_is_zero() called once per 4 KiB page, as migration does;
 * negative if a page is reported non-zero.
 */
static double page_by_page_gbs(const char *buf, uint64_t size)
{
    double t0 = now_seconds();

    for (uint64_t off = 0; off < size; off += 4096) {
        if (!buffer_is_zero(buf + off, 4096)) {
            return -1;
        }
    }
    return (double)size / (now_seconds() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    const char *const *names = buffer_is_zero_variant_names();
    const char *variant[MAX_VARIANTS], *read_name = NULL;
    BufferIsZeroFn fn[MAX_VARIANTS];
    ReadLoop loops[MAX_VARIANTS];
    size_t nloops = read_loops_usable(loops);
    double read_gbs[MAX_VARIANTS][RUNS], zero_gbs[MAX_VARIANTS][RUNS];
    double page_gbs[RUNS];
    uint64_t size = GiB, sink = 0;
    size_t nvariants = 0;
    double read_median = 0;
    void *buf;

    if (argc > 1 && !qemu_strtosz(argv[1], 1, &size, &err)) {
        error_report_err(g_steal_pointer(&err));
        return 1;
    }
    size &= ~(uint64_t)4095;
    if (size == 0) {
        error_report("size must be at least 4096 bytes");
        return 1;
    }
    for (size_t i = 0; names[i] && nvariants < MAX_VARIANTS; i++) {
        if ((fn[nvariants] = buffer_is_zero_variant(names[i]))) {
            variant[nvariants++] = names[i];
        }
    }

    buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        error_report("cannot map %" PRIu64 " bytes: %s", size,
                     g_strerror(errno));
        return 1;
    }
    /* Huge pages where allowed, so the figures measure memory, not the TLB. */
    madvise(buf, size, MADV_HUGEPAGE);
    /* Write the zeros: untouched pages would all read the one shared zero page. */
    memset(buf, 0, size);

    for (int run = 0; run < RUNS; run++) {
        double t0;

        for (size_t l = 0; l < nloops; l++) {
            t0 = now_seconds();
            sink += loops[l].fn(buf, size);
            read_gbs[l][run] = (double)size / (now_seconds() - t0) / 1e9;
        }
        for (size_t v = 0; v < nvariants; v++) {
            bool zero;

            t0 = now_seconds();
            zero = fn[v](buf, size);
            zero_gbs[v][run] = (double)size / (now_seconds() - t0) / 1e9;
            if (!zero) {
                error_report("buffer_is_zero %s: zero buffer reported non-zero",
                             variant[v]);
                return 1;
            }
        }
        page_gbs[run] = page_by_page_gbs(buf, size);
        if (page_gbs[run] < 0) {
            error_report("buffer_is_zero: zero page reported non-zero");
            return 1;
        }
    }

    if (sink != 0) {
        error_report("memory read: zero buffer summed to non-zero");
        return 1;
    }
    /* The read bandwidth is the fastest read loop's: the harder target. */
    for (size_t l = 0; l < nloops; l++) {
        double m = median(read_gbs[l]);

        if (m > read_median) {
            read_median = m;
            read_name = loops[l].name;
        }
    }
    printf("buffer: %" PRIu64 " MiB zero-filled, resident; median of %d runs; "
           "GB = 10^9 bytes\n", size / MiB, RUNS);
    for (size_t l = 0; l < nloops; l++) {
        g_autofree char *label = g_strdup_printf("memory read, %s word sum",
                                                 loops[l].name);

        printf("%-36s %8.2f GB/s%s\n", label, median(read_gbs[l]),
               strcmp(loops[l].name, read_name) ? "" : "  <- read bandwidth");
    }
    for (size_t v = 0; v < nvariants; v++) {
        g_autofree char *label = g_strdup_printf("buffer_is_zero %s%s",
            variant[v],
            strcmp(variant[v], buffer_is_zero_selected()) ? "" : " (default)");
        double gbs = median(zero_gbs[v]);

        printf("%-36s %8.2f GB/s  %5.1f%% of read\n", label, gbs,
               100.0 * gbs / read_median);
    }
    printf("%-36s %8.2f GB/s  %5.1f%% of read\n",
           "buffer_is_zero per 4 KiB page", median(page_gbs),
           100.0 * median(page_gbs) / read_median);
    munmap(buf, size);
    return 0;
}
