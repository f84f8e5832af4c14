/*
 * Convergence: auto-converge throttles a guest that dirties memory faster
 * than the link sends it, in QEMU's steps, and lets it go when the
 * migration ends (QEMU's /migration/auto_converge); dirty-limit holds it
 * to a dirty rate instead (QEMU's /migration/dirty_limit).
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

/* query-migrate's cpu-throttle-percentage, 0 when absent (as QEMU's test reads it). */
static int64_t query_throttle(QTestState *who)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);

    if (!json_object_has_member(obj, "cpu-throttle-percentage")) {
        return 0;
    }
    return json_object_get_int_member(obj, "cpu-throttle-percentage");
}

/*
 * Poll until the throttle is @want; every value seen on the way must be
 * @prev (the rule moves in whole steps, never elsewhere).  60 s liveness bound.
 */
static void wait_for_throttle(QTestState *who, int64_t prev, int64_t want)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    for (;;) {
        int64_t pct = query_throttle(who);

        if (pct == want) {
            return;
        }
        g_assert_cmpint(pct, ==, prev);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

static char *hmp_info_migrate(QTestState *who)
{
    return qtest_hmp(who, "info migrate");
}

/* @opaque: the accelerator ("interp" or "kvm"). */
static void test_auto_converge(const void *opaque)
{
    const int64_t init_pct = 5, inc_pct = 50, max_pct = 95;
    MigrateStart start = {
        .accel = opaque,
        .start_address = 1 << 20,
        .end_address = 3 << 20,
    };
    g_autofree char *uri = NULL;
    g_autofree char *hmp = NULL;
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    migrate_set_capability(t->from, "auto-converge", true);
    migrate_set_parameter_int(t->from, "cpu-throttle-initial", init_pct);
    migrate_set_parameter_int(t->from, "cpu-throttle-increment", inc_pct);
    migrate_set_parameter_int(t->from, "max-cpu-throttle", max_pct);
    /* Any dirtying at all counts as too much. */
    migrate_set_parameter_int(t->from, "throttle-trigger-threshold", 1);
    migrate_ensure_non_converge(t->from);
    /* 1 MB/s: each pass over the 2 MiB range takes about two periods. */
    migrate_set_parameter_int(t->from, "max-bandwidth", 1000000);

    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    g_assert_cmpint(query_throttle(t->from), ==, 0);
    migrate_qmp(t->from, uri, NULL);

    /* initial, then + increment, then capped at the maximum. */
    wait_for_throttle(t->from, 0, init_pct);
    hmp = hmp_info_migrate(t->from);
    g_assert_nonnull(strstr(hmp, "cpu throttle percentage: 5\r\n"));
    wait_for_throttle(t->from, init_pct, init_pct + inc_pct);
    wait_for_throttle(t->from, init_pct + inc_pct, max_pct);

    migrate_ensure_converge(t->from);
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    /* Released with the migration: completed reports no throttle. */
    g_assert_cmpint(query_throttle(t->from), ==, 0);
    g_free(hmp);
    hmp = hmp_info_migrate(t->from);
    g_assert_null(strstr(hmp, "cpu throttle percentage"));
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/* ---- dirty rate ---- */

/* query-dirty-rate in milliseconds (transfer full). */
static JsonNode *query_dirty_rate(QTestState *who)
{
    return qtest_qmp_assert_success_ref(who, "{'execute': 'query-dirty-rate', "
                                        "'arguments': {'calc-time-unit': 'millisecond'}}");
}

/* Wait (60 s liveness bound) until the measurement is done; its reply. */
static JsonNode *wait_dirty_rate_measured(QTestState *who)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    for (;;) {
        JsonNode *ret = query_dirty_rate(who);
        JsonObject *o = json_node_get_object(ret);
        const char *status = json_object_get_string_member(o, "status");

        if (!strcmp(status, "measured")) {
            return ret;
        }
        g_assert_cmpstr(status, ==, "measuring");
        g_assert_false(json_object_has_member(o, "dirty-rate"));
        json_node_unref(ret);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

#define DIRTY_RANGE_MIB 64

/*
 * A source running a-b over 64 MiB of its 128 MiB: between two looks at
 * memory, every page of the range was written (a sweep takes far less
 * than the 50 ms minimum period), and nothing else was.
 */
static MigTest *dirty_rate_start(void)
{
    MigrateStart start = {
        .only_source = true,
        .start_address = 1 << 20,
        .end_address = (DIRTY_RANGE_MIB + 1) << 20,
    };
    MigTest *t = migrate_start(&start);

    wait_for_serial(t->src_serial);
    return t;
}

/* The measured rate is @want MiB/s within 20 %. */
static void check_dirty_rate_is(JsonNode *ret, const char *mode, int64_t want)
{
    JsonObject *o = json_node_get_object(ret);
    int64_t ms = json_object_get_int_member(o, "calc-time");
    int64_t rate = json_object_get_int_member(o, "dirty-rate");

    g_test_message("%s: %" G_GINT64_FORMAT " MiB/s over %" G_GINT64_FORMAT
                   " ms, expected %" G_GINT64_FORMAT, mode, rate, ms, want);
    g_assert_cmpstr(json_object_get_string_member(o, "mode"), ==, mode);
    g_assert_cmpstr(json_object_get_string_member(o, "calc-time-unit"), ==,
                    "millisecond");
    g_assert_cmpint(ms, >=, 1000);
    g_assert_cmpint(rate * 100, >=, want * 80);
    g_assert_cmpint(rate * 100, <=, want * 120);
}

/*
 * Under a dirty limit of @limit MiB/s: never more than the limit allows.
 * How close the guest gets to it is the host's business (a loaded host
 * starves the vCPU), so below only "it ran at all" is asked.
 */
static void check_rate_under_limit(int64_t rate, int64_t limit)
{
    g_test_message("rate %" G_GINT64_FORMAT " MiB/s under a limit of %" G_GINT64_FORMAT,
                   rate, limit);
    g_assert_cmpint(rate, >, 0);
    g_assert_cmpint(rate * 100, <=, limit * 120);
}

static void check_dirty_rate_limited(JsonNode *ret, const char *mode, int64_t limit)
{
    JsonObject *o = json_node_get_object(ret);

    g_assert_cmpstr(json_object_get_string_member(o, "mode"), ==, mode);
    g_assert_cmpint(json_object_get_int_member(o, "calc-time"), >=, 1000);
    check_rate_under_limit(json_object_get_int_member(o, "dirty-rate"), limit);
}

/* The rate is what writing the whole range once per period gives, within 20 %. */
static void check_dirty_rate(JsonNode *ret, const char *mode)
{
    JsonObject *o = json_node_get_object(ret);

    check_dirty_rate_is(ret, mode, DIRTY_RANGE_MIB * 1000 /
                                   json_object_get_int_member(o, "calc-time"));
}

/* QEMU's refusals, and the state before any measurement. */
static void test_dirty_rate_errors(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autoptr(JsonNode) ret = query_dirty_rate(t->from);
    JsonObject *o = json_node_get_object(ret);
    g_autofree char *out1 = NULL, *out2 = NULL, *out3 = NULL;

    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==, "unstarted");
    g_assert_false(json_object_has_member(o, "dirty-rate"));
    qtest_qmp_expect_error(t->from, "GenericError",
        "Calculation time is out of range [50ms, 60000ms].",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 61}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Calculation time is out of range [50ms, 60000ms].",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 49, "
        "'calc-time-unit': 'millisecond'}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "sample-pages is used only in page-sampling mode",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 1, "
        "'sample-pages': 512, 'mode': 'dirty-bitmap'}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "sample-pages is out of range[128, 16384].",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 1, "
        "'sample-pages': 127}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "mode dirty-ring is not enabled, use other method instead.",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 1, "
        "'mode': 'dirty-ring'}}");
    out1 = qtest_hmp(t->from, "calc_dirty_rate 0");
    g_assert_cmpstr(out1, ==, "Incorrect period length specified!\r\n");
    out2 = qtest_hmp(t->from, "calc_dirty_rate -r -b 1");
    g_assert_cmpstr(out2, ==, "Either dirty ring or dirty bitmap can be specified!\r\n");
    out3 = qtest_hmp(t->from, "info dirty_rate");
    g_assert_nonnull(strstr(out3, "Status: unstarted\r\n"));
    g_assert_nonnull(strstr(out3, "Dirty rate: (not ready)\r\n"));
    migrate_test_free(t);
}

/*
 * page-sampling, started from HMP; a second start while it measures is
 * refused.  The guest is held to 16 MB/s (set-vcpu-dirty-limit): unlimited,
 * a-b would increment each first byte some thousand times a second, and a
 * page whose byte went round a multiple of 256 times hashes as clean.
 * Held, it writes each page of its range at most once in the 2 s, and
 * 2048 samples put the measured rate within 20 % of 16 with a margin of
 * five standard deviations.
 */
static void test_dirty_rate_sampling(void)
{
    MigTest *t = dirty_rate_start();
    g_autofree char *out = NULL;
    g_autofree char *info = NULL;
    g_autoptr(JsonNode) ret = NULL;

    qtest_qmp_assert_success(t->from, "{'execute': 'set-vcpu-dirty-limit', "
                             "'arguments': {'dirty-rate': 16}}");
    out = qtest_hmp(t->from, "calc_dirty_rate 2 16384");
    g_assert_cmpstr(out, ==, "Starting dirty rate measurement with period 2 seconds\r\n"
                    "[Please use 'info dirty_rate' to check results]\r\n");
    qtest_qmp_expect_error(t->from, "GenericError",
        "the dirty rate is already being measured.",
        "{'execute': 'calc-dirty-rate', 'arguments': {'calc-time': 1}}");
    ret = wait_dirty_rate_measured(t->from);
    check_dirty_rate_limited(ret, "page-sampling", 16);
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(ret),
                                               "sample-pages"), ==, 16384);
    info = qtest_hmp(t->from, "info dirty_rate");
    g_assert_nonnull(strstr(info, "Status: measured\r\n"));
    g_assert_nonnull(strstr(info, "Sample Pages: 16384 (per GB)\r\n"));
    g_assert_nonnull(strstr(info, "Mode: page-sampling\r\n"));
    g_assert_nonnull(strstr(info, " (MB/s)\r\n"));
    migrate_test_free(t);
}

/* dirty-bitmap: exact page counts; migrate is refused while it holds the dirty log. */
static void test_dirty_rate_bitmap(void)
{
    MigTest *t = dirty_rate_start();
    g_autofree char *uri = g_strdup_printf("{'uri': 'unix:%s/nowhere'}", t->dir);
    g_autofree char *desc = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonNode) mig = NULL;

    qtest_qmp_assert_success(t->from, "{'execute': 'calc-dirty-rate', 'arguments': "
                             "{'calc-time': 1000, 'calc-time-unit': 'millisecond', "
                             "'mode': 'dirty-bitmap'}}");
    desc = migrate_qmp_fail(t->from, uri);
    g_assert_cmpstr(desc, ==,
                    "a dirty rate measurement in dirty-bitmap mode is using the dirty log");
    ret = wait_dirty_rate_measured(t->from);
    check_dirty_rate(ret, "dirty-bitmap");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(ret),
                                               "sample-pages"), ==, 0);
    /* The blocker went with the measurement. */
    mig = migrate_query(t->from);
    g_assert_false(json_object_has_member(json_node_get_object(mig), "blocked-reasons"));
    migrate_test_free(t);
}

/* ---- dirty limit ---- */

#define DIRTY_LIMIT_MBPS 16

static JsonArray *query_dirty_limit(QTestState *who, JsonNode **keep)
{
    *keep = qtest_qmp_assert_success_ref(who, "{'execute': 'query-vcpu-dirty-limit'}");
    return json_node_get_array(*keep);
}

/*
 * The interpreter holds a-b, which would dirty its 64 MiB once per sweep,
 * to 16 MB/s: the dirty log over 2 s says so within 20 %, and so does the
 * limiter's own current rate.  QEMU's texts for the refusals.
 */
static void test_dirty_limit_vcpu(void)
{
    MigTest *t = dirty_rate_start();
    g_autoptr(JsonNode) q = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autofree char *out1 = NULL, *out2 = NULL, *out3 = NULL, *out4 = NULL;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    JsonObject *e;

    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    out1 = qtest_hmp(t->from, "info vcpu_dirty_limit");
    g_assert_cmpstr(out1, ==, "Dirty page limit not enabled!\r\n");
    qtest_qmp_expect_error(t->from, "GenericError", "incorrect cpu index specified",
        "{'execute': 'set-vcpu-dirty-limit', 'arguments': "
        "{'cpu-index': 1, 'dirty-rate': 8}}");
    out2 = qtest_hmp(t->from, "set_vcpu_dirty_limit -1");
    g_assert_cmpstr(out2, ==, "Error: invalid dirty page limit -1\r\n");

    qtest_qmp_assert_success(t->from, "{'execute': 'set-vcpu-dirty-limit', "
                             "'arguments': {'dirty-rate': %d}}", DIRTY_LIMIT_MBPS);
    qtest_qmp_assert_success(t->from, "{'execute': 'calc-dirty-rate', 'arguments': "
                             "{'calc-time': 2, 'mode': 'dirty-bitmap'}}");
    ret = wait_dirty_rate_measured(t->from);
    check_dirty_rate_limited(ret, "dirty-bitmap", DIRTY_LIMIT_MBPS);

    /* The limiter's view, once it has a full period behind it. */
    for (;;) {
        json_node_unref(q);
        g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 1);
        e = json_array_get_object_element(json_node_get_array(q), 0);
        if (json_object_get_int_member(e, "current-rate")) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
    g_assert_cmpint(json_object_get_int_member(e, "cpu-index"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(e, "limit-rate"), ==, DIRTY_LIMIT_MBPS);
    check_rate_under_limit(json_object_get_int_member(e, "current-rate"),
                           DIRTY_LIMIT_MBPS);
    out3 = qtest_hmp(t->from, "info vcpu_dirty_limit");
    g_assert_nonnull(strstr(out3, "vcpu[0], limit rate 16 (MB/s), current rate "));

    qtest_qmp_assert_success(t->from, "{'execute': 'cancel-vcpu-dirty-limit', "
                             "'arguments': {'cpu-index': 0}}");
    json_node_unref(q);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    /* 0 cancels too, and the guest is back to its full rate. */
    qtest_qmp_assert_success(t->from, "{'execute': 'set-vcpu-dirty-limit', "
                             "'arguments': {'dirty-rate': 0}}");
    out4 = qtest_hmp(t->from, "info vcpu_dirty_limit");
    g_assert_cmpstr(out4, ==, "Dirty page limit not enabled!\r\n");
    json_node_unref(ret);
    qtest_qmp_assert_success(t->from, "{'execute': 'calc-dirty-rate', 'arguments': "
                             "{'calc-time': 1, 'mode': 'dirty-bitmap'}}");
    ret = wait_dirty_rate_measured(t->from);
    check_dirty_rate(ret, "dirty-bitmap");
    migrate_test_free(t);
}

/* query-migrate's dirty-limit-throttle-time-per-round, -1 when absent. */
static int64_t query_dirty_limit_throttle(QTestState *who)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);

    if (!json_object_has_member(obj, "dirty-limit-throttle-time-per-round")) {
        return -1;
    }
    g_assert_true(json_object_has_member(obj, "dirty-limit-ring-full-time"));
    return json_object_get_int_member(obj, "dirty-limit-throttle-time-per-round");
}

/* Poll (60 s liveness bound) until the limiter has made a vCPU wait. */
static void wait_for_dirty_limit_throttle(QTestState *who)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (query_dirty_limit_throttle(who) <= 0) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
}

#define DIRTY_LIMIT_CAP_MBPS 4

/*
 * The dirty-limit capability (QEMU's /migration/dirty_limit): once
 * auto-converge's trigger fires, every vCPU is held to vcpu-dirty-limit;
 * the migration owns the limit (set / cancel refused; vcpu-dirty-limit
 * changes it live) until migrate_cancel lifts it; a second migration
 * limits again and completes
 * with the memory check.
 */
static void test_dirty_limit_migration(void)
{
    MigrateStart start = { .start_address = 1 << 20, .end_address = 3 << 20 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    g_autofree char *uri2 = g_strdup_printf("unix:%s/migsocket2", t->dir);
    g_autofree char *info = NULL;
    g_autoptr(JsonNode) q = NULL;
    JsonObject *e;

    migrate_set_capability(t->from, "dirty-limit", true);
    migrate_set_parameter_int(t->from, "x-vcpu-dirty-limit-period", 200);
    migrate_set_parameter_int(t->from, "vcpu-dirty-limit", DIRTY_LIMIT_CAP_MBPS);
    /* Any dirtying at all counts as too much: the trigger fires at once. */
    migrate_set_parameter_int(t->from, "throttle-trigger-threshold", 1);
    migrate_ensure_non_converge(t->from);
    migrate_set_parameter_int(t->from, "max-bandwidth", 1000000);
    /* QEMU's conflict, now that dirty-limit is on. */
    qtest_qmp_expect_error(t->from, "GenericError",
        "dirty-limit conflicts with auto-converge either of then available currently",
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': "
        "[{'capability': 'auto-converge', 'state': true}]}}");

    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    g_assert_cmpint(query_dirty_limit_throttle(t->from), ==, -1);
    migrate_qmp(t->from, uri, NULL);
    wait_for_dirty_limit_throttle(t->from);

    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 1);
    e = json_array_get_object_element(json_node_get_array(q), 0);
    g_assert_cmpint(json_object_get_int_member(e, "limit-rate"), ==, DIRTY_LIMIT_CAP_MBPS);
    qtest_qmp_expect_error(t->from, "GenericError",
        "can't set dirty page rate limit while migration is running",
        "{'execute': 'set-vcpu-dirty-limit', 'arguments': {'dirty-rate': 8}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "can't cancel dirty page rate limit while migration is running",
        "{'execute': 'cancel-vcpu-dirty-limit'}");
    info = qtest_hmp(t->from, "info migrate");
    g_assert_nonnull(strstr(info, "dirty-limit throttle time: "));
    g_assert_nonnull(strstr(info, "dirty-limit ring full time: "));

    /* A new vcpu-dirty-limit holds the vCPUs as it is set (QEMU: at its next trigger). */
    migrate_set_parameter_int(t->from, "vcpu-dirty-limit", DIRTY_LIMIT_CAP_MBPS * 2);
    g_clear_pointer(&q, json_node_unref);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 1);
    e = json_array_get_object_element(json_node_get_array(q), 0);
    g_assert_cmpint(json_object_get_int_member(e, "limit-rate"), ==,
                    DIRTY_LIMIT_CAP_MBPS * 2);

    /* migrate_cancel lifts the limit. */
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    g_clear_pointer(&q, json_node_unref);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);

    /* Again, to the end this time, at the first limit. */
    migrate_set_parameter_int(t->from, "vcpu-dirty-limit", DIRTY_LIMIT_CAP_MBPS);
    migrate_start_destination(t, &start);
    migrate_incoming_qmp(t->to, uri2, NULL);
    migrate_qmp(t->from, uri2, NULL);
    wait_for_dirty_limit_throttle(t->from);
    migrate_ensure_converge(t->from);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    g_clear_pointer(&q, json_node_unref);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    migrate_check_source_after(t);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* ---- auto-converge's dirty-page budget (tern's own) ---- */

/* query-migrate's x-auto-converge-dirty-limit, 0 when absent. */
static int64_t query_converge_budget(QTestState *who)
{
    g_autoptr(JsonNode) ret = migrate_query(who);
    JsonObject *obj = json_node_get_object(ret);

    if (!json_object_has_member(obj, "x-auto-converge-dirty-limit")) {
        return 0;
    }
    return json_object_get_int_member(obj, "x-auto-converge-dirty-limit");
}

static void set_switchover_hold(QTestState *who, bool hold)
{
    qtest_qmp_assert_success(who, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'x-switchover-hold': %s}}",
                             hold ? "true" : "false");
}

#define BUDGET_MAX_THROTTLE 20
#define BUDGET_BANDWIDTH    8000000     /* bytes/s */
/*
 * The most the budget (50 % of what the link sent in a period, per vCPU, in
 * MiB/s) may be: the rate window lets one period carry a burst above
 * max-bandwidth (a stress run saw 4 against 8 MB/s / 2 = 3.8), so up to
 * three quarters of it; a budget of the whole link would be 7.
 */
#define BUDGET_MAX_MBPS     (BUDGET_BANDWIDTH * 3 / 4 / (1 << 20))

/*
 * a-b over 8 MiB at 8 MB/s with auto-converge whose throttle cannot go
 * above 20 %: the interpreter rewrites the whole range many times between
 * two syncs, so the throttle alone can never make it converge.  Held
 * (x-switchover-hold) until the test has looked.
 */
static MigTest *budget_start(const char **uri, unsigned budget_pct)
{
    static char uri_buf[256];
    MigrateStart start = { .start_address = 1 << 20, .end_address = 9 << 20 };
    MigTest *t = migrate_start(&start);

    migrate_set_capability(t->from, "auto-converge", true);
    migrate_set_parameter_int(t->from, "cpu-throttle-initial", BUDGET_MAX_THROTTLE);
    migrate_set_parameter_int(t->from, "max-cpu-throttle", BUDGET_MAX_THROTTLE);
    /* Any dirtying at all counts as too much: every period is high. */
    migrate_set_parameter_int(t->from, "throttle-trigger-threshold", 1);
    migrate_set_parameter_int(t->from, "x-auto-converge-dirty-budget", budget_pct);
    migrate_set_parameter_int(t->from, "max-bandwidth", BUDGET_BANDWIDTH);
    migrate_set_parameter_int(t->from, "downtime-limit", 300);
    set_switchover_hold(t->from, true);
    g_snprintf(uri_buf, sizeof(uri_buf), "unix:%s/migsocket", t->dir);
    *uri = uri_buf;
    migrate_incoming_qmp(t->to, *uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, *uri, NULL);
    /* The throttle reaches its maximum at the first action. */
    wait_for_throttle(t->from, 0, BUDGET_MAX_THROTTLE);
    return t;
}

/*
 * With the budget (x-auto-converge-dirty-budget 50): at the next action,
 * the throttle being at its maximum, every vCPU is held to half of what the
 * link sent (about 3 MiB/s of 8 MB/s; BUDGET_MAX_MBPS says why up to 5);
 * released, the migration completes with the memory check, and the limit
 * goes with it.  Without the budget the release leaves it iterating for
 * ever (the test's 60 s bound).
 */
static void test_auto_converge_budget(void)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    g_autoptr(JsonNode) q = NULL;
    g_autofree char *hmp = NULL;
    const char *uri;
    JsonObject *e;
    int64_t mbps;
    MigTest *t = budget_start(&uri, 50);

    while (!(mbps = query_converge_budget(t->from))) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
    g_assert_cmpint(mbps, >=, 1);
    g_assert_cmpint(mbps, <=, BUDGET_MAX_MBPS);
    /* It is the vCPU dirty limit, owned by the migration meanwhile. */
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 1);
    e = json_array_get_object_element(json_node_get_array(q), 0);
    g_assert_cmpint(json_object_get_int_member(e, "limit-rate"), >=, 1);
    g_assert_cmpint(json_object_get_int_member(e, "limit-rate"), <=, BUDGET_MAX_MBPS);
    qtest_qmp_expect_error(t->from, "GenericError",
        "can't set dirty page rate limit while migration is running",
        "{'execute': 'set-vcpu-dirty-limit', 'arguments': {'dirty-rate': 8}}");
    hmp = qtest_hmp(t->from, "info migrate");
    g_assert_nonnull(strstr(hmp, "auto-converge dirty limit: "));
    g_assert_cmpint(query_throttle(t->from), ==, BUDGET_MAX_THROTTLE);

    /* Released at the same bandwidth and downtime limit: it converges now. */
    set_switchover_hold(t->from, false);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    g_assert_cmpint(query_converge_budget(t->from), ==, 0);
    g_clear_pointer(&q, json_node_unref);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    g_free(hmp);
    hmp = qtest_hmp(t->from, "info migrate");
    g_assert_null(strstr(hmp, "auto-converge dirty limit"));
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * x-auto-converge-dirty-budget 0 is QEMU's behaviour: the throttle at its
 * maximum, eight more dirty syncs (at least two more actions' worth of
 * periods), and no vCPU is limited; cancelled, it leaves the guest running.
 */
static void test_auto_converge_budget_off(void)
{
    g_autoptr(JsonNode) q = NULL;
    const char *uri;
    MigTest *t = budget_start(&uri, 0);
    int64_t syncs = migrate_query_ram_int(t->from, "dirty-sync-count");
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (migrate_query_ram_int(t->from, "dirty-sync-count") < syncs + 8) {
        g_assert_cmpint(query_converge_budget(t->from), ==, 0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
    g_assert_cmpint(query_converge_budget(t->from), ==, 0);
    g_assert_cmpint(query_throttle(t->from), ==, BUDGET_MAX_THROTTLE);
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    g_assert_cmpint(query_throttle(t->from), ==, 0);
    migrate_end(t, false);
    migrate_test_free(t);
}

/* Under KVM (no dirty ring in tern) QEMU's refusal; cancel is a no-op. */
static void test_dirty_limit_kvm(void)
{
    MigrateStart start = { .only_source = true, .accel = "kvm" };
    MigTest *t = migrate_start(&start);
    g_autoptr(JsonNode) q = NULL;

    if (!t) {
        return;
    }
    qtest_qmp_expect_error(t->from, "GenericError",
        "dirty page limit feature requires KVM with accelerator property "
        "'dirty-ring-size' set'",
        "{'execute': 'set-vcpu-dirty-limit', 'arguments': {'dirty-rate': 8}}");
    qtest_qmp_assert_success(t->from, "{'execute': 'cancel-vcpu-dirty-limit'}");
    g_assert_cmpint(json_array_get_length(query_dirty_limit(t->from, &q)), ==, 0);
    qtest_qmp_expect_error(t->from, "GenericError",
        "dirty-limit requires KVM with accelerator property 'dirty-ring-size' set",
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': "
        "[{'capability': 'dirty-limit', 'state': true}]}}");
    migrate_test_free(t);
}

void migration_register_converge_tests(void)
{
    g_test_add_func("/migration/dirty_limit/vcpu", test_dirty_limit_vcpu);
    g_test_add_func("/migration/dirty_limit", test_dirty_limit_migration);
    g_test_add_func("/migration/dirty_rate/errors", test_dirty_rate_errors);
    g_test_add_func("/migration/dirty_rate/sampling", test_dirty_rate_sampling);
    g_test_add_func("/migration/dirty_rate/bitmap", test_dirty_rate_bitmap);
    g_test_add_data_func("/migration/auto_converge", "interp", test_auto_converge);
    g_test_add_func("/migration/auto_converge/dirty_budget", test_auto_converge_budget);
    g_test_add_func("/migration/auto_converge/no_dirty_budget",
                    test_auto_converge_budget_off);
}

void migration_register_converge_kvm_tests(void)
{
    g_test_add_data_func("/migration/auto_converge/kvm", "kvm", test_auto_converge);
    g_test_add_func("/migration/dirty_limit/kvm", test_dirty_limit_kvm);
}
