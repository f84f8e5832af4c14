/*
 * Named snapshots (snapshot.h): save the stopped guest into the store as
 * one mapped-ram stream (every page once, zero pages left as holes, device
 * state after them), load it back, list and delete.  QEMU's texts for the
 * errors a user meets (qemu-migration-facts-2.md §17.2-17.3).
 */
#include "snapshot.h"
#include "migration/migration.h"
#include "migration-states.h"
#include "migration/ram.h"
#include "migration/ram-verify.h"
#include "mapped-ram.h"
#include "ram-write-tracking.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The mapped-ram capability, validated by the configuration section on both sides. */
static const char *const snapshot_caps[] = { "mapped-ram", NULL };

/* ---- the VM clock: how long the guest has run ---- */

static void snapshots_runstate_changed(void *opaque, bool running, RunState state)
{
    Snapshots *s = opaque;
    int64_t now = g_get_monotonic_time() * 1000;

    if (running && !s->since_ns) {
        s->since_ns = now;
    } else if (!running && s->since_ns) {
        s->run_ns += now - s->since_ns;
        s->since_ns = 0;
    }
}

static int64_t snapshots_vm_clock_ns(Snapshots *s)
{
    return s->run_ns + (s->since_ns ? g_get_monotonic_time() * 1000 - s->since_ns : 0);
}

Snapshots *snapshots_new(VM *vm, const char *dir)
{
    Snapshots *s = g_new0(Snapshots, 1);

    s->store = dir ? snapshot_store_new(dir) : NULL;
    s->vm = vm;
    s->notifier = vm_state_notifier_add(vm, snapshots_runstate_changed, s);
    s->jobs = g_ptr_array_new();
    return s;
}

void snapshots_free(Snapshots *s)
{
    if (!s) {
        return;
    }
    vm_state_notifier_remove(s->vm, s->notifier);
    snapshot_store_free(s->store);
    g_ptr_array_unref(s->jobs);         /* and its jobs (snapshot-jobs.c) */
    g_free(s);
}

Snapshots *snapshots_get(MigrationObjects *o, GError **errp)
{
    if (!o->snapshots || !o->snapshots->store) {
        error_setg(errp, "no block device can store vmstate for snapshot");
        return NULL;
    }
    return o->snapshots;
}

/* As QEMU: no snapshot while a migration runs either way. */
static bool snapshots_may_run(MigrationObjects *o, GError **errp)
{
    if (migration_is_running(migration_status(o->out)) ||
        migration_incoming_is_loading(o->in)) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    return true;
}

static void snapshots_config(MigrationObjects *o, SaveVMConfig *cfg)
{
    migration_savevm_config(&o->out->machine, o->opts, cfg);
    cfg->capabilities = snapshot_caps;
}

/*
 * The store's files are plain mapped-ram, written by one thread and read
 * into memory, whatever the migration options say (multifd, direct-io);
 * with x-mapped-ram-restore on, a load maps them instead of reading
 * (loadvm returns before the pages are copied).  The store never changes
 * a file in place (a save renames a new one over it, delvm unlinks it), so
 * the mapped inode stays as it was saved.
 */
static bool snapshots_use_mapped_ram(MigrationObjects *o, int fd, bool outgoing,
                                     GError **errp)
{
    g_autoptr(MigrationOptions) plain = migration_options_new();
    MappedRam *m;

    plain->caps[MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE] =
        !outgoing && migrate_cap(o->opts, MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE);
    m = mapped_ram_new(fd, plain, outgoing, errp);

    if (!m) {
        return false;
    }
    ram_state_set_mapped_ram(o->ram, m);
    return true;
}

/* ---- save ---- */

/* The stream into @fd: header, every page once, devices, EOF (BQL held, guest stopped). */
static bool snapshots_write(MigrationObjects *o, int fd, GError **errp)
{
    QEMUFile *f = qemu_file_new_fd(dup(fd), true, errp);
    SaveVMConfig cfg;
    SaveVMIterateResult res;
    bool ok;

    if (!f) {
        return false;
    }
    snapshots_config(o, &cfg);
    /* No x-verify-ram section (a migration may have left it on): nobody compares here. */
    ram_verify_start(ram_state_verify(o->ram), false);
    ram_state_set_single_pass(o->ram, true);
    ram_state_set_xbzrle(o->ram, false, 0);
    ram_state_set_send_options(o->ram, ZERO_PAGE_DETECTION_MULTIFD, NULL);
    ok = snapshots_use_mapped_ram(o, fd, true, errp) &&
         savevm_state_header(o->savevm, f, &cfg, errp) &&
         savevm_state_setup(o->savevm, f, errp);
    while (ok && (res = savevm_state_iterate(o->savevm, f, errp)) != SAVEVM_ITERATE_DONE) {
        ok = res != SAVEVM_ITERATE_ERROR;
    }
    ok = ok && savevm_state_complete(o->savevm, f, errp);
    savevm_state_cleanup(o->savevm);
    ram_state_set_mapped_ram(o->ram, NULL);
    ram_state_set_single_pass(o->ram, false);
    if (!qemu_fclose(f, ok ? errp : NULL)) {
        ok = false;
    }
    return ok;
}

bool snapshots_save(MigrationObjects *o, const char *name, bool overwrite, GError **errp)
{
    Snapshots *s = snapshots_get(o, errp);
    const MigrationMachineOps *m = &o->out->machine;
    g_autoptr(SnapshotInfo) old = NULL;
    SnapshotInfo meta = { .name = (char *)name };
    SnapshotWrite w;
    GError *err = NULL;
    gint64 now = g_get_real_time();
    RunState was;
    bool ok;

    if (!s || !snapshots_may_run(o, errp)) {
        return false;
    }
    old = snapshot_store_find(s->store, name, &err);
    if (err) {
        g_propagate_error(errp, err);
        return false;
    }
    if (old && !overwrite) {
        error_setg(errp, "Snapshot '%s' already exists in one or more devices", name);
        return false;
    }
    if (!snapshot_store_begin(s->store, &w, errp)) {
        return false;
    }
    /* As QEMU's vm_stop(): a guest that does not run keeps its state. */
    was = m->get_state(m->opaque);
    if (was == RUN_STATE_RUNNING) {
        m->stop(m->opaque, RUN_STATE_SAVE_VM);
    }
    meta.date_sec = now / G_USEC_PER_SEC;
    meta.date_nsec = now % G_USEC_PER_SEC * 1000;
    meta.vm_clock_ns = snapshots_vm_clock_ns(s);
    global_state_store(&o->global_state, was);
    ok = snapshots_write(o, w.fd, errp) && snapshot_store_commit(s->store, &w, &meta, errp);
    if (!ok) {
        error_prepend(errp, "Error while writing VM state: ");
        snapshot_store_abort(s->store, &w);
    }
    if (was == RUN_STATE_RUNNING) {
        m->start(m->opaque);
    }
    return ok;
}

/* ---- load ---- */

/*
 * Zero every RAM block: a mapped-ram file holds only the pages with data,
 * so a page the guest wrote after the save must read as zero again.
 */
static void snapshots_clear_ram(MigrationObjects *o)
{
    GPtrArray *blocks = ram_state_blocks(o->ram);

    for (guint i = 0; i < blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(blocks, i);
        int advice = rb->shared ? MADV_REMOVE : MADV_DONTNEED;

        /*
         * Private anonymous RAM gets fresh memory in place: an earlier
         * mapped restore left it a private mapping of a file, where
         * MADV_DONTNEED would bring the file's bytes back.
         */
        if (!rb->shared && rb->fd < 0 &&
            mmap(rb->host, rb->used_length, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            madvise(rb->host, rb->used_length, MADV_HUGEPAGE);
            continue;
        }
        /* A private mapping of a file would fall back to the file's bytes: write zeros. */
        if ((!rb->shared && rb->fd >= 0) || madvise(rb->host, rb->used_length, advice) < 0) {
            memset(rb->host, 0, rb->used_length);
        }
    }
}

/* Load @path into the stopped guest (BQL held; dropped while the stream loads). */
static bool snapshots_read(MigrationObjects *o, const char *path, GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    QEMUFile *f;
    SaveVMConfig cfg;
    bool ok;

    if (fd < 0) {
        error_setg_errno(errp, errno, "opening snapshot file %s", path);
        return false;
    }
    f = qemu_file_new_fd(fd, false, errp);
    if (!f) {
        close(fd);
        return false;
    }
    snapshots_config(o, &cfg);
    /* An earlier mapped restore's copy must not run into the memory replaced here. */
    ram_state_wait_mapped_restore(o->ram);
    snapshots_clear_ram(o);
    if (!snapshots_use_mapped_ram(o, fd, false, errp)) {
        qemu_fclose(f, NULL);
        return false;
    }
    /* Device sections take the BQL themselves, as on the incoming thread; the vCPUs are stopped. */
    bql_unlock();
    ok = savevm_state_load(o->savevm, f, &cfg, errp);
    if (ok) {
        g_autoptr(GError) trailer = savevm_state_take_trailer_error(o->savevm);

        if (trailer) {
            warn_report("%s", trailer->message);
        }
    }
    bql_lock();
    ram_state_set_mapped_ram(o->ram, NULL);
    qemu_fclose(f, NULL);
    return ok;
}

bool snapshots_load(MigrationObjects *o, const char *name, GError **errp)
{
    Snapshots *s = snapshots_get(o, errp);
    const MigrationMachineOps *m = &o->out->machine;
    g_autoptr(SnapshotInfo) info = NULL;
    g_autofree char *path = NULL;
    GError *err = NULL;
    RunState was;

    if (!s || !snapshots_may_run(o, errp)) {
        return false;
    }
    info = snapshot_store_find(s->store, name, &err);
    if (!info) {
        if (!err) {
            error_setg(&err, "Snapshot '%s' does not exist in one or more devices", name);
        }
        g_propagate_error(errp, err);
        return false;
    }
    path = snapshot_store_path(s->store, info);
    was = m->get_state(m->opaque);
    if (was == RUN_STATE_RUNNING) {
        m->stop(m->opaque, RUN_STATE_RESTORE_VM);
    }
    if (!snapshots_read(o, path, &err)) {
        /* The guest's memory is half loaded: it stays stopped, as in QEMU. */
        error_setg(errp, "Error %d while loading VM state: %s", -EINVAL, err->message);
        g_error_free(err);
        return false;
    }
    if (was == RUN_STATE_RUNNING) {
        m->start(m->opaque);
    }
    return true;
}

/* ---- delete and list ---- */

bool snapshots_delete(MigrationObjects *o, const char *name, GError **errp)
{
    Snapshots *s = snapshots_get(o, errp);
    bool found;

    if (!s || !snapshot_store_delete(s->store, name, &found, errp)) {
        return false;
    }
    if (!found) {
        error_setg(errp, "Snapshot '%s' does not exist in one or more devices", name);
        return false;
    }
    return true;
}

/* QEMU's size_to_str: three significant digits and an IEC prefix ("1.5 MiB", "512 B"). */
static char *snapshots_size_str(uint64_t bytes)
{
    static const char *const prefixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int exp2;
    int i;

    frexp(bytes / (1000.0 / 1024.0), &exp2);
    i = exp2 > 0 ? (exp2 - 1) / 10 : 0;
    return g_strdup_printf("%0.3g %sB", (double)bytes / (double)(1ULL << (i * 10)),
                           prefixes[i]);
}

static void snapshots_info_row(GString *out, const SnapshotInfo *info)
{
    g_autofree char *size = snapshots_size_str(info->vm_state_size);
    g_autofree char *clock = NULL;
    char date[32];
    time_t t = info->date_sec;
    struct tm tm;
    int64_t ms = info->vm_clock_ns / 1000000;

    localtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    clock = g_strdup_printf("%04d:%02d:%02d.%03d", (int)(ms / 3600000),
                            (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
    g_string_append_printf(out, "%-7s %-16s %8s %19s %15s %10s\n",
                           "--", info->name, size, date, clock, "--");
}

char *snapshots_info_text(MigrationObjects *o, GError **errp)
{
    Snapshots *s = snapshots_get(o, errp);
    g_autoptr(GPtrArray) list = NULL;
    GString *out;

    if (!s || !(list = snapshot_store_list(s->store, errp))) {
        return NULL;
    }
    if (list->len == 0) {
        return g_strdup("There is no snapshot available.\n");
    }
    out = g_string_new("List of snapshots present on all disks:\n");
    g_string_append_printf(out, "%-7s %-16s %8s %19s %15s %10s\n",
                           "ID", "TAG", "VM_SIZE", "DATE", "VM_CLOCK", "ICOUNT");
    for (guint i = 0; i < list->len; i++) {
        snapshots_info_row(out, g_ptr_array_index(list, i));
    }
    return g_string_free(out, FALSE);
}
