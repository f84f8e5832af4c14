/*
 * Postcopy blocktime and fault latency (postcopy-blocktime.h).
 */
#include "postcopy-blocktime.h"
#include "qemu/thread.h"

#include <glib.h>

struct PostcopyBlocktime {
    QemuMutex lock;
    bool report_blocktime;
    int nvcpus;

    /* Pages asked for and not placed yet: host address -> fault time (us). */
    GHashTable *waiting;
    gint busy;                      /* atomic: pages waited for + vCPUs blocked */
    GArray *latency_us;             /* uint64_t, one per page placed after a fault */

    /* Per vCPU: the page it waits for (0: none), since when, and its total. */
    uint64_t *vcpu_addr;
    int64_t *vcpu_since;
    uint64_t *vcpu_total_us;
    int blocked;                    /* vCPUs waiting now */
    int64_t all_since;              /* when the last of them started to wait */
    uint64_t all_total_us;
};

PostcopyBlocktime *postcopy_blocktime_new(int nvcpus, bool report_blocktime)
{
    PostcopyBlocktime *bt = g_new0(PostcopyBlocktime, 1);

    qemu_mutex_init(&bt->lock);
    bt->report_blocktime = report_blocktime;
    bt->nvcpus = MAX(nvcpus, 0);
    bt->waiting = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    bt->latency_us = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    bt->vcpu_addr = g_new0(uint64_t, bt->nvcpus);
    bt->vcpu_since = g_new0(int64_t, bt->nvcpus);
    bt->vcpu_total_us = g_new0(uint64_t, bt->nvcpus);
    return bt;
}

void postcopy_blocktime_free(PostcopyBlocktime *bt)
{
    if (!bt) {
        return;
    }
    g_hash_table_unref(bt->waiting);
    g_array_unref(bt->latency_us);
    g_free(bt->vcpu_addr);
    g_free(bt->vcpu_since);
    g_free(bt->vcpu_total_us);
    qemu_mutex_destroy(&bt->lock);
    g_free(bt);
}

/* Caller holds bt->lock. */
static void postcopy_blocktime_update_busy(PostcopyBlocktime *bt)
{
    g_atomic_int_set(&bt->busy, g_hash_table_size(bt->waiting) + bt->blocked);
}

void postcopy_blocktime_fault(PostcopyBlocktime *bt, uint64_t addr, int cpu,
                              bool requested)
{
    int64_t now = g_get_monotonic_time();

    qemu_mutex_lock(&bt->lock);
    if (requested && !g_hash_table_contains(bt->waiting, &addr)) {
        g_hash_table_insert(bt->waiting, g_memdup2(&addr, sizeof(addr)),
                            g_memdup2(&now, sizeof(now)));
    }
    /* A vCPU already waiting faults again on the same page: one wait. */
    if (cpu >= 0 && cpu < bt->nvcpus && !bt->vcpu_addr[cpu]) {
        bt->vcpu_addr[cpu] = addr;
        bt->vcpu_since[cpu] = now;
        if (++bt->blocked == bt->nvcpus) {
            bt->all_since = now;
        }
    }
    postcopy_blocktime_update_busy(bt);
    qemu_mutex_unlock(&bt->lock);
}

void postcopy_blocktime_placed(PostcopyBlocktime *bt, uint64_t addr)
{
    int64_t now;
    int64_t *since;

    if (!g_atomic_int_get(&bt->busy)) {
        return;                     /* the background pass: nobody waits */
    }
    now = g_get_monotonic_time();
    qemu_mutex_lock(&bt->lock);
    since = g_hash_table_lookup(bt->waiting, &addr);
    if (since) {
        uint64_t us = now - *since;

        g_array_append_val(bt->latency_us, us);
        g_hash_table_remove(bt->waiting, &addr);
    }
    for (int cpu = 0; cpu < bt->nvcpus; cpu++) {
        if (bt->vcpu_addr[cpu] != addr) {
            continue;
        }
        if (bt->blocked == bt->nvcpus) {
            bt->all_total_us += now - bt->all_since;
        }
        bt->vcpu_total_us[cpu] += now - bt->vcpu_since[cpu];
        bt->vcpu_addr[cpu] = 0;
        bt->blocked--;
    }
    postcopy_blocktime_update_busy(bt);
    qemu_mutex_unlock(&bt->lock);
}

static int postcopy_cmp_u64(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The @pct percentile of sorted @v (nearest rank). */
static uint64_t postcopy_percentile(const GArray *v, unsigned pct)
{
    size_t rank = (v->len * pct + 99) / 100;

    return g_array_index(v, uint64_t, MAX(rank, 1) - 1);
}

void postcopy_blocktime_info(PostcopyBlocktime *bt, MigrationInfo *info)
{
    g_autoptr(GArray) sorted = NULL;

    qemu_mutex_lock(&bt->lock);
    sorted = g_array_copy(bt->latency_us);
    info->has_x_postcopy_faults = true;
    info->x_postcopy_faults = bt->latency_us->len + g_hash_table_size(bt->waiting);
    if (bt->report_blocktime) {
        uint32List **tail = &info->postcopy_vcpu_blocktime;

        info->has_postcopy_blocktime = true;
        info->postcopy_blocktime = bt->all_total_us / 1000;
        for (int cpu = 0; cpu < bt->nvcpus; cpu++) {
            uint32List *e = g_new0(uint32List, 1);

            e->value = bt->vcpu_total_us[cpu] / 1000;
            *tail = e;
            tail = &e->next;
        }
    }
    qemu_mutex_unlock(&bt->lock);
    if (sorted->len) {
        g_array_sort(sorted, postcopy_cmp_u64);
        info->has_x_postcopy_latency_p50 = true;
        info->x_postcopy_latency_p50 = postcopy_percentile(sorted, 50);
        info->has_x_postcopy_latency_p99 = true;
        info->x_postcopy_latency_p99 = postcopy_percentile(sorted, 99);
        info->has_x_postcopy_latency_max = true;
        info->x_postcopy_latency_max = g_array_index(sorted, uint64_t, sorted->len - 1);
    }
}
