/*
 * cpr-transfer (include/migration/cpr.h): the old process hands the new one
 * its RAM fds over the cpr channel, a unix socket, before the main channel
 * carries the device state; and what a CPR migration refuses, with QEMU's
 * texts.
 *
 * The handshake, as QEMU 10 does it:
 *
 *   old (migration thread, guest running)   new (start-up, no monitor yet)
 *                                           listen on the cpr socket
 *   connect, CPR state + fds, SHUT_WR  -->  accept, read to the end
 *   wait for the channel's end              build the machine on the fds,
 *                                           listen on the main channel
 *   <-- close ---------------------------   close the cpr socket
 *   connect main, stop the guest, send  -->  load, resume
 */
#include "migration/cpr.h"
#include "migration/channel.h"
#include "qemu/error.h"
#include "qemu/sockets.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

bool cpr_channel_find(MigrationChannelList *channels, MigrationAddress **cpr,
                      GError **errp)
{
    *cpr = NULL;
    for (MigrationChannelList *l = channels; l; l = l->next) {
        if (l->value->channel_type != MIGRATION_CHANNEL_TYPE_CPR) {
            continue;
        }
        if (*cpr) {
            error_setg(errp, "Channel list has more than one cpr entry");
            return false;
        }
        *cpr = l->value->addr;
    }
    return true;
}

static bool cpr_address_is_unix(const MigrationAddress *addr)
{
    return addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
           addr->u.socket.type == SOCKET_ADDRESS_TYPE_UNIX;
}

/* A new process can map the block: an fd of shared memory (a memfd, a file). */
static bool cpr_check_block(const RAMBlock *rb, GError **errp)
{
    if (rb->fd < 0 || !rb->shared) {
        error_setg(errp, "Memory region %s is not compatible with CPR. share=on is "
                   "required for memory-backend objects, and aux-ram-share=on is "
                   "required.", rb->idstr);
        return false;
    }
    return true;
}

bool cpr_check_migrate(MigMode mode, const MigrationAddress *main,
                       const MigrationAddress *cpr, GPtrArray *blocks,
                       const bool *caps, GError **errp)
{
    if (mode == MIG_MODE_NORMAL) {
        return true;
    }
    if (mode == MIG_MODE_CPR_TRANSFER) {
        if (!cpr) {
            error_setg(errp, "missing 'cpr' migration channel");
            return false;
        }
        if (main->transport == MIGRATION_ADDRESS_TYPE_FILE) {
            error_setg(errp, "Migration requires streamable transport (eg unix)");
            return false;
        }
        if (!cpr_address_is_unix(cpr)) {
            error_setg(errp, "bad cpr channel address; must be unix");
            return false;
        }
        for (guint i = 0; i < blocks->len; i++) {
            if (!cpr_check_block(g_ptr_array_index(blocks, i), errp)) {
                return false;
            }
        }
    }
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM] || caps[MIGRATION_CAPABILITY_DIRTY_BITMAPS]) {
        error_setg(errp, "Cannot use postcopy with CPR");
        return false;
    }
    if (caps[MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT]) {
        error_setg(errp, "Cannot use background snapshot with CPR");
        return false;
    }
    if (caps[MIGRATION_CAPABILITY_X_COLO]) {
        error_setg(errp, "Cannot use COLO with CPR");
        return false;
    }
    return true;
}

bool cpr_check_incoming(bool cpr_transfer, const MigrationAddress *main, GError **errp)
{
    if (cpr_transfer && main->transport == MIGRATION_ADDRESS_TYPE_FILE) {
        error_setg(errp, "Migration requires streamable transport (eg unix)");
        return false;
    }
    return true;
}

bool cpr_check_incoming_memory(const CprState *state, GPtrArray *blocks, GError **errp)
{
    for (guint i = 0; i < blocks->len; i++) {
        if (!cpr_check_block(g_ptr_array_index(blocks, i), errp)) {
            return false;
        }
    }
    return cpr_state_check_taken(state, errp);
}

/* ---- source ---- */

/*
 * After SHUT_WR: the new process closes its end once its main listener is
 * up.  Anything it writes first is a protocol error.
 */
static bool cpr_transfer_wait_close(int sock, ChannelCancel *cancel, GError **errp)
{
    for (;;) {
        char byte;
        ssize_t n;

        if (!channel_cancel_wait_fd(cancel, sock, POLLIN, errp)) {
            return false;
        }
        n = recv(sock, &byte, 1, MSG_DONTWAIT);
        if (n == 0) {
            return true;
        }
        if (n > 0) {
            error_setg(errp, "cpr channel: the new process sent data");
            return false;
        }
        if (errno != EAGAIN && errno != EINTR) {
            error_setg_errno(errp, errno, "cpr channel");
            return false;
        }
    }
}

bool cpr_transfer_send(const MigrationAddress *cpr, GPtrArray *blocks,
                       ChannelCancel *cancel, GError **errp)
{
    g_autoptr(CprState) state = cpr_state_new();
    int sock;
    bool ok;

    for (guint i = 0; i < blocks->len; i++) {
        const RAMBlock *rb = g_ptr_array_index(blocks, i);

        /* A file backend is opened again by its path, as in QEMU. */
        if (!rb->named_file) {
            cpr_state_add_fd(state, rb->idstr, 0, rb->fd);
        }
    }
    sock = socket_unix_open(cpr->u.socket.u.q_unix.path, false, errp);
    if (sock < 0) {
        error_prepend(errp, "cpr channel: ");
        return false;
    }
    ok = cpr_state_send(state, sock, errp);
    if (ok && shutdown(sock, SHUT_WR) < 0) {
        error_setg_errno(errp, errno, "cpr channel: shutdown failed");
        ok = false;
    }
    ok = ok && cpr_transfer_wait_close(sock, cancel, errp);
    close(sock);
    return ok;
}

/* ---- destination ---- */

int cpr_transfer_receive(const MigrationAddress *cpr, CprState **state, GError **errp)
{
    g_autofree char *tmp = NULL;
    const char *path;
    int listener, sock;

    if (!cpr_address_is_unix(cpr)) {
        error_setg(errp, "bad cpr channel socket type; must be unix");
        return -1;
    }
    path = cpr->u.socket.u.q_unix.path;
    /* Listening before the path appears: whoever sees it can connect. */
    tmp = g_strdup_printf("%s.%d", path, (int)getpid());
    listener = socket_unix_open(tmp, true, errp);
    if (listener < 0) {
        return -1;
    }
    if (rename(tmp, path) < 0) {
        error_setg_errno(errp, errno, "cpr channel: cannot bind %s", path);
        unlink(tmp);
        close(listener);
        return -1;
    }
    do {
        sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    } while (sock < 0 && errno == EINTR);
    if (sock < 0) {
        error_setg_errno(errp, errno, "cpr channel: accept failed");
    }
    close(listener);
    unlink(path);
    if (sock < 0) {
        return -1;
    }
    *state = cpr_state_receive(sock, errp);
    if (!*state) {
        error_prepend(errp, "cpr channel: ");
        close(sock);
        return -1;
    }
    return sock;
}
