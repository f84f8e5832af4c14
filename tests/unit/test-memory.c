/*
 * Guest memory: the three memory backends, the block list, guest-physical
 * access bounds, and the dirty-tracking interface (software log merged with
 * the accelerator's).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qemu/bitmap.h"
#include "qemu/option.h"
#include "sysemu/memory.h"

static MemoryBackendConfig *parse(const char *str, GError **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(str, "qom-type", errp);

    return opts ? memory_backend_config_parse(opts, errp) : NULL;
}

static void test_parse(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MemoryBackendConfig) ram = parse("memory-backend-ram,id=m,size=4M",
                                               &err);
    g_autoptr(MemoryBackendConfig) memfd =
        parse("memory-backend-memfd,id=f,size=1M,prealloc=on", &err);
    g_autoptr(MemoryBackendConfig) file =
        parse("memory-backend-file,id=g,size=1M,mem-path=/tmp,share=on", &err);

    g_assert_no_error(err);
    g_assert_cmpint(ram->kind, ==, MEMORY_BACKEND_RAM);
    g_assert_cmpuint(ram->size, ==, 4 << 20);
    g_assert_false(ram->share);
    g_assert_true(memfd->share);                /* memfd defaults to shared */
    g_assert_true(memfd->prealloc);
    g_assert_cmpstr(file->mem_path, ==, "/tmp");
    g_assert_true(file->share);
}

static void expect_parse_error(const char *str, const char *msg)
{
    g_autoptr(GError) err = NULL;
    MemoryBackendConfig *cfg = parse(str, &err);

    g_assert_null(cfg);
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("'%s': got '%s', want '%s'", str, err->message, msg);
    }
}

static void test_parse_errors(void)
{
    expect_parse_error("memory-backend-ram,id=m", "can't create backend with "
                       "size 0");
    expect_parse_error("memory-backend-ram,size=1M", "Parameter 'id' is missing");
    expect_parse_error("memory-backend-ram,id=m,size=1M,mem-path=/x",
                       "Invalid parameter 'mem-path'");
    expect_parse_error("memory-backend-file,id=m,size=1M", "mem-path property "
                       "not set");
    expect_parse_error("memory-backend-ram,id=m,size=lots", "lots");
    expect_parse_error("memory-backend-ram,id=m,size=1M,share=maybe",
                       "Parameter 'share' expects 'on' or 'off'");
    expect_parse_error("memory-backend-ram,id=m,size=1000", "page size");
    expect_parse_error("memory-backend-bogus,id=m,size=1M",
                       "invalid object type: memory-backend-bogus");
}

static void check_block_rw(RAMBlock *rb)
{
    memset(rb->host, 0x5a, rb->used_length);
    g_assert_cmpint(rb->host[rb->used_length - 1], ==, 0x5a);
}

static void test_backends(void)
{
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("tern-mem-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    g_autofree char *spec = g_strdup_printf("memory-backend-file,id=file0,"
                                            "size=2M,mem-path=%s,share=on",
                                            path);
    g_autoptr(MemoryBackendConfig) c1 = parse("memory-backend-ram,id=ram0,"
                                              "size=2M,prealloc=on", &err);
    g_autoptr(MemoryBackendConfig) c2 = parse("memory-backend-memfd,id=fd0,"
                                              "size=2M", &err);
    g_autoptr(MemoryBackendConfig) c3 = parse(spec, &err);
    g_autoptr(MemoryBackendConfig) c4 = parse("memory-backend-file,id=dir0,"
                                              "size=1M,mem-path=/tmp", &err);
    RAMBlock *r1, *r2, *r3, *r4;
    g_autofree char *contents = NULL;
    gsize len;

    g_assert_no_error(err);
    r1 = memory_add_backend(gm, c1, &err);
    r2 = memory_add_backend(gm, c2, &err);
    r3 = memory_add_backend(gm, c3, &err);
    r4 = memory_add_backend(gm, c4, &err);
    g_assert_no_error(err);
    g_assert_cmpint(r1->fd, ==, -1);
    g_assert_false(r1->shared);
    g_assert_cmpint(r2->fd, >=, 0);
    g_assert_true(r2->shared);
    g_assert_true(r3->shared);
    check_block_rw(r1);
    check_block_rw(r2);
    check_block_rw(r3);
    check_block_rw(r4);
    /* a shared file mapping writes through to the file */
    g_assert_true(g_file_get_contents(path, &contents, &len, &err));
    g_assert_cmpuint(len, ==, 2 << 20);
    g_assert_cmpint(contents[12345], ==, 0x5a);

    {
        RAMBlock *rb;
        GString *ids = g_string_new(NULL);

        for (guint i = 0; i < ram_block_list(gm)->len; i++) {
            rb = g_ptr_array_index(ram_block_list(gm), i);
            g_string_append_printf(ids, "%s ", rb->idstr);
        }
        g_assert_cmpstr(ids->str, ==, "ram0 fd0 file0 dir0 ");
        g_string_free(ids, TRUE);
    }
    g_assert_true(ram_block_by_id(gm, "fd0") == r2);
    g_assert_null(ram_block_by_id(gm, "nope"));
    g_assert_cmpuint(ram_block_list(gm)->len, ==, 4);
    g_assert_cmpuint(ram_block_list_mapped(gm)->len, ==, 0);

    g_assert_null(memory_add_backend(gm, c1, &err));
    g_assert_nonnull(strstr(err->message, "already exists"));

    g_unlink(path);
    g_rmdir(dir);
}

static void test_file_backend_bad_path(void)
{
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(MemoryBackendConfig) cfg =
        parse("memory-backend-file,id=x,size=1M,mem-path=/nonexistent/dir/f",
              &err);

    g_assert_null(memory_add_backend(gm, cfg, &err));
    g_assert_nonnull(strstr(err->message, "memory backend 'x'"));
    g_assert_nonnull(strstr(err->message, "No such file or directory"));
}

/* A fake CPR state: "fd0" and "shr0" came, nothing else. */
typedef struct FakeFds {
    int fd0, shr0;
} FakeFds;

static int fake_take(void *opaque, const char *id)
{
    FakeFds *f = opaque;
    int fd = -1;

    if (strcmp(id, "fd0") == 0) {
        fd = f->fd0;
        f->fd0 = -1;
    } else if (strcmp(id, "shr0") == 0) {
        fd = f->shr0;
        f->shr0 = -1;
    }
    return fd;
}

static int fake_memfd(uint8_t fill)
{
    int fd = memfd_create("old", MFD_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 2 << 20), ==, 0);
    g_assert_cmpint(pwrite(fd, &fill, 1, 4096), ==, 1);
    return fd;
}

/*
 * CPR: memfd and shared RAM blocks map the old process's fds (its data is
 * there); private RAM does not ask; a block whose fd did not come fails
 * naming it.  memory-backend-ram,share=on is a memfd too.
 */
static void test_inherited_fds(void)
{
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(GError) err = NULL;
    FakeFds fds = { fake_memfd(0x11), fake_memfd(0x22) };
    MemoryFdSource src = { fake_take, &fds };
    g_autoptr(MemoryBackendConfig) c1 = parse("memory-backend-memfd,id=fd0,size=2M", &err);
    g_autoptr(MemoryBackendConfig) c2 = parse("memory-backend-ram,id=shr0,size=2M,"
                                              "share=on", &err);
    g_autoptr(MemoryBackendConfig) c3 = parse("memory-backend-ram,id=priv0,size=2M", &err);
    g_autoptr(MemoryBackendConfig) c4 = parse("memory-backend-memfd,id=lost0,size=2M", &err);
    RAMBlock *r1, *r2, *r3;

    g_assert_no_error(err);
    guest_memory_set_fd_source(gm, &src);
    r1 = memory_add_backend(gm, c1, &err);
    r2 = memory_add_backend(gm, c2, &err);
    r3 = memory_add_backend(gm, c3, &err);
    g_assert_no_error(err);
    g_assert_cmpint(r1->host[4096], ==, 0x11);
    g_assert_cmpint(r2->host[4096], ==, 0x22);
    g_assert_true(r2->shared);
    g_assert_cmpint(r2->fd, >=, 0);
    g_assert_cmpint(r3->fd, ==, -1);
    g_assert_null(memory_add_backend(gm, c4, &err));
    g_assert_cmpstr(err->message, ==, "CPR: no fd arrived for RAM block 'lost0'; tern "
                    "does not replace the guest's memory with an empty one");
}

static void test_guest_access(void)
{
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(GError) err = NULL;
    RAMBlock *rb = memory_add_main_ram(gm, 1 << 20, &err);
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t out[8];
    g_autofree char *info = NULL;

    g_assert_nonnull(rb);
    g_assert_cmpstr(rb->idstr, ==, "pc.ram");
    g_assert_true(memory_map_block(gm, rb, 0, &err));
    g_assert_cmpuint(memory_main_ram_size(gm), ==, 1 << 20);

    g_assert_true(guest_memory_write(gm, 0x1000, buf, 8, &err));
    g_assert_true(guest_memory_read(gm, 0x1000, out, 8, &err));
    g_assert_cmpmem(buf, 8, out, 8);
    g_assert_true(guest_memory_write(gm, (1 << 20) - 8, buf, 8, &err));
    g_assert_false(guest_memory_write(gm, (1 << 20) - 7, buf, 8, &err));
    g_assert_nonnull(strstr(err->message, "not in guest RAM"));
    g_clear_error(&err);
    g_assert_false(guest_memory_read(gm, UINT64_MAX - 2, out, 8, &err));
    g_clear_error(&err);
    g_assert_true(guest_memory_set(gm, 0x2000, 0xcc, 4096, &err));
    g_assert_cmpint(rb->host[0x2fff], ==, 0xcc);

    info = memory_format_ramblocks(gm);
    g_assert_nonnull(strstr(info, "Block Name"));
    g_assert_nonnull(strstr(info, "pc.ram"));
    g_assert_nonnull(strstr(info, "0x0000000000100000"));
}

/* A fake accelerator log: pages it reports dirty at the next sync. */
typedef struct FakeAccel {
    GArray *pages;
    int starts, stops;
} FakeAccel;

static FakeAccel fake;

static bool fake_start(AccelState *s, GError **errp)
{
    fake.starts++;
    return true;
}

static bool fake_sync(AccelState *s, RAMBlock *rb, unsigned long *dest,
                      GError **errp)
{
    for (guint i = 0; i < fake.pages->len; i++) {
        set_bit(g_array_index(fake.pages, guint, i), dest);
    }
    g_array_set_size(fake.pages, 0);
    return true;
}

static void fake_stop(AccelState *s)
{
    fake.stops++;
}

static const AccelOps fake_ops = {
    .name = "fake",
    .dirty_log_start = fake_start,
    .dirty_log_sync = fake_sync,
    .dirty_log_stop = fake_stop,
};

static void test_dirty_sync(void)
{
    g_autoptr(GuestMemory) gm = guest_memory_new();
    g_autoptr(GError) err = NULL;
    RAMBlock *rb = memory_add_main_ram(gm, 64 * TARGET_PAGE_SIZE, &err);
    unsigned long *dest = bitmap_new(64);
    uint8_t byte = 1;
    guint accel_page = 40;

    fake.pages = g_array_new(FALSE, FALSE, sizeof(guint));
    g_assert_true(memory_map_block(gm, rb, 0, &err));
    memory_set_accel(gm, &fake_ops, NULL, NULL);

    /* writes before start are forgotten */
    g_assert_true(guest_memory_write(gm, 0, &byte, 1, &err));
    g_assert_true(memory_dirty_log_start(gm, &err));
    g_assert_cmpint(fake.starts, ==, 1);
    g_assert_true(memory_sync_dirty(gm, rb, dest, &err));
    g_assert_true(bitmap_empty(dest, 64));

    /* device/qtest writes + the accelerator's pages */
    g_assert_true(guest_memory_write(gm, 3 * TARGET_PAGE_SIZE + 17, &byte, 1, &err));
    g_assert_true(guest_memory_set(gm, 9 * TARGET_PAGE_SIZE - 1, 0, 2, &err));
    g_array_append_val(fake.pages, accel_page);
    g_assert_true(memory_sync_dirty(gm, rb, dest, &err));
    g_assert_cmpuint(bitmap_count_one(dest, 64), ==, 4);
    g_assert_true(test_bit(3, dest));
    g_assert_true(test_bit(8, dest));
    g_assert_true(test_bit(9, dest));
    g_assert_true(test_bit(40, dest));

    /* exactly the pages written since the previous sync */
    bitmap_clear(dest, 0, 64);
    g_assert_true(guest_memory_write(gm, 63 * TARGET_PAGE_SIZE, &byte, 1, &err));
    g_assert_true(memory_sync_dirty(gm, rb, dest, &err));
    g_assert_cmpuint(bitmap_count_one(dest, 64), ==, 1);
    g_assert_true(test_bit(63, dest));
    bitmap_clear(dest, 0, 64);
    g_assert_true(memory_sync_dirty(gm, rb, dest, &err));
    g_assert_true(bitmap_empty(dest, 64));

    memory_dirty_log_stop(gm);
    g_assert_cmpint(fake.stops, ==, 1);
    g_free(dest);
    g_array_free(fake.pages, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/backend-parse", test_parse);
    g_test_add_func("/memory/backend-parse-errors", test_parse_errors);
    g_test_add_func("/memory/backends", test_backends);
    g_test_add_func("/memory/file-backend-bad-path", test_file_backend_bad_path);
    g_test_add_func("/memory/inherited-fds", test_inherited_fds);
    g_test_add_func("/memory/guest-access", test_guest_access);
    g_test_add_func("/memory/dirty-sync", test_dirty_sync);
    return g_test_run();
}
