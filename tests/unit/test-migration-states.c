/*
 * The outgoing migration's state machine (migration/migration-states.c)
 * without a machine: pause-before-switchover and migrate-continue, cancel
 * from each state with a fake channel, and the final states.  The MIGRATION
 * events are recorded to check the order a QMP client sees.
 */
#include "migration-states.h"
#include "migration-fakes.h"
#include "qapi/qmp-event.h"
#include "qemu/error.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Fixture {
    MigrationState s;
    FakeChannel ch;
    int connect_fd;             /* test_cancel_connecting's socket */
    GMutex events_lock;
    GString *events;            /* "status,status,..." of MIGRATION events */
} Fixture;

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    Fixture *fx = opaque;

    g_mutex_lock(&fx->events_lock);
    if (g_str_equal(event, "MIGRATION")) {
        g_string_append_printf(fx->events, "%s%s", fx->events->len ? "," : "",
                               json_object_get_string_member(data, "status"));
    }
    g_mutex_unlock(&fx->events_lock);
    if (data) {
        json_object_unref(data);
    }
}

static char *events_take(Fixture *fx)
{
    char *str;

    g_mutex_lock(&fx->events_lock);
    str = g_strdup(fx->events->str);
    g_string_truncate(fx->events, 0);
    g_mutex_unlock(&fx->events_lock);
    return str;
}

/* A source in @state (data: a MigrationStatus) with the events cap on. */
static void fixture_setup(Fixture *fx, gconstpointer data)
{
    MigrationState *s = &fx->s;

    *s = (MigrationState) { 0 };
    s->cancel = channel_cancel_new(NULL);
    s->state = GPOINTER_TO_INT(data);
    s->opts = migration_options_new();
    s->opts->caps[MIGRATION_CAPABILITY_EVENTS] = true;
    s->run_opts = migration_options_copy(s->opts);
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
    fx->ch = (FakeChannel) { 0 };
    g_mutex_init(&fx->events_lock);
    fx->events = g_string_new("");
    qapi_event_set_emitter(record_event, fx);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    MigrationState *s = &fx->s;

    qapi_event_set_emitter(NULL, NULL);
    if (s->to_dst) {
        qemu_fclose(s->to_dst, NULL);
    }
    migration_options_free(s->opts);
    migration_options_free(s->run_opts);
    channel_cancel_unref(s->cancel);
    qemu_mutex_destroy(&s->lock);
    qemu_cond_destroy(&s->cond);
    g_string_free(fx->events, TRUE);
    g_mutex_clear(&fx->events_lock);
}

static gpointer pause_thread(gpointer opaque)
{
    return GINT_TO_POINTER(migration_pause_before_switchover(opaque));
}

/* Until the thread has parked in pre-switchover (a sync point, not an oracle). */
/*
 * Until @fx's source is in @st and its MIGRATION event was sent: the state
 * changes before the event goes out, so an action taken on the state alone
 * could send its own event first.
 */
static void wait_for_status(Fixture *fx, MigrationStatus st)
{
    const char *name = MigrationStatus_str(st);
    bool sent = false;

    while (migration_status(&fx->s) != st || !sent) {
        g_usleep(1000);
        g_mutex_lock(&fx->events_lock);
        sent = g_str_has_suffix(fx->events->str, name);
        g_mutex_unlock(&fx->events_lock);
    }
}

/* Without the capability: active -> device at once. */
static void test_no_pause(Fixture *fx, gconstpointer data)
{
    g_autofree char *events = NULL;

    g_assert_true(migration_pause_before_switchover(&fx->s));
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_DEVICE);
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "device");
}

/* With it: pre-switchover until migrate-continue names that state. */
static void test_pause_then_continue(Fixture *fx, gconstpointer data)
{
    MigrationState *s = &fx->s;
    g_autoptr(GError) err = NULL;
    g_autofree char *events = NULL;
    GThread *t;

    s->run_opts->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true;
    t = g_thread_new("pause", pause_thread, s);
    wait_for_status(fx, MIGRATION_STATUS_PRE_SWITCHOVER);

    g_assert_false(migration_continue(s, MIGRATION_STATUS_ACTIVE, &err));
    g_assert_error(err, TERN_ERROR, TERN_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==, "Migration not in expected state: pre-switchover");
    g_assert_cmpint(migration_status(s), ==, MIGRATION_STATUS_PRE_SWITCHOVER);

    g_assert_true(migration_continue(s, MIGRATION_STATUS_PRE_SWITCHOVER, NULL));
    g_assert_true(GPOINTER_TO_INT(g_thread_join(t)));
    g_assert_cmpint(migration_status(s), ==, MIGRATION_STATUS_DEVICE);
    g_assert_false(s->continue_requested);
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "pre-switchover,device");
}

/* migrate-continue outside pre-switchover is refused and remembered by nobody. */
static void test_continue_while_active(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(migration_continue(&fx->s, MIGRATION_STATUS_PRE_SWITCHOVER, &err));
    g_assert_cmpstr(err->message, ==, "Migration not in expected state: active");
    g_assert_false(fx->s.continue_requested);
}

/* Cancel while paused: the waiter wakes, returns false, and the end is cancelled. */
static void test_cancel_while_paused(Fixture *fx, gconstpointer data)
{
    MigrationState *s = &fx->s;
    g_autofree char *events = NULL;
    GThread *t;

    s->to_dst = fake_channel_file(&fx->ch);
    s->run_opts->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true;
    t = g_thread_new("pause", pause_thread, s);
    wait_for_status(fx, MIGRATION_STATUS_PRE_SWITCHOVER);
    migration_cancel(s);
    g_assert_false(GPOINTER_TO_INT(g_thread_join(t)));
    g_assert_true(channel_cancel_is_triggered(fx->s.cancel));
    migration_enter_final_state(s, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(migration_status(s), ==, MIGRATION_STATUS_CANCELLED);
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "pre-switchover,cancelling,cancelled");
}

/*
 * The return path fails while paused (the destination's load failed): as
 * return-path.c does, the token is cancelled and the waiter woken; it
 * returns false without switching over, and the end is failed.
 */
static void test_rp_failure_while_paused(Fixture *fx, gconstpointer data)
{
    MigrationState *s = &fx->s;
    g_autofree char *events = NULL;
    GThread *t;

    s->to_dst = fake_channel_file(&fx->ch);
    s->run_opts->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true;
    t = g_thread_new("pause", pause_thread, s);
    wait_for_status(fx, MIGRATION_STATUS_PRE_SWITCHOVER);
    qemu_mutex_lock(&s->lock);
    channel_cancel_trigger(s->cancel);
    qemu_cond_broadcast(&s->cond);
    qemu_mutex_unlock(&s->lock);
    g_assert_false(GPOINTER_TO_INT(g_thread_join(t)));
    g_assert_cmpint(migration_status(s), ==, MIGRATION_STATUS_PRE_SWITCHOVER);
    migration_enter_final_state(s, MIGRATION_STATUS_FAILED);
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "pre-switchover,failed");
}

/* A cancel that came first: the thread never leaves active for device. */
static void test_cancel_before_switchover(Fixture *fx, gconstpointer data)
{
    migration_cancel(&fx->s);
    g_assert_false(migration_pause_before_switchover(&fx->s));
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_CANCELLING);
}

/* From each running state: cancelling, the channel shut down. */
static void test_cancel_running(Fixture *fx, gconstpointer data)
{
    g_autofree char *events = NULL;

    fx->s.to_dst = fake_channel_file(&fx->ch);
    migration_cancel(&fx->s);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_CANCELLING);
    g_assert_true(channel_cancel_is_triggered(fx->s.cancel));
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "cancelling");

    /* A second cancel changes nothing and says nothing. */
    migration_cancel(&fx->s);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_CANCELLING);
    g_free(events);
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "");
}

static gpointer connect_wait_thread(gpointer opaque)
{
    Fixture *fx = opaque;
    g_autoptr(GError) err = NULL;
    bool ok = channel_cancel_wait_fd(fx->s.cancel, fx->connect_fd, POLLIN, &err);

    g_assert_false(ok);
    g_assert_nonnull(strstr(err->message, "cancelled"));
    return NULL;
}

/*
 * Setup, still connecting: a wait on a socket that never becomes ready (as
 * a connect to a silent peer) ends with the cancel.
 */
static void test_cancel_connecting(Fixture *fx, gconstpointer data)
{
    int sv[2];
    GThread *t;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    fx->connect_fd = sv[0];
    t = g_thread_new("connect", connect_wait_thread, fx);
    migration_cancel(&fx->s);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_CANCELLING);
    g_thread_join(t);
    close(sv[0]);
    close(sv[1]);
}

/* Completed, failed, cancelled, none: cancel is a no-op. */
static void test_cancel_noop(Fixture *fx, gconstpointer data)
{
    g_autofree char *events = NULL;

    fx->s.to_dst = fake_channel_file(&fx->ch);
    migration_cancel(&fx->s);
    g_assert_cmpint(migration_status(&fx->s), ==, GPOINTER_TO_INT(data));
    g_assert_false(channel_cancel_is_triggered(fx->s.cancel));
    events = events_take(fx);
    g_assert_cmpstr(events, ==, "");
}

static void test_final_completed(Fixture *fx, gconstpointer data)
{
    migration_enter_final_state(&fx->s, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_COMPLETED);
    g_assert_false(migration_is_running(migration_status(&fx->s)));
}

static void test_final_failed(Fixture *fx, gconstpointer data)
{
    migration_enter_final_state(&fx->s, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_FAILED);
}

/* A failure while cancelling ends in cancelled, as migrate_cancel promised. */
static void test_final_failed_while_cancelling(Fixture *fx, gconstpointer data)
{
    migration_enter_final_state(&fx->s, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(migration_status(&fx->s), ==, MIGRATION_STATUS_CANCELLED);
}

static void add(const char *path, MigrationStatus st,
                void (*fn)(Fixture *, gconstpointer))
{
    g_autofree char *name = g_strdup_printf("/migration/states/%s/%s", path,
                                            MigrationStatus_str(st));

    g_test_add(name, Fixture, GINT_TO_POINTER(st), fixture_setup, fn, fixture_teardown);
}

int main(int argc, char **argv)
{
    static const MigrationStatus running[] = {
        MIGRATION_STATUS_SETUP, MIGRATION_STATUS_ACTIVE,
        MIGRATION_STATUS_PRE_SWITCHOVER, MIGRATION_STATUS_DEVICE,
        /* The exit path's cancel: QMP refuses it there (postcopy-source.c). */
        MIGRATION_STATUS_POSTCOPY_PAUSED, MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP,
        MIGRATION_STATUS_POSTCOPY_RECOVER,
    };
    static const MigrationStatus ended[] = {
        MIGRATION_STATUS_NONE, MIGRATION_STATUS_COMPLETED,
        MIGRATION_STATUS_FAILED, MIGRATION_STATUS_CANCELLED,
    };

    g_test_init(&argc, &argv, NULL);
    add("no-pause", MIGRATION_STATUS_ACTIVE, test_no_pause);
    add("pause-then-continue", MIGRATION_STATUS_ACTIVE, test_pause_then_continue);
    add("continue-while-active", MIGRATION_STATUS_ACTIVE, test_continue_while_active);
    add("cancel-while-paused", MIGRATION_STATUS_ACTIVE, test_cancel_while_paused);
    add("rp-failure-while-paused", MIGRATION_STATUS_ACTIVE, test_rp_failure_while_paused);
    add("cancel-before-switchover", MIGRATION_STATUS_ACTIVE, test_cancel_before_switchover);
    for (unsigned i = 0; i < G_N_ELEMENTS(running); i++) {
        add("cancel", running[i], test_cancel_running);
    }
    add("cancel-connecting", MIGRATION_STATUS_SETUP, test_cancel_connecting);
    for (unsigned i = 0; i < G_N_ELEMENTS(ended); i++) {
        add("cancel-noop", ended[i], test_cancel_noop);
    }
    add("final-completed", MIGRATION_STATUS_DEVICE, test_final_completed);
    add("final-failed", MIGRATION_STATUS_ACTIVE, test_final_failed);
    add("final-failed-while-cancelling", MIGRATION_STATUS_CANCELLING,
        test_final_failed_while_cancelling);
    return g_test_run();
}
