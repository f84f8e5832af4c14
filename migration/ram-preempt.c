/*
 * The RAM records of the postcopy preempt channel, both sides (ram.h
 * "preempt").  The channel carries bare page records (`be64 offset|flags`,
 * `[u8 n, idstr]`, the page or a zero byte) with CONTINUE tracked on the
 * channel itself, and one EOS at the end (qemu-migration-facts-2.md §13.3).
 *
 * Source: the return-path thread sends a requested page here itself, so
 * it never waits behind the background pass in the main channel's buffer.
 * It marks the page in rb->urgentmap first and the migration thread skips
 * such pages; a page both threads pick at once goes twice, which the
 * destination's UFFDIO_COPY absorbs (EEXIST).  The guest is stopped here,
 * so both copies are the same bytes.
 *
 * Destination: the preempt channel's thread places the pages the way the
 * incoming thread does (ram_postcopy_load_page), with a page buffer and a
 * CONTINUE block of its own.
 */
#include "ram-postcopy.h"
#include "qemu/bufferiszero.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

/* ---- source ---- */

void ram_preempt_source_setup(RAMState *rs)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        g_free(rb->urgentmap);
        rb->urgentmap = bitmap_new(ramblock_pages(rb));
    }
}

void ram_preempt_source_cleanup(RAMState *rs)
{
    for (guint i = 0; i < rs->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(rs->blocks, i);

        g_clear_pointer(&rb->urgentmap, g_free);
    }
}

/* One record for page @page of @rb; returns the bytes written. */
static uint64_t ram_preempt_send_page(RAMState *rs, QEMUFile *f, const RAMBlock **last,
                                      RAMBlock *rb, uint64_t page)
{
    const uint8_t *host = rb->host + (page << TARGET_PAGE_BITS);
    bool zero = rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE &&
                buffer_is_zero(host, TARGET_PAGE_SIZE);
    uint64_t flags = zero ? RAM_SAVE_FLAG_ZERO : RAM_SAVE_FLAG_PAGE;
    uint64_t bytes = 8;

    if (rb == *last) {
        flags |= RAM_SAVE_FLAG_CONTINUE;
    }
    qemu_put_be64(f, (page << TARGET_PAGE_BITS) | flags);
    if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
        size_t idlen = strlen(rb->idstr);

        qemu_put_byte(f, idlen);
        qemu_put_buffer(f, rb->idstr, idlen);
        bytes += 1 + idlen;
        *last = rb;
    }
    ram_verify_page(rs->verify, rb, page, zero ? NULL : host);
    if (zero) {
        qemu_put_byte(f, 0);
        return bytes + 1;
    }
    qemu_put_buffer(f, host, TARGET_PAGE_SIZE);
    return bytes + TARGET_PAGE_SIZE;
}

bool ram_preempt_send_request(RAMState *rs, QEMUFile *f, const RAMBlock **last,
                              const char *block, uint64_t start, uint64_t len,
                              GError **errp)
{
    GError *err = NULL;
    RAMBlock *rb = ram_postcopy_check_request(rs, block, start, len, &err);
    uint64_t bytes = 0;

    if (!rb) {
        if (err) {
            g_propagate_error(errp, err);
            return false;
        }
        return true;
    }
    for (uint64_t p = start >> TARGET_PAGE_BITS; p < (start + len) >> TARGET_PAGE_BITS; p++) {
        /* Before the record: the migration thread must not send it after us. */
        __atomic_fetch_or(&rb->urgentmap[p / BITS_PER_LONG], 1UL << (p % BITS_PER_LONG),
                          __ATOMIC_RELAXED);
        bytes += ram_preempt_send_page(rs, f, last, rb, p);
        migration_stat_add(&rs->stats->preempt_pages, 1);
    }
    qemu_fflush(f);
    migration_stat_add(&rs->stats->postcopy_requests, 1);
    migration_stat_add(&rs->stats->postcopy_bytes, bytes);
    return qemu_file_check_error(f, errp);
}

void ram_preempt_send_eos(QEMUFile *f)
{
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    qemu_fflush(f);
}

/* ---- destination ---- */

/* The block of a record: this channel's last one (CONTINUE) or the one it names. */
static RAMBlock *ram_preempt_record_block(RAMState *rs, QEMUFile *f, uint64_t pos,
                                          uint64_t flags, RAMBlock **last, GError **errp)
{
    char name[256];
    size_t len;
    RAMBlock *rb;

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        if (!*last) {
            error_setg(errp, "preempt channel: RAM page with the CONTINUE flag but no "
                       "block named before it (stream offset %" PRIu64 ")", pos);
        }
        return *last;
    }
    len = qemu_get_byte(f);
    qemu_get_buffer(f, name, len);
    name[len] = '\0';
    if (!qemu_file_check_error(f, errp)) {
        error_prepend(errp, "preempt channel, record at stream offset %" PRIu64 ": ", pos);
        return NULL;
    }
    rb = len == strlen(name) ? ram_postcopy_find_block(rs, name) : NULL;
    if (!rb) {
        error_setg(errp, "preempt channel: unknown RAM block of %zu bytes' name "
                   "(stream offset %" PRIu64 ")", len, pos);
        return NULL;
    }
    *last = rb;
    return rb;
}

/* Records until EOS; @buf is this thread's page buffer. */
static bool ram_preempt_load_records(RAMState *rs, QEMUFile *f, uint8_t *buf, GError **errp)
{
    const uint64_t allowed = RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE;
    RAMBlock *last = NULL;

    for (;;) {
        uint64_t pos = qemu_file_tell(f);
        uint64_t word = qemu_get_be64(f);
        uint64_t flags = word & ~TARGET_PAGE_MASK;
        uint64_t offset = word & TARGET_PAGE_MASK;
        uint64_t kind = flags & ~(uint64_t)RAM_SAVE_FLAG_CONTINUE;
        RAMBlock *rb;

        if (!qemu_file_check_error(f, errp)) {
            error_prepend(errp, "preempt channel, record at stream offset %" PRIu64 ": ",
                          pos);
            return false;
        }
        if (word == RAM_SAVE_FLAG_EOS) {
            return true;
        }
        if ((flags & ~allowed) ||
            (kind != RAM_SAVE_FLAG_ZERO && kind != RAM_SAVE_FLAG_PAGE)) {
            error_setg(errp, "preempt channel: unexpected RAM record flags 0x%" PRIx64
                       " (stream offset %" PRIu64 ")", flags, pos);
            return false;
        }
        rb = ram_preempt_record_block(rs, f, pos, flags, &last, errp);
        if (!rb) {
            return false;
        }
        if (offset >= rb->used_length) {
            error_setg(errp, "preempt channel: Illegal RAM offset 0x%" PRIx64 " (block "
                       "\"%s\" of 0x%" PRIx64 " bytes)", offset, rb->idstr, rb->used_length);
            return false;
        }
        if (!ram_postcopy_load_page(rs, f, pos, rb, offset, flags, buf, errp)) {
            return false;
        }
    }
}

bool ram_preempt_load(RAMState *rs, QEMUFile *f, GError **errp)
{
    uint8_t *buf = mmap(NULL, TARGET_PAGE_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok;

    if (buf == MAP_FAILED) {
        error_setg_errno(errp, errno, "postcopy preempt page buffer");
        return false;
    }
    ok = ram_preempt_load_records(rs, f, buf, errp);
    munmap(buf, TARGET_PAGE_SIZE);
    return ok;
}
