/*
 * The snapshot store (migration/snapshot-store.c): a snapshot is listed
 * only once committed, an aborted or failed save leaves nothing behind, a
 * tag is replaced together with its file, a delete removes both, and a
 * damaged index is an error, never an empty store.
 */
#include "snapshot-store.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct StoreFixture {
    char *tmp;
    char *dir;
    SnapshotStore *st;
} StoreFixture;

static void store_setup(StoreFixture *fx, gconstpointer data)
{
    fx->tmp = g_dir_make_tmp("tern-store-XXXXXX", NULL);
    fx->dir = g_build_filename(fx->tmp, "store", NULL);
    fx->st = snapshot_store_new(fx->dir);
}

static void store_teardown(StoreFixture *fx, gconstpointer data)
{
    g_autoptr(GDir) dir = g_dir_open(fx->dir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(fx->dir, name, NULL);

        g_assert_cmpint(unlink(path), ==, 0);
    }
    rmdir(fx->dir);
    g_assert_cmpint(rmdir(fx->tmp), ==, 0);
    snapshot_store_free(fx->st);
    g_free(fx->dir);
    g_free(fx->tmp);
}

static gint store_cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's file names, sorted, space-separated. */
static char *store_files(StoreFixture *fx)
{
    g_autoptr(GDir) dir = g_dir_open(fx->dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, store_cmp_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

/* Save a snapshot tagged @name whose file holds @content. */
static void store_save(StoreFixture *fx, const char *name, const char *content)
{
    SnapshotInfo meta = { .name = (char *)name, .date_sec = 1700000000, .vm_clock_ns = 5 };
    g_autoptr(GError) err = NULL;
    SnapshotWrite w;

    g_assert_true(snapshot_store_begin(fx->st, &w, &err));
    g_assert_cmpint(write(w.fd, content, strlen(content)), ==, strlen(content));
    g_assert_true(snapshot_store_commit(fx->st, &w, &meta, &err));
    g_assert_no_error(err);
}

static char *store_content(StoreFixture *fx, const char *name)
{
    g_autoptr(SnapshotInfo) info = snapshot_store_find(fx->st, name, NULL);
    g_autofree char *path = NULL;
    char *text = NULL;

    g_assert_nonnull(info);
    path = snapshot_store_path(fx->st, info);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void test_store_empty(StoreFixture *fx, gconstpointer data)
{
    g_autoptr(GPtrArray) list = snapshot_store_list(fx->st, NULL);
    g_autoptr(GError) err = NULL;
    bool found = true;

    g_assert_nonnull(list);
    g_assert_cmpuint(list->len, ==, 0);
    g_assert_null(snapshot_store_find(fx->st, "x", &err));
    g_assert_no_error(err);
    g_assert_true(snapshot_store_delete(fx->st, "x", &found, &err));
    g_assert_false(found);
}

static void test_store_commit_lists(StoreFixture *fx, gconstpointer data)
{
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *files = NULL;
    g_autofree char *content = NULL;
    SnapshotInfo *info;

    store_save(fx, "first", "AAAA");
    store_save(fx, "second", "BBBB");
    list = snapshot_store_list(fx->st, NULL);
    g_assert_cmpuint(list->len, ==, 2);
    info = g_ptr_array_index(list, 0);
    g_assert_cmpstr(info->name, ==, "first");
    g_assert_cmpstr(info->id, ==, "1");
    g_assert_cmpint(info->date_sec, ==, 1700000000);
    g_assert_cmpint(info->vm_clock_ns, ==, 5);
    g_assert_cmpstr(((SnapshotInfo *)g_ptr_array_index(list, 1))->name, ==, "second");
    files = store_files(fx);
    g_assert_cmpstr(files, ==, "1.snap 2.snap index.json");
    content = store_content(fx, "second");
    g_assert_cmpstr(content, ==, "BBBB");
}

/* An aborted save (the guest's state could not be written): nothing listed, nothing left. */
static void test_store_abort(StoreFixture *fx, gconstpointer data)
{
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *files = NULL;
    SnapshotWrite w;

    store_save(fx, "kept", "KEEP");
    g_assert_true(snapshot_store_begin(fx->st, &w, NULL));
    g_assert_cmpint(write(w.fd, "half", 4), ==, 4);
    /* Until committed the temp file is there, and not listed. */
    list = snapshot_store_list(fx->st, NULL);
    g_assert_cmpuint(list->len, ==, 1);
    snapshot_store_abort(fx->st, &w);
    files = store_files(fx);
    g_assert_cmpstr(files, ==, "1.snap index.json");
}

/* A crash mid-save leaves a temp file: it is never listed, and the next save reuses its name. */
static void test_store_stale_temp(StoreFixture *fx, gconstpointer data)
{
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *files = NULL;
    SnapshotWrite w;

    g_assert_true(snapshot_store_begin(fx->st, &w, NULL));
    close(w.fd);                /* "the process died here" */
    list = snapshot_store_list(fx->st, NULL);
    g_assert_cmpuint(list->len, ==, 0);
    g_clear_pointer(&list, g_ptr_array_unref);
    g_free(w.id);
    g_free(w.tmp_path);
    store_save(fx, "after", "AFTER");
    list = snapshot_store_list(fx->st, NULL);
    g_assert_cmpuint(list->len, ==, 1);
    g_assert_cmpstr(((SnapshotInfo *)g_ptr_array_index(list, 0))->name, ==, "after");
    files = store_files(fx);
    g_assert_cmpstr(files, ==, "1.snap index.json");
}

static void test_store_replace_and_delete(StoreFixture *fx, gconstpointer data)
{
    g_autofree char *files = NULL;
    g_autofree char *content = NULL;
    g_autoptr(GError) err = NULL;
    bool found;

    store_save(fx, "tag", "OLD");
    store_save(fx, "tag", "NEW");
    content = store_content(fx, "tag");
    g_assert_cmpstr(content, ==, "NEW");
    files = store_files(fx);
    g_assert_cmpstr(files, ==, "2.snap index.json");
    g_assert_true(snapshot_store_delete(fx->st, "tag", &found, &err));
    g_assert_true(found);
    g_clear_pointer(&files, g_free);
    files = store_files(fx);
    g_assert_cmpstr(files, ==, "index.json");
}

/* A damaged index is an error: the store must not look empty and be overwritten. */
static void test_store_bad_index(StoreFixture *fx, gconstpointer data)
{
    static const char *const bad[] = {
        "{\"snapshots\": [{\"id\": \"../x\", \"name\": \"a\", \"date-sec\": 1, "
        "\"vm-clock-ns\": 0, \"vm-state-size\": 0}]}",
        "{\"snapshots\": [{\"name\": \"a\"}]}",
        "{\"next-id\": 1}",
        "not json",
    };
    g_autofree char *index = g_build_filename(fx->dir, "index.json", NULL);

    g_assert_cmpint(g_mkdir_with_parents(fx->dir, 0700), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        SnapshotWrite w;

        g_assert_true(g_file_set_contents(index, bad[i], -1, NULL));
        g_assert_null(snapshot_store_list(fx->st, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "snapshot index"));
        g_clear_error(&err);
        g_assert_false(snapshot_store_begin(fx->st, &w, &err));
        g_assert_nonnull(err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define STORE_TEST(path, fn) \
    g_test_add("/snapshot-store/" path, StoreFixture, NULL, store_setup, fn, store_teardown)
    STORE_TEST("empty", test_store_empty);
    STORE_TEST("commit-lists", test_store_commit_lists);
    STORE_TEST("abort", test_store_abort);
    STORE_TEST("stale-temp", test_store_stale_temp);
    STORE_TEST("replace-and-delete", test_store_replace_and_delete);
    STORE_TEST("bad-index", test_store_bad_index);
    return g_test_run();
}
