/*
 * bench-digest: the page digests x-verify-ram could use, over 4 KiB pages
 * of random data, one call per page as the RAM paths make them:
 * libgcrypt's CRC32 (PCLMUL), SHA-256 (SHA-NI where the CPU has it),
 * SHA-1 and BLAKE2b-256, its universal-hash MACs GMAC-AES (PCLMUL and
 * AES-NI) and Poly1305 under a fixed key (as checksums: reset and re-keyed
 * per page as a per-page digest would be), and libxxhash's XXH3-64 and
 * XXH64.  Wall time
 * and CPU time (getrusage, this thread) per GiB, median of N runs: on a
 * machine shared with other work, the CPU time is the figure to trust.
 * Each run digests at least 1 GiB, passing over the buffer again as
 * needed: a buffer smaller than the L2 cache (-m 2) gives the speed of a
 * page already in cache, as one about to be sent or just received is; a
 * large one that of a page read from memory first.
 * Prints figures; never pass/fail.
 *
 *   bench-digest [-r RUNS] [-m MiB]      (default: -r 5 -m 256)
 */
#include <gcrypt.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#define PAGE        4096
#define MAX_RUNS    15

typedef struct Digest {
    const char *name;
    int gcry_algo;              /* 0: not libgcrypt */
    bool gcry_handle;           /* one handle reset per page, not gcry_md_hash_buffer() */
    uint64_t (*xxh)(const void *page);
    int gcry_mac;               /* a libgcrypt MAC instead (gcry_algo 0) */
} Digest;

static uint64_t digest_xxh3(const void *page)
{
    return XXH3_64bits(page, PAGE);
}

static uint64_t digest_xxh64(const void *page)
{
    return XXH64(page, PAGE, 0);
}

static const Digest digests[] = {
    { "CRC32 (libgcrypt)", GCRY_MD_CRC32, false, NULL },
    { "CRC32 (libgcrypt, handle)", GCRY_MD_CRC32, true, NULL },
    { "SHA-256 (libgcrypt)", GCRY_MD_SHA256, false, NULL },
    { "SHA-1 (libgcrypt)", GCRY_MD_SHA1, false, NULL },
    { "BLAKE2b-256 (libgcrypt)", GCRY_MD_BLAKE2B_256, false, NULL },
    { "GMAC-AES-128 (libgcrypt)", 0, false, NULL, GCRY_MAC_GMAC_AES },
    { "Poly1305 (libgcrypt)", 0, false, NULL, GCRY_MAC_POLY1305 },
    { "XXH3-64 (libxxhash)", 0, false, digest_xxh3 },
    { "XXH64 (libxxhash)", 0, false, digest_xxh64 },
};

/* One page's MAC under a fixed key: what a per-page digest would have to do. */
static uint64_t digest_mac(gcry_mac_hd_t mac, int algo, const uint8_t *page)
{
    static const uint8_t key[32] = { 17 }, iv[12] = { 0 };
    uint8_t out[16];
    size_t len = sizeof(out);

    gcry_mac_reset(mac);
    if (algo == GCRY_MAC_GMAC_AES) {
        gcry_mac_setiv(mac, iv, sizeof(iv));
    } else {
        gcry_mac_setkey(mac, key, 32);      /* Poly1305's key is one-time */
    }
    gcry_mac_write(mac, page, PAGE);
    gcry_mac_read(mac, out, &len);
    return out[0];
}

static double thread_cpu_secs(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Digest every page of @buf, @passes times; the wall and CPU seconds. */
static void digest_run(const Digest *d, const uint8_t *buf, size_t len, unsigned passes,
                       double *wall, double *cpu)
{
    uint8_t out[64];
    uint64_t sink = 0;
    gcry_md_hd_t hd = NULL;
    gcry_mac_hd_t mac = NULL;
    double c0;

    if (d->gcry_handle && gcry_md_open(&hd, d->gcry_algo, 0)) {
        abort();
    }
    if (d->gcry_mac && (gcry_mac_open(&mac, d->gcry_mac, 0, NULL) ||
                        gcry_mac_setkey(mac, (const uint8_t[32]){ 17 },
                                        d->gcry_mac == GCRY_MAC_GMAC_AES ? 16 : 32))) {
        abort();
    }
    c0 = thread_cpu_secs();
    gint64 t0 = g_get_monotonic_time();

    for (unsigned p = 0; p < passes; p++) {
        for (size_t off = 0; off < len; off += PAGE) {
            if (hd) {
                gcry_md_reset(hd);
                gcry_md_write(hd, buf + off, PAGE);
                sink += gcry_md_read(hd, 0)[0];
            } else if (mac) {
                sink += digest_mac(mac, d->gcry_mac, buf + off);
            } else if (d->gcry_algo) {
                gcry_md_hash_buffer(d->gcry_algo, out, buf + off, PAGE);
                sink += out[0];
            } else {
                sink += d->xxh(buf + off);
            }
        }
    }
    *wall = (g_get_monotonic_time() - t0) / 1e6;
    *cpu = thread_cpu_secs() - c0;
    gcry_md_close(hd);
    gcry_mac_close(mac);
    if (sink == 42) {
        putchar(' ');           /* keeps the digests from being optimised out */
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t mib = 256;
    int opt;
    unsigned passes;
    uint8_t *buf;
    g_autoptr(GRand) rand = g_rand_new_with_seed(17);

    while ((opt = getopt(argc, argv, "r:m:")) != -1) {
        if (opt == 'r') {
            runs = CLAMP(atoi(optarg), 1, MAX_RUNS);
        } else if (opt == 'm') {
            mib = MAX(1, atoi(optarg));
        } else {
            fprintf(stderr, "usage: %s [-r RUNS] [-m MiB]\n", argv[0]);
            return 2;
        }
    }
    gcry_check_version(NULL);
    buf = g_malloc(mib << 20);
    for (size_t i = 0; i < (mib << 20) / 4; i++) {
        ((uint32_t *)buf)[i] = g_rand_int(rand);
    }
    passes = MAX(1, 1024 / mib);
    printf("%zu MiB of random 4 KiB pages (%u passes a run), median of %d runs; "
           "libgcrypt %s\n", mib, passes, runs, gcry_check_version(NULL));
    for (size_t d = 0; d < G_N_ELEMENTS(digests); d++) {
        double wall[MAX_RUNS], cpu[MAX_RUNS];
        double bytes = (double)(mib << 20) * passes;

        for (int r = 0; r < runs; r++) {
            digest_run(&digests[d], buf, mib << 20, passes, &wall[r], &cpu[r]);
        }
        qsort(wall, runs, sizeof(double), cmp_double);
        qsort(cpu, runs, sizeof(double), cmp_double);
        printf("%-26s wall %7.1f ms/GiB (%5.2f GB/s)   cpu %7.1f ms/GiB (%5.2f GB/s)\n",
               digests[d].name, wall[runs / 2] * 1e3 * (1 << 30) / bytes,
               bytes / wall[runs / 2] / 1e9, cpu[runs / 2] * 1e3 * (1 << 30) / bytes,
               bytes / cpu[runs / 2] / 1e9);
    }
    g_free(buf);
    return 0;
}
