/*
 * The source's migration thread (migration/migration.c), linked with the
 * migration core alone and run on a fake machine (migration-fakes.h):
 * against the SaveVMHandlers contract, a section whose hook fails, of each
 * kind that can fail, fails the whole migration with that hook's message
 * in error-desc; and a whole migration of a RAM block writes a stream a
 * destination loads into an equal block.  Every migration writes to a
 * file: through the real thread.
 */
#include "migration-fakes.h"
#include "migration/migration.h"
#include "migration/ram.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>

typedef enum FailingHook {
    FAIL_NONE,
    FAIL_SAVE_SETUP,
    FAIL_ITERATE,
    FAIL_PENDING_EXACT,
    FAIL_PENDING_EXACT_SILENTLY,    /* false without an error: a buggy hook */
    FAIL_COMPLETE,
} FailingHook;

typedef struct FailingLive {
    FailingHook fails;
} FailingLive;

static bool failing_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    if (((FailingLive *)opaque)->fails == FAIL_SAVE_SETUP) {
        error_setg(errp, "save_setup failed on purpose");
        return false;
    }
    qemu_put_be32(f, 1);
    return true;
}

static SaveVMIterateResult failing_iterate(QEMUFile *f, void *opaque,
                                           GError **errp)
{
    if (((FailingLive *)opaque)->fails == FAIL_ITERATE) {
        error_setg(errp, "save_live_iterate failed on purpose");
        return SAVEVM_ITERATE_ERROR;
    }
    qemu_put_be32(f, 2);
    return SAVEVM_ITERATE_DONE;
}

/* Something pending only when iterate must run (nothing has been sent yet,
 * so the measured bandwidth, and with it the switchover threshold, is 0). */
static void failing_pending_estimate(void *opaque, uint64_t *pending)
{
    *pending = ((FailingLive *)opaque)->fails == FAIL_ITERATE ? 4096 : 0;
}

static bool failing_pending_exact(void *opaque, uint64_t *pending,
                                  GError **errp)
{
    switch (((FailingLive *)opaque)->fails) {
    case FAIL_PENDING_EXACT:
        error_setg(errp, "state_pending_exact failed on purpose");
        return false;
    case FAIL_PENDING_EXACT_SILENTLY:
        return false;
    default:
        *pending = 0;
        return true;
    }
}

static bool failing_complete(QEMUFile *f, void *opaque, GError **errp)
{
    if (((FailingLive *)opaque)->fails == FAIL_COMPLETE) {
        error_setg(errp, "save_live_complete failed on purpose");
        return false;
    }
    qemu_put_be32(f, 3);
    return true;
}

static const SaveVMHandlers failing_handlers = {
    .save_setup = failing_save_setup,
    .save_live_iterate = failing_iterate,
    .save_live_complete = failing_complete,
    .state_pending_estimate = failing_pending_estimate,
    .state_pending_exact = failing_pending_exact,
};

/* Where a migration writes: a file in a directory of its own. */
typedef struct StreamFile {
    char *dir;
    char *path;
} StreamFile;

static void stream_file_init(StreamFile *sf)
{
    sf->dir = g_dir_make_tmp("tern-source-XXXXXX", NULL);
    g_assert_nonnull(sf->dir);
    sf->path = g_build_filename(sf->dir, "stream", NULL);
}

static void stream_file_cleanup(StreamFile *sf)
{
    g_unlink(sf->path);
    g_rmdir(sf->dir);
    g_free(sf->path);
    g_free(sf->dir);
}

/*
 * Migrate @s to @path on @machine, from run state @state; returns the
 * final status once the thread has ended.
 */
static MigrationStatus migrate_to_file(MigrationState *s, FakeMachine *machine,
                                       RunState state, const char *path)
{
    MigrationAddress *addr = g_new0(MigrationAddress, 1);
    g_autoptr(GError) err = NULL;

    addr->transport = MIGRATION_ADDRESS_TYPE_FILE;
    addr->u.file.filename = g_strdup(path);
    bql_lock();
    machine->state = state;
    g_assert_true(migration_start(s, addr, &err));
    g_assert_no_error(err);
    bql_unlock();
    /* The thread ends by itself, in completed or failed. */
    g_thread_join(s->thread);
    s->thread = NULL;
    return g_atomic_int_get(&s->state);
}

/*
 * Migrate to a file with the fake section failing as @fails says; the
 * migration's final status and its error-desc (NULL when none; transfer
 * full).
 */
static char *migrate_failing(FailingHook fails, MigrationStatus *final)
{
    g_autoptr(SaveVMState) savevm = savevm_state_new();
    g_autoptr(GPtrArray) no_blocks = g_ptr_array_new();
    MigrationOptions *opts = migration_options_new();
    FailingLive live = { .fails = fails };
    GlobalState gs = { 0 };
    FakeMachine machine;
    StreamFile sf;
    MigrationState *s;
    char *desc;

    fake_machine_init(&machine, RUN_STATE_PRELAUNCH);
    stream_file_init(&sf);
    savevm_register_live(savevm, "failing", 0, 1, &failing_handlers, &live);
    s = migration_state_new(savevm, opts, NULL, &gs, &machine.ops);
    s->ram = ram_state_new(no_blocks, NULL, &s->stats);

    *final = migrate_to_file(s, &machine, RUN_STATE_PRELAUNCH, sf.path);
    desc = g_strdup(s->error_desc);
    g_assert_cmpint(machine.state, ==, *final == MIGRATION_STATUS_COMPLETED ?
                    RUN_STATE_POSTMIGRATE : RUN_STATE_PRELAUNCH);
    /* Dirty logging ends however the migration does. */
    g_assert_cmpuint(machine.dirty_log_starts, ==, 1);
    g_assert_cmpuint(machine.dirty_log_stops, ==, 1);
    g_assert_cmpuint(machine.vm_starts, ==, 0);
    ram_state_free(s->ram);
    migration_state_free(s);
    migration_options_free(opts);
    stream_file_cleanup(&sf);
    return desc;
}

/* The control: nothing fails, the migration completes. */
static void test_no_hook_fails(void)
{
    MigrationStatus final;
    g_autofree char *desc = migrate_failing(FAIL_NONE, &final);

    g_assert_cmpint(final, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_null(desc);
}

/* ---- a whole migration of RAM ---- */

#define RAM_PAGES 64

/* A block of @pages anonymous pages, as the machine's memory would be. */
static RAMBlock *fake_block_new(uint64_t pages)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->idstr = g_strdup("pc.ram");
    rb->used_length = pages * TARGET_PAGE_SIZE;
    rb->host = mmap(NULL, rb->used_length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(rb->host != MAP_FAILED);
    rb->page_size = TARGET_PAGE_SIZE;
    rb->fd = -1;
    return rb;
}

/* The guest writes nothing while the source migrates: no page is dirtied again. */
static bool quiet_dirty_sync(void *opaque, RAMBlock *rb, unsigned long *dest,
                             GError **errp)
{
    return true;
}

/*
 * Migrate into @blocks from the stream at @path, through the incoming
 * thread, on @machine (in inmigrate, autostart on); returns once the load
 * has finished in the main loop.
 */
static MigrationStatus load_stream(const char *path, GPtrArray *blocks,
                                   FakeMachine *machine)
{
    g_autoptr(SaveVMState) savevm = savevm_state_new();
    g_autoptr(RAMState) rs = ram_load_state_new(blocks);
    MigrationOptions *opts = migration_options_new();
    MigrationAddress *addr = g_new0(MigrationAddress, 1);
    g_autoptr(GError) err = NULL;
    GlobalState gs = { 0 };
    MigrationIncomingState *mis;
    MigrationStatus st;

    ram_state_set_load_fault_policy(rs, RAM_LOAD_FAULT_PLAIN);
    savevm_register_live(savevm, "ram", 0, 4, &ram_save_handlers, rs);
    savevm_register_vmsd(savevm, "globalstate", 0, &vmstate_globalstate, &gs);
    mis = migration_incoming_new(savevm, opts, &gs, &machine->ops);
    addr->transport = MIGRATION_ADDRESS_TYPE_FILE;
    addr->u.file.filename = g_strdup(path);

    bql_lock();
    machine->state = RUN_STATE_INMIGRATE;
    g_assert_true(migration_incoming_start(mis, addr, false, &err));
    g_assert_no_error(err);
    /*
     * The channel, the thread's start and its end all come through the main
     * loop, which runs with the BQL held (no section here takes it).
     */
    while (!((st = g_atomic_int_get(&mis->state)) == MIGRATION_STATUS_COMPLETED ||
             st == MIGRATION_STATUS_FAILED)) {
        g_main_context_iteration(NULL, TRUE);
    }
    bql_unlock();
    migration_incoming_free(mis);
    migration_options_free(opts);
    return st;
}

/*
 * A running VM's RAM (zero pages and data pages) migrates whole: the
 * destination's block equals the source's, the guest was stopped once for
 * the switchover and is left in postmigrate, dirty logging was on and is
 * off, and the destination, told by the stream that the source ran, starts
 * the guest.
 */
static void test_ram_round_trip(void)
{
    g_autoptr(GPtrArray) src = g_ptr_array_new_with_free_func(fake_ram_block_free);
    g_autoptr(GPtrArray) dst = g_ptr_array_new_with_free_func(fake_ram_block_free);
    g_autoptr(SaveVMState) savevm = savevm_state_new();
    MigrationOptions *opts = migration_options_new();
    RAMDirtySource quiet = { .sync = quiet_dirty_sync };
    GlobalState gs = { 0 };
    FakeMachine machine, dst_machine;
    MigrationState *s;
    RAMBlock *from, *to;
    StreamFile sf;

    g_ptr_array_add(src, fake_block_new(RAM_PAGES));
    g_ptr_array_add(dst, fake_block_new(RAM_PAGES));
    from = g_ptr_array_index(src, 0);
    to = g_ptr_array_index(dst, 0);
    /* Every third page holds data beyond its first byte; the rest stay zero. */
    for (uint64_t page = 0; page < RAM_PAGES; page += 3) {
        memset(from->host + page * TARGET_PAGE_SIZE, 0x40 + page, TARGET_PAGE_SIZE);
    }
    fake_machine_init(&machine, RUN_STATE_RUNNING);
    stream_file_init(&sf);
    s = migration_state_new(savevm, opts, NULL, &gs, &machine.ops);
    s->ram = ram_state_new(src, &quiet, &s->stats);
    savevm_register_live(savevm, "ram", 0, 4, &ram_save_handlers, s->ram);
    savevm_register_vmsd(savevm, "globalstate", 0, &vmstate_globalstate, &gs);

    g_assert_cmpint(migrate_to_file(s, &machine, RUN_STATE_RUNNING, sf.path), ==,
                    MIGRATION_STATUS_COMPLETED);
    g_assert_null(s->error_desc);
    g_assert_cmpint(machine.state, ==, RUN_STATE_POSTMIGRATE);
    g_assert_cmpuint(machine.vm_stops, ==, 1);
    g_assert_cmpuint(machine.vm_starts, ==, 0);
    g_assert_cmpuint(machine.dirty_log_starts, ==, 1);
    g_assert_cmpuint(machine.dirty_log_stops, ==, 1);
    g_assert_cmpuint(migration_stat_get(&s->stats.normal_pages), ==,
                     (RAM_PAGES + 2) / 3);

    /* A destination on a fake machine of the same type resumes the guest. */
    fake_machine_init(&dst_machine, RUN_STATE_INMIGRATE);
    g_assert_cmpint(load_stream(sf.path, dst, &dst_machine), ==,
                    MIGRATION_STATUS_COMPLETED);
    g_assert_cmpmem(to->host, to->used_length, from->host, from->used_length);
    g_assert_cmpint(dst_machine.state, ==, RUN_STATE_RUNNING);
    g_assert_cmpuint(dst_machine.vm_starts, ==, 1);
    g_assert_cmpuint(dst_machine.dirty_log_starts, ==, 0);

    ram_state_free(s->ram);
    migration_state_free(s);
    migration_options_free(opts);
    stream_file_cleanup(&sf);
}

static const struct {
    const char *path;
    FailingHook fails;
    const char *message;
} hook_cases[] = {
    { "save-setup", FAIL_SAVE_SETUP,
      "section 'failing' (instance 0): save_setup failed on purpose" },
    { "iterate", FAIL_ITERATE,
      "section 'failing' (instance 0): save_live_iterate failed on purpose" },
    { "pending-exact", FAIL_PENDING_EXACT,
      "section 'failing' (instance 0): state_pending_exact failed on purpose" },
    { "pending-exact-silently", FAIL_PENDING_EXACT_SILENTLY,
      "section 'failing' (instance 0): handler failed" },
    { "complete", FAIL_COMPLETE,
      "section 'failing' (instance 0): save_live_complete failed on purpose" },
};

static void test_hook_fails(gconstpointer data)
{
    size_t i = GPOINTER_TO_SIZE(data);
    MigrationStatus final;
    g_autofree char *desc = migrate_failing(hook_cases[i].fails, &final);

    g_assert_cmpstr(MigrationStatus_str(final), ==, "failed");
    g_assert_cmpstr(desc, ==, hook_cases[i].message);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/source/hook-fails/none", test_no_hook_fails);
    g_test_add_func("/migration/source/ram/round-trip", test_ram_round_trip);
    for (size_t i = 0; i < G_N_ELEMENTS(hook_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/migration/source/hook-fails/%s", hook_cases[i].path);

        g_test_add_data_func(path, GSIZE_TO_POINTER(i), test_hook_fails);
    }
    return g_test_run();
}
