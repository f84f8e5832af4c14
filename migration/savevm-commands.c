/*
 * QEMU_VM_COMMAND records (savevm-commands.h): the source's writers and
 * the destination's parser.  Lengths are checked as QEMU checks them,
 * with QEMU's messages, before a payload reaches a handler.
 */
#include "savevm-commands.h"
#include "savevm-internal.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

/* QEMU's names (mig_cmd_args[].name), for messages. */
static const char *const savevm_command_names[MIG_CMD_MAX] = {
    [MIG_CMD_INVALID] = "INVALID",
    [MIG_CMD_OPEN_RETURN_PATH] = "OPEN_RETURN_PATH",
    [MIG_CMD_PING] = "PING",
    [MIG_CMD_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
    [MIG_CMD_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
    [MIG_CMD_POSTCOPY_RUN] = "POSTCOPY_RUN",
    [MIG_CMD_POSTCOPY_RAM_DISCARD] = "POSTCOPY_RAM_DISCARD",
    [MIG_CMD_PACKAGED] = "PACKAGED",
    [MIG_CMD_ENABLE_COLO] = "ENABLE_COLO",
    [MIG_CMD_POSTCOPY_RESUME] = "POSTCOPY_RESUME",
    [MIG_CMD_RECV_BITMAP] = "RECV_BITMAP",
    [MIG_CMD_SWITCHOVER_START] = "SWITCHOVER_START",
};

/* Fixed payload lengths; -1: variable (checked by the command's parser). */
static const int savevm_command_len[MIG_CMD_MAX] = {
    [MIG_CMD_INVALID] = -1,
    [MIG_CMD_OPEN_RETURN_PATH] = 0,
    [MIG_CMD_PING] = 4,
    [MIG_CMD_POSTCOPY_ADVISE] = -1,
    [MIG_CMD_POSTCOPY_LISTEN] = 0,
    [MIG_CMD_POSTCOPY_RUN] = 0,
    [MIG_CMD_POSTCOPY_RAM_DISCARD] = -1,
    [MIG_CMD_PACKAGED] = 4,
    [MIG_CMD_ENABLE_COLO] = 0,
    [MIG_CMD_POSTCOPY_RESUME] = 0,
    [MIG_CMD_RECV_BITMAP] = -1,
    [MIG_CMD_SWITCHOVER_START] = 0,
};

void savevm_set_command_ops(SaveVMState *s, const SaveVMCommandOps *ops, void *opaque)
{
    s->cmd_ops = ops;
    s->cmd_opaque = opaque;
}

/* ---- source ---- */

static void savevm_send_command(QEMUFile *f, uint16_t cmd, uint16_t len,
                                const void *data)
{
    qemu_put_byte(f, QEMU_VM_COMMAND);
    qemu_put_be16(f, cmd);
    qemu_put_be16(f, len);
    qemu_put_buffer(f, data, len);
}

void savevm_send_open_return_path(QEMUFile *f)
{
    savevm_send_command(f, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
}

void savevm_send_ping(QEMUFile *f, uint32_t value)
{
    uint32_t be = GUINT32_TO_BE(value);

    savevm_send_command(f, MIG_CMD_PING, sizeof(be), &be);
}

void savevm_send_postcopy_advise(QEMUFile *f, uint64_t ram_pagesize_summary)
{
    uint64_t be[2] = {
        GUINT64_TO_BE(ram_pagesize_summary),
        GUINT64_TO_BE(SAVEVM_TARGET_PAGE_SIZE),
    };

    savevm_send_command(f, MIG_CMD_POSTCOPY_ADVISE, sizeof(be), be);
}

void savevm_send_postcopy_listen(QEMUFile *f)
{
    savevm_send_command(f, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
}

void savevm_send_postcopy_run(QEMUFile *f)
{
    savevm_send_command(f, MIG_CMD_POSTCOPY_RUN, 0, NULL);
}

void savevm_send_postcopy_ram_discard(QEMUFile *f, const char *name,
                                      const uint64_t *starts,
                                      const uint64_t *lengths, size_t n)
{
    size_t namelen = strlen(name);
    size_t len = 1 + 1 + namelen + 1 + 16 * n;
    g_autofree uint8_t *buf = g_malloc(len);
    uint8_t *p = buf;

    g_assert(n <= MIG_DISCARD_MAX_RANGES && namelen <= UINT8_MAX);
    *p++ = 0;                           /* version */
    *p++ = namelen;
    memcpy(p, name, namelen);
    p += namelen;
    *p++ = 0;                           /* the nil QEMU checks */
    for (size_t i = 0; i < n; i++) {
        uint64_t be[2] = { GUINT64_TO_BE(starts[i]), GUINT64_TO_BE(lengths[i]) };

        memcpy(p, be, sizeof(be));
        p += sizeof(be);
    }
    savevm_send_command(f, MIG_CMD_POSTCOPY_RAM_DISCARD, len, buf);
}

void savevm_send_packaged(QEMUFile *f, const void *buf, size_t len)
{
    uint32_t be = GUINT32_TO_BE((uint32_t)len);

    g_assert(len <= MIG_MAX_PACKAGED_SIZE);
    savevm_send_command(f, MIG_CMD_PACKAGED, sizeof(be), &be);
    qemu_put_buffer(f, buf, len);
}

void savevm_send_recv_bitmap(QEMUFile *f, const char *name)
{
    uint8_t buf[1 + UINT8_MAX];
    size_t namelen = strlen(name);

    g_assert(namelen <= UINT8_MAX);
    buf[0] = namelen;
    memcpy(buf + 1, name, namelen);
    savevm_send_command(f, MIG_CMD_RECV_BITMAP, 1 + namelen, buf);
}

void savevm_send_postcopy_resume(QEMUFile *f)
{
    savevm_send_command(f, MIG_CMD_POSTCOPY_RESUME, 0, NULL);
}

void savevm_send_x_switchover_commit(QEMUFile *f)
{
    savevm_send_command(f, MIG_CMD_X_SWITCHOVER_COMMIT, 0, NULL);
}

/* ---- destination ---- */

static uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

/* ADVISE: 16 bytes (page size summary, target page size), or 0 (dirty bitmaps only). */
static bool savevm_load_advise(SaveVMState *s, const uint8_t *data, uint16_t len,
                               GError **errp)
{
    if (len != 16) {
        error_setg(errp, "CMD_POSTCOPY_ADVISE received with bad length - "
                   "expecting 16, got %u (dirty-bitmaps is not supported)", len);
        return false;
    }
    return s->cmd_ops->postcopy_advise(s->cmd_opaque, load_be64(data),
                                       load_be64(data + 8), errp);
}

/* RAM_DISCARD: u8 version ; u8 n ; name ; u8 0 ; k x (be64 start, be64 length). */
static bool savevm_load_discard(SaveVMState *s, const uint8_t *data, uint16_t len,
                                GError **errp)
{
    uint64_t starts[MIG_DISCARD_MAX_RANGES], lengths[MIG_DISCARD_MAX_RANGES];
    char name[UINT8_MAX + 1];
    size_t namelen, n;
    const uint8_t *p;

    if (len < 1 + 1 + 1 + 1 + 16) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%u)", len);
        return false;
    }
    if (data[0] != 0) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid version (%u)", data[0]);
        return false;
    }
    namelen = data[1];
    if (len < 3 + namelen || (len - 3 - namelen) % 16 != 0) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%u)", len);
        return false;
    }
    if (data[2 + namelen] != 0) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD missing nil (%u)", data[2 + namelen]);
        return false;
    }
    n = (len - 3 - namelen) / 16;
    if (n > MIG_DISCARD_MAX_RANGES) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD with %zu ranges (at most %d)",
                   n, MIG_DISCARD_MAX_RANGES);
        return false;
    }
    memcpy(name, data + 2, namelen);
    name[namelen] = '\0';
    p = data + 3 + namelen;
    for (size_t i = 0; i < n; i++, p += 16) {
        starts[i] = load_be64(p);
        lengths[i] = load_be64(p + 8);
    }
    return s->cmd_ops->postcopy_ram_discard(s->cmd_opaque, name, starts, lengths, n,
                                            errp);
}

/* RECV_BITMAP: u8 n ; name (no NUL), and nothing else (QEMU's messages). */
static bool savevm_load_recv_bitmap(SaveVMState *s, const uint8_t *data, uint16_t len,
                                   GError **errp)
{
    char name[UINT8_MAX + 1];

    if (len == 0 || data[0] == 0) {
        error_setg(errp, "loadvm_handle_recv_bitmap: failed to read block name");
        return false;
    }
    if (len != data[0] + 1) {
        error_setg(errp, "loadvm_handle_recv_bitmap: invalid payload length (%u)", len);
        return false;
    }
    memcpy(name, data + 1, data[0]);
    name[data[0]] = '\0';
    return s->cmd_ops->recv_bitmap(s->cmd_opaque, name, errp);
}

/* What a package is read in: memory grows with the bytes that came, not with the claim. */
#define SAVEVM_PACKAGED_CHUNK   (1u << 20)

/*
 * A package's @len bytes, read a chunk at a time into a buffer that
 * grows as they arrive: a stream that claims 4 GiB and ends after a few
 * bytes costs a few bytes.  NULL after an error.
 */
static uint8_t *savevm_read_packaged(QEMUFile *f, uint32_t len, GError **errp)
{
    g_autofree uint8_t *blob = g_malloc(1);
    size_t have = 0, cap = 1;

    while (have < len) {
        size_t chunk = MIN(len - have, SAVEVM_PACKAGED_CHUNK);

        if (have + chunk > cap) {
            size_t want = MIN(MAX(cap * 2, have + chunk), (size_t)len);
            uint8_t *grown = g_try_realloc(blob, want);

            if (!grown) {
                error_setg(errp, "Unreasonably large packaged state: %" PRIu32, len);
                return NULL;
            }
            blob = grown;
            cap = want;
        }
        if (qemu_get_buffer(f, blob + have, chunk) != chunk) {
            qemu_file_check_error(f, errp);
            error_prepend(errp, "reading a packaged state of %" PRIu32 " bytes: ", len);
            return NULL;
        }
        have += chunk;
    }
    return g_steal_pointer(&blob);
}

/* PACKAGED: be32 length, then that many bytes of nested stream, loaded here. */
static SaveVMCommandResult savevm_load_packaged(SaveVMState *s, QEMUFile *f,
                                                const uint8_t *data,
                                                SaveVMSectionLoader load_nested,
                                                GError **errp)
{
    uint32_t len = load_be32(data);
    g_autofree uint8_t *blob = savevm_read_packaged(f, len, errp);
    QEMUFile *pack;
    bool quit = false;
    bool ok;

    if (!blob) {
        return SAVEVM_CMD_ERROR;
    }
    pack = qemu_file_new_input_borrowed(blob, len);  /* @blob outlives @pack */
    ok = load_nested(s, pack, &quit, errp);
    qemu_fclose(pack, NULL);
    if (!ok) {
        error_prepend(errp, "in the packaged state: ");
        return SAVEVM_CMD_ERROR;
    }
    return quit ? SAVEVM_CMD_QUIT : SAVEVM_CMD_CONTINUE;
}

/* The hook for @cmd, or NULL: tern does not load it (or nobody asked it to). */
static bool savevm_command_hooked(SaveVMState *s, MigCommand cmd)
{
    const SaveVMCommandOps *ops = s->cmd_ops;

    if (!ops) {
        return false;
    }
    switch (cmd) {
    case MIG_CMD_OPEN_RETURN_PATH:
        return ops->open_return_path;
    case MIG_CMD_PING:
        return ops->ping;
    case MIG_CMD_POSTCOPY_ADVISE:
        return ops->postcopy_advise;
    case MIG_CMD_POSTCOPY_LISTEN:
        return ops->postcopy_listen;
    case MIG_CMD_POSTCOPY_RUN:
        return ops->postcopy_run;
    case MIG_CMD_POSTCOPY_RAM_DISCARD:
        return ops->postcopy_ram_discard;
    case MIG_CMD_PACKAGED:
        return ops->postcopy_listen;    /* a package is only sent for postcopy */
    case MIG_CMD_SWITCHOVER_START:
        return true;                    /* nothing to do (QEMU 10.0+) */
    case MIG_CMD_RECV_BITMAP:
        return ops->recv_bitmap;
    case MIG_CMD_POSTCOPY_RESUME:
        return ops->postcopy_resume;
    default:
        return false;
    }
}

static SaveVMCommandResult savevm_dispatch(SaveVMState *s, QEMUFile *f, MigCommand cmd,
                                           const uint8_t *data, uint16_t len,
                                           SaveVMSectionLoader load_nested,
                                           GError **errp)
{
    const SaveVMCommandOps *ops = s->cmd_ops;
    bool ok;

    switch (cmd) {
    case MIG_CMD_OPEN_RETURN_PATH:
        ok = ops->open_return_path(s->cmd_opaque, f, errp);
        break;
    case MIG_CMD_PING:
        ok = ops->ping(s->cmd_opaque, load_be32(data), errp);
        break;
    case MIG_CMD_POSTCOPY_ADVISE:
        ok = savevm_load_advise(s, data, len, errp);
        break;
    case MIG_CMD_POSTCOPY_LISTEN:
        ok = ops->postcopy_listen(s->cmd_opaque, f, errp);
        break;
    case MIG_CMD_POSTCOPY_RUN:
        /* RUN ends the package's loop; the listen thread has the stream. */
        return ops->postcopy_run(s->cmd_opaque, errp) ? SAVEVM_CMD_QUIT
                                                      : SAVEVM_CMD_ERROR;
    case MIG_CMD_POSTCOPY_RAM_DISCARD:
        ok = savevm_load_discard(s, data, len, errp);
        break;
    case MIG_CMD_PACKAGED:
        return savevm_load_packaged(s, f, data, load_nested, errp);
    case MIG_CMD_RECV_BITMAP:
        ok = savevm_load_recv_bitmap(s, data, len, errp);
        break;
    case MIG_CMD_POSTCOPY_RESUME:
        ok = ops->postcopy_resume(s->cmd_opaque, errp);
        break;
    default:
        ok = true;
        break;
    }
    return ok ? SAVEVM_CMD_CONTINUE : SAVEVM_CMD_ERROR;
}

SaveVMCommandResult savevm_load_command(SaveVMState *s, QEMUFile *f, uint64_t offset,
                                        SaveVMSectionLoader load_nested, GError **errp)
{
    uint16_t cmd = qemu_get_be16(f);
    uint16_t len = qemu_get_be16(f);
    uint8_t data[UINT16_MAX];
    SaveVMCommandResult res;

    if (!qemu_file_check_error(f, errp)) {
        error_prepend(errp, "reading a command: ");
        return SAVEVM_CMD_ERROR;
    }
    if (cmd == MIG_CMD_INVALID || cmd >= MIG_CMD_MAX) {
        error_setg(errp, "MIG_CMD 0x%x unknown (len 0x%x) at offset %" PRIu64,
                   cmd, len, offset);
        return SAVEVM_CMD_ERROR;
    }
    if (savevm_command_len[cmd] >= 0 && len != savevm_command_len[cmd]) {
        error_setg(errp, "%s received with bad length - expecting %d, got %u",
                   savevm_command_names[cmd], savevm_command_len[cmd], len);
        return SAVEVM_CMD_ERROR;
    }
    if (!savevm_command_hooked(s, cmd)) {
        error_setg(errp, "Unsupported migration command %s (%u, length %u) at offset %"
                   PRIu64, savevm_command_names[cmd], cmd, len, offset);
        return SAVEVM_CMD_ERROR;
    }
    if (qemu_get_buffer(f, data, len) != len) {
        qemu_file_check_error(f, errp);
        error_prepend(errp, "reading command %s: ", savevm_command_names[cmd]);
        return SAVEVM_CMD_ERROR;
    }
    res = savevm_dispatch(s, f, cmd, data, len, load_nested, errp);
    if (res == SAVEVM_CMD_ERROR) {
        error_prepend(errp, "command %s at offset %" PRIu64 ": ",
                      savevm_command_names[cmd], offset);
    }
    return res;
}
