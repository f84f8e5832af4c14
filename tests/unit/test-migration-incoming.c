/*
 * The incoming side's lifetime (migration/incoming.c): a load that ends on
 * its thread hands its result to the main loop, and freeing the incoming
 * state (the exit path) must leave nothing behind that still points at it.
 */
#include "migration/migration.h"
#include "migration/global-state.h"

#include <sys/socket.h>
#include <unistd.h>

typedef struct Fixture {
    SaveVMState *savevm;
    MigrationOptions *opts;
    GlobalState gs;
    MigrationIncomingState *mis;
    int sock[2];            /* a socketpair: we are the source on [1] */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->savevm = savevm_state_new();
    f->opts = migration_options_new();
    f->mis = migration_incoming_new(f->savevm, f->opts, &f->gs);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/migration/incoming/load-fails", Fixture, NULL,
               fixture_setup, test_load_fails, fixture_teardown);
    g_test_add("/migration/incoming/free-while-loading", Fixture, NULL,
               fixture_setup, test_free_while_loading, fixture_teardown);
    return g_test_run();
}
