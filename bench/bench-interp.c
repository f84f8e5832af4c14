/*
 * Interpreter speed on the a-b guest: instructions per second and the rate
 * at which a-b dirties pages (the figure a migration has to keep up with).
 * Median of 5 runs; prints figures, never fails on speed.
 */
#include <glib.h>
#include <stdio.h>

#include "guest-vm.h"
#include "sysemu/interp.h"

#define RAM_SIZE (128u * 1024 * 1024)
#define RUNS 5
#define INSNS_PER_RUN 200000000ull

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    GuestParams p = { .magic = GUEST_PARAMS_MAGIC, .ram_size_lo = RAM_SIZE,
                      .start = GUEST_DEFAULT_START, .end = GUEST_DEFAULT_END };
    unsigned sweep_pages = (p.end - p.start) / TARGET_PAGE_SIZE;
    double mips[RUNS], pages_per_s[RUNS];

    for (int r = 0; r < RUNS; r++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(GuestVM) vm = guest_vm_new(RAM_SIZE, "a-b", &p, &err);
        uint64_t done = 0, dirtied = 0;
        gint64 t0, t1;

        if (!vm) {
            fprintf(stderr, "bench-interp: %s\n", err->message);
            return 1;
        }
        /* Warm up (zeroing pass, page faults on the fresh mapping). */
        interp_run_for(vm->cpu, &vm->io, 30000000, NULL, &err);
        t0 = g_get_monotonic_time();
        if (interp_run_for(vm->cpu, &vm->io, INSNS_PER_RUN, &done, &err) != VCPU_EXIT_KICKED) {
            fprintf(stderr, "bench-interp: guest stopped: %s\n", err ? err->message : "halt");
            return 1;
        }
        t1 = g_get_monotonic_time();
        /*
         * a-b's inner loop is 4 instructions per page written (plus 4 per
         * sweep of 25,344 pages, below 0.02%).
         */
        dirtied = done / 4;
        mips[r] = done / (double)(t1 - t0);
        pages_per_s[r] = dirtied / ((t1 - t0) / 1e6);
    }
    qsort(mips, RUNS, sizeof(double), cmp_double);
    qsort(pages_per_s, RUNS, sizeof(double), cmp_double);
    printf("interp a-b: %.1f M instr/s (median of %d runs of %llu M instructions)\n",
           mips[RUNS / 2], RUNS, INSNS_PER_RUN / 1000000);
    printf("interp a-b dirtying rate: %.0f pages/s (%.1f sweeps/s of %u pages)\n",
           pages_per_s[RUNS / 2], pages_per_s[RUNS / 2] / sweep_pages, sweep_pages);
    return 0;
}
