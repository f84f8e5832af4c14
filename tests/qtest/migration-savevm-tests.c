/*
 * Named snapshots in the snapshot store (-machine snapshot-dir): HMP
 * savevm / loadvm / delvm / info snapshots, the QMP snapshot jobs, and bad
 * cases (an unknown tag, no store, a disk that fills up while saving).
 *
 * The oracle: after savevm the test changes memory the guest never writes
 * (the progress marker, and a page outside a-b's range that was zero) and
 * the testdev counter; loadvm must bring all three back, and a-b's page
 * pattern must hold.  None of it depends on how far the guest got.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define SAVEVM_NEW_MARKER   0x0123456789abcdefull
/* A page the a-b guest never touches (a-b writes 1..9 MiB): zero in every snapshot. */
#define SAVEVM_ZERO_PAGE    (64u << 20)

typedef struct SavevmTest {
    MigTest *t;
    char *store;                /* the store directory (inside @tmp) */
    char *tmp;
} SavevmTest;

/* One HMP command line (simple words only), its output (transfer full). */
static char *savevm_hmp(SavevmTest *v, const char *line)
{
    g_autoptr(JsonNode) reply = qtest_qmp(v->t->from,
        "{'execute': 'human-monitor-command', 'arguments': {'command-line': '%s'}}", line);
    JsonObject *o = json_node_get_object(reply);

    g_assert_true(json_object_has_member(o, "return"));
    return g_strdup(json_object_get_string_member(o, "return"));
}

/*
 * The a-b source with a snapshot store (@with_store false: none), its guest
 * started, on @accel (NULL: interp); NULL after g_test_skip() when kvm is unusable.
 */
static SavevmTest *savevm_start_on(const char *accel, bool with_store)
{
    SavevmTest *v = g_new0(SavevmTest, 1);
    g_autofree char *opts = NULL;
    MigrateStart start = { .only_source = true, .accel = accel };

    v->tmp = g_dir_make_tmp("tern-savevm-XXXXXX", NULL);
    v->store = g_strdup_printf("%s/store", v->tmp);
    opts = g_strdup_printf("-machine snapshot-dir=%s", v->store);
    start.src_opts = with_store ? opts : NULL;
    v->t = migrate_start(&start);
    if (!v->t) {
        rmdir(v->tmp);
        g_free(v->tmp);
        g_free(v->store);
        g_free(v);
        return NULL;
    }
    wait_for_serial(v->t->src_serial);
    return v;
}

static SavevmTest *savevm_start(bool with_store)
{
    return savevm_start_on(NULL, with_store);
}

static gint savevm_cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The store's files, sorted, as one string ("" when it has none). */
static char *savevm_store_files(SavevmTest *v)
{
    g_autoptr(GDir) dir = g_dir_open(v->store, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, savevm_cmp_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

static void savevm_free(SavevmTest *v)
{
    g_autoptr(GDir) dir = g_dir_open(v->store, 0, NULL);
    const char *name;

    migrate_test_free(v->t);
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(v->store, name, NULL);

        unlink(path);
    }
    rmdir(v->store);
    rmdir(v->tmp);
    g_free(v->store);
    g_free(v->tmp);
    g_free(v);
}

/* After a save: change what the guest never writes, and the testdev counter. */
static uint32_t savevm_scribble(SavevmTest *v)
{
    MigTest *t = v->t;
    uint32_t saved = t->testdev_counter;

    g_assert_cmphex(qtest_readq(t->qfrom, SAVEVM_ZERO_PAGE), ==, 0);
    qtest_writeq(t->qfrom, SAVEVM_ZERO_PAGE, SAVEVM_NEW_MARKER);
    qtest_writeq(t->qfrom, migrate_marker_address(t), SAVEVM_NEW_MARKER);
    migrate_prepare_for_testdev(t);
    g_assert_cmphex(t->testdev_counter, !=, saved);
    return saved;
}

/* After a load of the state savevm_scribble() changed: all of it is back, the guest runs. */
static void savevm_check_loaded(SavevmTest *v, uint32_t counter)
{
    MigTest *t = v->t;
    g_autofree char *runstate = migrate_runstate(t->from);

    g_assert_cmpstr(runstate, ==, "running");
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    check_guests_ram(t, t->qfrom);
    g_assert_cmphex(qtest_readq(t->qfrom, SAVEVM_ZERO_PAGE), ==, 0);
    g_assert_cmphex(qtest_readq(t->qfrom, migrate_marker_address(t)), !=, SAVEVM_NEW_MARKER);
    g_assert_cmphex(qtest_inl(t->qfrom, 0xe0), ==, counter);
    t->testdev_counter = counter;
    qtest_qmp_assert_success(t->from, "{'execute': 'cont'}");
}

/* The row of `info snapshots` for @tag: "--", the tag, size, date, clock, "--". */
static void savevm_check_info_row(const char *info, const char *tag)
{
    g_autofree char *pattern = g_strdup_printf(
        "\n--      %-16s +[0-9.]+ [KMG]iB \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d "
        " \\d{4}:\\d\\d:\\d\\d\\.\\d{3}         --\r\n", tag);

    if (!g_regex_match_simple(pattern, info, 0, 0)) {
        g_error("no row for %s in:\n%s", tag, info);
    }
}

static void test_savevm_hmp_on(const char *accel)
{
    SavevmTest *v = savevm_start_on(accel, true);
    g_autofree char *out = NULL;
    g_autofree char *info = NULL;
    g_autofree char *files = NULL;
    uint32_t counter;

    if (!v) {
        return;
    }
    out = savevm_hmp(v, "info snapshots");
    g_assert_cmpstr(out, ==, "There is no snapshot available.\r\n");
    g_clear_pointer(&out, g_free);

    out = savevm_hmp(v, "savevm first");
    g_assert_cmpstr(out, ==, "");
    counter = savevm_scribble(v);
    info = savevm_hmp(v, "info snapshots");
    g_assert_true(g_str_has_prefix(info, "List of snapshots present on all disks:\r\n"
                                         "ID      TAG               VM_SIZE                DATE"
                                         "        VM_CLOCK     ICOUNT\r\n"));
    savevm_check_info_row(info, "first");
    files = savevm_store_files(v);
    g_assert_cmpstr(files, ==, "1.snap index.json");

    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "loadvm first");
    g_assert_cmpstr(out, ==, "");
    savevm_check_loaded(v, counter);

    /* HMP savevm replaces a tag; the old file goes. */
    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "savevm first");
    g_clear_pointer(&files, g_free);
    files = savevm_store_files(v);
    g_assert_cmpstr(files, ==, "2.snap index.json");

    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "loadvm nosuch");
    g_assert_cmpstr(out, ==, "Error: Snapshot 'nosuch' does not exist in one or more "
                    "devices\r\n");
    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "delvm first");
    g_assert_cmpstr(out, ==, "");
    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "info snapshots");
    g_assert_cmpstr(out, ==, "There is no snapshot available.\r\n");
    g_clear_pointer(&files, g_free);
    files = savevm_store_files(v);
    g_assert_cmpstr(files, ==, "index.json");
    savevm_free(v);
}

static void test_savevm_hmp(void)
{
    test_savevm_hmp_on(NULL);
}

static void test_savevm_hmp_kvm(void)
{
    test_savevm_hmp_on("kvm");
}

/* Does the source map store file @name (x-mapped-ram-restore)? */
static bool savevm_file_mapped(SavevmTest *v, const char *name)
{
    g_autofree char *maps_path = g_strdup_printf("/proc/%d/maps", (int)qtest_pid(v->t->from));
    g_autofree char *maps = NULL;
    g_autofree char *suffix = g_strdup_printf("/%s\n", name);

    g_assert_true(g_file_get_contents(maps_path, &maps, NULL, NULL));
    return strstr(maps, suffix) != NULL;
}

/*
 * loadvm with x-mapped-ram-restore: the snapshot's pages are mapped from
 * its file, not read (the file shows in the process's maps), and the
 * state comes back.  Reading "first" (the capability off) after a mapped
 * "second" (which holds the scribbled page, "first" does not) must give
 * the guest fresh memory first: dropping the pages of the private file
 * mapping would bring "second"'s bytes back instead of zeros.
 */
static void test_savevm_mapped_load(void)
{
    SavevmTest *v = savevm_start(true);
    MigTest *t = v->t;
    g_autofree char *out = NULL;
    uint32_t counter;

    migrate_set_capability(t->from, "mapped-ram", true);
    migrate_set_capability(t->from, "x-mapped-ram-restore", true);
    out = savevm_hmp(v, "savevm first");
    g_assert_cmpstr(out, ==, "");
    counter = savevm_scribble(v);
    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "savevm second");
    g_assert_cmpstr(out, ==, "");

    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "loadvm second");
    g_assert_cmpstr(out, ==, "");
    g_assert_true(savevm_file_mapped(v, "2.snap"));
    g_assert_cmphex(qtest_readq(t->qfrom, SAVEVM_ZERO_PAGE), ==, SAVEVM_NEW_MARKER);

    migrate_set_capability(t->from, "x-mapped-ram-restore", false);
    g_clear_pointer(&out, g_free);
    out = savevm_hmp(v, "loadvm first");
    g_assert_cmpstr(out, ==, "");
    g_assert_false(savevm_file_mapped(v, "1.snap"));
    savevm_check_loaded(v, counter);
    savevm_free(v);
}

/* Wait for job @id's JOB_STATUS_CHANGE events, in order, up to concluded. */
static void savevm_job_events(SavevmTest *v, const char *id, const char *const *statuses)
{
    for (; *statuses; statuses++) {
        g_autoptr(JsonNode) ev = migrate_eventwait(v->t->from, "JOB_STATUS_CHANGE");
        JsonObject *data = json_object_get_object_member(json_node_get_object(ev), "data");

        g_assert_cmpstr(json_object_get_string_member(data, "id"), ==, id);
        g_assert_cmpstr(json_object_get_string_member(data, "status"), ==, *statuses);
    }
}

/* query-jobs' only job: @id, @type, concluded, 1/1, with @error (NULL: none). */
static void savevm_check_job(SavevmTest *v, const char *id, const char *type,
                             const char *error)
{
    g_autoptr(JsonNode) reply = qtest_qmp(v->t->from, "{'execute': 'query-jobs'}");
    JsonArray *jobs = json_object_get_array_member(json_node_get_object(reply), "return");
    JsonObject *job;

    g_assert_cmpuint(json_array_get_length(jobs), ==, 1);
    job = json_array_get_object_element(jobs, 0);
    g_assert_cmpstr(json_object_get_string_member(job, "id"), ==, id);
    g_assert_cmpstr(json_object_get_string_member(job, "type"), ==, type);
    g_assert_cmpstr(json_object_get_string_member(job, "status"), ==, "concluded");
    g_assert_cmpint(json_object_get_int_member(job, "current-progress"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(job, "total-progress"), ==, 1);
    g_assert_cmpstr(json_object_get_string_member_with_default(job, "error", NULL), ==, error);
    qtest_qmp_assert_success(v->t->from, "{'execute': 'job-dismiss', 'arguments': {'id': '%s'}}",
                             id);
    savevm_job_events(v, id, (const char *[]){ "null", NULL });
}

static const char *const job_ok[] = { "created", "running", "waiting", "pending",
                                      "concluded", NULL };
static const char *const job_failed[] = { "created", "running", "aborting", "concluded",
                                          NULL };

static void test_savevm_qmp_jobs(void)
{
    SavevmTest *v = savevm_start(true);
    QTestState *s = v->t->from;
    uint32_t counter;

    qtest_qmp_assert_success(s, "{'execute': 'snapshot-save', 'arguments': {'job-id': 'j1', "
                             "'tag': 'snap', 'vmstate': 'snapshot-store', 'devices': []}}");
    savevm_job_events(v, "j1", job_ok);
    savevm_check_job(v, "j1", "snapshot-save", NULL);
    counter = savevm_scribble(v);

    /* QMP never replaces a snapshot. */
    qtest_qmp_assert_success(s, "{'execute': 'snapshot-save', 'arguments': {'job-id': 'j2', "
                             "'tag': 'snap', 'vmstate': 'snapshot-store', 'devices': []}}");
    savevm_job_events(v, "j2", job_failed);
    savevm_check_job(v, "j2", "snapshot-save",
                     "Snapshot 'snap' already exists in one or more devices");

    qtest_qmp_assert_success(s, "{'execute': 'snapshot-load', 'arguments': {'job-id': 'j3', "
                             "'tag': 'snap', 'vmstate': 'snapshot-store', 'devices': []}}");
    savevm_job_events(v, "j3", job_ok);
    savevm_check_job(v, "j3", "snapshot-load", NULL);
    savevm_check_loaded(v, counter);

    qtest_qmp_assert_success(s, "{'execute': 'snapshot-load', 'arguments': {'job-id': 'j4', "
                             "'tag': 'nosuch', 'vmstate': 'snapshot-store', 'devices': []}}");
    savevm_job_events(v, "j4", job_failed);
    savevm_check_job(v, "j4", "snapshot-load",
                     "Snapshot 'nosuch' does not exist in one or more devices");

    qtest_qmp_assert_success(s, "{'execute': 'snapshot-save', 'arguments': {'job-id': 'j5', "
                             "'tag': 'x', 'vmstate': 'disk0', 'devices': []}}");
    savevm_job_events(v, "j5", job_failed);
    savevm_check_job(v, "j5", "snapshot-save", "No block device node 'disk0'");

    qtest_qmp_assert_success(s, "{'execute': 'snapshot-delete', 'arguments': {'job-id': 'j6', "
                             "'tag': 'snap', 'devices': []}}");
    savevm_job_events(v, "j6", job_ok);
    /* A job id in use, and dismissing what is not there or not concluded. */
    qtest_qmp_expect_error(s, "GenericError", "Job ID 'j6' already in use",
                           "{'execute': 'snapshot-delete', 'arguments': {'job-id': 'j6', "
                           "'tag': 'snap', 'devices': []}}");
    savevm_check_job(v, "j6", "snapshot-delete", NULL);
    qtest_qmp_expect_error(s, "GenericError", "Job not found",
                           "{'execute': 'job-dismiss', 'arguments': {'id': 'j6'}}");
    savevm_free(v);
}

/* Without -machine snapshot-dir there is nowhere to save: QEMU's text. */
static void test_savevm_no_store(void)
{
    SavevmTest *v = savevm_start(false);
    g_autofree char *out = savevm_hmp(v, "savevm x");
    g_autofree char *info = savevm_hmp(v, "info snapshots");
    g_autofree char *runstate = migrate_runstate(v->t->from);

    g_assert_cmpstr(out, ==, "Error: no block device can store vmstate for snapshot\r\n");
    g_assert_cmpstr(info, ==, "Error: no block device can store vmstate for snapshot\r\n");
    g_assert_cmpstr(runstate, ==, "running");
    savevm_free(v);
}

/*
 * The disk fills up while saving (a file size limit, which a non-root test
 * can set where it cannot mount a small tmpfs): a clear error, nothing
 * listed, no file left, the guest running on.
 */
static void test_savevm_disk_full(void)
{
    struct rlimit old, small;
    SavevmTest *v;
    g_autofree char *out = NULL;
    g_autofree char *info = NULL;
    g_autofree char *files = NULL;
    g_autofree char *runstate = NULL;
    gint64 deadline = qtest_deadline_ms(60000);
    uint8_t watch;

    /* tern inherits the limit; the test process gets its own back at once. */
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
    small = old;
    small.rlim_cur = 4 << 20;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
    v = savevm_start(true);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);

    out = savevm_hmp(v, "savevm big");
    g_test_message("%s", out);
    g_assert_true(g_str_has_prefix(out, "Error: Error while writing VM state: "));
    g_assert_nonnull(strstr(out, "File too large"));
    info = savevm_hmp(v, "info snapshots");
    g_assert_cmpstr(info, ==, "There is no snapshot available.\r\n");
    files = savevm_store_files(v);
    g_assert_cmpstr(files, ==, "");
    runstate = migrate_runstate(v->t->from);
    g_assert_cmpstr(runstate, ==, "running");
    /* a-b's watch byte, 1 KiB before the marker, still moves. */
    watch = qtest_readb(v->t->qfrom, migrate_marker_address(v->t) - 1024);
    while (qtest_readb(v->t->qfrom, migrate_marker_address(v->t) - 1024) == watch) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    savevm_free(v);
}

void migration_register_savevm_tests(void)
{
    g_test_add_func("/snapshot/savevm/hmp", test_savevm_hmp);
    g_test_add_func("/snapshot/savevm/qmp-jobs", test_savevm_qmp_jobs);
    g_test_add_func("/snapshot/savevm/no-store", test_savevm_no_store);
    g_test_add_func("/snapshot/savevm/disk-full", test_savevm_disk_full);
    g_test_add_func("/snapshot/savevm/mapped-load", test_savevm_mapped_load);
}

void migration_register_savevm_kvm_tests(void)
{
    g_test_add_func("/snapshot/savevm/hmp/kvm", test_savevm_hmp_kvm);
}
