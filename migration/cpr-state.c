/*
 * The CPR state (include/migration/cpr.h): named fds, written to a unix
 * socket in QEMU's layout with each fd attached to its byte by SCM_RIGHTS,
 * and read back: the whole stream up to the sender's shutdown with the
 * fds in arrival order, then parsed with every length checked.
 */
#include "migration/cpr.h"
#include "qemu/error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CPR_VFIO_SUBSECTION     "CprState/vfio devices"
#define CPR_SUBSECTION_BYTE     0x05
/* More fds than any tern machine has blocks: a peer sending more is broken. */
#define CPR_STATE_FDS_MAX       1024
#define CPR_STATE_BYTES_MAX     (1u << 20)

typedef struct CprFd {
    char *name;
    int id;
    int fd;                     /* -1: did not arrive, or taken */
    bool taken;
} CprFd;

struct CprState {
    GPtrArray *fds;             /* CprFd *, in insertion order */
    bool owns_fds;              /* received: close what nobody took */
};

static void cpr_fd_free(gpointer p)
{
    CprFd *e = p;

    g_free(e->name);
    g_free(e);
}

CprState *cpr_state_new(void)
{
    CprState *s = g_new0(CprState, 1);

    s->fds = g_ptr_array_new_with_free_func(cpr_fd_free);
    return s;
}

void cpr_state_free(CprState *s)
{
    if (!s) {
        return;
    }
    for (guint i = 0; s->owns_fds && i < s->fds->len; i++) {
        CprFd *e = g_ptr_array_index(s->fds, i);

        if (!e->taken && e->fd >= 0) {
            close(e->fd);
        }
    }
    g_ptr_array_free(s->fds, TRUE);
    g_free(s);
}

static CprFd *cpr_state_find(const CprState *s, const char *name, int id)
{
    for (guint i = 0; i < s->fds->len; i++) {
        CprFd *e = g_ptr_array_index(s->fds, i);

        if (e->id == id && strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}

void cpr_state_add_fd(CprState *s, const char *name, int id, int fd)
{
    CprFd *e = g_new0(CprFd, 1);

    e->name = g_strdup(name);
    e->id = id;
    e->fd = fd;
    g_ptr_array_add(s->fds, e);
}

guint cpr_state_count(const CprState *s)
{
    return s->fds->len;
}

int cpr_state_take_fd(CprState *s, const char *name, int id)
{
    CprFd *e = cpr_state_find(s, name, id);

    if (!e || e->taken) {
        return -1;
    }
    e->taken = true;
    return e->fd;
}

bool cpr_state_check_taken(const CprState *s, GError **errp)
{
    for (guint i = 0; i < s->fds->len; i++) {
        const CprFd *e = g_ptr_array_index(s->fds, i);

        if (!e->taken) {
            error_setg(errp, "CPR state names fd '%s' (id %d), which nothing in "
                       "this process takes: the two processes were started with "
                       "different memory backends", e->name, e->id);
            return false;
        }
    }
    return true;
}

/* ---- sending ---- */

static bool cpr_send_all(int sock, const void *buf, size_t len, GError **errp)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "cpr channel: write failed");
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* The fd field: its byte alone, with @fd attached. */
static bool cpr_send_fd(int sock, int fd, GError **errp)
{
    uint8_t byte = CPR_STATE_FD_BYTE;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    ssize_t n;

    memset(&control, 0, sizeof(control));
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
        error_setg_errno(errp, n < 0 ? errno : EIO,
                         "cpr channel: cannot pass fd %d", fd);
        return false;
    }
    return true;
}

static void cpr_put_be32(GByteArray *b, uint32_t v)
{
    uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };

    g_byte_array_append(b, be, 4);
}

static void cpr_put_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

/* Flush what @b holds, then empty it. */
static bool cpr_flush(int sock, GByteArray *b, GError **errp)
{
    bool ok = cpr_send_all(sock, b->data, b->len, errp);

    g_byte_array_set_size(b, 0);
    return ok;
}

bool cpr_state_send(const CprState *s, int sock, GError **errp)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    cpr_put_be32(b, CPR_STATE_MAGIC);
    cpr_put_be32(b, CPR_STATE_VERSION);
    /* QEMU inserts at the head of its list: the stream runs newest first. */
    for (guint i = s->fds->len; i-- > 0;) {
        const CprFd *e = g_ptr_array_index(s->fds, i);
        size_t namelen = strlen(e->name) + 1;

        cpr_put_u8(b, 1);
        cpr_put_be32(b, namelen);
        g_byte_array_append(b, (const guint8 *)e->name, namelen);
        cpr_put_be32(b, e->id);
        if (!cpr_flush(sock, b, errp) || !cpr_send_fd(sock, e->fd, errp)) {
            return false;
        }
    }
    cpr_put_u8(b, 0);
    /* QEMU 10.1+ always sends this subsection; without IOMMUFD it has no fields. */
    cpr_put_u8(b, CPR_SUBSECTION_BYTE);
    cpr_put_u8(b, strlen(CPR_VFIO_SUBSECTION));
    g_byte_array_append(b, (const guint8 *)CPR_VFIO_SUBSECTION,
                        strlen(CPR_VFIO_SUBSECTION));
    cpr_put_be32(b, 1);
    return cpr_flush(sock, b, errp);
}

/* ---- parsing ---- */

typedef struct CprReader {
    const uint8_t *data;
    size_t len;
    size_t pos;
} CprReader;

static bool cpr_truncated(const CprReader *r, const char *what, GError **errp)
{
    error_setg(errp, "CPR state truncated at offset %zu (%zu bytes): %s expected",
               r->pos, r->len, what);
    return false;
}

static bool cpr_get_u8(CprReader *r, uint8_t *v, const char *what, GError **errp)
{
    if (r->len - r->pos < 1) {
        return cpr_truncated(r, what, errp);
    }
    *v = r->data[r->pos++];
    return true;
}

static bool cpr_get_be32(CprReader *r, uint32_t *v, const char *what, GError **errp)
{
    const uint8_t *p = r->data + r->pos;

    if (r->len - r->pos < 4) {
        return cpr_truncated(r, what, errp);
    }
    *v = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
    r->pos += 4;
    return true;
}

/* The oldest fd that arrived, or -1 (QEMU: silently) when none is left. */
static int cpr_pop_fd(GArray *fds)
{
    int fd;

    if (!fds || fds->len == 0) {
        return -1;
    }
    fd = g_array_index(fds, int, 0);
    g_array_remove_index(fds, 0);
    return fd;
}

/* One `u8 1` entry after its marker: namelen, name, id, the fd's byte. */
static bool cpr_parse_entry(CprReader *r, CprState *s, GArray *fds, GError **errp)
{
    size_t start = r->pos - 1;
    uint32_t namelen, id;
    const char *name;
    uint8_t byte;
    int fd;

    if (!cpr_get_be32(r, &namelen, "an fd entry's name length", errp)) {
        return false;
    }
    if (namelen < 2 || namelen > CPR_STATE_NAME_MAX) {
        error_setg(errp, "CPR state: fd entry at offset %zu has a name of %" PRIu32
                   " bytes (1 to %d and a NUL expected)", start, namelen,
                   CPR_STATE_NAME_MAX - 1);
        return false;
    }
    if (r->len - r->pos < namelen) {
        return cpr_truncated(r, "an fd entry's name", errp);
    }
    name = (const char *)r->data + r->pos;
    if (memchr(name, '\0', namelen) != name + namelen - 1) {
        error_setg(errp, "CPR state: fd entry at offset %zu: its name is not "
                   "one NUL-terminated string", start);
        return false;
    }
    r->pos += namelen;
    if (!cpr_get_be32(r, &id, "an fd entry's id", errp) ||
        !cpr_get_u8(r, &byte, "an fd entry's fd byte", errp)) {
        return false;
    }
    if (byte != CPR_STATE_FD_BYTE) {
        error_setg(errp, "CPR state: fd entry '%s' at offset %zu: fd byte 0x%02x, "
                   "0x%02x expected", name, start, byte, CPR_STATE_FD_BYTE);
        return false;
    }
    if (cpr_state_find(s, name, id)) {
        error_setg(errp, "CPR state names fd '%s' (id %" PRIu32 ") twice", name, id);
        return false;
    }
    fd = cpr_pop_fd(fds);
    cpr_state_add_fd(s, name, id, fd);
    return true;
}

/* After the list: nothing (QEMU 10.0), or the vfio subsection without devices. */
static bool cpr_parse_subsections(CprReader *r, GError **errp)
{
    size_t start = r->pos;
    uint8_t byte, namelen;
    uint32_t version;

    if (r->pos == r->len) {
        return true;
    }
    if (!cpr_get_u8(r, &byte, "a subsection", errp)) {
        return false;
    }
    if (byte != CPR_SUBSECTION_BYTE) {
        error_setg(errp, "CPR state: byte 0x%02x at offset %zu after the fd list",
                   byte, start);
        return false;
    }
    if (!cpr_get_u8(r, &namelen, "a subsection name", errp)) {
        return false;
    }
    if (r->len - r->pos < namelen) {
        return cpr_truncated(r, "a subsection name", errp);
    }
    if (namelen != strlen(CPR_VFIO_SUBSECTION) ||
        memcmp(r->data + r->pos, CPR_VFIO_SUBSECTION, namelen) != 0) {
        g_autofree char *got = g_strndup((const char *)r->data + r->pos, namelen);

        error_setg(errp, "CPR state: unknown subsection '%s' at offset %zu",
                   g_strcanon(got, G_CSET_A_2_Z G_CSET_a_2_z G_CSET_DIGITS " /-_", '?'),
                   start);
        return false;
    }
    r->pos += namelen;
    if (!cpr_get_be32(r, &version, "the subsection's version", errp)) {
        return false;
    }
    if (version != 1) {
        error_setg(errp, "CPR state: subsection '%s' version %" PRIu32 ", 1 expected",
                   CPR_VFIO_SUBSECTION, version);
        return false;
    }
    /* An IOMMUFD build sends its device list: tern takes only an empty one. */
    if (r->pos < r->len && r->data[r->pos] == 0) {
        r->pos++;
    } else if (r->pos < r->len) {
        error_setg(errp, "CPR state carries VFIO devices (offset %zu), which tern "
                   "does not have", r->pos);
        return false;
    }
    return true;
}

CprState *cpr_state_parse(const uint8_t *data, size_t len, GArray *fds, GError **errp)
{
    CprReader r = { .data = data, .len = len };
    g_autoptr(CprState) s = cpr_state_new();
    uint32_t magic, version;
    uint8_t marker;

    s->owns_fds = true;
    if (!cpr_get_be32(&r, &magic, "the magic", errp) ||
        !cpr_get_be32(&r, &version, "the version", errp)) {
        return NULL;
    }
    if (magic != CPR_STATE_MAGIC) {
        error_setg(errp, "Not a migration stream (bad magic %x)", magic);
        return NULL;
    }
    if (version != CPR_STATE_VERSION) {
        error_setg(errp, "Unsupported migration stream version %d", (int)version);
        return NULL;
    }
    for (;;) {
        if (!cpr_get_u8(&r, &marker, "an fd entry or the list's end", errp)) {
            return NULL;
        }
        if (marker == 0) {
            break;
        }
        if (marker != 1) {
            error_setg(errp, "CPR state: byte 0x%02x at offset %zu in the fd list "
                       "(1 or 0 expected)", marker, r.pos - 1);
            return NULL;
        }
        if (!cpr_parse_entry(&r, s, fds, errp)) {
            return NULL;
        }
    }
    if (!cpr_parse_subsections(&r, errp)) {
        return NULL;
    }
    if (r.pos != r.len) {
        error_setg(errp, "CPR state: %zu bytes after its end (offset %zu)",
                   r.len - r.pos, r.pos);
        return NULL;
    }
    if (fds && fds->len) {
        error_setg(errp, "CPR state: %u fds arrived that no entry names", fds->len);
        return NULL;
    }
    return g_steal_pointer(&s);
}

/* ---- receiving ---- */

/* One recvmsg: bytes into @bytes, fds into @fds.  0 at the end, -1 on error. */
static ssize_t cpr_recv_some(int sock, GByteArray *bytes, GArray *fds, GError **errp)
{
    uint8_t buf[4096];
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    ssize_t n;

    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        error_setg_errno(errp, errno, "cpr channel: read failed");
        return -1;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            for (size_t i = 0; i < nfds; i++) {
                int fd;

                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                g_array_append_val(fds, fd);
            }
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        error_setg(errp, "cpr channel: more fds in one message than tern takes");
        return -1;
    }
    g_byte_array_append(bytes, buf, n);
    return n;
}

static void cpr_close_fds(GArray *fds)
{
    for (guint i = 0; i < fds->len; i++) {
        close(g_array_index(fds, int, i));
    }
    g_array_set_size(fds, 0);
}

CprState *cpr_state_receive(int sock, GError **errp)
{
    g_autoptr(GByteArray) bytes = g_byte_array_new();
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
    CprState *s = NULL;
    ssize_t n;

    do {
        n = cpr_recv_some(sock, bytes, fds, errp);
        if (n > 0 && (bytes->len > CPR_STATE_BYTES_MAX || fds->len > CPR_STATE_FDS_MAX)) {
            error_setg(errp, "CPR state larger than %u bytes or %u fds",
                       CPR_STATE_BYTES_MAX, CPR_STATE_FDS_MAX);
            n = -1;
        }
    } while (n > 0);
    if (n == 0) {
        s = cpr_state_parse(bytes->data, bytes->len, fds, errp);
    }
    cpr_close_fds(fds);         /* what no entry took */
    return s;
}
