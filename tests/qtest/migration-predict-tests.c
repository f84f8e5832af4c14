/*
 * tern's own convergence prediction (query-migrate's x-prediction) and
 * the MIGRATION_STALLED event, end to end, and the downtime by phase
 * (x-downtime-phases).  The oracles do not depend on
 * timing: a guest that rewrites its range faster than 1 MB/s can send it
 * never lets the remaining RAM shrink, and a guest that never ran dirties
 * nothing.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

/* query-migrate's x-prediction (borrowed from *@keep), or NULL. */
static JsonObject *query_prediction(QTestState *who, JsonNode **keep)
{
    JsonObject *obj;

    *keep = migrate_query(who);
    obj = json_node_get_object(*keep);
    if (!json_object_has_member(obj, "x-prediction")) {
        return NULL;
    }
    return json_object_get_object_member(obj, "x-prediction");
}

/* The members every prediction has, within their ranges. */
static void check_prediction_shape(JsonObject *p)
{
    int64_t confidence = json_object_get_int_member(p, "confidence");

    g_assert_cmpint(confidence, >=, 0);
    g_assert_cmpint(confidence, <=, 100);
    g_assert_cmpint(json_object_get_int_member(p, "downtime"), >=, 0);
    g_assert_cmpint(json_object_get_int_member(p, "bandwidth"), >, 0);
    g_assert_true(json_object_has_member(p, "remaining"));
    g_assert_true(json_object_has_member(p, "dirty-rate"));
    g_assert_true(json_object_has_member(p, "converges"));
}

/* query-migrate's x-downtime-phases member @name, -1 when absent. */
static int64_t phase(JsonObject *phases, const char *name)
{
    return json_object_has_member(phases, name)
           ? json_object_get_int_member(phases, name) : -1;
}

/*
 * After completion the source's phases add up to its downtime (they are
 * consecutive marks); the destination reports its load and resume.
 */
static void check_downtime_phases(MigTest *t, bool paused)
{
    g_autoptr(JsonNode) src = migrate_query(t->from);
    g_autoptr(JsonNode) dst = migrate_query(t->to);
    JsonObject *s = json_node_get_object(src);
    JsonObject *sp = json_object_get_object_member(s, "x-downtime-phases");
    JsonObject *dp = json_object_get_object_member(json_node_get_object(dst),
                                                   "x-downtime-phases");
    int64_t sum;

    g_assert_nonnull(sp);
    g_assert_nonnull(dp);
    g_test_message("downtime %" G_GINT64_FORMAT " ms: stop %" G_GINT64_FORMAT
                   ", pre-switchover %" G_GINT64_FORMAT ", ram %" G_GINT64_FORMAT
                   ", device %" G_GINT64_FORMAT "; destination load %" G_GINT64_FORMAT
                   ", resume %" G_GINT64_FORMAT,
                   json_object_get_int_member(s, "downtime"), phase(sp, "stop"),
                   phase(sp, "pre-switchover"), phase(sp, "ram"), phase(sp, "device"),
                   phase(dp, "load"), phase(dp, "resume"));
    g_assert_cmpint(phase(sp, "stop"), >=, 0);
    if (paused) {
        g_assert_cmpint(phase(sp, "pre-switchover"), >=, 0);
    } else {
        g_assert_cmpint(phase(sp, "pre-switchover"), ==, -1);
    }
    g_assert_cmpint(phase(sp, "ram"), >=, 0);
    g_assert_cmpint(phase(sp, "device"), >=, 0);
    sum = phase(sp, "stop") + MAX(phase(sp, "pre-switchover"), 0) + phase(sp, "ram") +
          phase(sp, "device");
    g_assert_cmpint(sum, ==, json_object_get_int_member(s, "downtime"));
    g_assert_cmpint(phase(sp, "load"), ==, -1);
    g_assert_cmpint(phase(dp, "load"), >=, 0);
    g_assert_cmpint(phase(dp, "resume"), >=, 0);
    g_assert_cmpint(phase(dp, "stop"), ==, -1);
}

/*
 * info migrate says so too, in tern's own lines (polled: its query-migrate
 * is a later one than the caller's).
 */
static void check_hmp_not_converging(QTestState *who, gint64 deadline)
{
    for (;;) {
        g_autofree char *out = qtest_hmp(who, "info migrate");

        if (strstr(out, "\r\npredicted completion: none, not converging (confidence ")) {
            g_assert_nonnull(strstr(out, "\r\npredicted downtime: "));
            g_assert_nonnull(strstr(out, "\r\npredicted from: remaining "));
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
}

/*
 * a-b rewrites its 256 KiB range (64 pages) within milliseconds; at
 * 200 kB/s a pass over it takes more than a second, time enough for the
 * guest to dirty all of it again even on a slow host (a sanitizer build,
 * a loaded machine): after the first round the remaining RAM never
 * shrinks.  Five syncs later the
 * stall is reported, once, with its figures, and the prediction says the
 * migration does not converge.  Given the bandwidth, it completes.
 */
static void test_predict_stall(void)
{
    /* 32 MiB: its zero pages go in the first round in well under a second. */
    MigrateStart start = {
        .ram_mib = 32, .start_address = 1 << 20, .end_address = (1 << 20) + (256 << 10),
    };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    g_autoptr(JsonNode) ev = NULL;
    g_autoptr(JsonNode) q = NULL;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    JsonObject *d, *p;

    migrate_ensure_non_converge(t->from);
    migrate_set_parameter_int(t->from, "max-bandwidth", 200000);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);

    /* The first round and six passes: some 10 s here; a liveness bound only. */
    ev = qtest_qmp_eventwait(t->from, "MIGRATION_STALLED", 300000);
    g_assert_nonnull(ev);
    d = json_object_get_object_member(json_node_get_object(ev), "data");
    g_test_message("stalled at pass %" G_GINT64_FORMAT ": remaining %" G_GINT64_FORMAT
                   ", dirty-rate %" G_GINT64_FORMAT ", bandwidth %" G_GINT64_FORMAT
                   ", needed %" G_GINT64_FORMAT,
                   json_object_get_int_member(d, "pass"),
                   json_object_get_int_member(d, "remaining"),
                   json_object_get_int_member(d, "dirty-rate"),
                   json_object_get_int_member(d, "bandwidth"),
                   json_object_get_int_member(d, "bandwidth-needed"));
    g_assert_cmpint(json_object_get_int_member(d, "rounds"), ==, 5);
    /* The first round's sync, then five without shrinking. */
    g_assert_cmpint(json_object_get_int_member(d, "pass"), >=, 6);
    g_assert_cmpint(json_object_get_int_member(d, "remaining"), >, 0);
    g_assert_cmpint(json_object_get_int_member(d, "remaining"), <=, 1 << 20);
    g_assert_cmpint(json_object_get_int_member(d, "bandwidth"), >, 0);
    g_assert_cmpint(json_object_get_int_member(d, "bandwidth-needed"), >, 0);
    g_assert_true(json_object_has_member(d, "saturated"));

    /* The plan after the stall says so (liveness bound only). */
    for (;;) {
        g_clear_pointer(&q, json_node_unref);
        p = query_prediction(t->from, &q);
        g_assert_nonnull(p);
        check_prediction_shape(p);
        if (!json_object_get_boolean_member(p, "converges")) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
    g_assert_false(json_object_has_member(p, "completion-time"));
    check_hmp_not_converging(t->from, deadline);

    /* Let it converge: the guest stops, and the downtime by phase. */
    migrate_ensure_converge(t->from);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    g_clear_pointer(&q, json_node_unref);
    g_assert_null(query_prediction(t->from, &q));
    check_downtime_phases(t, false);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * A source that never ran (-S) dirties nothing: paused before the
 * switchover, the prediction says it converges, with nothing left, and
 * no stall was reported.  Then the downtime by phase, on both sides.
 */
static void test_predict_quiet(void)
{
    MigrateStart start = {
        .start_address = 1 << 20, .end_address = 3 << 20, .src_stopped = true,
    };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    g_autoptr(JsonNode) q = NULL;
    JsonObject *p;

    migrate_set_capability(t->from, "pause-before-switchover", true);
    /* 1 MB/s: the 2 MiB of data take many windows, so bandwidth is measured. */
    migrate_set_parameter_int(t->from, "max-bandwidth", 1000000);
    migrate_incoming_qmp(t->to, uri, NULL);
    migrate_qmp(t->from, uri, NULL);
    migration_event_wait(t->from, "pre-switchover");

    p = query_prediction(t->from, &q);
    g_assert_nonnull(p);
    check_prediction_shape(p);
    g_assert_true(json_object_get_boolean_member(p, "converges"));
    g_assert_cmpint(json_object_get_int_member(p, "remaining"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(p, "dirty-rate"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(p, "completion-time"), >=,
                    json_object_get_int_member(p, "downtime"));
    g_assert_null(qtest_qmp_eventwait(t->from, "MIGRATION_STALLED", 0));

    migrate_continue(t->from, "pre-switchover");
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    g_clear_pointer(&q, json_node_unref);
    g_assert_null(query_prediction(t->from, &q));
    g_assert_null(qtest_qmp_eventwait(t->from, "MIGRATION_STALLED", 0));
    check_downtime_phases(t, true);
    migrate_end(t, false);
    migrate_test_free(t);
}

void migration_register_predict_tests(void)
{
    g_test_add_func("/migration/predict/stall", test_predict_stall);
    g_test_add_func("/migration/predict/quiet", test_predict_quiet);
}
