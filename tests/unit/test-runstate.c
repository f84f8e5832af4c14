/*
 * Run state: QEMU's transition rules, vm_start / vm_stop events, shutdown
 * requests with and without -no-shutdown, -name / -uuid.
 */
#include <glib.h>
#include <string.h>

#include "qapi/qapi-commands.h"
#include "qapi/qmp-event.h"
#include "qemu/main-loop.h"
#include "sysemu/context.h"
#include "sysemu/runstate.h"

/* The VM under test, and the events it emitted. */
typedef struct Events {
    VM *vm;
    GString *names;             /* "STOP RESUME ..." */
    char *last_shutdown_reason;
    gboolean last_shutdown_guest;
} Events;

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    Events *ev = opaque;

    g_string_append_printf(ev->names, "%s%s", ev->names->len ? " " : "", event);
    if (strcmp(event, "SHUTDOWN") == 0) {
        g_free(ev->last_shutdown_reason);
        ev->last_shutdown_reason =
            g_strdup(json_object_get_string_member(data, "reason"));
        ev->last_shutdown_guest = json_object_get_boolean_member(data, "guest");
    }
    if (data) {
        json_object_unref(data);
    }
}

static void events_setup(Events *ev)
{
    ev->names = g_string_new(NULL);
    ev->last_shutdown_reason = NULL;
    qapi_event_set_emitter(record_event, ev);
    ev->vm = vm_new();
}

static void events_teardown(Events *ev)
{
    qapi_event_set_emitter(NULL, NULL);
    vm_free(ev->vm);
    g_string_free(ev->names, TRUE);
    g_free(ev->last_shutdown_reason);
}

/* Drain scheduled bottom halves. */
static void run_pending(void)
{
    while (main_loop_iterate(false)) {
    }
}

static void test_names(void)
{
    g_assert_cmpstr(runstate_name(RUN_STATE_RUNNING), ==, "running");
    g_assert_cmpstr(runstate_name(RUN_STATE_FINISH_MIGRATE), ==,
                    "finish-migrate");
    g_assert_cmpstr(runstate_name(RUN_STATE_GUEST_PANICKED), ==,
                    "guest-panicked");
    g_assert_cmpint(runstate_from_name("inmigrate"), ==, RUN_STATE_INMIGRATE);
    g_assert_cmpint(runstate_from_name("bogus"), ==, -1);
    g_assert_cmpint(RUN_STATE__MAX, ==, 16);
    g_assert_cmpstr(shutdown_cause_name(SHUTDOWN_CAUSE_HOST_QMP_QUIT), ==,
                    "host-qmp-quit");
}

static void test_transitions(void)
{
    g_assert_true(runstate_transition_valid(RUN_STATE_PRELAUNCH,
                                            RUN_STATE_RUNNING));
    g_assert_true(runstate_transition_valid(RUN_STATE_PRELAUNCH,
                                            RUN_STATE_INMIGRATE));
    g_assert_true(runstate_transition_valid(RUN_STATE_INMIGRATE,
                                            RUN_STATE_PAUSED));
    g_assert_true(runstate_transition_valid(RUN_STATE_RUNNING,
                                            RUN_STATE_FINISH_MIGRATE));
    g_assert_true(runstate_transition_valid(RUN_STATE_FINISH_MIGRATE,
                                            RUN_STATE_POSTMIGRATE));
    g_assert_true(runstate_transition_valid(RUN_STATE_POSTMIGRATE,
                                            RUN_STATE_RUNNING));
    g_assert_true(runstate_transition_valid(RUN_STATE_RUNNING,
                                            RUN_STATE_INTERNAL_ERROR));
    g_assert_true(runstate_transition_valid(RUN_STATE_SHUTDOWN,
                                            RUN_STATE_PAUSED));
    /* QEMU forbids these */
    g_assert_false(runstate_transition_valid(RUN_STATE_INTERNAL_ERROR,
                                             RUN_STATE_RUNNING));
    g_assert_false(runstate_transition_valid(RUN_STATE_SHUTDOWN,
                                             RUN_STATE_RUNNING));
    g_assert_false(runstate_transition_valid(RUN_STATE_RUNNING,
                                             RUN_STATE_INMIGRATE));
    g_assert_false(runstate_transition_valid(RUN_STATE_POSTMIGRATE,
                                             RUN_STATE_PAUSED));
    /* states tern never enters */
    g_assert_false(runstate_transition_valid(RUN_STATE_RUNNING,
                                             RUN_STATE_SUSPENDED));
    g_assert_false(runstate_transition_valid(RUN_STATE_RUNNING,
                                             RUN_STATE_DEBUG));
    g_assert_false(runstate_transition_valid(RUN_STATE_RUNNING,
                                             RUN_STATE_COLO));
}

static void test_invalid_transition_aborts(void)
{
    if (g_test_subprocess()) {
        g_autoptr(VM) vm = vm_new();

        /* prelaunch -> postmigrate */
        runstate_set(vm, RUN_STATE_POSTMIGRATE);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*invalid runstate transition: 'prelaunch' -> "
                              "'postmigrate'*");
}

static void test_start_stop(void)
{
    Events ev;

    events_setup(&ev);
    bql_lock();
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_PRELAUNCH);
    vm_stop(ev.vm, RUN_STATE_PAUSED);           /* not running: no-op */
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_PRELAUNCH);
    vm_start(ev.vm);
    g_assert_true(runstate_is_running(ev.vm));
    vm_start(ev.vm);                            /* already running */
    vm_stop(ev.vm, RUN_STATE_PAUSED);
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_PAUSED);
    g_assert_false(runstate_is_running(ev.vm));
    vm_stop_force_state(ev.vm, RUN_STATE_FINISH_MIGRATE);
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_FINISH_MIGRATE);
    runstate_set(ev.vm, RUN_STATE_POSTMIGRATE);
    vm_start(ev.vm);
    g_assert_cmpstr(ev.names->str, ==, "RESUME STOP RESUME STOP RESUME");
    vm_stop_request(ev.vm, RUN_STATE_PAUSED);
    g_assert_true(runstate_is_running(ev.vm));  /* queued, not done */
    run_pending();
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_PAUSED);
    bql_unlock();
    events_teardown(&ev);
}

static void count_change(void *opaque, bool running, RunState state)
{
    GString *log = opaque;

    g_string_append_printf(log, "%s:%s ", running ? "run" : "stop",
                           runstate_name(state));
}

static void test_notifiers(void)
{
    Events ev;
    g_autoptr(GString) log = g_string_new(NULL);
    gpointer h;

    events_setup(&ev);
    bql_lock();
    h = vm_state_notifier_add(ev.vm, count_change, log);
    vm_start(ev.vm);
    vm_stop(ev.vm, RUN_STATE_PAUSED);
    vm_stop(ev.vm, RUN_STATE_PAUSED);           /* not running: no call */
    vm_state_notifier_remove(ev.vm, h);
    vm_start(ev.vm);
    g_assert_cmpstr(log->str, ==, "run:running stop:paused ");
    bql_unlock();
    events_teardown(&ev);
}

static void test_needs_reset(void)
{
    Events ev;

    events_setup(&ev);
    bql_lock();
    vm_start(ev.vm);
    vm_stop(ev.vm, RUN_STATE_INTERNAL_ERROR);
    g_assert_true(runstate_needs_reset(ev.vm));
    bql_unlock();
    events_teardown(&ev);
}

static void test_shutdown_exits(void)
{
    Events ev;

    events_setup(&ev);
    bql_lock();
    vm_start(ev.vm);
    qemu_system_shutdown_request(ev.vm, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    g_assert_cmpint(main_loop_run(), ==, 0);
    g_assert_cmpstr(ev.last_shutdown_reason, ==, "guest-shutdown");
    g_assert_true(ev.last_shutdown_guest);
    g_assert_true(runstate_is_running(ev.vm));
    bql_unlock();
    events_teardown(&ev);
}

static void test_no_shutdown_stops(void)
{
    Events ev;

    events_setup(&ev);
    bql_lock();
    runstate_set_no_shutdown(ev.vm, true);
    vm_start(ev.vm);
    qemu_system_shutdown_request(ev.vm, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    run_pending();
    g_assert_false(main_loop_exit_requested());
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_SHUTDOWN);
    g_assert_cmpstr(ev.names->str, ==, "RESUME SHUTDOWN STOP");

    /* quit still exits, and says the host asked */
    qemu_system_shutdown_request(ev.vm, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    g_assert_cmpint(main_loop_run(), ==, 0);
    g_assert_cmpstr(ev.last_shutdown_reason, ==, "host-qmp-quit");
    g_assert_false(ev.last_shutdown_guest);
    bql_unlock();
    events_teardown(&ev);
}

static void test_exit_request(void)
{
    bql_lock();
    qemu_system_exit_request(7);
    qemu_system_exit_request(1);                /* the first one wins */
    g_assert_cmpint(main_loop_run(), ==, 7);
    bql_unlock();
}

static void test_name_uuid(void)
{
    g_autoptr(VM) vm = vm_new();
    guint8 uuid[16];
    g_autoptr(GError) err = NULL;
    g_autofree char *str = NULL;

    g_assert_null(vm_get_name(vm));
    vm_set_name(vm, "guest-1");
    g_assert_cmpstr(vm_get_name(vm), ==, "guest-1");
    vm_set_name(vm, NULL);

    g_assert_false(vm_has_uuid(vm));
    str = vm_uuid_string(vm);
    g_assert_cmpstr(str, ==, "00000000-0000-0000-0000-000000000000");
    g_clear_pointer(&str, g_free);

    g_assert_true(qemu_uuid_parse("12345678-9abc-DEF0-1234-56789abcdef0",
                                  uuid, &err));
    vm_set_uuid(vm, uuid);
    str = vm_uuid_string(vm);
    g_assert_cmpstr(str, ==, "12345678-9abc-def0-1234-56789abcdef0");

    g_assert_false(qemu_uuid_parse("12345678-9abc-def0-1234-56789abcdef", uuid,
                                   &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_false(qemu_uuid_parse("12345678x9abc-def0-1234-56789abcdef0",
                                   uuid, &err));
    g_clear_error(&err);
    g_assert_false(qemu_uuid_parse("g2345678-9abc-def0-1234-56789abcdef0",
                                   uuid, &err));
}

static void test_qmp(void)
{
    Events ev;
    TernContext ctx = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(StatusInfo) st = NULL;
    g_autoptr(NameInfo) name = NULL;

    events_setup(&ev);
    ctx.vm = ev.vm;
    bql_lock();
    st = qmp_query_status(&ctx, &err);
    g_assert_false(st->running);
    g_assert_cmpint(st->status, ==, RUN_STATE_PRELAUNCH);
    g_assert_true(qmp_cont(&ctx, &err));
    g_assert_true(runstate_is_running(ev.vm));
    g_assert_true(qmp_stop(&ctx, &err));
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_PAUSED);
    g_assert_true(qmp_stop(&ctx, &err));        /* stopping twice is fine */
    g_assert_cmpstr(ev.names->str, ==, "RESUME STOP");

    vm_stop_force_state(ev.vm, RUN_STATE_FINISH_MIGRATE);
    g_assert_false(qmp_cont(&ctx, &err));
    g_assert_cmpstr(err->message, ==, "Migration is not finalized yet");
    g_clear_error(&err);
    runstate_set(ev.vm, RUN_STATE_RUNNING);
    vm_stop(ev.vm, RUN_STATE_INTERNAL_ERROR);
    g_assert_false(qmp_cont(&ctx, &err));
    g_assert_cmpstr(err->message, ==, "Resetting the Virtual Machine is "
                    "required");
    g_clear_error(&err);

    /* inmigrate: stop/cont only decide what happens after the migration */
    vm_free(ev.vm);
    ctx.vm = ev.vm = vm_new();
    runstate_set(ev.vm, RUN_STATE_INMIGRATE);
    g_assert_true(qmp_stop(&ctx, &err));
    g_assert_false(runstate_autostart(ev.vm));
    g_assert_true(qmp_cont(&ctx, &err));
    g_assert_true(runstate_autostart(ev.vm));
    g_assert_cmpint(runstate_get(ev.vm), ==, RUN_STATE_INMIGRATE);

    name = qmp_query_name(&ctx, &err);
    g_assert_null(name->name);
    bql_unlock();
    events_teardown(&ev);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    g_test_add_func("/runstate/names", test_names);
    g_test_add_func("/runstate/transitions", test_transitions);
    g_test_add_func("/runstate/invalid-transition-aborts",
                    test_invalid_transition_aborts);
    g_test_add_func("/runstate/start-stop", test_start_stop);
    g_test_add_func("/runstate/notifiers", test_notifiers);
    g_test_add_func("/runstate/needs-reset", test_needs_reset);
    g_test_add_func("/runstate/shutdown-exits", test_shutdown_exits);
    g_test_add_func("/runstate/no-shutdown-stops", test_no_shutdown_stops);
    g_test_add_func("/runstate/exit-request", test_exit_request);
    g_test_add_func("/runstate/name-uuid", test_name_uuid);
    g_test_add_func("/runstate/qmp", test_qmp);
    return g_test_run();
}
