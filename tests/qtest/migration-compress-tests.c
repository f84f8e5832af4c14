/*
 * Capability compress end to end (QEMU 9.0's
 * /migration/precopy/unix/compress/{wait,nowait}, and wait over tcp): the
 * a-b guest migrated live with compress on both sides, pages compressed by
 * 4 threads and decompressed by 4, then the guest's memory checked on the
 * destination.
 * The source's counters must show compressed pages, and a destination
 * without the capability must refuse them.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

typedef struct CompressArgs {
    const char *uri;            /* "%s" is the test directory; tcp port 0 is looked up */
    bool wait_thread;
} CompressArgs;

static void assert_contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        g_error("no \"%s\" in:\n%s", what, text);
    }
}

static void compress_set_params(MigTest *t, bool wait_thread)
{
    migrate_set_parameter_int(t->from, "compress-level", 1);
    migrate_set_parameter_int(t->from, "compress-threads", 4);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-set-parameters', 'arguments': "
                             "{'compress-wait-thread': %s}}", wait_thread ? "true" : "false");
    migrate_set_parameter_int(t->to, "decompress-threads", 4);
    migrate_set_capability(t->from, "compress", true);
}

/* The source's counters and monitor output once it completed. */
static void compress_check_source(MigTest *t, bool wait_thread)
{
    g_autoptr(JsonNode) info = migrate_query(t->from);
    g_autoptr(JsonNode) dst_info = migrate_query(t->to);
    g_autofree char *out = qtest_hmp(t->from, "info migrate");
    JsonObject *obj = json_node_get_object(info);
    JsonObject *c;

    g_assert_true(json_object_has_member(obj, "compression"));
    c = json_object_get_object_member(obj, "compression");
    g_test_message("compression: pages %" G_GINT64_FORMAT ", busy %" G_GINT64_FORMAT
                   ", compressed-size %" G_GINT64_FORMAT ", rate %.2f",
                   json_object_get_int_member(c, "pages"),
                   json_object_get_int_member(c, "busy"),
                   json_object_get_int_member(c, "compressed-size"),
                   json_object_get_double_member(c, "compression-rate"));
    /*
     * Every data page of the a-b range but a section's first went to the
     * pool at least once: compressed, or, without waiting, counted busy
     * when no thread was free (how many depends on the threads' speed).
     * A section's first pages always find the ring empty.
     */
    g_assert_cmpint(json_object_get_int_member(c, "pages") +
                    json_object_get_int_member(c, "busy"), >=,
                    (t->end_address - t->start_address) / MIG_PAGE_SIZE / 2);
    g_assert_cmpint(json_object_get_int_member(c, "pages"), >, 0);
    /* The fill is repetitive: zlib shrinks each page well below its size. */
    g_assert_cmpint(json_object_get_int_member(c, "compressed-size"), <,
                    json_object_get_int_member(c, "pages") * MIG_PAGE_SIZE / 4);
    if (wait_thread) {
        g_assert_cmpint(json_object_get_int_member(c, "busy"), ==, 0);
        g_assert_cmpint(json_object_get_int_member(c, "pages"), >=,
                        (t->end_address - t->start_address) / MIG_PAGE_SIZE / 2);
    }
    g_assert_cmpfloat(json_object_get_double_member(c, "busy-rate"), >=, 0);
    g_assert_cmpfloat(json_object_get_double_member(c, "compression-rate"), >=, 0);
    /* A destination sends no pages: no such counters. */
    g_assert_false(json_object_has_member(json_node_get_object(dst_info), "compression"));
    assert_contains(out, "compression pages: ");
    assert_contains(out, "compression busy: ");
    assert_contains(out, "compressed size: ");
}

static void test_compress_common(const CompressArgs *args)
{
    MigTest *t = migrate_start(&(MigrateStart){ 0 });
    g_autofree char *listen = NULL;
    g_autofree char *connect = NULL;

    if (!t) {
        return;
    }
    listen = strstr(args->uri, "%s") ? g_strdup_printf(args->uri, t->dir)
                                     : g_strdup(args->uri);
    compress_set_params(t, args->wait_thread);
    migrate_set_capability(t->to, "compress", true);
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, listen, NULL);
    wait_for_serial(t->src_serial);
    connect = migrate_get_connect_uri(t->to, listen);
    migrate_qmp(t->from, connect, NULL);
    /* Memory already sent is dirty again: later rounds go through the threads too. */
    migrate_wait_for_dirty_mem(t);
    migrate_ensure_converge(t->from);
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    compress_check_source(t, args->wait_thread);
    migrate_end(t, true);
    migrate_test_free(t);
}

static void test_precopy_unix_compress_wait(void)
{
    CompressArgs args = { .uri = "unix:%s/migsocket", .wait_thread = true };

    test_compress_common(&args);
}

static void test_precopy_tcp_compress_wait(void)
{
    CompressArgs args = { .uri = "tcp:127.0.0.1:0", .wait_thread = true };

    test_compress_common(&args);
}

static void test_precopy_unix_compress_nowait(void)
{
    CompressArgs args = { .uri = "unix:%s/migsocket", .wait_thread = false };

    test_compress_common(&args);
}

/* Compressed pages reach a destination without the capability: its load fails, naming them. */
static void test_precopy_unix_compress_dest_off(void)
{
    MigTest *t = migrate_start(&(MigrateStart){ 0 });
    g_autofree char *uri = NULL;
    g_autofree char *err = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonObject *obj;

    if (!t) {
        return;
    }
    uri = g_strdup_printf("unix:%s/migsocket", t->dir);
    compress_set_params(t, true);
    /* The return path makes the source fail with the destination, whenever it fails. */
    migrate_set_capability(t->from, "return-path", true);
    migrate_set_capability(t->to, "return-path", true);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_status(t->to, "failed", NULL);
    info = migrate_query(t->to);
    obj = json_node_get_object(info);
    g_assert_true(json_object_has_member(obj, "error-desc"));
    assert_contains(json_object_get_string_member(obj, "error-desc"),
                    "Received an unexpected compressed page");
    err = wait_for_migration_fail(t->from, true);
    migrate_end(t, false);
    migrate_test_free(t);
}

/*
 * QEMU 9.0's /migration/postcopy/compress/plain: compress and postcopy-ram
 * on both sides; pages of the precopy phase go through the pools, those
 * after the switch are compressed by the migration thread and placed by
 * the destination; everything arrives.
 */
static void test_postcopy_compress(void)
{
    g_autofree char *why = NULL;
    g_autofree char *connect = NULL;
    g_autoptr(JsonNode) info = NULL;
    MigTest *t;
    JsonObject *c;

    if (!userfaultfd_usable(&why)) {
        g_test_skip(why);
        return;
    }
    t = migrate_start(&(MigrateStart){ 0 });
    if (!t) {
        return;
    }
    compress_set_params(t, true);
    migrate_set_capability(t->to, "compress", true);
    for (int i = 0; i < 2; i++) {
        migrate_set_capability(i ? t->to : t->from, "postcopy-ram", true);
    }
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", NULL);
    wait_for_serial(t->src_serial);
    connect = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_qmp(t->from, connect, NULL);
    migrate_wait_for_dirty_mem(t);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    migration_event_wait(t->from, "postcopy-active");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    migration_event_wait(t->to, "postcopy-active");
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    info = migrate_query(t->from);
    c = json_object_get_object_member(json_node_get_object(info), "compression");
    g_test_message("compression: pages %" G_GINT64_FORMAT ", postcopy-bytes %" G_GINT64_FORMAT,
                   json_object_get_int_member(c, "pages"),
                   migrate_query_ram_int(t->from, "postcopy-bytes"));
    /* The precopy phase's first round alone compressed most of the a-b range. */
    g_assert_cmpint(json_object_get_int_member(c, "pages"), >=,
                    (t->end_address - t->start_address) / MIG_PAGE_SIZE / 2);
    g_assert_cmpint(migrate_query_ram_int(t->from, "postcopy-bytes"), >, 0);
    migrate_end(t, true);
    migrate_test_free(t);
}

void migration_register_compress_tests(void)
{
    g_test_add_func("/migration/precopy/unix/compress/wait", test_precopy_unix_compress_wait);
    g_test_add_func("/migration/precopy/unix/compress/nowait", test_precopy_unix_compress_nowait);
    g_test_add_func("/migration/precopy/tcp/compress/wait", test_precopy_tcp_compress_wait);
    g_test_add_func("/migration/postcopy/compress/plain", test_postcopy_compress);
    g_test_add_func("/migration/precopy/unix/compress/dest-off",
                    test_precopy_unix_compress_dest_off);
}
