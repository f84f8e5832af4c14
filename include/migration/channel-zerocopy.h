/*
 * Sending memory without copying it into the kernel, two ways:
 *
 * - By reference (multifd pages over unix sockets): the bytes go into a
 *   pipe with vmsplice() and from there into the socket with splice(), so
 *   the socket holds references to the pages rather than a copy.  The
 *   peer reads whatever the pages hold when its read copies them out.
 * - MSG_ZEROCOPY (the `zero-copy-send` capability, QEMU's): sendmsg()
 *   pins the pages and the kernel reports on the socket's error queue
 *   when it is done with them, and whether it had to copy after all.
 *
 * Either way the caller must keep the memory mapped and must not mind
 * that a later change to it may be what is sent: guest RAM under dirty
 * tracking, where a page written after it was queued is dirty again and
 * is sent again, after a SYNC that orders the two versions.  Headers and
 * other reused buffers go through channel_writev_all().
 */
#ifndef MIGRATION_CHANNEL_ZEROCOPY_H
#define MIGRATION_CHANNEL_ZEROCOPY_H

#include "migration/channel.h"

#include <stdint.h>

/* What a channel did by reference since it opened (for the docs' counts). */
typedef struct ChannelZeroCopyStats {
    uint64_t spliced_bytes;         /* went by reference (vmsplice + splice) */
    uint64_t copied_bytes;          /* fell back to a copying write */
    uint64_t zc_sends;              /* MSG_ZEROCOPY sendmsg calls */
    uint64_t zc_copied;             /* ...that the kernel reports it copied */
} ChannelZeroCopyStats;

/*
 * Write all of @iov by reference where that saves CPU (a unix socket
 * without TLS), else as channel_writev_all() does.  False with @errp set
 * on error or cancel.
 */
bool channel_writev_by_ref(Channel *ch, const struct iovec *iov, int iovcnt,
                           GError **errp);

/*
 * Turn MSG_ZEROCOPY on for @ch: QEMU's "Zero copy send feature not
 * detected in host kernel" where the socket refuses SO_ZEROCOPY (unix
 * sockets do, and a kernel without it), or where @ch is TLS or no socket.
 */
bool channel_zero_copy_enable(Channel *ch, GError **errp);

/*
 * Write all of @iov with MSG_ZEROCOPY (channel_zero_copy_enable() first).
 * The pages stay in use by the kernel until channel_zero_copy_flush().
 */
bool channel_writev_zero_copy(Channel *ch, const struct iovec *iov, int iovcnt,
                              GError **errp);

/*
 * Wait until the kernel is done with every MSG_ZEROCOPY write so far.
 * 1 when there were writes since the last flush and the kernel copied
 * every one of them (zero-copy was missed: QEMU's
 * dirty-sync-missed-zero-copy counts these), 0 otherwise, -1 with @errp
 * set on error or cancel.
 */
int channel_zero_copy_flush(Channel *ch, GError **errp);

/* The counts so far (zeros for a channel that never sent by reference). */
void channel_zero_copy_stats(Channel *ch, ChannelZeroCopyStats *stats);

#endif
