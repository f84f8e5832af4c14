/*
 * The incoming side's lifetime (migration/incoming.c): a load that ends on
 * its thread hands its result to the main loop, and freeing the incoming
 * state (the exit path) must leave nothing behind that still points at it.
 * Then the run state the destination ends in, for every run state a source
 * can put in its globalstate section.
 */
#include "migration-fakes.h"
#include "migration/migration.h"
#include "migration/global-state.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Fixture {
    FakeMachine machine;    /* in inmigrate; QEMU's transitions (vm/runstate.c) */
    SaveVMState *savevm;
    MigrationOptions *opts;
    GlobalState gs;
    MigrationIncomingState *mis;
    int sock[2];            /* a socketpair: we are the source on [1] */
} Fixture;

/* The fake machine moves only where the real run state would. */
static bool fixture_may_enter(void *opaque, RunState state)
{
    FakeMachine *m = opaque;

    return runstate_transition_valid(m->state, state);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    fake_machine_init(&f->machine, RUN_STATE_INMIGRATE);
    f->machine.ops.may_enter = fixture_may_enter;
    f->savevm = savevm_state_new();
    f->opts = migration_options_new();
    f->mis = migration_incoming_new(f->savevm, f->opts, &f->gs,
                                    &f->machine.ops);
    savevm_register_vmsd(f->savevm, "globalstate", 0, &vmstate_globalstate,
                         &f->gs);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sock), ==, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    migration_incoming_free(f->mis);
    if (f->sock[1] >= 0) {
        close(f->sock[1]);
    }
    migration_options_free(f->opts);
    savevm_state_free(f->savevm);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* migrate-incoming fd:N on our socket's peer, exit-on-error off. */
static void start_on_socket(Fixture *f)
{
    MigrationAddress *addr = g_new0(MigrationAddress, 1);
    g_autoptr(GError) err = NULL;

    addr->transport = MIGRATION_ADDRESS_TYPE_SOCKET;
    addr->u.socket.type = SOCKET_ADDRESS_TYPE_FD;
    addr->u.socket.u.fd.str = g_strdup_printf("%d", f->sock[0]);
    g_assert_true(migration_incoming_start(f->mis, addr, false, &err));
    g_assert_no_error(err);
    /* The fd arrives from an idle callback, which starts the thread. */
    while (!f->mis->thread) {
        g_main_context_iteration(NULL, TRUE);
    }
}

/* An empty stream fails the load: failed, with the error for query-migrate. */
static void test_load_fails(Fixture *f, gconstpointer data)
{
    g_autoptr(MigrationInfo) info = g_new0(MigrationInfo, 1);

    start_on_socket(f);
    close(f->sock[1]);
    f->sock[1] = -1;
    while (g_atomic_int_get(&f->mis->state) != MIGRATION_STATUS_FAILED) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_null(f->mis->thread);
    migration_incoming_info(f->mis, info);
    g_assert_true(info->has_status);
    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
}

/*
 * A failed load that never ran the guest may start again (tern's
 * migrate-incoming after a failure): not while it loads, then a fresh
 * state takes a new stream, which fails or loads as the first would.
 */
static void test_load_fails_restarts(Fixture *f, gconstpointer data)
{
    start_on_socket(f);
    g_assert_false(migration_incoming_may_restart(f->mis));
    close(f->sock[1]);
    f->sock[1] = -1;
    while (g_atomic_int_get(&f->mis->state) != MIGRATION_STATUS_FAILED) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_true(migration_incoming_may_restart(f->mis));
    /* Not once the guest ran here ('cont' after a commit that never came). */
    f->machine.state = RUN_STATE_RUNNING;
    g_assert_false(migration_incoming_may_restart(f->mis));
    f->machine.state = RUN_STATE_INMIGRATE;
    {
        MigrationIncomingState *old = f->mis;

        f->mis = migration_incoming_renew(old);
        migration_incoming_free(old);
    }
    g_assert_cmpint(g_atomic_int_get(&f->mis->state), ==, MIGRATION_STATUS_NONE);
    g_assert_false(f->mis->started);
    g_assert_false(migration_incoming_may_restart(f->mis));

    /* The first load took sock[0] (fd: is the load's to close). */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sock), ==, 0);
    start_on_socket(f);
    close(f->sock[1]);
    f->sock[1] = -1;
    while (g_atomic_int_get(&f->mis->state) != MIGRATION_STATUS_FAILED) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_true(migration_incoming_may_restart(f->mis));
}

/*
 * The process exits while the load runs: migration_incoming_free() shuts
 * the stream down and joins the thread, whose end is then scheduled for a
 * main loop that will not run it.  Nothing may stay attached that points at the
 * freed state.
 */
static void test_free_while_loading(Fixture *f, gconstpointer data)
{
    start_on_socket(f);
    /* The thread may still be reading, or may already have failed. */
    migration_incoming_free(f->mis);
    f->mis = NULL;
    g_assert_false(g_main_context_pending(NULL));
}

/* ---- a section whose load hooks fail ---- */

typedef enum FailingLoad {
    FAIL_LOAD_SETUP,
    FAIL_LOAD_SETUP_SILENTLY,   /* false without an error: a buggy hook */
    FAIL_LOAD_STATE,
} FailingLoad;

static FailingLoad failing_load;

static bool failing_load_setup(void *opaque, GError **errp)
{
    if (failing_load == FAIL_LOAD_SETUP) {
        error_setg(errp, "load_setup failed on purpose");
        return false;
    }
    return failing_load != FAIL_LOAD_SETUP_SILENTLY;
}

static bool failing_load_state(QEMUFile *f, void *opaque, int version_id,
                               GError **errp)
{
    qemu_get_be32(f);
    error_setg(errp, "load_state failed on purpose");
    return false;
}

static bool failing_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_be32(f, 1);
    return true;
}

static const SaveVMHandlers failing_handlers = {
    .save_setup = failing_save_setup,
    .load_setup = failing_load_setup,
    .load_state = failing_load_state,
};

static const struct {
    const char *path;
    FailingLoad fails;
    const char *message;
} load_cases[] = {
    { "load-setup", FAIL_LOAD_SETUP,
      "load setup of section 'failing': load_setup failed on purpose" },
    { "load-setup-silently", FAIL_LOAD_SETUP_SILENTLY,
      "load setup of section 'failing': handler failed" },
    { "load-state", FAIL_LOAD_STATE, "load_state failed on purpose" },
};

/* A load hook that fails fails the load, with its message in error-desc. */
static void test_load_hook_fails(Fixture *f, gconstpointer data)
{
    size_t i = GPOINTER_TO_SIZE(data);
    g_autoptr(SaveVMState) src = savevm_state_new();
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(MigrationInfo) info = g_new0(MigrationInfo, 1);
    g_autoptr(GBytes) stream = NULL;
    SaveVMConfig cfg;
    gsize len;
    const char *data_bytes;

    failing_load = load_cases[i].fails;
    savevm_register_live(src, "failing", 0, 1, &failing_handlers, NULL);
    savevm_register_live(f->savevm, "failing", 0, 1, &failing_handlers, NULL);
    migration_savevm_config(&f->machine.ops, f->opts, &cfg);
    g_assert_true(savevm_state_header(src, out, &cfg, NULL));
    g_assert_true(savevm_state_setup(src, out, NULL));
    g_assert_true(savevm_state_complete(src, out, NULL));
    stream = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    data_bytes = g_bytes_get_data(stream, &len);

    start_on_socket(f);
    g_assert_cmpint(write(f->sock[1], data_bytes, len), ==, (gssize)len);
    close(f->sock[1]);
    f->sock[1] = -1;
    while (g_atomic_int_get(&f->mis->state) != MIGRATION_STATUS_FAILED) {
        g_assert_cmpint(g_atomic_int_get(&f->mis->state), !=,
                        MIGRATION_STATUS_COMPLETED);
        g_main_context_iteration(NULL, TRUE);
    }
    migration_incoming_info(f->mis, info);
    g_assert_nonnull(strstr(info->error_desc, load_cases[i].message));
}

/* What a source in run state @name sends: header, globalstate, EOF. */
static GBytes *stream_with_runstate(Fixture *f, const char *name)
{
    g_autoptr(SaveVMState) src = savevm_state_new();
    QEMUFile *out = qemu_file_new_output_buffer();
    GlobalState gs = { 0 };
    SaveVMConfig cfg;
    GBytes *bytes;

    g_assert_cmpint(runstate_from_name(name), >=, 0);
    global_state_store(&gs, runstate_from_name(name));
    g_assert_cmpstr((const char *)gs.runstate, ==, name);
    savevm_register_vmsd(src, "globalstate", 0, &vmstate_globalstate, &gs);
    migration_savevm_config(&f->machine.ops, f->opts, &cfg);
    g_assert_true(savevm_state_header(src, out, &cfg, NULL));
    g_assert_true(savevm_state_complete(src, out, NULL));
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    return bytes;
}

/* Load @name's stream into a destination in inmigrate; its run state after. */
static RunState load_runstate(Fixture *f, const char *name, bool autostart)
{
    g_autoptr(GBytes) stream = stream_with_runstate(f, name);
    gsize len;
    const char *data = g_bytes_get_data(stream, &len);
    RunState after;

    bql_lock();
    f->machine.autostart = autostart;
    start_on_socket(f);
    g_assert_cmpint(write(f->sock[1], data, len), ==, (gssize)len);
    close(f->sock[1]);
    f->sock[1] = -1;
    while (g_atomic_int_get(&f->mis->state) != MIGRATION_STATUS_COMPLETED) {
        g_assert_cmpint(g_atomic_int_get(&f->mis->state), !=,
                        MIGRATION_STATUS_FAILED);
        g_main_context_iteration(NULL, TRUE);
    }
    after = f->machine.state;
    bql_unlock();
    /* Running only ever through the start hook. */
    g_assert_cmpuint(f->machine.vm_starts, ==, after == RUN_STATE_RUNNING);
    return after;
}

/*
 * Every run state QEMU can send, and the one the destination ends in: the
 * same where QEMU enters it after inmigrate and tern models it, otherwise
 * paused (with a warning), never an abort.
 */
static const struct {
    const char *sent;
    const char *ends_in;
} runstate_cases[] = {
    { "running", "running" },
    { "paused", "paused" },
    { "prelaunch", "prelaunch" },
    { "postmigrate", "postmigrate" },
    { "finish-migrate", "finish-migrate" },
    { "internal-error", "internal-error" },
    { "io-error", "io-error" },
    { "shutdown", "shutdown" },
    { "watchdog", "watchdog" },
    { "guest-panicked", "guest-panicked" },
    { "suspended", "paused" },
    { "colo", "paused" },
    { "debug", "paused" },
    { "save-vm", "paused" },
    { "restore-vm", "paused" },
    { "inmigrate", "paused" },
};

static void test_source_runstate(Fixture *f, gconstpointer data)
{
    size_t i = GPOINTER_TO_SIZE(data);
    RunState after = load_runstate(f, runstate_cases[i].sent, true);

    g_assert_cmpstr(RunState_str(after), ==, runstate_cases[i].ends_in);
}

/* With -S (autostart off) a running source leaves the guest paused. */
static void test_source_running_no_autostart(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(load_runstate(f, "running", false), ==, RUN_STATE_PAUSED);
}

/* A state tern cannot enter is named in a warning, not silently dropped. */
static void test_source_runstate_warns(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        g_assert_cmpint(load_runstate(f, "suspended", true), ==,
                        RUN_STATE_PAUSED);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*warning: the source was in run state "
                              "'suspended'*the guest stays paused*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Every RunState is a case: a new one must be added above. */
    g_assert_cmpint(G_N_ELEMENTS(runstate_cases), ==, RUN_STATE__MAX);
    for (size_t i = 0; i < G_N_ELEMENTS(runstate_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/migration/incoming/source-runstate/%s", runstate_cases[i].sent);

        g_test_add(path, Fixture, GSIZE_TO_POINTER(i), fixture_setup,
                   test_source_runstate, fixture_teardown);
    }
    g_test_add("/migration/incoming/source-runstate/running-no-autostart",
               Fixture, NULL, fixture_setup, test_source_running_no_autostart,
               fixture_teardown);
    g_test_add("/migration/incoming/source-runstate/warns", Fixture, NULL,
               fixture_setup, test_source_runstate_warns, fixture_teardown);
    for (size_t i = 0; i < G_N_ELEMENTS(load_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/migration/incoming/hook-fails/%s", load_cases[i].path);

        g_test_add(path, Fixture, GSIZE_TO_POINTER(i), fixture_setup,
                   test_load_hook_fails, fixture_teardown);
    }
    g_test_add("/migration/incoming/load-fails", Fixture, NULL,
               fixture_setup, test_load_fails, fixture_teardown);
    g_test_add("/migration/incoming/load-fails-restarts", Fixture, NULL,
               fixture_setup, test_load_fails_restarts, fixture_teardown);
    g_test_add("/migration/incoming/free-while-loading", Fixture, NULL,
               fixture_setup, test_free_while_loading, fixture_teardown);
    return g_test_run();
}
