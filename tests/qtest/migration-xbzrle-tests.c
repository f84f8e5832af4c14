/*
 * XBZRLE end to end (QEMU's /migration/precopy/unix/xbzrle): the a-b
 * guest migrated live with the xbzrle capability and a 32 MiB cache, over
 * unix and tcp, and with the cache resized while it runs; the guest's
 * memory is checked afterwards.
 *
 * The test, not the guest, keeps the migration from converging and makes
 * the counters certain.  It writes a byte into each of 64 pages the guest
 * never touches every 10 ms, and once the first round is out it lowers
 * max-bandwidth so far that a round of those 64 deltas alone takes 400 ms
 * (the rate window lets 16 pages through per 100 ms): every dirty sync
 * finds them dirty.  Then it writes two probe pages and waits until the
 * destination has them (cache misses, the pages now cached), changes two
 * bytes of one and all of the other and waits again (a delta and an
 * overflow).  What the guest does meanwhile only adds to the counters.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

#define XBZRLE_CACHE_SIZE       33554432
/* The guest's range: 256 pages, so its first round of misses is short. */
#define XBZRLE_AB_START         (1u << 20)
#define XBZRLE_AB_END           (2u << 20)
/* The probe pages (a delta, an overflow) and the rewritten region, past the guest's range. */
#define XBZRLE_PROBE_DELTA      (XBZRLE_AB_END + 64u * MIG_PAGE_SIZE)
#define XBZRLE_PROBE_OVERFLOW   (XBZRLE_PROBE_DELTA + MIG_PAGE_SIZE)
#define XBZRLE_REGION           (4u << 20)
#define XBZRLE_REGION_SIZE      (64u * MIG_PAGE_SIZE)
/* Bytes/s for the first round (a few seconds), then: 16 pages per 100 ms window. */
#define XBZRLE_BANDWIDTH        1000000
#define XBZRLE_SLOW_BANDWIDTH   2000
#define XBZRLE_DRIVE_TIMEOUT_US (120 * G_USEC_PER_SEC)
/*
 * How often the region is rewritten, one byte a page: writing whole pages
 * as often made a TSan build crawl (each byte a suppressed race with the
 * migration thread's reads).
 */
#define XBZRLE_REWRITE_US       (10 * 1000)

typedef struct XbzrleArgs {
    const char *uri;            /* "%s" is the test directory; tcp port 0 is looked up */
    bool resize;                /* halve xbzrle-cache-size while it runs */
} XbzrleArgs;

typedef struct XbzrleRun {
    MigTest *t;
    uint8_t region_value;       /* the region's fill, changed at each rewrite */
} XbzrleRun;

static int64_t sync_count(XbzrleRun *r)
{
    return migrate_query_ram_int(r->t->from, "dirty-sync-count");
}

static bool dest_has(XbzrleRun *r, uint64_t addr, uint8_t value)
{
    return qtest_readb(r->t->qto, addr) == value;
}

/*
 * Rewrite the region every XBZRLE_REWRITE_US until @done: every dirty sync
 * finds it dirty, so none can end the migration.
 */
#define XBZRLE_DRIVE_UNTIL(r, done, what)                                   \
    do {                                                                    \
        gint64 deadline_ = g_get_monotonic_time() + XBZRLE_DRIVE_TIMEOUT_US; \
                                                                            \
        for (;;) {                                                          \
            qtest_memset_strided((r)->t->qfrom, XBZRLE_REGION,             \
                                 XBZRLE_REGION + XBZRLE_REGION_SIZE,        \
                                 MIG_PAGE_SIZE, ++(r)->region_value, 1);    \
            if (done) {                                                     \
                break;                                                      \
            }                                                               \
            if (g_get_monotonic_time() > deadline_) {                       \
                xbzrle_timeout((r), (what));                                \
            }                                                               \
            g_usleep(XBZRLE_REWRITE_US);                                    \
        }                                                                   \
    } while (0)

static G_NORETURN void xbzrle_timeout(XbzrleRun *r, const char *what)
{
    g_autoptr(JsonNode) info = migrate_query(r->t->from);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, info);
    g_error("%s did not happen; the source's query-migrate: %s", what,
            json_generator_to_data(gen, NULL));
}

static JsonObject *xbzrle_stats(JsonNode *info)
{
    JsonObject *obj = json_node_get_object(info);

    g_assert_true(json_object_has_member(obj, "xbzrle-cache"));
    return json_object_get_object_member(obj, "xbzrle-cache");
}

static void assert_contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        g_error("no \"%s\" in:\n%s", what, text);
    }
}

/* The source's figures and monitor output after it completed. */
static void check_source_stats(MigTest *t, uint64_t cache_size)
{
    g_autoptr(JsonNode) info = migrate_query(t->from);
    g_autoptr(JsonNode) dst_info = migrate_query(t->to);
    g_autofree char *out = qtest_hmp(t->from, "info migrate");
    g_autofree char *params = qtest_hmp(t->from, "info migrate_parameters");
    g_autofree char *size_line = g_strdup_printf("cache size: %" G_GUINT64_FORMAT " bytes",
                                                 cache_size);
    g_autofree char *param_line = g_strdup_printf("xbzrle-cache-size: %" G_GUINT64_FORMAT
                                                  " bytes", cache_size);
    JsonObject *x = xbzrle_stats(info);

    g_test_message("xbzrle: pages %" G_GINT64_FORMAT ", bytes %" G_GINT64_FORMAT
                   ", cache-miss %" G_GINT64_FORMAT ", overflow %" G_GINT64_FORMAT,
                   json_object_get_int_member(x, "pages"),
                   json_object_get_int_member(x, "bytes"),
                   json_object_get_int_member(x, "cache-miss"),
                   json_object_get_int_member(x, "overflow"));
    g_assert_cmpint(json_object_get_int_member(x, "cache-size"), ==, cache_size);
    /* The probes' misses, then a delta and an overflow. */
    g_assert_cmpint(json_object_get_int_member(x, "cache-miss"), >=, 2);
    g_assert_cmpint(json_object_get_int_member(x, "pages"), >=, 2);
    g_assert_cmpint(json_object_get_int_member(x, "overflow"), >=, 1);
    g_assert_cmpint(json_object_get_int_member(x, "bytes"), >,
                    json_object_get_int_member(x, "overflow") * MIG_PAGE_SIZE);
    g_assert_cmpfloat(json_object_get_double_member(x, "cache-miss-rate"), >=, 0);
    g_assert_cmpfloat(json_object_get_double_member(x, "encoding-rate"), >=, 0);
    /* A destination sends no pages: no such counters. */
    g_assert_false(json_object_has_member(json_node_get_object(dst_info), "xbzrle-cache"));

    assert_contains(out, size_line);
    assert_contains(out, "xbzrle pages: ");
    assert_contains(out, "xbzrle cache miss: ");
    assert_contains(out, "xbzrle overflow: ");
    assert_contains(params, param_line);
}

static void test_xbzrle_common(const XbzrleArgs *args)
{
    MigrateStart start = {
        .start_address = XBZRLE_AB_START,
        .end_address = XBZRLE_AB_END,
    };
    g_autofree char *listen = NULL;
    g_autofree char *connect = NULL;
    uint64_t cache_size = XBZRLE_CACHE_SIZE;
    XbzrleRun r = { 0 };
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    r.t = t;
    listen = strstr(args->uri, "%s") ? g_strdup_printf(args->uri, t->dir)
                                     : g_strdup(args->uri);
    /* Only the source: a destination, QEMU's or tern's, loads deltas without it. */
    migrate_set_capability(t->from, "xbzrle", true);
    migrate_set_parameter_int(t->from, "xbzrle-cache-size", cache_size);
    migrate_set_parameter_int(t->from, "downtime-limit", 1);
    migrate_set_parameter_int(t->from, "max-bandwidth", XBZRLE_BANDWIDTH);
    migrate_incoming_qmp(t->to, listen, NULL);
    wait_for_serial(t->src_serial);
    connect = migrate_get_connect_uri(t->to, listen);
    migrate_qmp(t->from, connect, NULL);

    /* Sync 2 comes once the first round was sent: deltas from here on. */
    XBZRLE_DRIVE_UNTIL(&r, sync_count(&r) >= 2, "dirty sync 2");
    migrate_set_parameter_int(t->from, "max-bandwidth", XBZRLE_SLOW_BANDWIDTH);
    if (args->resize) {
        cache_size /= 2;
        migrate_set_parameter_int(t->from, "xbzrle-cache-size", cache_size);
        g_assert_cmpint(migrate_get_parameter_int(t->from, "xbzrle-cache-size"), ==,
                        cache_size);
    }
    /* Not cached: misses. */
    qtest_writeb(t->qfrom, XBZRLE_PROBE_DELTA + 7, 0x11);
    qtest_writeb(t->qfrom, XBZRLE_PROBE_OVERFLOW + 7, 0x11);
    XBZRLE_DRIVE_UNTIL(&r, dest_has(&r, XBZRLE_PROBE_DELTA + 7, 0x11) &&
                           dest_has(&r, XBZRLE_PROBE_OVERFLOW + 7, 0x11), "the probes' misses");
    /* Cached: two bytes changed are a delta, every byte changed an overflow. */
    qtest_writeb(t->qfrom, XBZRLE_PROBE_DELTA + 9, 0x22);
    qtest_memset(t->qfrom, XBZRLE_PROBE_OVERFLOW, 0x5a, MIG_PAGE_SIZE);
    XBZRLE_DRIVE_UNTIL(&r, dest_has(&r, XBZRLE_PROBE_DELTA + 9, 0x22) &&
                           dest_has(&r, XBZRLE_PROBE_OVERFLOW + 4095, 0x5a),
                       "the probes' delta and overflow");

    migrate_ensure_converge(t->from);
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    check_source_stats(t, cache_size);
    g_assert_cmphex(qtest_readb(t->qto, XBZRLE_PROBE_DELTA + 7), ==, 0x11);
    g_assert_cmphex(qtest_readb(t->qto, XBZRLE_PROBE_DELTA + 9), ==, 0x22);
    g_assert_cmphex(qtest_readb(t->qto, XBZRLE_PROBE_OVERFLOW), ==, 0x5a);
    g_assert_cmphex(qtest_readb(t->qto, XBZRLE_REGION + XBZRLE_REGION_SIZE - MIG_PAGE_SIZE), ==,
                    qtest_readb(t->qfrom, XBZRLE_REGION + XBZRLE_REGION_SIZE - MIG_PAGE_SIZE));
    migrate_end(t, true);
    migrate_test_free(t);
}

static void test_precopy_unix_xbzrle(void)
{
    XbzrleArgs args = { .uri = "unix:%s/migsocket" };

    test_xbzrle_common(&args);
}

static void test_precopy_tcp_xbzrle(void)
{
    XbzrleArgs args = { .uri = "tcp:127.0.0.1:0" };

    test_xbzrle_common(&args);
}

static void test_precopy_unix_xbzrle_resize(void)
{
    XbzrleArgs args = { .uri = "unix:%s/migsocket", .resize = true };

    test_xbzrle_common(&args);
}

void migration_register_xbzrle_tests(void)
{
    g_test_add_func("/migration/precopy/unix/xbzrle", test_precopy_unix_xbzrle);
    g_test_add_func("/migration/precopy/tcp/xbzrle", test_precopy_tcp_xbzrle);
    g_test_add_func("/migration/precopy/unix/xbzrle/resize", test_precopy_unix_xbzrle_resize);
}
