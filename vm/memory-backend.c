/*
 * Host backing for RAM blocks: the -object memory-backend-ram / -memfd /
 * -file options, and the mmap that backs each block (anonymous private,
 * memfd shared, file shared or private), with optional preallocation.
 */
#include "memory-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "qemu/error.h"
#include "qemu/option.h"

#define HUGETLBFS_MAGIC 0x958458f6

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static const struct {
    const char *qom_type;
    MemoryBackendKind kind;
    bool default_share;
} backend_types[] = {
    { "memory-backend-ram", MEMORY_BACKEND_RAM, false },
    { "memory-backend-memfd", MEMORY_BACKEND_MEMFD, true },
    { "memory-backend-file", MEMORY_BACKEND_FILE, false },
};

void memory_backend_config_free(MemoryBackendConfig *cfg)
{
    if (!cfg) {
        return;
    }
    g_free(cfg->id);
    g_free(cfg->mem_path);
    g_free(cfg);
}

MemoryBackendConfig *memory_backend_config_parse(GHashTable *opts,
                                                 GError **errp)
{
    static const char *const ram_keys[] = {
        "qom-type", "id", "size", "share", "prealloc", NULL };
    static const char *const file_keys[] = {
        "qom-type", "id", "size", "share", "prealloc", "mem-path", NULL };
    g_autoptr(MemoryBackendConfig) cfg = g_new0(MemoryBackendConfig, 1);
    const char *type = qemu_opt_get(opts, "qom-type");
    const char *id = qemu_opt_get(opts, "id");
    size_t t;

    for (t = 0; t < G_N_ELEMENTS(backend_types); t++) {
        if (type && strcmp(backend_types[t].qom_type, type) == 0) {
            break;
        }
    }
    if (t == G_N_ELEMENTS(backend_types)) {
        error_setg(errp, "invalid object type: %s", type ? type : "");
        return NULL;
    }
    cfg->kind = backend_types[t].kind;
    if (!qemu_opts_check_keys(opts, cfg->kind == MEMORY_BACKEND_FILE ?
                              file_keys : ram_keys, errp)) {
        return NULL;
    }
    if (!id || !*id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    cfg->id = g_strdup(id);
    if (!qemu_opt_get_size(opts, "size", 0, &cfg->size, errp) ||
        !qemu_opt_get_bool(opts, "share", backend_types[t].default_share,
                           &cfg->share, errp) ||
        !qemu_opt_get_bool(opts, "prealloc", false, &cfg->prealloc, errp)) {
        return NULL;
    }
    if (cfg->size == 0) {
        error_setg(errp, "can't create backend with size 0");
        return NULL;
    }
    if (cfg->size % TARGET_PAGE_SIZE) {
        error_setg(errp, "backend '%s': size 0x%" G_GINT64_MODIFIER "x is not "
                   "a multiple of the %u-byte page size", cfg->id, cfg->size,
                   TARGET_PAGE_SIZE);
        return NULL;
    }
    cfg->mem_path = g_strdup(qemu_opt_get(opts, "mem-path"));
    if (cfg->kind == MEMORY_BACKEND_FILE && !cfg->mem_path) {
        error_setg(errp, "mem-path property not set");
        return NULL;
    }
    return g_steal_pointer(&cfg);
}

/* Fault every page in now, so a later guest access never waits for it. */
static void memory_prealloc(uint8_t *host, uint64_t size, size_t page_size)
{
    if (madvise(host, size, MADV_POPULATE_WRITE) == 0) {
        return;
    }
    /* Older kernels: write each page's first byte back to itself. */
    for (uint64_t off = 0; off < size; off += page_size) {
        volatile uint8_t *p = host + off;
        *p = *p;
    }
}

static int memory_open_file(const MemoryBackendConfig *cfg, GError **errp)
{
    struct stat st;
    int fd;

    if (stat(cfg->mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* QEMU's rule: a directory gets a fresh unlinked file. */
        g_autofree char *tmpl = g_build_filename(cfg->mem_path,
                                                 "tern_back_mem.XXXXXX", NULL);
        fd = g_mkstemp(tmpl);
        if (fd >= 0) {
            unlink(tmpl);
        }
    } else {
        fd = open(cfg->mem_path, O_RDWR | O_CREAT, 0600);
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "can't open backing store %s for guest "
                         "RAM", cfg->mem_path);
        return -1;
    }
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < cfg->size &&
        ftruncate(fd, cfg->size) < 0) {
        error_setg_errno(errp, errno, "can't resize backing store %s",
                         cfg->mem_path);
        close(fd);
        return -1;
    }
    return fd;
}

/* A memfd for @rb: the one the old process passed (CPR), or a new one. */
static bool memory_memfd_open(RAMBlock *rb, int inherited, GError **errp)
{
    struct stat st;

    if (inherited < 0) {
        rb->fd = memfd_create(rb->idstr, MFD_CLOEXEC);
        if (rb->fd < 0 || ftruncate(rb->fd, rb->used_length) < 0) {
            error_setg_errno(errp, errno, "cannot create memfd for '%s'",
                             rb->idstr);
            return false;
        }
        return true;
    }
    rb->fd = inherited;
    if (fstat(rb->fd, &st) < 0 || (uint64_t)st.st_size < rb->used_length) {
        error_setg(errp, "CPR: the fd passed for RAM block '%s' holds %"
                   G_GINT64_FORMAT " bytes, less than its %" G_GUINT64_FORMAT,
                   rb->idstr, (gint64)st.st_size, rb->used_length);
        return false;
    }
    return true;
}

bool memory_backing_create(RAMBlock *rb, MemoryBackendKind kind, bool share,
                           const char *mem_path, bool prealloc, int inherited,
                           GError **errp)
{
    MemoryBackendConfig file_cfg = {
        .mem_path = (char *)mem_path, .size = rb->used_length,
    };
    int flags = MAP_NORESERVE;
    void *host;

    rb->fd = -1;
    rb->page_size = sysconf(_SC_PAGESIZE);
    switch (kind) {
    case MEMORY_BACKEND_RAM:
        /*
         * Shared RAM is a memfd, as in QEMU 10: another process (CPR) can
         * map it.  Private RAM stays anonymous.
         */
        if (share) {
            if (!memory_memfd_open(rb, inherited, errp)) {
                return false;
            }
        } else {
            flags |= MAP_ANONYMOUS;
        }
        break;
    case MEMORY_BACKEND_MEMFD:
        if (!memory_memfd_open(rb, inherited, errp)) {
            return false;
        }
        break;
    case MEMORY_BACKEND_FILE: {
        struct statfs fs;

        rb->fd = memory_open_file(&file_cfg, errp);
        if (rb->fd < 0) {
            return false;
        }
        /* On hugetlbfs the backing page is the huge page (postcopy and
         * discards work in those units). */
        if (fstatfs(rb->fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC) {
            rb->page_size = fs.f_bsize;
        }
        if (rb->used_length % rb->page_size) {
            error_setg(errp, "size %" G_GUINT64_FORMAT " is not a multiple "
                       "of the backing page size %zu", rb->used_length,
                       rb->page_size);
            return false;
        }
        break;
    }
    }
    flags |= share ? MAP_SHARED : MAP_PRIVATE;
    host = mmap(NULL, rb->used_length, PROT_READ | PROT_WRITE, flags,
                rb->fd, 0);
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot map %" G_GUINT64_FORMAT
                         " bytes of guest RAM for '%s'", rb->used_length,
                         rb->idstr);
        return false;
    }
    rb->host = host;
    rb->shared = share;
    rb->named_file = kind == MEMORY_BACKEND_FILE;
    /*
     * Private anonymous RAM in transparent huge pages where the host allows
     * them, as QEMU advises its RAM: fewer page-table entries to walk, and
     * background-snapshot write-protects a populated 2 MiB page as one
     * entry (1 GiB in 4 KiB pages took 190 ms of the guest's stop here,
     * in huge pages 0.1 ms).  Best effort: without THP nothing changes.
     */
    if (kind == MEMORY_BACKEND_RAM && !share) {
        madvise(host, rb->used_length, MADV_HUGEPAGE);
    }
    if (prealloc && inherited < 0) {
        memory_prealloc(rb->host, rb->used_length, rb->page_size);
    }
    return true;
}

void memory_backing_destroy(RAMBlock *rb)
{
    if (rb->host) {
        munmap(rb->host, rb->used_length);
        rb->host = NULL;
    }
    if (rb->fd >= 0) {
        close(rb->fd);
        rb->fd = -1;
    }
}
