/*
 * RAM verification (x-verify-ram) to a file: the a-b guest saved live to a
 * file: URI (no return path: the load verifies), in the stream's layout or
 * with mapped-ram, then loaded with the memory check; and the same file
 * with one bit of page data flipped on disk, whose load fails naming the
 * block and the 1 MiB range and does not run the guest.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>

/* A page the a-b guest never writes (its range ends at 9 MiB): saved once, in chunk 10. */
#define VERIFY_FILE_MARKER_ADDR 0xa00000u
#define VERIFY_FILE_MARKER      "tern-verify-file-marker-32-byte!"

static char *verify_file_path(MigTest *t)
{
    return migrate_test_path(t, "migfile");
}

static char *verify_file_uri(MigTest *t)
{
    g_autofree char *path = verify_file_path(t);

    return g_strdup_printf("file:%s", path);
}

/* query-migrate's x-verify-ram status of @who (it must be there). */
static char *verify_file_status(QTestState *who)
{
    g_autoptr(JsonNode) info = migrate_query(who);
    JsonObject *obj = json_node_get_object(info);

    g_assert_true(json_object_has_member(obj, "x-verify-ram"));
    return g_strdup(json_object_get_string_member(
                        json_object_get_object_member(obj, "x-verify-ram"), "status"));
}

/*
 * Save the a-b guest live to migfile with x-verify-ram (and mapped-ram when
 * @mapped), after filling the marker page; the destination gets the same
 * capabilities, ready to load.
 */
static MigTest *verify_file_save(bool mapped)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = verify_file_uri(t);
    g_autofree char *marker = g_malloc(MIG_PAGE_SIZE);
    g_autofree char *status = NULL;
    QTestState *sides[] = { t->from, t->to };

    for (size_t i = 0; i < MIG_PAGE_SIZE; i += strlen(VERIFY_FILE_MARKER)) {
        memcpy(marker + i, VERIFY_FILE_MARKER, strlen(VERIFY_FILE_MARKER));
    }
    qtest_memwrite(t->qfrom, VERIFY_FILE_MARKER_ADDR, marker, MIG_PAGE_SIZE);
    for (size_t i = 0; i < G_N_ELEMENTS(sides); i++) {
        migrate_set_capability(sides[i], "x-verify-ram", true);
        migrate_set_capability(sides[i], "mapped-ram", mapped);
    }
    wait_for_serial(t->src_serial);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    migrate_check_source_after(t);
    /* The source's "passed": its digests are in the file; the load decides. */
    status = verify_file_status(t->from);
    g_assert_cmpstr(status, ==, "passed");
    return t;
}

/* @data: mapped-ram or not (GINT_TO_POINTER). */
static void test_verify_file(gconstpointer data)
{
    MigTest *t = verify_file_save(GPOINTER_TO_INT(data));
    g_autofree char *uri = verify_file_uri(t);
    g_autofree char *status = NULL;

    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    status = verify_file_status(t->to);
    g_assert_cmpstr(status, ==, "passed");
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/* @data as for test_verify_file(); the file is changed on disk between save and load. */
static void test_verify_file_corrupt(gconstpointer data)
{
    MigTest *t = verify_file_save(GPOINTER_TO_INT(data));
    g_autofree char *uri = verify_file_uri(t);
    g_autofree char *path = verify_file_path(t);
    g_autofree char *contents = NULL;
    g_autofree char *status = NULL;
    g_autofree char *runstate = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonObject *obj, *v;
    const char *desc;
    char *hit;
    gsize len;

    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    hit = memmem(contents, len, VERIFY_FILE_MARKER, strlen(VERIFY_FILE_MARKER));
    g_assert_nonnull(hit);
    hit[5] ^= 0x10;
    g_assert_true(g_file_set_contents(path, contents, len, NULL));

    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    migration_event_wait(t->to, "failed");
    info = migrate_query(t->to);
    obj = json_node_get_object(info);
    desc = json_object_get_string_member(obj, "error-desc");
    g_test_message("destination error-desc: %s", desc);
    g_assert_nonnull(strstr(desc, "RAM differs from the source's in block \"pc.ram\" at "
                            "0xa00000-0xafffff"));
    v = json_object_get_object_member(obj, "x-verify-ram");
    g_assert_cmpstr(json_object_get_string_member(v, "status"), ==, "failed");
    g_assert_cmpstr(json_object_get_string_member(v, "mismatch-block"), ==, "pc.ram");
    g_assert_cmphex(json_object_get_int_member(v, "mismatch-offset"), ==,
                    VERIFY_FILE_MARKER_ADDR);
    g_assert_cmphex(json_object_get_int_member(v, "mismatch-length"), ==, 0x100000);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, !=, "running");
    migrate_end(t, false);
    migrate_test_free(t);
}

void migration_register_verify_file_tests(void)
{
    g_test_add_data_func("/migration/verify_ram/file/stream", GINT_TO_POINTER(false),
                         test_verify_file);
    g_test_add_data_func("/migration/verify_ram/file/stream/corrupt", GINT_TO_POINTER(false),
                         test_verify_file_corrupt);
    g_test_add_data_func("/migration/verify_ram/file/mapped-ram", GINT_TO_POINTER(true),
                         test_verify_file);
    g_test_add_data_func("/migration/verify_ram/file/mapped-ram/corrupt", GINT_TO_POINTER(true),
                         test_verify_file_corrupt);
}
