/*
 * RAM verification (capability x-verify-ram): a live a-b migration whose
 * destination finds its RAM equal to the source's, and one through a
 * proxy in this test that flips one byte of page data in transit, which
 * the destination must name (block and range) and refuse to run while
 * the source's guest keeps running; each over the main channel, over
 * multifd's, with XBZRLE, and in postcopy (where the destination's guest
 * already runs: it is paused, and the source's stays stopped).
 */
#include "migration-helpers.h"
#include "migration-proxy.h"
#include "migration-tests.h"

#include <inttypes.h>
#include <string.h>

/* A page the a-b guest never writes (its range ends at 9 MiB), in 1 MiB chunk 10. */
#define VERIFY_MARKER_ADDR  0xa00000u
#define VERIFY_MARKER       "tern-verify-ram-marker-32-bytes!"

static char *unix_uri(MigTest *t, const char *name)
{
    g_autofree char *path = migrate_test_path(t, name);

    return g_strdup_printf("unix:%s", path);
}

/* The RAM path a test's pages take. */
typedef struct VerifyPath {
    unsigned channels;          /* multifd channels; 0: the main channel */
    bool xbzrle;
    bool postcopy;              /* migrate-start-postcopy once the migration runs */
    bool preempt;               /* with postcopy-preempt: requested pages on a channel of their own */
} VerifyPath;

static const VerifyPath path_plain = { 0 };
static const VerifyPath path_multifd = { .channels = 4 };
static const VerifyPath path_xbzrle = { .xbzrle = true };
static const VerifyPath path_postcopy = { .postcopy = true };
static const VerifyPath path_preempt = { .postcopy = true, .preempt = true };

/* migrate_start(), or NULL (the test skipped) when @path needs a userfaultfd there is not. */
static MigTest *verify_start(const VerifyPath *path)
{
    MigrateStart start = { 0 };
    g_autofree char *why = NULL;

    if (path->postcopy && !userfaultfd_usable(&why)) {
        g_test_skip(why);
        return NULL;
    }
    return migrate_start(&start);
}

/* x-verify-ram (and return-path) on both sides, and what @path needs. */
static void set_verify_both(MigTest *t, const VerifyPath *path)
{
    QTestState *sides[] = { t->from, t->to };

    for (size_t i = 0; i < G_N_ELEMENTS(sides); i++) {
        migrate_set_capability(sides[i], "return-path", true);
        migrate_set_capability(sides[i], "x-verify-ram", true);
        if (path->channels) {
            migrate_set_capability(sides[i], "multifd", true);
            migrate_set_parameter_int(sides[i], "multifd-channels", path->channels);
        }
        if (path->xbzrle) {
            migrate_set_capability(sides[i], "xbzrle", true);
        }
        if (path->postcopy) {
            migrate_set_capability(sides[i], "postcopy-ram", true);
        }
        if (path->preempt) {
            migrate_set_capability(sides[i], "postcopy-preempt", true);
        }
    }
    if (path->xbzrle) {
        migrate_set_parameter_int(t->from, "xbzrle-cache-size", 32 << 20);
    }
}

/* query-migrate's x-verify-ram member of @who (transfer full; must be there). */
static JsonObject *verify_info(QTestState *who)
{
    g_autoptr(JsonNode) info = migrate_query(who);
    JsonObject *obj = json_node_get_object(info);

    g_assert_true(json_object_has_member(obj, "x-verify-ram"));
    return json_object_ref(json_object_get_object_member(obj, "x-verify-ram"));
}

static void check_verify_status(QTestState *who, const char *status)
{
    JsonObject *v = verify_info(who);

    g_assert_cmpstr(json_object_get_string_member(v, "status"), ==, status);
    g_assert_cmpstr(json_object_get_string_member(v, "algorithm"), ==, "crc32-sha256");
    g_assert_cmpint(json_object_get_int_member(v, "pages"), >, 0);
    json_object_unref(v);
}

/* Poll until the source failed, through any running state; its error-desc (transfer full). */
static char *verify_wait_source_fail(QTestState *from)
{
    static const char *const running[] = { "setup", "active", "device", "postcopy-active",
                                           NULL };
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    g_autoptr(JsonNode) info = NULL;

    for (;;) {
        g_autofree char *status = migrate_query_status(from);

        if (!strcmp(status, "failed")) {
            break;
        }
        if (!g_strv_contains(running, status)) {
            g_error("source in '%s' while waiting for it to fail", status);
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    info = migrate_query(from);
    return g_strdup(json_object_get_string_member(json_node_get_object(info), "error-desc"));
}

/* ---- live a-b, verified ---- */

/*
 * @data: the VerifyPath.  Postcopy: the a-b guest keeps writing pages
 * already sent, so pages placed after the switch (by the background pass,
 * or asked for by the guest's faults) differ from their precopy copies:
 * were they not digested on either side, the comparison would fail.
 */
static void test_verify_live(gconstpointer data)
{
    const VerifyPath *path = data;
    MigTest *t = verify_start(path);
    g_autofree char *uri = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    set_verify_both(t, path);
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migrate_wait_for_dirty_mem(t);
    if (path->postcopy) {
        qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
        migration_event_wait(t->to, "postcopy-active");
    } else {
        migrate_ensure_converge(t->from);
    }
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    check_verify_status(t->from, "passed");
    check_verify_status(t->to, "passed");
    if (path->channels) {
        g_assert_cmpint(migrate_query_ram_int(t->from, "multifd-bytes"), >,
                        (int64_t)(t->end_address - t->start_address));
    }
    if (path->xbzrle) {
        g_autoptr(JsonNode) info = migrate_query(t->from);
        JsonObject *x = json_object_get_object_member(json_node_get_object(info),
                                                      "xbzrle-cache");

        /*
         * The pages went through XBZRLE's choice (a first send misses the
         * cache and goes whole, from the cache's copy).  Whether deltas
         * follow depends on how far the guest got: not asserted.
         */
        g_test_message("xbzrle: pages %" G_GINT64_FORMAT ", cache-miss %" G_GINT64_FORMAT,
                       json_object_get_int_member(x, "pages"),
                       json_object_get_int_member(x, "cache-miss"));
        g_assert_cmpint(json_object_get_int_member(x, "cache-miss"), >, 0);
    }
    if (path->postcopy) {
        g_test_message("postcopy-requests %" PRId64 ", postcopy-bytes %" PRId64,
                       migrate_query_ram_int(t->from, "postcopy-requests"),
                       migrate_query_ram_int(t->from, "postcopy-bytes"));
        g_assert_cmpint(migrate_query_ram_int(t->from, "postcopy-bytes"), >, 0);
    }
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/* ---- a proxy that flips one byte of page data ---- */

/*
 * The tap of a proxy (migration-proxy.h) on the main channel and the
 * multifd / preempt ones: the first whole marker seen going to the
 * destination on any of them has one bit flipped (the marker page holds
 * 128 copies, so one lies inside some read whatever the boundaries).
 */
static size_t verify_tap(void *opaque, unsigned conn, MigProxyDir dir, uint8_t *buf,
                         size_t len, uint64_t offset, MigProxyAction *action)
{
    gint *flipped = opaque;
    size_t mlen = strlen(VERIFY_MARKER);

    for (size_t i = 0; dir == MIG_PROXY_TO_TARGET && !g_atomic_int_get(flipped) &&
                       i + mlen <= len; i++) {
        if (!memcmp(buf + i, VERIFY_MARKER, mlen) &&
            g_atomic_int_compare_and_exchange(flipped, 0, 1)) {
            buf[i + 5] ^= 0x10;
        }
    }
    return len;
}

/* All @nconn connections came through; stop the proxy.  Whether it flipped a byte. */
static bool verify_proxy_finish(MigProxy *p, unsigned nconn, gint *flipped)
{
    mig_proxy_wait_connections(p, nconn);
    mig_proxy_cut_and_free(p);
    return g_atomic_int_get(flipped);
}

/*
 * @data as for test_verify_live(); the marker page may go over any
 * channel.  Postcopy starts at once, so the marker may go before or after
 * the switch: the comparison at the end covers both.
 */
static void test_verify_corrupt_in_transit(gconstpointer data)
{
    const VerifyPath *path = data;
    MigTest *t = verify_start(path);
    g_autofree char *dst_path = NULL;
    g_autofree char *proxy_path = NULL;
    g_autofree char *dst_uri = NULL;
    g_autofree char *proxy_uri = NULL;
    g_autofree char *desc = NULL;
    g_autofree char *runstate = NULL;
    g_autofree char *marker = g_malloc(MIG_PAGE_SIZE);
    MigProxy *proxy;
    gint flipped = 0;
    JsonObject *v;

    if (!t) {
        return;
    }
    for (size_t i = 0; i < MIG_PAGE_SIZE; i += strlen(VERIFY_MARKER)) {
        memcpy(marker + i, VERIFY_MARKER, strlen(VERIFY_MARKER));
    }
    qtest_memwrite(t->qfrom, VERIFY_MARKER_ADDR, marker, MIG_PAGE_SIZE);
    dst_path = migrate_test_path(t, "dst.sock");
    proxy_path = migrate_test_path(t, "proxy.sock");
    dst_uri = g_strdup_printf("unix:%s", dst_path);
    proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    set_verify_both(t, path);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, dst_uri, "'exit-on-error': false");
    proxy = mig_proxy_new(proxy_path, dst_path, verify_tap, &flipped);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, proxy_uri, NULL);
    if (path->postcopy) {
        qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    }

    /* The destination names the chunk of the flipped byte and does not run. */
    migration_event_wait(t->to, "failed");
    desc = migrate_query_status(t->to);
    g_assert_cmpstr(desc, ==, "failed");
    v = verify_info(t->to);
    g_assert_cmpstr(json_object_get_string_member(v, "status"), ==, "failed");
    g_assert_cmpstr(json_object_get_string_member(v, "mismatch-block"), ==, "pc.ram");
    g_assert_cmphex(json_object_get_int_member(v, "mismatch-offset"), ==, VERIFY_MARKER_ADDR);
    g_assert_cmphex(json_object_get_int_member(v, "mismatch-length"), ==, 0x100000);
    json_object_unref(v);
    runstate = migrate_runstate(t->to);
    /* Postcopy: the guest ran here already, and stops on the verdict. */
    if (path->postcopy) {
        g_assert_cmpstr(runstate, ==, "paused");
    } else {
        g_assert_cmpstr(runstate, !=, "running");
    }
    {
        g_autoptr(JsonNode) info = migrate_query(t->to);
        const char *err = json_object_get_string_member(json_node_get_object(info),
                                                        "error-desc");

        g_test_message("destination error-desc: %s", err);
        g_assert_nonnull(strstr(err, "\"pc.ram\" at 0xa00000-0xafffff"));
        g_assert_true(!path->postcopy ||
                      strstr(err, "postcopy: the guest already ran on it here"));
    }

    /*
     * The source hears of it through the return path; its guest runs on,
     * but after a postcopy switch, when the destination's ran, stays stopped.
     */
    g_clear_pointer(&desc, g_free);
    desc = verify_wait_source_fail(t->from);
    g_assert_nonnull(desc);
    g_test_message("source error-desc: %s", desc);
    g_clear_pointer(&runstate, g_free);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, path->postcopy ? "postmigrate" : "running");
    if (!path->postcopy) {
        wait_for_serial(t->src_serial);
    }
    g_assert_true(verify_proxy_finish(proxy, 1 + path->channels + path->preempt, &flipped));
    migrate_end(t, false);
    migrate_test_free(t);
}

/* ---- refusals ---- */

/* To a socket the source must hear the verdict: migrate refuses it without return-path. */
static void test_verify_needs_return_path(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = NULL;
    g_autofree char *args = NULL;
    g_autofree char *desc = NULL;

    if (!t) {
        return;
    }
    uri = unix_uri(t, "migsocket");
    migrate_set_capability(t->from, "x-verify-ram", true);
    args = g_strdup_printf("{'uri': '%s'}", uri);
    desc = migrate_qmp_fail(t->from, args);
    g_assert_cmpstr(desc, ==, "Capability 'x-verify-ram' requires capability 'return-path' "
                    "(but to a file: URI, whose load verifies)");
    migrate_end(t, false);
    migrate_test_free(t);
}

void migration_register_verify_tests(void)
{
    g_test_add_data_func("/migration/verify_ram/precopy", &path_plain, test_verify_live);
    g_test_add_data_func("/migration/verify_ram/corrupt_in_transit", &path_plain,
                         test_verify_corrupt_in_transit);
    g_test_add_data_func("/migration/verify_ram/multifd/precopy", &path_multifd,
                         test_verify_live);
    g_test_add_data_func("/migration/verify_ram/multifd/corrupt_in_transit", &path_multifd,
                         test_verify_corrupt_in_transit);
    g_test_add_data_func("/migration/verify_ram/xbzrle/precopy", &path_xbzrle,
                         test_verify_live);
    g_test_add_data_func("/migration/verify_ram/xbzrle/corrupt_in_transit", &path_xbzrle,
                         test_verify_corrupt_in_transit);
    g_test_add_data_func("/migration/verify_ram/postcopy/live", &path_postcopy,
                         test_verify_live);
    g_test_add_data_func("/migration/verify_ram/postcopy/preempt", &path_preempt,
                         test_verify_live);
    g_test_add_data_func("/migration/verify_ram/postcopy/corrupt_in_transit", &path_postcopy,
                         test_verify_corrupt_in_transit);
    g_test_add_func("/migration/verify_ram/needs_return_path", test_verify_needs_return_path);
    migration_register_verify_file_tests();
}
