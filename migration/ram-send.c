/*
 * The source's page records (ram-send.h): what every sender of pages
 * writes, whether the core's page walk (ram.c) or a part with its own way
 * (XBZRLE, compress, write tracking).
 */
#include "ram-send.h"
#include "qemu/bufferiszero.h"

#include <string.h>

void ram_send_run_publish(RAMState *rs, RAMSendRun *run)
{
    migration_stat_add(run->bytes_counter, run->bytes);
    migration_stat_add(&rs->stats->zero_pages, run->zero_pages);
    migration_stat_add(&rs->stats->normal_pages, run->normal_pages);
    run->bytes = run->zero_pages = run->normal_pages = 0;
}

size_t ram_build_header(RAMState *rs, uint8_t *hdr, const RAMBlock *rb,
                        uint64_t offset, uint64_t flags)
{
    size_t len = 8;
    uint64_t word;

    if (rb == rs->last_sent_block) {
        flags |= RAM_SAVE_FLAG_CONTINUE;
    }
    word = GUINT64_TO_BE(offset | flags);
    memcpy(hdr, &word, 8);
    if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
        size_t idlen = strlen(rb->idstr);

        hdr[len++] = idlen;
        memcpy(hdr + len, rb->idstr, idlen);
        len += idlen;
        rs->last_sent_block = rb;
    }
    return len;
}

void ram_put_page_record(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                         const uint8_t *data, bool copy, RAMSendRun *run)
{
    uint8_t hdr[RAM_HEADER_MAX];
    size_t len = ram_build_header(rs, hdr, rb, page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_PAGE);

    qemu_put_buffer(f, hdr, len);
    if (copy) {
        qemu_put_buffer(f, data, TARGET_PAGE_SIZE);
        ram_verify_page(rs->verify, rb, page, data);    /* a copy: hashed before it changes */
    } else {
        qemu_put_buffer_async(f, data, TARGET_PAGE_SIZE);
        /*
         * Queued from guest memory, hashed from it by the worker: a write
         * between either read and the next dirty sync makes the page dirty,
         * so it is sent and digested again (docs/devel/ram-verify.md).
         */
        ram_verify_page_in_place(rs->verify, rb, page, false);
    }
    run->bytes += len + TARGET_PAGE_SIZE;
    run->normal_pages++;
}

bool ram_send_rate_exceeded(RAMState *rs)
{
    return rs->has_rate_limit && rs->rate_limit.exceeded(rs->rate_limit.opaque);
}

bool ram_page_never_written(RAMState *rs, const RAMBlock *rb, uint64_t page)
{
    return !rs->all_sent_once && !ram_residency_has_data(&rs->residency, rb, page);
}

void ram_save_zero_page(RAMState *rs, QEMUFile *f, const RAMBlock *rb, uint64_t page,
                        RAMSendRun *run)
{
    uint8_t hdr[RAM_HEADER_MAX];
    size_t len = ram_build_header(rs, hdr, rb, page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_ZERO);

    hdr[len++] = 0;
    qemu_put_buffer(f, hdr, len);
    ram_verify_page_in_place(rs->verify, rb, page, true);
    run->zero_pages++;
    run->bytes += len;
}

void ram_save_page_copy(RAMState *rs, QEMUFile *f, RAMBlock *rb, uint64_t page,
                        const uint8_t *data, RAMSendRun *run)
{
    bool in_place = data == rb->host + (page << TARGET_PAGE_BITS);

    if (rs->zero_page_detection != ZERO_PAGE_DETECTION_NONE &&
        ((in_place && ram_page_never_written(rs, rb, page)) ||
         buffer_is_zero(data, TARGET_PAGE_SIZE))) {
        ram_save_zero_page(rs, f, rb, page, run);
    } else {
        ram_put_page_record(rs, f, rb, page, data, true, run);
    }
}
