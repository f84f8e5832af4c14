/*
 * The RAM section, destination side: parses the records of one section
 * payload into the local RAMBlocks.  Every name, offset, flag and length
 * from the stream is checked before use, and every error names the block
 * (when known) and the record's stream offset.
 *
 * Memory the guest never wrote stays untouched: a zero page landing on a
 * page the kernel reports as never written costs nothing.  Normal pages
 * landing on fresh memory meet the first-touch fault wall, handled by the
 * RAMLoadFaultPolicy (ram.h).
 */
#include "ram-internal.h"
#include "multifd.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23      /* Linux 5.14 */
#endif

/* What MADV_POPULATE_WRITE prepares at once: one transparent huge page. */
#define RAM_LOAD_CHUNK_SIZE     (2u * 1024 * 1024)

/* Flags tern cannot load, with what to say about each (checked in this order). */
static const struct {
    uint64_t flag;
    const char *what;
} ram_unsupported_flags[] = {
    { RAM_SAVE_FLAG_MULTIFD_FLUSH, "MULTIFD_FLUSH (0x200): the multifd capability is off "
                                   "on the destination" },
    { RAM_SAVE_FLAG_HOOK, "HOOK (0x80): RDMA is not supported" },
    { RAM_SAVE_FLAG_FULL, "FULL (0x01): obsolete since 2009" },
};

#define RAM_MAPPED_FORBIDDEN_FLAGS (RAM_SAVE_FLAG_HOOK | RAM_SAVE_FLAG_MULTIFD_FLUSH | \
                                    RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_XBZRLE | \
                                    RAM_SAVE_FLAG_ZERO)
#define RAM_KNOWN_FLAGS     0x3ffu
#define RAM_LOADABLE_FLAGS  (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_MEM_SIZE | RAM_SAVE_FLAG_PAGE | \
                             RAM_SAVE_FLAG_EOS | RAM_SAVE_FLAG_CONTINUE | RAM_SAVE_FLAG_XBZRLE | \
                             RAM_SAVE_FLAG_COMPRESS_PAGE)

/* Fail with a message naming the local @block (NULL if not known yet) and the record's offset. */
static bool G_GNUC_PRINTF(4, 5)
ram_load_fail(uint64_t pos, const char *block, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (block) {
        error_setg(errp, "%s (RAM block \"%s\", stream offset %" PRIu64 ")", msg, block, pos);
    } else {
        error_setg(errp, "%s (RAM section, stream offset %" PRIu64 ")", msg, pos);
    }
    return false;
}

/* The stream failed (truncated, I/O error) inside the record at @pos. */
static bool ram_load_stream_fail(QEMUFile *f, uint64_t pos, const RAMBlock *rb, GError **errp)
{
    qemu_file_check_error(f, errp);
    if (rb) {
        error_prepend(errp, "RAM record at stream offset %" PRIu64 " (block \"%s\"): ",
                      pos, rb->idstr);
    } else {
        error_prepend(errp, "RAM record at stream offset %" PRIu64 ": ", pos);
    }
    return false;
}

static RAMBlock *ram_find_block(RAMState *rs, const char *name, size_t len)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        if (strlen(rb->idstr) == len && memcmp(rb->idstr, name, len) == 0) {
            return rb;
        }
    }
    return NULL;
}

/* A block name from the stream, printable: other bytes (NUL included) as \\ooo. */
static char *ram_escape_name(const char *name, size_t len)
{
    GString *out = g_string_sized_new(len);

    for (size_t i = 0; i < len; i++) {
        guchar c = name[i];

        if (g_ascii_isprint(c) && c != '\\' && c != '"') {
            g_string_append_c(out, c);
        } else {
            g_string_append_printf(out, "\\%03o", c);
        }
    }
    return g_string_free(out, FALSE);
}

/* Read `u8 idlen ; idstr` and find the local block of that name. */
static RAMBlock *ram_load_named_block(RAMState *rs, QEMUFile *f, uint64_t pos, GError **errp)
{
    char name[256];
    size_t len = qemu_get_byte(f);
    g_autofree char *escaped = NULL;
    RAMBlock *rb;

    qemu_get_buffer(f, name, len);
    if (qemu_file_get_error(f)) {
        ram_load_stream_fail(f, pos, NULL, errp);
        return NULL;
    }
    if (len == 0) {
        ram_load_fail(pos, NULL, errp, "RAM block name of length 0");
        return NULL;
    }
    rb = ram_find_block(rs, name, len);
    if (!rb) {
        escaped = ram_escape_name(name, len);
        ram_load_fail(pos, NULL, errp,
                      "Unknown ramblock \"%s\", cannot accept migration", escaped);
    }
    return rb;
}

/* Advise a block that is about to receive pages, per the fault policy. */
static void ram_load_advise_block(RAMState *rs, RAMBlock *rb)
{
    if (rs->load.policy == RAM_LOAD_FAULT_PLAIN ||
        !ram_residency_applies(&rs->load.residency, rb)) {
        return;
    }
    /* Best effort: without THP the chunks are populated with small pages. */
    madvise(rb->host, rb->used_length, MADV_HUGEPAGE);
}

/* x-ignore-shared: `be64 gpa`, which must be where this side maps an ignored block. */
static bool ram_load_check_gpa(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                               GError **errp)
{
    uint64_t gpa = qemu_get_be64(f);

    if (qemu_file_get_error(f)) {
        return ram_load_stream_fail(f, pos, rb, errp);
    }
    if (ram_block_is_ignored(rs, rb) && gpa != rb->guest_addr) {
        return ram_load_fail(pos, rb->idstr, errp, "Mismatched GPAs for block %s %" PRId64
                             "!= %" PRId64, rb->idstr, (int64_t)gpa,
                             (int64_t)rb->guest_addr);
    }
    return true;
}

/* MEM_SIZE: the block list, `u8 idlen ; idstr ; be64 used_length` until @total is covered. */
static bool ram_load_block_list(RAMState *rs, QEMUFile *f, uint64_t total, GError **errp)
{
    uint64_t remaining = total;

    while (remaining > 0) {
        uint64_t pos = qemu_file_tell(f);
        RAMBlock *rb = ram_load_named_block(rs, f, pos, errp);
        uint64_t length;

        if (!rb) {
            return false;
        }
        length = qemu_get_be64(f);
        if (qemu_file_get_error(f)) {
            return ram_load_stream_fail(f, pos, rb, errp);
        }
        if (length != rb->used_length) {
            return ram_load_fail(pos, rb->idstr, errp,
                                 "Length mismatch: %s: 0x%" PRIx64 " in != 0x%" PRIx64,
                                 rb->idstr, length, rb->used_length);
        }
        if (length > remaining) {
            return ram_load_fail(pos, rb->idstr, errp,
                                 "RAM block list exceeds the total of 0x%" PRIx64
                                 " bytes its MEM_SIZE record announced", total);
        }
        remaining -= length;
        if (rs->ignore_shared && !ram_load_check_gpa(rs, f, pos, rb, errp)) {
            return false;
        }
        if (ram_block_is_ignored(rs, rb)) {
            continue;       /* no page comes for it */
        }
        ram_load_advise_block(rs, rb);
        if (rs->mapped_ram && !mapped_ram_load_block(rs->mapped_ram, f, rb, pos, errp)) {
            return false;
        }
    }
    return true;
}

/* The block a page record is for: the previous one (CONTINUE) or the one it names. */
static RAMBlock *ram_load_page_block(RAMState *rs, QEMUFile *f, uint64_t pos,
                                     uint64_t flags, GError **errp)
{
    RAMBlock *rb;

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        if (!rs->load.last_block) {
            ram_load_fail(pos, NULL, errp,
                          "RAM page with the CONTINUE flag but no block named before it");
        }
        return rs->load.last_block;
    }
    rb = ram_load_named_block(rs, f, pos, errp);
    if (rb) {
        rs->load.last_block = rb;
    }
    return rb;
}

/*
 * A normal page is about to land on page @page of @rb: with the
 * POPULATE_CHUNK policy, fault in the whole 2 MiB chunk around it at once
 * when it was never written.
 */
static void ram_load_prepare_page(RAMState *rs, RAMBlock *rb, uint64_t page)
{
    RAMLoadContext *lc = &rs->load;
    uintptr_t host, start, end, block_end;

    if (lc->policy != RAM_LOAD_FAULT_POPULATE_CHUNK || lc->populate_unusable ||
        ram_residency_has_data(&lc->residency, rb, page)) {
        return;
    }
    host = (uintptr_t)rb->host + (page << TARGET_PAGE_BITS);
    block_end = (uintptr_t)rb->host + rb->used_length;
    start = MAX(host & ~(uintptr_t)(RAM_LOAD_CHUNK_SIZE - 1), (uintptr_t)rb->host);
    end = MIN((host & ~(uintptr_t)(RAM_LOAD_CHUNK_SIZE - 1)) + RAM_LOAD_CHUNK_SIZE, block_end);
    if (madvise((void *)start, end - start, MADV_POPULATE_WRITE) != 0) {
        /* Old kernel or no memory to spare now: let the copy fault pages in. */
        lc->populate_unusable = true;
        return;
    }
    ram_residency_mark(&lc->residency, rb,
                       (start - (uintptr_t)rb->host) >> TARGET_PAGE_BITS,
                       (end - start) >> TARGET_PAGE_BITS);
}

/*
 * COMPRESS_PAGE (capability compress): `be32 len ; len bytes of zlib`,
 * handed to a decompress thread; in postcopy, decompressed and placed at
 * once (ram-postcopy.c).
 */
static bool ram_load_compressed_page(RAMState *rs, QEMUFile *f, uint64_t pos, RAMBlock *rb,
                                     uint64_t offset, GError **errp)
{
    uint64_t page = offset >> TARGET_PAGE_BITS;

    if (!rs->load.decompress_on) {
        return ram_load_fail(pos, rb->idstr, errp, "Received an unexpected compressed page "
                             "(the compress capability is off on the destination)");
    }
    if (rs->load.postcopy.listening) {
        return ram_postcopy_load_page(rs, f, pos, rb, offset, RAM_SAVE_FLAG_COMPRESS_PAGE,
                                      rs->load.postcopy.page_buf, errp);
    }
    ram_postcopy_mark_received(rs, rb, page);
    if (!ram_decompress_load_page(rs, f, pos, rb, page, errp)) {
        return false;
    }
    ram_residency_mark(&rs->load.residency, rb, page, 1);
    return true;
}

/* ZERO, PAGE or XBZRLE: `[u8 idlen ; idstr]` then `u8 0`, the page's bytes, or a delta. */
static bool ram_load_page(RAMState *rs, QEMUFile *f, uint64_t pos, uint64_t offset,
                          uint64_t flags, GError **errp)
{
    RAMBlock *rb = ram_load_page_block(rs, f, pos, flags, errp);
    uint64_t page;
    uint8_t *host;

    if (!rb) {
        return false;
    }
    if (ram_block_is_ignored(rs, rb)) {
        return ram_load_fail(pos, rb->idstr, errp, "block %s should not be migrated !",
                             rb->idstr);
    }
    if (offset >= rb->used_length) {
        return ram_load_fail(pos, rb->idstr, errp,
                             "Illegal RAM offset 0x%" PRIx64 " (block length 0x%" PRIx64 ")",
                             offset, rb->used_length);
    }
    if (flags & RAM_SAVE_FLAG_COMPRESS_PAGE) {
        return ram_load_compressed_page(rs, f, pos, rb, offset, errp);
    }
    if (rs->load.postcopy.listening) {
        if (flags & RAM_SAVE_FLAG_XBZRLE) {
            /* QEMU refuses it too: postcopy places whole pages. */
            return ram_load_fail(pos, rb->idstr, errp,
                                 "XBZRLE page during postcopy (a source sends none then)");
        }
        return ram_postcopy_load_page(rs, f, pos, rb, offset, flags,
                                      rs->load.postcopy.page_buf, errp);
    }
    page = offset >> TARGET_PAGE_BITS;
    host = rb->host + offset;
    ram_postcopy_mark_received(rs, rb, page);
    if (!ram_decompress_settle(rs, rb, page, errp)) {
        return false;
    }

    if (flags & RAM_SAVE_FLAG_ZERO) {
        int fill = qemu_get_byte(f);

        if (qemu_file_get_error(f)) {
            return ram_load_stream_fail(f, pos, rb, errp);
        }
        if (fill != 0) {
            return ram_load_fail(pos, rb->idstr, errp,
                                 "Found a zero page with value %d", fill);
        }
        /* Reading a page that holds data does not fault; writing only what is not zero keeps pages shared. */
        if (ram_residency_has_data(&rs->load.residency, rb, page) &&
            !buffer_is_zero(host, TARGET_PAGE_SIZE)) {
            memset(host, 0, TARGET_PAGE_SIZE);
        }
        ram_verify_page(rs->verify, rb, page, NULL);
        return true;
    }
    if (flags & RAM_SAVE_FLAG_XBZRLE) {
        if (!ram_xbzrle_load_page(rs, f, host, errp)) {
            error_prepend(errp, "RAM record at stream offset %" PRIu64 " (block \"%s\", "
                          "page offset 0x%" PRIx64 "): ", pos, rb->idstr, offset);
            return false;
        }
        ram_residency_mark(&rs->load.residency, rb, page, 1);
        ram_verify_page(rs->verify, rb, page, host);
        return true;
    }

    ram_load_prepare_page(rs, rb, page);
    qemu_get_buffer(f, host, TARGET_PAGE_SIZE);
    ram_residency_mark(&rs->load.residency, rb, page, 1);
    if (qemu_file_get_error(f)) {
        return ram_load_stream_fail(f, pos, rb, errp);
    }
    ram_verify_page(rs->verify, rb, page, host);
    return true;
}

/* Reject flags tern does not load, each with its own message. */
static bool ram_load_check_flags(uint64_t pos, uint64_t word, GError **errp)
{
    uint64_t flags = word & ~TARGET_PAGE_MASK;

    if (!(flags & ~(uint64_t)RAM_LOADABLE_FLAGS)) {
        return true;
    }
    if (flags & ~(uint64_t)RAM_KNOWN_FLAGS) {
        return ram_load_fail(pos, NULL, errp,
                             "RAM record 0x%016" PRIx64 " has unknown flag bits 0x%" PRIx64
                             " (or an offset that is not page-aligned)",
                             word, flags & ~(uint64_t)RAM_KNOWN_FLAGS);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(ram_unsupported_flags); i++) {
        if (flags & ram_unsupported_flags[i].flag) {
            return ram_load_fail(pos, NULL, errp, "Unsupported RAM record flag %s",
                                 ram_unsupported_flags[i].what);
        }
    }
    return true;
}

bool ram_load(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    RAMState *rs = opaque;

    if (version_id != RAM_SECTION_VERSION) {
        error_setg(errp, "RAM section version %d is not supported (tern loads version %d)",
                   version_id, RAM_SECTION_VERSION);
        return false;
    }
    for (;;) {
        uint64_t pos = qemu_file_tell(f);
        uint64_t word = qemu_get_be64(f);
        uint64_t flags = word & ~TARGET_PAGE_MASK;
        uint64_t addr = word & TARGET_PAGE_MASK;
        bool ok;

        if (qemu_file_get_error(f)) {
            return ram_load_stream_fail(f, pos, NULL, errp);
        }
        if (word == RAM_SAVE_FLAG_MULTIFD_FLUSH && rs->load.multifd) {
            /* Every page the multifd channels carried before this point lands first. */
            if (!multifd_recv_sync(rs->load.multifd, errp)) {
                error_prepend(errp, "MULTIFD_FLUSH at stream offset %" PRIu64 ": ", pos);
                return false;
            }
            continue;
        }
        if (rs->mapped_ram && (flags & RAM_MAPPED_FORBIDDEN_FLAGS)) {
            /* Pages of a mapped-ram stream are in the file, never in records. */
            return ram_load_fail(pos, NULL, errp, "Unexpected RAM flags: %d", (int)flags);
        }
        if (!ram_load_check_flags(pos, word, errp)) {
            return false;
        }
        switch (flags & ~(uint64_t)RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_MEM_SIZE:
            ok = ram_load_block_list(rs, f, addr, errp);
            break;
        case RAM_SAVE_FLAG_ZERO:
        case RAM_SAVE_FLAG_PAGE:
        case RAM_SAVE_FLAG_XBZRLE:
        case RAM_SAVE_FLAG_COMPRESS_PAGE:
            ok = ram_load_page(rs, f, pos, addr, flags, errp);
            break;
        case RAM_SAVE_FLAG_EOS:
            /* Compressed pages of this section land (or fail) before it ends. */
            if (!ram_decompress_wait(rs, errp)) {
                return false;
            }
            ram_verify_fold(rs->verify);   /* keeps the final comparison short */
            return true;
        default:
            ok = ram_load_fail(pos, NULL, errp,
                               "Unknown combination of migration flags: 0x%" PRIx64, flags);
            break;
        }
        if (!ok) {
            return false;
        }
    }
}

bool ram_load_setup(void *opaque, GError **errp)
{
    RAMState *rs = opaque;

    rs->load.last_block = NULL;
    rs->load.populate_unusable = false;
    ram_residency_invalidate(&rs->load.residency);
    return true;
}

void ram_load_cleanup(void *opaque)
{
    RAMState *rs = opaque;
    MappedRamDetach *detach;

    rs->load.last_block = NULL;
    ram_residency_cleanup(&rs->load.residency);
    /*
     * x-mapped-ram-restore: the copying out of the file outlives the load.
     * An earlier load's (loadvm again) was waited for before this one.
     */
    detach = mapped_ram_take_detach(rs->mapped_ram);
    if (detach) {
        mapped_ram_detach_free(rs->mapped_detach);
        rs->mapped_detach = detach;
    }
    g_clear_pointer(&rs->mapped_ram, mapped_ram_free);
    g_clear_pointer(&rs->load.xbzrle_buf, g_free);
    ram_decompress_cleanup(rs);
}
