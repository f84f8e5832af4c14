/*
 * bench-ram: the RAM section end to end in one process.  A source thread
 * saves a block (setup, iterate until drained, complete) into one end of a
 * unix socketpair; the main thread loads it from the other end into fresh
 * memory.  Fresh (never written) and random-filled RAM, each destination
 * fault policy, with and without x-verify-ram (both sides digest every
 * page, the source sends its chunk digests after the RAM, the destination
 * compares), medians of N runs, each with the process's CPU time (both
 * sides' threads, getrusage) per GiB: unlike wall time it hardly moves
 * with the machine's load, so the verifier's cost is the difference of
 * the "+ x-verify-ram" lines' CPU to their plain twins'.  Prints figures;
 * never pass/fail.
 *
 *   bench-ram [-r RUNS] [-s GiB]... [-c fresh|filled]
 *   (default: -r 5 -s 1 -s 4, both contents)
 */
#include "migration-fakes.h"
#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define GiB ((uint64_t)1 << 30)
#define MAX_RUNS 15

/* How the destination meets its page faults in one measurement. */
typedef struct Strategy {
    const char *name;
    RAMLoadFaultPolicy policy;
    bool populate_all_thread;   /* a helper thread populates the whole block ahead */
    bool discard;               /* no destination: read and drop the stream */
    bool verify;                /* x-verify-ram on both sides */
} Strategy;

static const Strategy strategies[] = {
    { "populate-chunk (default)", RAM_LOAD_FAULT_POPULATE_CHUNK, false, false, false },
    { "default + x-verify-ram", RAM_LOAD_FAULT_POPULATE_CHUNK, false, false, true },
    { "hugepage", RAM_LOAD_FAULT_HUGEPAGE, false, false, false },
    { "plain 4k faults", RAM_LOAD_FAULT_PLAIN, false, false, false },
    { "populate-all thread", RAM_LOAD_FAULT_PLAIN, true, false, false },
    { "source only (sink)", RAM_LOAD_FAULT_PLAIN, false, true, false },
    { "sink + x-verify-ram", RAM_LOAD_FAULT_PLAIN, false, true, true },
};

/*
 * The stream: each section's payload behind one tag byte (savevm's section
 * headers are not needed with two sections known in advance).
 */
enum { TAG_RAM = 'R', TAG_VERIFY = 'V' };

static bool no_dirty_sync(void *opaque, RAMBlock *rb, unsigned long *dest, GError **errp)
{
    return true;    /* no guest runs: nothing is written between syncs */
}

static RAMBlock *bench_block_new(uint64_t size)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->idstr = g_strdup("pc.ram");
    rb->used_length = size;
    rb->page_size = TARGET_PAGE_SIZE;
    rb->fd = -1;
    rb->host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (rb->host == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return rb;
}

/* Random data in every page (xorshift: fast, and nothing compresses or reads as zero). */
static void fill_random(RAMBlock *rb)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t *p = (uint64_t *)rb->host;

    madvise(rb->host, rb->used_length, MADV_HUGEPAGE);
    for (uint64_t i = 0; i < rb->used_length / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = x;
    }
}

typedef struct SourceJob {
    GPtrArray *blocks;
    int fd;
    bool verify;
    bool ok;
} SourceJob;

static gpointer source_thread(gpointer opaque)
{
    SourceJob *job = opaque;
    RAMDirtySource dirty = { .sync = no_dirty_sync };
    g_autoptr(RAMState) rs = ram_state_new(job->blocks, &dirty, NULL);
    GError *err = NULL;
    QEMUFile *f = qemu_file_new_fd(job->fd, true, &err);
    RAMVerify *v = ram_state_verify(rs);
    SaveVMIterateResult ret = SAVEVM_ITERATE_MORE;

    ram_verify_start(v, job->verify);
    job->ok = f != NULL;
    if (job->ok && job->verify) {
        qemu_put_byte(f, TAG_VERIFY);
        job->ok = ram_verify_handlers.save_setup(f, v, &err);
    }
    if (job->ok) {
        qemu_put_byte(f, TAG_RAM);
        job->ok = ram_save_handlers.save_setup(f, rs, &err);
    }
    while (job->ok) {
        qemu_put_byte(f, TAG_RAM);
        ret = ram_save_handlers.save_live_iterate(f, rs, &err);
        if (ret != SAVEVM_ITERATE_MORE) {
            break;
        }
    }
    if (job->ok && ret == SAVEVM_ITERATE_DONE) {
        qemu_put_byte(f, TAG_RAM);
        job->ok = ram_save_handlers.save_live_complete(f, rs, &err);
    } else {
        job->ok = false;
    }
    if (job->ok && job->verify) {
        qemu_put_byte(f, TAG_VERIFY);
        job->ok = ram_verify_handlers.save_live_complete(f, v, &err);
    }
    ram_save_handlers.save_cleanup(rs);
    job->ok = f && qemu_fclose(f, job->ok ? &err : NULL) && job->ok;
    if (err) {
        fprintf(stderr, "source: %s\n", err->message);
        g_error_free(err);
    }
    return NULL;
}

static gpointer populate_all_thread(gpointer opaque)
{
    RAMBlock *rb = opaque;

    madvise(rb->host, rb->used_length, MADV_HUGEPAGE);
    for (uint64_t off = 0; off < rb->used_length; off += 2 * 1024 * 1024) {
        madvise(rb->host + off, 2 * 1024 * 1024, MADV_POPULATE_WRITE);
    }
    return NULL;
}

static bool load_stream(int fd, GPtrArray *dst_blocks, const Strategy *st)
{
    g_autoptr(RAMState) rs = ram_load_state_new(dst_blocks);
    RAMVerify *v = ram_state_verify(rs);
    GError *err = NULL;
    QEMUFile *f = qemu_file_new_fd(fd, false, &err);
    bool ok;

    if (!f) {
        fprintf(stderr, "destination: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    ram_state_set_load_fault_policy(rs, st->policy);
    ram_verify_start(v, st->verify);
    ok = ram_save_handlers.load_setup(rs, &err);
    while (ok && qemu_peek_byte(f, 0) >= 0) {
        if (qemu_get_byte(f) == TAG_VERIFY) {
            ok = ram_verify_handlers.load_state(f, v, RAM_VERIFY_SECTION_VERSION, &err);
        } else {
            ok = ram_save_handlers.load_state(f, rs, RAM_SECTION_VERSION, &err);
        }
    }
    ok = ok && ram_verify_load_done(v, &err);
    ram_save_handlers.load_cleanup(rs);
    qemu_fclose(f, NULL);
    if (err) {
        fprintf(stderr, "destination: %s\n", err->message);
        g_error_free(err);
    }
    return ok;
}

static void discard_stream(int fd)
{
    static char buf[1 << 20];

    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    close(fd);
}

/* MiB of @rb that are resident (what the destination's memory costs after the load). */
static uint64_t resident_mib(RAMBlock *rb)
{
    g_autofree unsigned char *vec = g_malloc(rb->used_length / TARGET_PAGE_SIZE);
    uint64_t pages = 0;

    if (mincore(rb->host, rb->used_length, vec) != 0) {
        return 0;
    }
    for (uint64_t i = 0; i < rb->used_length / TARGET_PAGE_SIZE; i++) {
        pages += vec[i] & 1;
    }
    return pages * TARGET_PAGE_SIZE >> 20;
}

/* CPU seconds (user + system) of every thread of this process so far. */
static double process_cpu_secs(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * One migration of @src_blocks; returns seconds, or -1 on failure, the
 * process's CPU seconds in @cpu and the destination's resident MiB in
 * @rss_mib.
 */
static double run_once(GPtrArray *src_blocks, uint64_t size, const Strategy *st,
                       double *cpu, uint64_t *rss_mib)
{
    double cpu0 = process_cpu_secs();
    g_autoptr(GPtrArray) dst_blocks = g_ptr_array_new_with_free_func(fake_ram_block_free);
    SourceJob job = { .blocks = src_blocks, .verify = st->verify };
    GThread *src, *helper = NULL;
    int sv[2];
    gint64 t0;
    bool ok = true;
    double secs;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        exit(1);
    }
    g_ptr_array_add(dst_blocks, bench_block_new(size));
    job.fd = sv[0];

    t0 = g_get_monotonic_time();
    if (st->populate_all_thread) {
        helper = g_thread_new("populate", populate_all_thread, g_ptr_array_index(dst_blocks, 0));
    }
    src = g_thread_new("source", source_thread, &job);
    if (st->discard) {
        discard_stream(sv[1]);
    } else {
        ok = load_stream(sv[1], dst_blocks, st);
    }
    g_thread_join(src);
    secs = (g_get_monotonic_time() - t0) / 1e6;
    if (helper) {
        g_thread_join(helper);
    }
    *cpu = process_cpu_secs() - cpu0;
    *rss_mib = resident_mib(g_ptr_array_index(dst_blocks, 0));
    return ok && job.ok ? secs : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void print_case(uint64_t size, const char *content, const Strategy *st,
                       double *t, double *cpu, int runs, uint64_t rss_mib)
{
    for (int i = 0; i < runs; i++) {
        if (t[i] < 0) {
            printf("%-7s %2" G_GUINT64_FORMAT " GiB  %-26s FAILED\n", content, size / GiB, st->name);
            return;
        }
    }
    qsort(t, runs, sizeof(t[0]), cmp_double);
    qsort(cpu, runs, sizeof(cpu[0]), cmp_double);
    printf("%-7s %2" G_GUINT64_FORMAT " GiB  %-26s median %8.1f ms %7.2f GB/s  (min %.1f, max %.1f ms)"
           "  cpu %7.1f ms/GiB (min %.1f, max %.1f)  dest RSS %" G_GUINT64_FORMAT " MiB\n",
           content, size / GiB, st->name, t[runs / 2] * 1e3, size / t[runs / 2] / 1e9,
           t[0] * 1e3, t[runs - 1] * 1e3, cpu[runs / 2] * 1e3 * GiB / size,
           cpu[0] * 1e3 * GiB / size, cpu[runs - 1] * 1e3 * GiB / size, rss_mib);
    fflush(stdout);
}

/*
 * Every strategy @runs times, interleaved in a shuffled order each round,
 * after one unmeasured warm-up run.  In this microVM, memory freed in 2 MiB
 * blocks is reported to the host (virtio-balloon free page reporting) and
 * the next first touch of it costs ~5 ms per 2 MiB: in a fixed order, the
 * strategy that runs after a pause (the sink) would pay for it every time.
 */
static void bench_content(GPtrArray *src_blocks, uint64_t size, const char *content, int runs)
{
    double t[G_N_ELEMENTS(strategies)][MAX_RUNS];
    double cpu[G_N_ELEMENTS(strategies)][MAX_RUNS];
    uint64_t rss[G_N_ELEMENTS(strategies)];

    run_once(src_blocks, size, &strategies[0], &cpu[0][0], &rss[0]);
    g_autoptr(GRand) rand = g_rand_new_with_seed(1);
    size_t order[G_N_ELEMENTS(strategies)];

    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        order[i] = i;
    }
    for (int r = 0; r < runs; r++) {
        for (size_t k = G_N_ELEMENTS(order) - 1; k > 0; k--) {
            size_t j = g_rand_int_range(rand, 0, k + 1), tmp = order[k];

            order[k] = order[j];
            order[j] = tmp;
        }
        for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
            size_t i = order[k];

            t[i][r] = run_once(src_blocks, size, &strategies[i], &cpu[i][r], &rss[i]);
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(strategies); i++) {
        print_case(size, content, &strategies[i], t[i], cpu[i], runs, rss[i]);
    }
}

/* The plain zero check over never-written memory, for comparison with the residency probe. */
static void bench_zero_check(uint64_t size)
{
    for (int huge = 0; huge <= 1; huge++) {
        RAMBlock *rb = bench_block_new(size);
        uint64_t zero = 0;
        gint64 t0;
        double secs;

        if (huge) {
            madvise(rb->host, size, MADV_HUGEPAGE);
        }
        t0 = g_get_monotonic_time();
        for (uint64_t off = 0; off < size; off += TARGET_PAGE_SIZE) {
            zero += buffer_is_zero(rb->host + off, TARGET_PAGE_SIZE);
        }
        secs = (g_get_monotonic_time() - t0) / 1e6;
        g_assert(zero == size / TARGET_PAGE_SIZE);
        printf("buffer_is_zero over %" G_GUINT64_FORMAT " GiB never written%s: %.1f ms (%.1f GB/s)\n",
               size / GiB, huge ? " (MADV_HUGEPAGE)" : "", secs * 1e3, size / secs / 1e9);
        fake_ram_block_free(rb);
    }
}

int main(int argc, char **argv)
{
    int runs = 5;
    const char *only = NULL;
    uint64_t sizes[8];
    int nsizes = 0;
    int opt;

    while ((opt = getopt(argc, argv, "r:s:c:")) != -1) {
        if (opt == 'r') {
            runs = CLAMP(atoi(optarg), 1, MAX_RUNS);
        } else if (opt == 's' && nsizes < (int)G_N_ELEMENTS(sizes)) {
            sizes[nsizes++] = MAX(1, atoi(optarg)) * GiB;
        } else if (opt == 'c' && (!strcmp(optarg, "fresh") || !strcmp(optarg, "filled"))) {
            only = optarg;
        } else {
            fprintf(stderr, "usage: %s [-r RUNS] [-s GiB]... [-c fresh|filled]\n", argv[0]);
            return 1;
        }
    }
    if (nsizes == 0) {
        sizes[nsizes++] = 1 * GiB;
        sizes[nsizes++] = 4 * GiB;
    }
    buffer_is_zero_init();
    if (!only) {
        bench_zero_check(1 * GiB);
    }

    for (int s = 0; s < nsizes; s++) {
        g_autoptr(GPtrArray) src = g_ptr_array_new_with_free_func(fake_ram_block_free);

        g_ptr_array_add(src, bench_block_new(sizes[s]));
        if (!only || !strcmp(only, "fresh")) {
            bench_content(src, sizes[s], "fresh", runs);
        }
        if (!only || !strcmp(only, "filled")) {
            fill_random(g_ptr_array_index(src, 0));
            bench_content(src, sizes[s], "filled", runs);
        }
    }
    return 0;
}
