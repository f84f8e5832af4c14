/*
 * fd sets (add-fd / remove-fd / query-fdsets) and "file:/dev/fdset/N"
 * URIs, as QEMU's /migration/precopy/file/offset/fdset: the file is opened
 * by the test and passed in, the source's fd write-only and the
 * destination's read-only; after the migration remove-fd leaves no set
 * behind.  Then bad input: no fd, a negative set number, an unknown set or
 * fd, a set without an fd of the access mode the migration needs.
 * (The mapped-ram variants, with and without direct-io, are in
 * migration-mapped-ram-tests.c.)
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define FDSET_TEST_OFFSET 0x1000
#define FDSET_TEST_MARKER 'X'

void migrate_fdset_add(QTestState *who, const char *path, int flags)
{
    int fd = open(path, flags, 0600);
    g_autoptr(JsonNode) reply = NULL;
    JsonObject *ret;

    g_assert_cmpint(fd, >=, 0);
    reply = qtest_qmp_fd(who, fd, "{'execute': 'add-fd', 'arguments': {'fdset-id': 1, "
                         "'opaque': 'migfile'}}");
    close(fd);
    g_assert_nonnull(qtest_reply_return(reply));
    ret = json_node_get_object(qtest_reply_return(reply));
    g_assert_cmpint(json_object_get_int_member(ret, "fdset-id"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(ret, "fd"), >=, 0);
}

/* query-fdsets: how many sets, and how many fds set 1 holds (-1: no set 1). */
static int fdset_count(QTestState *who, int *set1_fds)
{
    g_autoptr(JsonNode) ret = qtest_qmp_assert_success_ref(who, "{'execute': 'query-fdsets'}");
    JsonArray *sets = json_node_get_array(ret);

    *set1_fds = -1;
    for (guint i = 0; i < json_array_get_length(sets); i++) {
        JsonObject *set = json_array_get_object_element(sets, i);

        if (json_object_get_int_member(set, "fdset-id") == 1) {
            *set1_fds = json_array_get_length(json_object_get_array_member(set, "fds"));
        }
    }
    return json_array_get_length(sets);
}

void migrate_fdset_remove_check_empty(QTestState *who)
{
    int set1_fds;

    qtest_qmp_assert_success(who, "{'execute': 'remove-fd', 'arguments': {'fdset-id': 1}}");
    g_assert_cmpint(fdset_count(who, &set1_fds), ==, 0);
}

/* The plain stream through fd sets at an offset: the prefix survives, the stream starts there. */
static void test_precopy_file_offset_fdset(void)
{
    static const uint8_t header[8] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migfile");
    g_autofree char *uri = g_strdup_printf("file:/dev/fdset/1,offset=%d", FDSET_TEST_OFFSET);
    g_autofree char *data = NULL;
    g_autofree char *runstate = NULL;
    char prefix[FDSET_TEST_OFFSET];
    int set1_fds;
    gsize len;

    memset(prefix, FDSET_TEST_MARKER, sizeof(prefix));
    g_assert_true(g_file_set_contents(path, prefix, sizeof(prefix), NULL));
    migrate_fdset_add(t->from, path, O_WRONLY);
    migrate_fdset_add(t->to, path, O_RDONLY);
    g_assert_cmpint(fdset_count(t->from, &set1_fds), ==, 1);
    g_assert_cmpint(set1_fds, ==, 1);

    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    migrate_check_source_after(t);

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >, FDSET_TEST_OFFSET + sizeof(header));
    for (size_t i = 0; i < FDSET_TEST_OFFSET; i++) {
        g_assert_cmpint(data[i], ==, FDSET_TEST_MARKER);
    }
    g_assert_cmpmem(data + FDSET_TEST_OFFSET, sizeof(header), header, sizeof(header));

    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, ==, "paused");
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    /* The migrations closed their duplicates: removing the fds removes the sets. */
    migrate_fdset_remove_check_empty(t->from);
    migrate_fdset_remove_check_empty(t->to);
    migrate_end(t, true);
    migrate_test_free(t);
}

/* A migration to @uri fails at connect with @expect; the guest runs on. */
static void fdset_migrate_fails(MigTest *t, const char *uri, const char *expect)
{
    g_autofree char *desc = NULL;

    migrate_qmp(t->from, uri, NULL);
    desc = wait_for_migration_fail(t->from, false);
    g_test_message("%s: %s", uri, desc);
    g_assert_nonnull(strstr(desc, expect));
}

static void test_fdset_bad(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migfile");
    g_autofree char *expect = NULL;
    g_autoptr(JsonNode) reply = NULL;
    int set1_fds;
    int fd;

    /* add-fd with no fd attached; with a negative set number (the fd is not kept). */
    qtest_qmp_expect_error(t->from, "GenericError", "No file descriptor supplied via SCM_RIGHTS",
                           "{'execute': 'add-fd', 'arguments': {'fdset-id': 1}}");
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    reply = qtest_qmp_fd(t->from, fd, "{'execute': 'add-fd', 'arguments': {'fdset-id': -1}}");
    close(fd);
    g_assert_cmpstr(qtest_reply_error_desc(reply), ==,
                    "Parameter 'fdset-id' expects a non-negative value");
    g_assert_cmpint(fdset_count(t->from, &set1_fds), ==, 0);

    /* remove-fd of what does not exist. */
    qtest_qmp_expect_error(t->from, "GenericError", "File descriptor named 'fdset-id:9' not found",
                           "{'execute': 'remove-fd', 'arguments': {'fdset-id': 9}}");

    /* A set nobody added; a set whose only fd is read-only (the source writes). */
    fdset_migrate_fails(t, "file:/dev/fdset/7", "Failed to find fdset /dev/fdset/7");
    migrate_fdset_add(t->from, path, O_RDONLY);
    qtest_qmp_expect_error(t->from, "GenericError",
                           "File descriptor named 'fdset-id:1, fd:100000' not found",
                           "{'execute': 'remove-fd', 'arguments': {'fdset-id': 1, "
                           "'fd': 100000}}");
    expect = g_strdup_printf("Failed to find file descriptor with matching flags=0x%x",
                             O_WRONLY | O_CREAT);
    fdset_migrate_fails(t, "file:/dev/fdset/1", expect);
    g_clear_pointer(&expect, g_free);

    /* direct-io needs an O_DIRECT fd in the set besides the plain one. */
    migrate_fdset_add(t->from, path, O_WRONLY);
    migrate_set_capability(t->from, "mapped-ram", true);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'direct-io': true}}");
    expect = g_strdup_printf("Failed to find file descriptor with matching flags=0x%x",
                             O_WRONLY | O_DIRECT);
    fdset_migrate_fails(t, "file:/dev/fdset/1", expect);

    g_assert_cmpint(fdset_count(t->from, &set1_fds), ==, 1);
    g_assert_cmpint(set1_fds, ==, 2);
    migrate_fdset_remove_check_empty(t->from);
    migrate_test_free(t);
}

/*
 * -add-fd (QEMU's command-line form): the file opened by the test and
 * inherited by the source, which saves through the set and loses the set
 * with remove-fd afterwards.
 */
static void test_fdset_cmdline(void)
{
    MigrateStart start = { .only_source = true };
    g_autofree char *dir = g_dir_make_tmp("tern-addfd-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "migfile", NULL);
    g_autofree char *opts = NULL;
    g_autoptr(JsonNode) sets = NULL;
    JsonObject *set;
    MigTest *t;
    int set1_fds;
    int fd = open(path, O_CREAT | O_WRONLY, 0600);     /* inherited: no O_CLOEXEC */

    g_assert_cmpint(fd, >, 2);
    opts = g_strdup_printf("-add-fd fd=%d,set=1,opaque=from-cmdline", fd);
    start.src_opts = opts;
    t = migrate_start(&start);
    close(fd);
    sets = qtest_qmp_assert_success_ref(t->from, "{'execute': 'query-fdsets'}");
    g_assert_cmpint(json_array_get_length(json_node_get_array(sets)), ==, 1);
    set = json_array_get_object_element(json_node_get_array(sets), 0);
    g_assert_cmpint(json_object_get_int_member(set, "fdset-id"), ==, 1);
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(json_object_get_array_member(set, "fds"), 0),
                        "opaque"), ==, "from-cmdline");

    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, "file:/dev/fdset/1", NULL);
    wait_for_migration_complete(t->from);
    g_assert_cmpint(fdset_count(t->from, &set1_fds), ==, 1);
    migrate_fdset_remove_check_empty(t->from);
    migrate_test_free(t);
    unlink(path);
    rmdir(dir);
}

void migration_register_fdset_tests(void)
{
    g_test_add_func("/migration/precopy/file/offset/fdset", test_precopy_file_offset_fdset);
    g_test_add_func("/migration/precopy/file/fdset/bad", test_fdset_bad);
    g_test_add_func("/migration/precopy/file/fdset/cmdline", test_fdset_cmdline);
}
