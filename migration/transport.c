/*
 * Migration transports (transport.h): URI parsing and the
 * connect / listen side of each address type.  The source's side ends in a
 * cancellable Channel (migration/channel.c); the destination's in a file
 * descriptor that incoming.c wraps in one.
 */
#include "transport.h"
#include "migration/channel.h"
#include "qapi/qapi-clone.h"
#include "qemu/cutils.h"
#include "qemu/error.h"
#include "qemu/fdset.h"
#include "qemu/option.h"
#include "qemu/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- parsing ---- */

static SocketAddress *socket_address_parse_inet(const char *hostport, GError **errp)
{
    const char *colon = strrchr(hostport, ':');
    g_autofree char *host = NULL;
    SocketAddress *sa;

    if (!colon || colon[1] == '\0') {
        error_setg(errp, "address '%s' has no port", hostport);
        return NULL;
    }
    host = g_strndup(hostport, colon - hostport);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {     /* [::1]:port */
        char *inner = g_strndup(host + 1, strlen(host) - 2);
        g_free(host);
        host = inner;
    }
    sa = g_new0(SocketAddress, 1);
    sa->type = SOCKET_ADDRESS_TYPE_INET;
    sa->u.inet.host = g_steal_pointer(&host);
    sa->u.inet.port = g_strdup(colon + 1);
    return sa;
}

static MigrationAddress *migration_address_socket(SocketAddress *sa)
{
    MigrationAddress *addr = g_new0(MigrationAddress, 1);

    addr->transport = MIGRATION_ADDRESS_TYPE_SOCKET;
    addr->u.socket = *sa;       /* the branch is embedded by value */
    g_free(sa);
    return addr;
}

static MigrationAddress *migration_address_file(const char *spec, GError **errp)
{
    const char *comma = strchr(spec, ',');
    g_autofree char *path = comma ? g_strndup(spec, comma - spec) : g_strdup(spec);
    uint64_t offset = 0;
    MigrationAddress *addr;

    if (comma) {
        if (!g_str_has_prefix(comma + 1, "offset=")) {
            error_setg(errp, "file URI has unknown option '%s'", comma + 1);
            return NULL;
        }
        if (!qemu_strtosz(comma + 1 + strlen("offset="), 1, &offset, errp)) {
            error_prepend(errp, "file URI offset: ");
            return NULL;
        }
    }
    addr = g_new0(MigrationAddress, 1);
    addr->transport = MIGRATION_ADDRESS_TYPE_FILE;
    addr->u.file.filename = g_steal_pointer(&path);
    addr->u.file.offset = offset;
    return addr;
}

MigrationAddress *migration_uri_parse(const char *uri, GError **errp)
{
    const char *rest;

    if ((rest = g_str_has_prefix(uri, "tcp:") ? uri + 4 : NULL)) {
        SocketAddress *sa = socket_address_parse_inet(rest, errp);
        return sa ? migration_address_socket(sa) : NULL;
    }
    if (g_str_has_prefix(uri, "unix:")) {
        SocketAddress *sa = g_new0(SocketAddress, 1);
        sa->type = SOCKET_ADDRESS_TYPE_UNIX;
        sa->u.q_unix.path = g_strdup(uri + 5);
        return migration_address_socket(sa);
    }
    if (g_str_has_prefix(uri, "fd:")) {
        SocketAddress *sa = g_new0(SocketAddress, 1);
        sa->type = SOCKET_ADDRESS_TYPE_FD;
        sa->u.fd.str = g_strdup(uri + 3);
        return migration_address_socket(sa);
    }
    if (g_str_has_prefix(uri, "exec:")) {
        MigrationAddress *addr = g_new0(MigrationAddress, 1);
        const char *argv[] = { "/bin/sh", "-c", uri + 5 };

        addr->transport = MIGRATION_ADDRESS_TYPE_EXEC;
        for (int i = G_N_ELEMENTS(argv) - 1; i >= 0; i--) {
            strList *node = g_new0(strList, 1);
            node->value = g_strdup(argv[i]);
            node->next = addr->u.exec.args;
            addr->u.exec.args = node;
        }
        return addr;
    }
    if (g_str_has_prefix(uri, "file:")) {
        return migration_address_file(uri + 5, errp);
    }
    error_setg(errp, "unknown migration protocol: %s", uri);
    return NULL;
}

MigrationAddress *migration_channels_parse(MigrationChannelList *channels,
                                           GError **errp)
{
    MigrationChannel *main_channel = NULL;

    for (MigrationChannelList *l = channels; l; l = l->next) {
        if (l->value->channel_type == MIGRATION_CHANNEL_TYPE_CPR) {
            continue;           /* cpr-transfer's (migration/cpr-transfer.c) */
        }
        if (main_channel) {
            error_setg(errp, "Channel list has more than one main entry");
            return NULL;
        }
        main_channel = l->value;
    }
    if (!main_channel) {
        error_setg(errp, "Channel list has no main entry");
        return NULL;
    }
    return QAPI_CLONE(MigrationAddress, main_channel->addr);
}

/* ---- fd: ---- */

/* fd:N, as the command or the command line left it: a number by now. */
static int fd_from_address(const SocketAddress *sa, GError **errp)
{
    int64_t fd;

    if (!qemu_strtoi64(sa->u.fd.str, &fd, NULL) || fd < 0 || fd > INT_MAX ||
        fcntl((int)fd, F_GETFD) < 0) {
        error_setg(errp, "File descriptor '%s' is not valid", sa->u.fd.str);
        return -1;
    }
    return (int)fd;
}

/* ---- exec: ---- */

/*
 * The command's stdin (outgoing) or stdout (incoming) is one end of a
 * socketpair; like any channel it is waited on with the cancel token, so
 * cancel and quit work even when the command stops reading or writing.
 * GLib double-forks (no child pid asked for), so nothing is left to reap.
 */
static int exec_spawn(const strList *args, bool outgoing, GError **errp)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int sv[2];
    bool ok;

    for (const strList *l = args; l; l = l->next) {
        g_ptr_array_add(argv, l->value);
    }
    g_ptr_array_add(argv, NULL);
    if (argv->len < 2) {
        error_setg(errp, "exec: no command given");
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        error_setg_errno(errp, errno, "exec: socketpair failed");
        return -1;
    }
    ok = g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL,
                                G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                outgoing ? sv[1] : -1, outgoing ? -1 : sv[1],
                                -1, errp);
    close(sv[1]);
    if (!ok) {
        close(sv[0]);
        error_prepend(errp, "exec: ");
        return -1;
    }
    return sv[0];
}

/* ---- file: ---- */

/* The file, or with "/dev/fdset/N" a duplicate of an fd given with add-fd. */
static int file_open_path(const char *path, bool outgoing, GError **errp)
{
    int flags = outgoing ? O_WRONLY | O_CREAT : O_RDONLY;
    int fd;

    if (fdset_is_path(path)) {
        return fdset_open(path, flags, errp);
    }
    fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
    }
    return fd;
}

static int file_open(const FileMigrationArgs *file, bool outgoing, GError **errp)
{
    int fd = file_open_path(file->filename, outgoing, errp);
    struct stat st;

    if (fd < 0) {
        return -1;
    }
    /*
     * Keep what lies before the offset; drop an older stream after it.
     * Only when there is one: on ext4, truncating to 0 (even an empty file)
     * makes the last close write the whole file back, which a save then
     * waits for (auto_da_alloc).
     */
    if ((outgoing && (fstat(fd, &st) < 0 ||
                      ((uint64_t)st.st_size > file->offset && ftruncate(fd, file->offset) < 0))) ||
        lseek(fd, file->offset, SEEK_SET) < 0) {
        error_setg_errno(errp, errno, "Could not seek '%s' to offset %" PRIu64,
                         file->filename, file->offset);
        fdset_close(fd);
        return -1;
    }
    return fd;
}

/* ---- sockets ---- */

static int socket_open(const SocketAddress *sa, bool server, GError **errp)
{
    switch (sa->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return socket_inet_open(sa->u.inet.host, sa->u.inet.port, server, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return socket_unix_open(sa->u.q_unix.path, server, errp);
    case SOCKET_ADDRESS_TYPE_FD:
        return fd_from_address(sa, errp);
    default:
        error_setg(errp, "socket address type '%s' is not supported",
                   SocketAddressType_str(sa->type));
        return -1;
    }
}

/*
 * How long a unix connect waits before trying a listener with a full
 * backlog again (the destination accepts as its main loop gets to it).
 */
#define TRANSPORT_UNIX_RETRY_MS 5

/* Connections a listener holds before it accepts them: 1 + 255 channels. */
#define TRANSPORT_LISTEN_BACKLOG 256

/* A unix connect retries until the migration is cancelled (SocketRetryFunc). */
static bool transport_connect_retry(void *opaque, GError **errp)
{
    return channel_cancel_sleep_ms(opaque, TRANSPORT_UNIX_RETRY_MS, errp);
}

/* A tcp connect waits on the migration's cancel token (SocketWaitFunc). */
static bool transport_connect_wait(int fd, short events, void *opaque,
                                   GError **errp)
{
    return channel_cancel_wait_fd(opaque, fd, events, errp);
}

static int transport_connect_fd(const MigrationAddress *addr,
                                 ChannelCancel *cancel, GError **errp)
{
    const SocketAddress *sa = &addr->u.socket;

    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        if (sa->type == SOCKET_ADDRESS_TYPE_INET) {
            return socket_inet_open_full(sa->u.inet.host, sa->u.inet.port, false,
                                         transport_connect_wait, cancel, errp);
        }
        if (sa->type == SOCKET_ADDRESS_TYPE_UNIX) {
            return socket_unix_connect_full(sa->u.q_unix.path, transport_connect_retry,
                                            cancel, errp);
        }
        return socket_open(sa, false, errp);
    case MIGRATION_ADDRESS_TYPE_EXEC:
        return exec_spawn(addr->u.exec.args, true, errp);
    case MIGRATION_ADDRESS_TYPE_FILE:
        return file_open(&addr->u.file, true, errp);
    default:
        error_setg(errp, "migration transport '%s' is not supported",
                   MigrationAddressType_str(addr->transport));
        return -1;
    }
}

Channel *transport_connect(const MigrationAddress *addr, ChannelCancel *cancel,
                           GError **errp)
{
    int fd = transport_connect_fd(addr, cancel, errp);

    return fd < 0 ? NULL : channel_new_fd(fd, cancel, errp);
}

/* ---- listening ---- */

struct TransportListener {
    int fd;                         /* listening socket, or the ready fd */
    bool is_socket;                 /* accept() on fd, else hand fd over */
    char *unix_path;                /* our unix socket's path, removed at free */
    guint source;                   /* main-loop source id, 0 once fired */
    SocketAddressList *addresses;
    TransportAcceptFunc accept_fn;
    void *opaque;
};

static gboolean listener_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    TransportListener *l = opaque;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    guint source;

    /*
     * Nothing to take after all (the peer gave up), or a failure such as
     * EMFILE: keep listening, as QEMU's listener does.  Removing the source
     * here would leave l->source naming a dead source.
     */
    if (conn < 0) {
        return G_SOURCE_CONTINUE;
    }
    /*
     * Marked fired before the call: an accept function that is done may
     * free the listener, and @l must not be touched after that.
     */
    source = l->source;
    l->source = 0;
    if (!l->accept_fn(conn, l->opaque)) {
        return G_SOURCE_REMOVE;
    }
    l->source = source;             /* more channels to come (multifd) */
    return G_SOURCE_CONTINUE;
}

static gboolean listener_hand_over(gpointer opaque)
{
    TransportListener *l = opaque;
    int fd = l->fd;

    l->source = 0;
    l->fd = -1;
    l->accept_fn(fd, l->opaque);
    return G_SOURCE_REMOVE;
}

/* The address @fd is bound to, with an ephemeral port resolved. */
static SocketAddress *listener_bound_address(int fd, const SocketAddress *asked)
{
    SocketAddress *sa = QAPI_CLONE(SocketAddress, asked);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[64], port[16];

    if (sa->type == SOCKET_ADDRESS_TYPE_INET &&
        getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        g_free(sa->u.inet.host);
        g_free(sa->u.inet.port);
        sa->u.inet.host = g_strdup(host);
        sa->u.inet.port = g_strdup(port);
    }
    return sa;
}

TransportListener *transport_listen(const MigrationAddress *addr,
                                    TransportAcceptFunc accept_fn,
                                    void *opaque, GError **errp)
{
    TransportListener *l = g_new0(TransportListener, 1);
    const SocketAddress *sa = &addr->u.socket;

    l->accept_fn = accept_fn;
    l->opaque = opaque;
    l->is_socket = addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
                   sa->type != SOCKET_ADDRESS_TYPE_FD;
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        l->fd = socket_open(sa, l->is_socket, errp);
        break;
    case MIGRATION_ADDRESS_TYPE_EXEC:
        l->fd = exec_spawn(addr->u.exec.args, false, errp);
        break;
    case MIGRATION_ADDRESS_TYPE_FILE:
        l->fd = file_open(&addr->u.file, false, errp);
        break;
    default:
        error_setg(errp, "migration transport '%s' is not supported",
                   MigrationAddressType_str(addr->transport));
        l->fd = -1;
    }
    if (l->fd < 0) {
        g_free(l);
        return NULL;
    }
    if (l->is_socket) {
        /*
         * Room for the main channel and all of 255 multifd channels at
         * once (QEMU sizes its backlog by the channel count): a source
         * connecting them faster than the main loop accepts then need not
         * wait and retry (a unix connect retries every few ms).
         */
        listen(l->fd, TRANSPORT_LISTEN_BACKLOG);
        if (sa->type == SOCKET_ADDRESS_TYPE_UNIX) {
            l->unix_path = g_strdup(sa->u.q_unix.path);
        }
        l->addresses = g_new0(SocketAddressList, 1);
        l->addresses->value = listener_bound_address(l->fd, sa);
        /* accept() must not block the main loop. */
        g_unix_set_fd_nonblocking(l->fd, TRUE, NULL);
        l->source = g_unix_fd_add(l->fd, G_IO_IN, listener_ready, l);
    } else {
        l->source = g_idle_add(listener_hand_over, l);
    }
    return l;
}

SocketAddressList *transport_listener_addresses(TransportListener *l)
{
    return l ? l->addresses : NULL;
}

void transport_listener_free(TransportListener *l)
{
    if (!l) {
        return;
    }
    if (l->source) {
        g_source_remove(l->source);
    }
    if (l->fd >= 0 && (l->is_socket || l->source)) {
        fdset_close(l->fd);
    }
    /* As QEMU: the socket file goes with the listener that bound it. */
    if (l->unix_path) {
        unlink(l->unix_path);
        g_free(l->unix_path);
    }
    qapi_free_SocketAddressList(l->addresses);
    g_free(l);
}
