/*
 * The source's migration thread (migration/migration.c) against the
 * SaveVMHandlers contract: a section whose hook fails, of each kind that can
 * fail, fails the whole migration with that hook's message in error-desc.
 * The migration writes to a file: through the real thread; the only section
 * is a fake iterative one, so no machine is needed.
 */
#include "migration/migration.h"
#include "migration/ram.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/memory.h"
#include "sysemu/runstate.h"

#include <glib/gstdio.h>
#include <string.h>

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

/*
 * Migrate to a file with the fake section failing as @fails says; the
 * migration's final status and its error-desc (NULL when none; transfer
 * full).
 */
static char *migrate_failing(FailingHook fails, MigrationStatus *final)
{
    g_autoptr(SaveVMState) savevm = savevm_state_new();
    g_autoptr(GPtrArray) no_blocks = g_ptr_array_new();
    g_autofree char *dir = g_dir_make_tmp("tern-source-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "stream", NULL);
    MigrationOptions *opts = migration_options_new();
    MigrationAddress *addr = g_new0(MigrationAddress, 1);
    FailingLive live = { .fails = fails };
    g_autoptr(GError) err = NULL;
    GlobalState gs = { 0 };
    MigrationState *s;
    char *desc;

    savevm_register_live(savevm, "failing", 0, 1, &failing_handlers, &live);
    s = migration_state_new(savevm, opts, NULL, &gs);
    s->ram = ram_state_new(no_blocks, NULL, &s->stats);
    addr->transport = MIGRATION_ADDRESS_TYPE_FILE;
    addr->u.file.filename = g_strdup(path);

    bql_lock();
    runstate_init();
    g_assert_true(migration_start(s, addr, &err));
    g_assert_no_error(err);
    bql_unlock();
    /* The thread ends by itself, in completed or failed. */
    g_thread_join(s->thread);
    s->thread = NULL;

    *final = g_atomic_int_get(&s->state);
    desc = g_strdup(s->error_desc);
    bql_lock();
    g_assert_cmpint(runstate_get(), ==, *final == MIGRATION_STATUS_COMPLETED ?
                    RUN_STATE_POSTMIGRATE : RUN_STATE_PRELAUNCH);
    bql_unlock();
    ram_state_free(s->ram);
    migration_state_free(s);
    migration_options_free(opts);
    memory_cleanup();
    g_unlink(path);
    g_rmdir(dir);
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
    for (size_t i = 0; i < G_N_ELEMENTS(hook_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/migration/source/hook-fails/%s", hook_cases[i].path);

        g_test_add_data_func(path, GSIZE_TO_POINTER(i), test_hook_fails);
    }
    return g_test_run();
}
