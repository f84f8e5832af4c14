/*
 * Dirty rate measurement (dirty-rate.h).  page-sampling hashes a random
 * sample of pages twice, calc-time apart; dirty-bitmap counts what the
 * dirty log records over calc-time.  The figures and the rules are QEMU's
 * (qemu-migration-facts-2.md §15); dirty-ring needs KVM's dirty ring,
 * which tern does not use, so it is refused as QEMU refuses it there.
 */
#include "dirty-rate.h"

#include "migration/migration.h"
#include "migration-states.h"
#include "exec/ramblock.h"
#include "qemu/bitmap.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"

#include <string.h>
#include <xxhash.h>

struct DirtyRateState {
    /* ---- fixed ---- */
    GPtrArray *blocks;
    RAMDirtySource dirty;       /* .sync NULL: no dirty log (tests) */
    MigrationMachineOps machine;
    MigrationState *out;

    /* ---- @lock; the thread writes, queries read ---- */
    QemuMutex lock;
    QemuCond cond;              /* wakes the thread's sleep on exit */
    bool exit;
    DirtyRateStatus status;
    DirtyRateMeasureMode mode;
    int64_t start_time;         /* Unix seconds */
    int64_t calc_time_ms;       /* asked for, then the actual time */
    uint64_t sample_pages;
    bool has_rate;
    int64_t rate;               /* MiB/s */
    bool blocked;               /* DIRTY_RATE_BLOCKER is up (BQL) */

    GThread *thread;            /* the last measurement's, joined at the next or at free */
};

/* ---- the page hash ---- */

#define DIRTY_RATE_HASH_SEED 1

/*
 * QEMU's page hash: XXH64 with seed 1, its low 32 bits (libxxhash).  The
 * guest writes its memory while this reads it, by design (a page that
 * changes under the hash is dirty either way); the library is not
 * instrumented, so ThreadSanitizer does not see those reads.
 */
uint32_t dirty_rate_page_hash(const void *page)
{
    return (uint32_t)XXH64(page, TARGET_PAGE_SIZE, DIRTY_RATE_HASH_SEED);
}

/* ---- the thread ---- */

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* Sleep until @deadline_ms; false when told to exit. */
static bool dirty_rate_sleep_until(DirtyRateState *d, int64_t deadline_ms)
{
    bool go_on;

    qemu_mutex_lock(&d->lock);
    for (int64_t left; !d->exit && (left = deadline_ms - now_ms()) > 0;) {
        qemu_cond_timedwait(&d->cond, &d->lock, left);
    }
    go_on = !d->exit;
    qemu_mutex_unlock(&d->lock);
    return go_on;
}

/* One sampled block: which pages, and their first hashes. */
typedef struct DirtyRateSample {
    RAMBlock *rb;
    uint64_t n;
    uint64_t *pages;
    uint32_t *hashes;
} DirtyRateSample;

static void dirty_rate_sample_free(gpointer p)
{
    DirtyRateSample *s = p;

    g_free(s->pages);
    g_free(s->hashes);
}

/* Pick and hash @per_gib pages per GiB of every block large enough. */
static GArray *dirty_rate_sample_pick(DirtyRateState *d, uint64_t per_gib)
{
    GArray *samples = g_array_new(FALSE, TRUE, sizeof(DirtyRateSample));
    g_autoptr(GRand) rand = g_rand_new();

    g_array_set_clear_func(samples, dirty_rate_sample_free);
    for (guint i = 0; i < d->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(d->blocks, i);
        DirtyRateSample s = { .rb = rb, .n = rb->used_length * per_gib >> 30 };

        if (rb->used_length < DIRTY_RATE_MIN_BLOCK_SIZE || s.n == 0) {
            continue;
        }
        s.pages = g_new(uint64_t, s.n);
        s.hashes = g_new(uint32_t, s.n);
        for (uint64_t k = 0; k < s.n; k++) {
            /* As QEMU: [0, npages - 1), the last page is never chosen. */
            s.pages[k] = g_rand_int_range(rand, 0, ramblock_pages(rb) - 1);
            s.hashes[k] = dirty_rate_page_hash(rb->host +
                                               (s.pages[k] << TARGET_PAGE_BITS));
        }
        g_array_append_val(samples, s);
    }
    return samples;
}

/* page-sampling: false when told to exit. */
static bool dirty_rate_by_sampling(DirtyRateState *d, int64_t calc_ms,
                                   uint64_t per_gib, int64_t *rate,
                                   int64_t *elapsed)
{
    int64_t start = now_ms();
    g_autoptr(GArray) samples = dirty_rate_sample_pick(d, per_gib);
    uint64_t total = 0, dirty = 0, mib = 0;

    if (!dirty_rate_sleep_until(d, start + calc_ms)) {
        return false;
    }
    for (guint i = 0; i < samples->len; i++) {
        DirtyRateSample *s = &g_array_index(samples, DirtyRateSample, i);

        for (uint64_t k = 0; k < s->n; k++) {
            dirty += dirty_rate_page_hash(s->rb->host +
                                          (s->pages[k] << TARGET_PAGE_BITS)) !=
                     s->hashes[k];
        }
        total += s->n;
        mib += s->rb->used_length >> 20;
    }
    *elapsed = MAX(now_ms() - start, 1);
    *rate = total ? (int64_t)(dirty * mib * 1000 / (total * *elapsed)) : 0;
    return true;
}

/* Collect every block's dirty log; returns the pages it held, or -1 on error. */
static int64_t dirty_rate_sync_all(DirtyRateState *d)
{
    int64_t pages = 0;

    for (guint i = 0; i < d->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(d->blocks, i);
        g_autofree unsigned long *bmap = bitmap_new(ramblock_pages(rb));
        g_autoptr(GError) err = NULL;

        if (!d->dirty.sync(d->dirty.opaque, rb, bmap, &err)) {
            error_report("calc-dirty-rate: %s", err->message);
            return -1;
        }
        pages += bitmap_count_one(bmap, ramblock_pages(rb));
    }
    return pages;
}

/* dirty-bitmap: false when told to exit or the dirty log failed. */
static bool dirty_rate_by_bitmap(DirtyRateState *d, int64_t calc_ms,
                                 int64_t *rate, int64_t *elapsed)
{
    g_autoptr(GError) err = NULL;
    int64_t start, pages = -1;
    bool ok;

    bql_lock();
    ok = d->machine.dirty_log_start(d->machine.opaque, &err);
    bql_unlock();
    if (!ok) {
        error_report("calc-dirty-rate: %s", err->message);
        return false;
    }
    /* The first collect may report everything (KVM): throw it away. */
    if (dirty_rate_sync_all(d) >= 0) {
        start = now_ms();
        if (dirty_rate_sleep_until(d, start + calc_ms)) {
            pages = dirty_rate_sync_all(d);
            *elapsed = MAX(now_ms() - start, 1);
        }
    }
    bql_lock();
    d->machine.dirty_log_stop(d->machine.opaque);
    bql_unlock();
    if (pages < 0) {
        return false;
    }
    *rate = (int64_t)(((uint64_t)pages * TARGET_PAGE_SIZE) >> 20) * 1000 / *elapsed;
    return true;
}

static gpointer dirty_rate_thread(gpointer opaque)
{
    DirtyRateState *d = opaque;
    int64_t rate = 0, elapsed = 0;
    DirtyRateMeasureMode mode;
    uint64_t per_gib;
    int64_t calc_ms;
    bool ok;

    qemu_mutex_lock(&d->lock);
    mode = d->mode;
    calc_ms = d->calc_time_ms;
    per_gib = d->sample_pages;
    qemu_mutex_unlock(&d->lock);

    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP) {
        ok = dirty_rate_by_bitmap(d, calc_ms, &rate, &elapsed);
        bql_lock();
        migration_remove_blocker(d->out, DIRTY_RATE_BLOCKER);
        bql_unlock();
    } else {
        ok = dirty_rate_by_sampling(d, calc_ms, per_gib, &rate, &elapsed);
    }
    qemu_mutex_lock(&d->lock);
    if (ok) {
        d->has_rate = true;
        d->rate = rate;
        d->calc_time_ms = elapsed;
    }
    if (mode != DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        d->sample_pages = 0;
    }
    d->status = DIRTY_RATE_STATUS_MEASURED;
    qemu_mutex_unlock(&d->lock);
    return NULL;
}

/* ---- the commands ---- */

DirtyRateState *dirty_rate_new(GPtrArray *blocks, const RAMDirtySource *dirty,
                               const MigrationMachineOps *machine,
                               MigrationState *out)
{
    DirtyRateState *d = g_new0(DirtyRateState, 1);

    d->blocks = blocks;
    if (dirty) {
        d->dirty = *dirty;
    }
    d->machine = *machine;
    d->out = out;
    d->status = DIRTY_RATE_STATUS_UNSTARTED;
    d->sample_pages = DIRTY_RATE_DEFAULT_SAMPLE_PAGES;
    qemu_mutex_init(&d->lock);
    qemu_cond_init(&d->cond);
    return d;
}

static void dirty_rate_join(DirtyRateState *d)
{
    if (d->thread) {
        g_thread_join(d->thread);
        d->thread = NULL;
    }
}

void dirty_rate_free(DirtyRateState *d)
{
    if (!d) {
        return;
    }
    qemu_mutex_lock(&d->lock);
    d->exit = true;
    qemu_cond_broadcast(&d->cond);
    qemu_mutex_unlock(&d->lock);
    dirty_rate_join(d);
    qemu_mutex_destroy(&d->lock);
    qemu_cond_destroy(&d->cond);
    g_free(d);
}

static int64_t dirty_rate_to_ms(int64_t t, TimeUnit unit)
{
    return unit == TIME_UNIT_SECOND ? t * 1000 : t;
}

/* QEMU's checks, in QEMU's order. */
static bool dirty_rate_check(DirtyRateState *d, int64_t calc_ms,
                             bool has_sample_pages, int64_t sample_pages,
                             DirtyRateMeasureMode mode, GError **errp)
{
    if (calc_ms < DIRTY_RATE_MIN_CALC_MS || calc_ms > DIRTY_RATE_MAX_CALC_MS) {
        error_setg(errp, "Calculation time is out of range [%dms, %dms].",
                   DIRTY_RATE_MIN_CALC_MS, DIRTY_RATE_MAX_CALC_MS);
        return false;
    }
    if (has_sample_pages && mode != DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        error_setg(errp, "sample-pages is used only in page-sampling mode");
        return false;
    }
    if (has_sample_pages && (sample_pages < DIRTY_RATE_MIN_SAMPLE_PAGES ||
                             sample_pages > DIRTY_RATE_MAX_SAMPLE_PAGES)) {
        error_setg(errp, "sample-pages is out of range[%d, %d].",
                   DIRTY_RATE_MIN_SAMPLE_PAGES, DIRTY_RATE_MAX_SAMPLE_PAGES);
        return false;
    }
    /* tern's KVM never enables the dirty ring: bitmap mode always works. */
    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_RING) {
        error_setg(errp, "mode %s is not enabled, use other method instead.",
                   DirtyRateMeasureMode_str(mode));
        return false;
    }
    /* tern's own: one dirty log, which a running migration owns. */
    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP && !d->dirty.sync) {
        error_setg(errp, "mode dirty-bitmap needs a dirty log, which this "
                   "machine does not have");
        return false;
    }
    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP &&
        migration_is_running(migration_status(d->out))) {
        error_setg(errp, "mode dirty-bitmap cannot measure while a migration "
                   "runs: the migration uses the dirty log");
        return false;
    }
    return true;
}

bool dirty_rate_calc(DirtyRateState *d, int64_t calc_time, bool has_unit,
                     TimeUnit unit, bool has_sample_pages, int64_t sample_pages,
                     bool has_mode, DirtyRateMeasureMode mode, GError **errp)
{
    int64_t calc_ms = dirty_rate_to_ms(calc_time, has_unit ? unit : TIME_UNIT_SECOND);
    DirtyRateStatus status;

    g_assert(bql_locked());
    qemu_mutex_lock(&d->lock);
    status = d->status;
    qemu_mutex_unlock(&d->lock);
    if (status == DIRTY_RATE_STATUS_MEASURING) {
        error_setg(errp, "the dirty rate is already being measured.");
        return false;
    }
    if (!has_mode) {
        mode = DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING;
    }
    if (!dirty_rate_check(d, calc_ms, has_sample_pages, sample_pages, mode, errp)) {
        return false;
    }
    dirty_rate_join(d);     /* the last one is measured: its thread has ended */
    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP) {
        migration_add_blocker(d->out, DIRTY_RATE_BLOCKER);
    }
    qemu_mutex_lock(&d->lock);
    /* Set here, not by the thread, so a second call at once is refused. */
    d->status = DIRTY_RATE_STATUS_MEASURING;
    d->mode = mode;
    d->calc_time_ms = calc_ms;
    d->sample_pages = has_sample_pages ? sample_pages : DIRTY_RATE_DEFAULT_SAMPLE_PAGES;
    d->start_time = g_get_real_time() / G_USEC_PER_SEC;
    d->has_rate = false;
    d->rate = 0;
    qemu_mutex_unlock(&d->lock);
    d->thread = g_thread_new("dirty-rate", dirty_rate_thread, d);
    return true;
}

DirtyRateInfo *dirty_rate_query(DirtyRateState *d, TimeUnit unit)
{
    DirtyRateInfo *info = g_new0(DirtyRateInfo, 1);

    qemu_mutex_lock(&d->lock);
    info->status = d->status;
    info->has_dirty_rate = d->status == DIRTY_RATE_STATUS_MEASURED && d->has_rate;
    info->dirty_rate = d->rate;
    info->start_time = d->start_time;
    info->calc_time = unit == TIME_UNIT_SECOND ? d->calc_time_ms / 1000
                                               : d->calc_time_ms;
    info->calc_time_unit = unit;
    info->sample_pages = d->sample_pages;
    info->mode = d->mode;
    qemu_mutex_unlock(&d->lock);
    return info;
}
