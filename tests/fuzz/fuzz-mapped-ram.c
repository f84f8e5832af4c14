/*
 * libFuzzer target: a mapped-ram block as a load reads it
 * (mapped_ram_load_block(), migration/mapped-ram.c): the 28-byte header
 * from the stream, the bitmap and the present pages by offset from the
 * file, then the stream's position moved past the page region.  The input
 * is the whole file, the header at its start, for a 16 KiB block
 * "pc.ram"; the file is a memfd, as seekable as a migration file.
 */
#include "mapped-ram.h"
#include "migration-fakes.h"
#include "migration/options.h"
#include "migration/qemu-file.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MAPPED_RAM_BLOCK   (16 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built on the first input and kept: the target runs inputs one at a time. */
typedef struct FuzzMappedRam {
    MigrationOptions *opts;         /* defaults: one reader, pages read in */
    RAMBlock *rb;
    int memfd;
} FuzzMappedRam;

static FuzzMappedRam *fuzz_mapped_ram_get(void)
{
    static FuzzMappedRam *fm;

    if (fm) {
        return fm;
    }
    fm = g_new0(FuzzMappedRam, 1);
    fm->opts = migration_options_new();
    fm->rb = g_new0(RAMBlock, 1);
    fm->rb->idstr = g_strdup("pc.ram");
    fm->rb->used_length = FUZZ_MAPPED_RAM_BLOCK;
    fm->rb->page_size = TARGET_PAGE_SIZE;
    fm->rb->fd = -1;
    fm->rb->host = mmap(NULL, FUZZ_MAPPED_RAM_BLOCK, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fm->memfd = memfd_create("fuzz-mapped-ram", MFD_CLOEXEC);
    if (fm->rb->host == MAP_FAILED || fm->memfd < 0) {
        perror("fuzz-mapped-ram");
        abort();
    }
    return fm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzMappedRam *fm = fuzz_mapped_ram_get();
    g_autoptr(GError) err = NULL;
    MappedRam *m;
    QEMUFile *f;

    if (ftruncate(fm->memfd, 0) < 0 ||
        (size && pwrite(fm->memfd, data, size, 0) != (ssize_t)size) ||
        lseek(fm->memfd, 0, SEEK_SET) < 0) {
        perror("fuzz-mapped-ram: memfd");
        abort();
    }
    /* The stream and the offsets share the file position, as over one migration file. */
    f = qemu_file_new_fd(dup(fm->memfd), false, &err);
    if (!f) {
        abort();
    }
    m = mapped_ram_new(fm->memfd, fm->opts, false, &err);
    if (!m) {
        abort();
    }
    if (mapped_ram_load_block(m, f, fm->rb, 0, &err)) {
        qemu_get_be64(f);           /* the stream goes on after the page region */
    }
    mapped_ram_free(m);
    qemu_fclose(f, NULL);
    return 0;
}
