/*
 * mapped-ram (QEMU's /migration/precopy/file/mapped-ram and
 * /migration/multifd/file/mapped-ram paths): the a-b guest saved to a file
 * with pages at fixed offsets, stopped and live, by the migration thread or
 * by multifd's writers, then loaded with the memory check; the file's
 * layout and size; QEMU's refusals; and a truncated or corrupted file
 * failing the load with an error that names the block and the offset.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define MAPPED_RAM_ALIGN    0x100000
#define MAPPED_RAM_HDR_SIZE 28

static char *mapped_ram_path(MigTest *t)
{
    return migrate_test_path(t, "migfile");
}

static char *mapped_ram_uri(MigTest *t)
{
    return g_strdup_printf("file:%s/migfile", t->dir);
}

/* How a test saves and loads. */
typedef struct MappedRamCase {
    bool live;
    bool multifd;               /* 4 writer / reader threads on each side */
    bool direct_io;             /* the direct-io parameter on both sides */
    bool map_restore;           /* x-mapped-ram-restore on the destination */
    bool fdset;                 /* file:/dev/fdset/1 at an offset, fds from add-fd */
} MappedRamCase;

#define MAPPED_RAM_FDSET_OFFSET 0x1000

static char *mapped_ram_case_uri(MigTest *t, const MappedRamCase *c)
{
    if (c->fdset) {
        return g_strdup_printf("file:/dev/fdset/1,offset=%d", MAPPED_RAM_FDSET_OFFSET);
    }
    return mapped_ram_uri(t);
}

/*
 * QEMU's fdset variants: each side gets the file from the test through
 * add-fd, the source's write-only, the destination's read-only, and with
 * direct-io a second one opened O_DIRECT for the page I/O.
 */
static void mapped_ram_add_fdsets(MigTest *t, const MappedRamCase *c)
{
    g_autofree char *path = mapped_ram_path(t);

    migrate_fdset_add(t->from, path, O_CREAT | O_WRONLY);
    migrate_fdset_add(t->to, path, O_RDONLY);
    if (c->direct_io) {
        migrate_fdset_add(t->from, path, O_WRONLY | O_DIRECT);
        migrate_fdset_add(t->to, path, O_RDONLY | O_DIRECT);
    }
}

static uint64_t be_at(const uint8_t *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* The first block's header in @data: version 1, page size 4096, right after the block list entry. */
static size_t mapped_ram_find_header(const uint8_t *data, size_t len)
{
    static const uint8_t pattern[12] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0 };

    for (size_t i = 0; i + MAPPED_RAM_HDR_SIZE <= len; i++) {
        if (!memcmp(data + i, pattern, sizeof(pattern)) &&
            be_at(data + i + 12, 8) == i + MAPPED_RAM_HDR_SIZE) {
            return i;
        }
    }
    g_error("no mapped-ram header in the file");
}

/* Can @dir's filesystem open files with O_DIRECT? */
static bool dir_allows_o_direct(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "dio-probe", NULL);
    int fd = open(path, O_CREAT | O_WRONLY | O_DIRECT, 0600);

    unlink(path);
    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/* Pages of the file at @path's [@off, @off + @len) that sit in the page cache. */
static uint64_t page_cache_resident(const char *path, uint64_t off, uint64_t len)
{
    long host_page = sysconf(_SC_PAGESIZE);
    uint64_t resident = 0;
    int fd = open(path, O_RDONLY);
    g_autofree unsigned char *vec = g_malloc(len / host_page);
    void *map;

    g_assert_cmpint(fd, >=, 0);
    map = mmap(NULL, off + len, PROT_READ, MAP_SHARED, fd, 0);
    g_assert_true(map != MAP_FAILED);
    g_assert_cmpint(mincore((uint8_t *)map + off, len, vec), ==, 0);
    for (uint64_t i = 0; i < len / host_page; i++) {
        resident += vec[i] & 1;
    }
    munmap(map, off + len);
    close(fd);
    return resident;
}

/*
 * direct-io: none of the first block's page region is in the page cache
 * after the save (its pages went round it), unless the file is on tmpfs,
 * whose files are the cache.
 */
static void mapped_ram_check_uncached(const char *path)
{
    g_autofree uint8_t *head = g_malloc(MAPPED_RAM_ALIGN);    /* not the pages after it */
    struct statfs fs;
    uint64_t pages, length;
    size_t hdr;
    ssize_t n;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    /* No read-ahead: reading the head must not bring the page region into the cache. */
    g_assert_cmpint(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), ==, 0);
    n = pread(fd, head, MAPPED_RAM_ALIGN, 0);
    g_assert_cmpint(n, ==, MAPPED_RAM_ALIGN);
    g_assert_cmpint(fstatfs(fd, &fs), ==, 0);
    close(fd);
    if (fs.f_type == TMPFS_MAGIC) {
        return;
    }
    hdr = mapped_ram_find_header(head, MAPPED_RAM_ALIGN);
    pages = be_at(head + hdr + 20, 8);
    length = be_at(head + hdr - 8, 8);      /* the block list's used_length */
    g_assert_cmpuint(page_cache_resident(path, pages, length), ==, 0);
}

/*
 * Save the a-b guest with mapped-ram to migfile: stopped, or live (the
 * guest dirties memory the migration already wrote, so slots are written
 * again in place: three passes).  The file is a valid layout and no larger than RAM plus
 * one aligned header region per block and the device state.
 */
static MigTest *mapped_ram_save(const MappedRamCase *c)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *uri = mapped_ram_case_uri(t, c);
    g_autofree char *path = mapped_ram_path(t);
    g_autofree uint8_t *data = NULL;
    uint64_t offset = c->fdset ? MAPPED_RAM_FDSET_OFFSET : 0;
    struct stat st;
    gsize len;
    size_t hdr;
    int64_t total;

    if (c->fdset) {
        mapped_ram_add_fdsets(t, c);
    }

    migrate_set_capability(t->from, "mapped-ram", true);
    migrate_set_capability(t->to, "mapped-ram", true);
    migrate_set_capability(t->from, "pause-before-switchover", true);
    if (c->multifd) {
        migrate_set_capability(t->from, "multifd", true);
        migrate_set_capability(t->to, "multifd", true);
        migrate_set_parameter_int(t->from, "multifd-channels", 4);
        migrate_set_parameter_int(t->to, "multifd-channels", 4);
    }
    if (c->map_restore) {
        migrate_set_capability(t->to, "x-mapped-ram-restore", true);
    }
    if (c->direct_io) {
        qtest_qmp_assert_success(t->from, "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'direct-io': true}}");
        qtest_qmp_assert_success(t->to, "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'direct-io': true}}");
    }
    wait_for_serial(t->src_serial);
    if (c->live) {
        migrate_ensure_non_converge(t->from);
        migrate_qmp(t->from, uri, NULL);
        /* The destination runs later: passes, not its memory, show pages went twice. */
        wait_for_migration_pass(t->from, 3);
        migrate_ensure_converge(t->from);
    } else {
        migrate_ensure_converge(t->from);
        qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
        json_node_unref(migrate_eventwait(t->from, "STOP"));
        migrate_qmp(t->from, uri, NULL);
    }
    /*
     * Held before the switchover, every page written: multifd's writers are
     * mapped-ram's own ("mig/mapped", named as they first ran a job), and
     * there are no multifd channels.
     */
    migration_event_wait(t->from, "pre-switchover");
    g_assert_cmpint(migrate_thread_find(t->from, "mig/mapped") != 0, ==, c->multifd);
    g_assert_cmpint(migrate_thread_find(t->from, "mig/mfdsend"), ==, 0);
    migrate_continue(t->from, "pre-switchover");
    wait_for_migration_complete(t->from);
    migrate_check_source_after(t);
    migrate_wait_thread_gone(t->from, "mig/mapped");

    total = migrate_query_ram_int(t->from, "total");
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_test_message("RAM 0x%" G_GINT64_MODIFIER "x, file 0x%" G_GINT64_MODIFIER "x, "
                   "allocated 0x%" G_GINT64_MODIFIER "x", total, (gint64)st.st_size,
                   (gint64)st.st_blocks * 512);
    /* Few blocks: each adds at most one aligned MiB of header and bitmap; 1 MiB of devices. */
    g_assert_cmpint(st.st_size, <=, offset + total + 8 * MAPPED_RAM_ALIGN);
    g_assert_cmpint(st.st_size, >=, offset + total);

    if (c->direct_io) {
        mapped_ram_check_uncached(path);   /* before anything reads the file */
    }
    g_assert_true(g_file_get_contents(path, (char **)&data, &len, NULL));
    g_assert_cmphex(be_at(data + offset, 4), ==, 0x5145564d);
    hdr = mapped_ram_find_header(data, len);
    g_assert_cmpuint(be_at(data + hdr + 20, 8) % MAPPED_RAM_ALIGN, ==, 0);
    g_assert_cmpuint(be_at(data + hdr + 20, 8), >, hdr + MAPPED_RAM_HDR_SIZE);
    return t;
}

/* Load migfile into the destination and run the memory check. */
static void mapped_ram_load_and_check(MigTest *t, const MappedRamCase *c)
{
    g_autofree char *uri = mapped_ram_case_uri(t, c);

    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    if (c->live) {
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
    } else {
        g_autofree char *runstate = migrate_runstate(t->to);

        g_assert_cmpstr(runstate, ==, "paused");
        qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    }
    if (c->fdset) {
        /* Both migrations closed their duplicates: removing the fds removes the sets. */
        migrate_fdset_remove_check_empty(t->from);
        migrate_fdset_remove_check_empty(t->to);
    }
    migrate_end(t, true);
    migrate_test_free(t);
}

static void test_mapped_ram(gconstpointer data)
{
    const MappedRamCase *c = data;

    mapped_ram_load_and_check(mapped_ram_save(c), c);
}

/*
 * direct-io with multifd (QEMU's /dio): the pages bypass the page cache on
 * the way out (none of the page region is cached after the save, where the
 * filesystem is not tmpfs, whose files are the cache), and the load reads
 * them back with O_DIRECT; the memory check as ever.
 */
static void test_mapped_ram_dio(gconstpointer data)
{
    const MappedRamCase c = *(const MappedRamCase *)data;
    g_autofree char *probe_dir = g_dir_make_tmp("tern-dio-XXXXXX", NULL);
    MigTest *t;

    g_assert_nonnull(probe_dir);
    if (!dir_allows_o_direct(probe_dir)) {
        rmdir(probe_dir);
        g_test_skip("the temporary directory's filesystem does not support O_DIRECT");
        return;
    }
    rmdir(probe_dir);
    t = mapped_ram_save(&c);
    mapped_ram_load_and_check(t, &c);
}

/*
 * direct-io where the filesystem refuses O_DIRECT (ramfs, mounted in a
 * mount namespace of this test process, which the tern processes started
 * after it share): the migration fails with QEMU's text, the guest runs on.
 */
static void test_mapped_ram_dio_refused(void)
{
    MigrateStart start = { .only_source = true };
    g_autofree char *mnt = g_dir_make_tmp("tern-ramfs-XXXXXX", NULL);
    g_autofree char *args = NULL;
    g_autofree char *desc = NULL;
    g_autofree char *expect = NULL;
    g_autofree char *runstate = NULL;
    MigTest *t;

    g_assert_nonnull(mnt);
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("none", mnt, "ramfs", 0, NULL) < 0) {
        g_autofree char *why = g_strdup_printf("cannot mount a ramfs in a mount namespace: %s",
                                               g_strerror(errno));

        rmdir(mnt);
        g_test_skip(why);
        return;
    }
    t = migrate_start(&start);
    migrate_set_capability(t->from, "mapped-ram", true);
    migrate_set_capability(t->from, "multifd", true);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'direct-io': true}}");
    args = g_strdup_printf("file:%s/migfile", mnt);
    migrate_qmp(t->from, args, NULL);
    desc = wait_for_migration_fail(t->from, true);
    expect = g_strdup_printf("Could not open '%s/migfile': filesystem does not support "
                             "O_DIRECT", mnt);
    g_assert_cmpstr(desc, ==, expect);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    migrate_test_free(t);
    g_assert_cmpint(umount2(mnt, MNT_DETACH), ==, 0);
    rmdir(mnt);
}

/* Where a page of zeros sits, far from a-b's range: its bit is clear. */
#define MAPPED_RAM_ZERO_GPA (32u << 20)

/*
 * /proc/@pid/smaps for the mappings of @path: their Size and Anonymous
 * (pages made private copies) in kB; false when nothing maps it.
 */
static bool mapped_file_usage(pid_t pid, const char *path, uint64_t *size_kb,
                              uint64_t *anon_kb)
{
    g_autofree char *smaps = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool in_file = false, found = false;

    *size_kb = *anon_kb = 0;
    g_assert_true(g_file_get_contents(smaps, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long long kb, start, end;
        char perms[5];

        /* A mapping's first line: "start-end perms offset dev inode path". */
        if (sscanf(*l, "%llx-%llx %4s", &start, &end, perms) == 3) {
            in_file = g_str_has_suffix(*l, path);
            found |= in_file;
        } else if (in_file && sscanf(*l, "Size: %llu kB", &kb) == 1) {
            *size_kb += kb;
        } else if (in_file && sscanf(*l, "Anonymous: %llu kB", &kb) == 1) {
            *anon_kb += kb;
        }
    }
    return found;
}

/*
 * x-mapped-ram-restore: the destination maps the file's page region over
 * its RAM instead of reading it.  A slot whose bit is clear is given stale
 * bytes first (as a page written in one round and zero in a later one
 * leaves it): the guest must still see zeros there.  The mapping is seen
 * in the destination's smaps; its detach thread then makes every page a
 * private copy (waited for, up to the usual deadline); the memory check
 * as ever.
 */
static void test_mapped_ram_restore(gconstpointer data)
{
    const MappedRamCase *c = data;
    MigTest *t = mapped_ram_save(c);
    g_autofree char *path = mapped_ram_path(t);
    g_autofree char *uri = mapped_ram_uri(t);
    g_autofree uint8_t *head = g_malloc(MAPPED_RAM_ALIGN);
    uint8_t stale[MIG_PAGE_SIZE];
    gint64 deadline;
    uint64_t pages, size_kb, anon_kb;
    int fd = open(path, O_RDWR);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, head, MAPPED_RAM_ALIGN, 0), ==, MAPPED_RAM_ALIGN);
    pages = be_at(head + mapped_ram_find_header(head, MAPPED_RAM_ALIGN) + 20, 8);
    memset(stale, 0xa5, sizeof(stale));
    g_assert_cmpint(pwrite(fd, stale, sizeof(stale), pages + MAPPED_RAM_ZERO_GPA), ==,
                    sizeof(stale));
    close(fd);

    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_migration_complete(t->to);
    g_assert_true(mapped_file_usage(qtest_pid(t->to), path, &size_kb, &anon_kb));
    /* Only the 2 MiB chunks with data come from the file: the a-b range, not all of RAM. */
    g_assert_cmpuint(size_kb, >, 0);
    g_assert_cmpuint(size_kb, <, t->ram_mib << 10);
    g_assert_cmphex(qtest_readq(t->qto, MAPPED_RAM_ZERO_GPA), ==, 0);
    g_assert_cmphex(qtest_readq(t->qto, MAPPED_RAM_ZERO_GPA + MIG_PAGE_SIZE - 8), ==, 0);
    deadline = qtest_deadline_ms(60 * 1000);
    while (mapped_file_usage(qtest_pid(t->to), path, &size_kb, &anon_kb), anon_kb < size_kb) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    migrate_end(t, true);
    migrate_test_free(t);
}

static const MappedRamCase case_stopped = { 0 };
static const MappedRamCase case_live = { .live = true };
static const MappedRamCase case_multifd = { .multifd = true };
static const MappedRamCase case_multifd_live = { .multifd = true, .live = true };
static const MappedRamCase case_map = { .map_restore = true };
static const MappedRamCase case_multifd_map = { .multifd = true, .map_restore = true };
static const MappedRamCase case_multifd_dio = { .multifd = true, .direct_io = true };
static const MappedRamCase case_multifd_fdset = { .multifd = true, .fdset = true };
static const MappedRamCase case_multifd_fdset_dio = {
    .multifd = true, .fdset = true, .direct_io = true
};

/* Load the (damaged) migfile; the destination fails, keeps answering, never runs. */
static char *mapped_ram_load_fail(MigTest *t)
{
    g_autofree char *uri = mapped_ram_uri(t);
    g_autofree char *runstate = NULL;
    g_autoptr(JsonNode) info = NULL;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    char *desc;

    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    for (;;) {
        g_autofree char *status = migrate_query_status(t->to);

        if (!strcmp(status, "failed")) {
            break;
        }
        g_assert_cmpstr(status, !=, "completed");
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    info = migrate_query(t->to);
    desc = g_strdup(json_object_get_string_member(json_node_get_object(info), "error-desc"));
    runstate = migrate_runstate(t->to);
    g_assert_cmpstr(runstate, !=, "running");
    g_test_message("error-desc: %s", desc);
    return desc;
}

/* The file ends inside the first block's page region: the load names the block and offset. */
static void test_mapped_ram_truncated(void)
{
    MigTest *t = mapped_ram_save(&case_stopped);
    g_autofree char *path = mapped_ram_path(t);
    g_autofree uint8_t *data = NULL;
    g_autofree char *desc = NULL;
    gsize len;
    uint64_t pages;

    g_assert_true(g_file_get_contents(path, (char **)&data, &len, NULL));
    pages = be_at(data + mapped_ram_find_header(data, len) + 20, 8);
    /* a-b writes from 1 MiB on: cut in the middle of its range. */
    g_assert_cmpint(truncate(path, pages + 5 * 1024 * 1024 + 100), ==, 0);
    desc = mapped_ram_load_fail(t);
    g_assert_nonnull(strstr(desc, "Error reading ramblock pc.ram pages"));
    g_assert_nonnull(strstr(desc, "the file ends before them"));
    g_assert_nonnull(strstr(desc, "at file offset"));
    g_assert_nonnull(strstr(desc, "RAM block \"pc.ram\""));
    migrate_test_free(t);
}

/* Corrupt header fields, one per load: QEMU's texts, and tern's for what QEMU does not check. */
static void test_mapped_ram_corrupt(void)
{
    static const struct {
        size_t field;           /* offset in the header */
        int bytes;
        uint64_t value;
        const char *expect;
    } cases[] = {
        { 0, 4, 2, "Migration mapped-ram capability version not supported "
                   "(expected <= 1, got 2)" },
        { 20, 8, MAPPED_RAM_ALIGN + 8, "region has bad alignment" },
        { 4, 8, 0x10000, "page size 65536" },
        { 12, 8, G_MAXUINT64 - 4, "offsets out of range" },
    };
    MigTest *t = mapped_ram_save(&case_stopped);
    g_autofree char *path = mapped_ram_path(t);
    g_autofree uint8_t *data = NULL;
    gsize len;
    size_t hdr;

    g_assert_true(g_file_get_contents(path, (char **)&data, &len, NULL));
    hdr = mapped_ram_find_header(data, len);
    migrate_end(t, false);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree uint8_t *bad = g_memdup2(data, len);
        g_autofree char *desc = NULL;
        MigrateStart dst = { 0 };

        for (int b = 0; b < cases[i].bytes; b++) {
            bad[hdr + cases[i].field + b] = cases[i].value >> (8 * (cases[i].bytes - 1 - b));
        }
        g_assert_true(g_file_set_contents(path, (char *)bad, len, NULL));
        migrate_start_destination(t, &dst);
        migrate_set_capability(t->to, "mapped-ram", true);
        desc = mapped_ram_load_fail(t);
        g_assert_nonnull(strstr(desc, cases[i].expect));
        g_assert_nonnull(strstr(desc, "RAM block \"pc.ram\""));
    }
    migrate_test_free(t);
}

/* QEMU's refusals: capability pairs, a transport that cannot seek, multifd to a file without mapped-ram. */
static void test_mapped_ram_refusals(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *desc = NULL;
    g_autofree char *args = NULL;

    qtest_qmp_expect_error(t->from, "GenericError",
        "Mapped-ram migration is incompatible with postcopy",
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': ["
        "{'capability': 'mapped-ram', 'state': true},"
        "{'capability': 'postcopy-ram', 'state': true}]}}");
    qtest_qmp_expect_error(t->from, "GenericError",
        "Mapped-ram migration is incompatible with xbzrle",
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': ["
        "{'capability': 'mapped-ram', 'state': true},"
        "{'capability': 'xbzrle', 'state': true}]}}");

    migrate_set_capability(t->from, "mapped-ram", true);
    desc = migrate_qmp_fail(t->from, "{'uri': 'tcp:127.0.0.1:1'}");
    g_assert_cmpstr(desc, ==, "Migration requires seekable transport (e.g. file)");
    g_clear_pointer(&desc, g_free);

    migrate_set_capability(t->from, "mapped-ram", false);
    migrate_set_capability(t->from, "multifd", true);
    args = g_strdup_printf("{'uri': 'file:%s/migfile'}", t->dir);
    desc = migrate_qmp_fail(t->from, args);
    g_assert_cmpstr(desc, ==, "Migration requires multi-channel URIs (e.g. tcp)");

    migrate_set_capability(t->to, "mapped-ram", true);
    qtest_qmp_expect_error(t->to, "GenericError",
        "Migration requires seekable transport (e.g. file)",
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'tcp:127.0.0.1:0'}}");
    migrate_test_free(t);
}

void migration_register_mapped_ram_tests(void)
{
    g_test_add_data_func("/migration/precopy/file/mapped-ram", &case_stopped, test_mapped_ram);
    g_test_add_data_func("/migration/precopy/file/mapped-ram/live", &case_live, test_mapped_ram);
    g_test_add_data_func("/migration/multifd/file/mapped-ram", &case_multifd, test_mapped_ram);
    g_test_add_data_func("/migration/multifd/file/mapped-ram/live", &case_multifd_live,
                         test_mapped_ram);
    g_test_add_data_func("/migration/precopy/file/mapped-ram/mapped-restore", &case_map,
                         test_mapped_ram_restore);
    g_test_add_data_func("/migration/multifd/file/mapped-ram/mapped-restore",
                         &case_multifd_map, test_mapped_ram_restore);
    g_test_add_data_func("/migration/multifd/file/mapped-ram/dio", &case_multifd_dio,
                         test_mapped_ram_dio);
    g_test_add_data_func("/migration/multifd/file/mapped-ram/fdset", &case_multifd_fdset,
                         test_mapped_ram);
    g_test_add_data_func("/migration/multifd/file/mapped-ram/fdset/dio",
                         &case_multifd_fdset_dio, test_mapped_ram_dio);
    g_test_add_func("/migration/multifd/file/mapped-ram/dio/refused",
                    test_mapped_ram_dio_refused);
    g_test_add_func("/migration/precopy/file/mapped-ram/truncated", test_mapped_ram_truncated);
    g_test_add_func("/migration/precopy/file/mapped-ram/corrupt", test_mapped_ram_corrupt);
    g_test_add_func("/migration/precopy/file/mapped-ram/refusals", test_mapped_ram_refusals);
}
