/*
 * The destination side of the stream framing: header and configuration
 * checks, then sections until EOF (START/FULL matched by idstr and
 * instance, PART/END by the section id the source gave in START, each
 * followed by its footer), then the optional vmdesc trailer.  Nothing read
 * is trusted; every error names the section and the stream offset.
 * Threads and locks: see savevm.c.
 */
#include "savevm-internal.h"
#include "savevm-commands.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

/* Copy the stream's sticky error into @errp, prefixed with what was being read. */
static bool savevm_check_read(QEMUFile *f, GError **errp, const char *what)
{
    if (!qemu_file_check_error(f, errp)) {
        error_prepend(errp, "%s: ", what);
        return false;
    }
    return true;
}

static bool savevm_load_header(QEMUFile *f, const SaveVMConfig *local, GError **errp)
{
    uint32_t magic = qemu_get_be32(f);
    uint32_t version = qemu_get_be32(f);

    if (!savevm_check_read(f, errp, "reading the stream header")) {
        return false;
    }
    if (magic != QEMU_VM_FILE_MAGIC) {
        error_setg(errp, "Not a migration stream");
        return false;
    }
    if (version == QEMU_VM_FILE_VERSION_COMPAT) {
        error_setg(errp, "SaveVM v2 format is obsolete and don't work anymore");
        return false;
    }
    if (version != QEMU_VM_FILE_VERSION) {
        error_setg(errp, "Unsupported migration stream version");
        return false;
    }
    if (local->send_configuration) {
        uint64_t offset = qemu_file_tell(f);

        if (qemu_get_byte(f) != QEMU_VM_CONFIGURATION) {
            if (savevm_check_read(f, errp, "reading the configuration section")) {
                error_setg(errp, "Configuration section missing at offset %" PRIu64,
                           offset);
            }
            return false;
        }
        if (!savevm_config_load(f, local, errp)) {
            error_prepend(errp, "configuration section at offset %" PRIu64 ": ", offset);
            return false;
        }
    }
    return true;
}

static SaveVMEntry *savevm_find_by_name(SaveVMState *s, const char *idstr, size_t len,
                                        uint32_t instance_id)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (e->instance_id == instance_id && strlen(e->idstr) == len &&
            memcmp(e->idstr, idstr, len) == 0) {
            return e;
        }
    }
    return NULL;
}

static SaveVMEntry *savevm_find_started(SaveVMState *s, uint32_t section_id)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (e->ops && e->load_started && e->load_section_id == section_id) {
            return e;
        }
    }
    return NULL;
}

static bool savevm_check_footer(QEMUFile *f, SaveVMEntry *e, GError **errp)
{
    uint64_t offset = qemu_file_tell(f);
    uint8_t mark = qemu_get_byte(f);
    uint32_t section_id;

    if (!savevm_check_read(f, errp, "reading the section footer")) {
        error_prepend(errp, "section '%s': ", e->idstr);
        return false;
    }
    if (mark != QEMU_VM_SECTION_FOOTER) {
        error_setg(errp, "Missing section footer for %s at offset %" PRIu64,
                   e->idstr, offset);
        return false;
    }
    section_id = qemu_get_be32(f);
    if (!savevm_check_read(f, errp, "reading the section footer")) {
        error_prepend(errp, "section '%s': ", e->idstr);
        return false;
    }
    if (section_id != e->load_section_id) {
        error_setg(errp, "Mismatched section id in footer for %s - read 0x%" PRIx32
                   " expected 0x%" PRIx32 " at offset %" PRIu64, e->idstr, section_id,
                   e->load_section_id, offset);
        return false;
    }
    return true;
}

/* The payload of one section: a device's vmstate (under the device lock) or a handler's. */
static bool savevm_load_payload(SaveVMState *s, QEMUFile *f, SaveVMEntry *e,
                                GError **errp)
{
    bool ok;

    if (e->vmsd) {
        if (s->device_lock) {
            s->device_lock(s->device_lock_opaque);
        }
        ok = vmstate_load_state(f, e->vmsd, e->opaque, e->load_version_id, errp);
        if (s->device_unlock) {
            s->device_unlock(s->device_lock_opaque);
        }
        return ok;
    }
    if (!e->ops->load_state) {
        error_setg(errp, "no load handler");
        return false;
    }
    ok = e->ops->load_state(f, e->opaque, e->load_version_id, errp);
    if (ok && !qemu_file_check_error(f, errp)) {
        ok = false;
    }
    if (!ok && errp && !*errp) {
        error_setg(errp, "load handler failed at offset %" PRIu64, qemu_file_tell(f));
    }
    return ok;
}

static bool savevm_load_payload_and_footer(SaveVMState *s, QEMUFile *f, SaveVMEntry *e,
                                           uint64_t offset, GError **errp)
{
    if (!savevm_load_payload(s, f, e, errp)) {
        error_prepend(errp, "error while loading state for instance 0x%" PRIx32
                      " of device '%s' (section at offset %" PRIu64 "): ",
                      e->instance_id, e->idstr, offset);
        return false;
    }
    return savevm_check_footer(f, e, errp);
}

/* After the type byte of a START or FULL section that begins at @offset. */
static bool savevm_load_start_full(SaveVMState *s, QEMUFile *f, uint8_t type,
                                   uint64_t offset, GError **errp)
{
    char idstr[UINT8_MAX + 1];
    uint32_t section_id = qemu_get_be32(f);
    uint8_t len = qemu_get_byte(f);
    uint32_t instance_id, version_id;
    g_autofree char *printable = NULL;
    SaveVMEntry *e;

    qemu_get_buffer(f, idstr, len);
    idstr[len] = '\0';
    instance_id = qemu_get_be32(f);
    version_id = qemu_get_be32(f);
    if (!savevm_check_read(f, errp, "reading a section header")) {
        return false;
    }
    printable = g_strescape(idstr, NULL);
    e = savevm_find_by_name(s, idstr, len, instance_id);
    if (!e) {
        error_setg(errp, "Unknown savevm section or instance '%s' %" PRIu32
                   " at offset %" PRIu64 ". Make sure that your current VM setup "
                   "matches your saved VM setup, including any hotplugged devices",
                   printable, instance_id, offset);
        return false;
    }
    if (version_id > (uint32_t)e->version_id) {
        error_setg(errp, "savevm: unsupported version %" PRIu32 " for '%s' v%d"
                   " at offset %" PRIu64, version_id, e->idstr, e->version_id, offset);
        return false;
    }
    if (type == QEMU_VM_SECTION_START && !e->ops) {
        error_setg(errp, "START section for device '%s' at offset %" PRIu64
                   ", which is not iterative", e->idstr, offset);
        return false;
    }
    e->load_started = true;
    e->load_section_id = section_id;
    e->load_version_id = version_id;
    return savevm_load_payload_and_footer(s, f, e, offset, errp);
}

/* After the type byte of a PART or END section that begins at @offset. */
static bool savevm_load_part_end(SaveVMState *s, QEMUFile *f, uint64_t offset,
                                 GError **errp)
{
    uint32_t section_id = qemu_get_be32(f);
    SaveVMEntry *e;

    if (!savevm_check_read(f, errp, "reading a section header")) {
        return false;
    }
    e = savevm_find_started(s, section_id);
    if (!e) {
        error_setg(errp, "Unknown savevm section %" PRIu32 " at offset %" PRIu64,
                   section_id, offset);
        return false;
    }
    return savevm_load_payload_and_footer(s, f, e, offset, errp);
}

bool savevm_load_sections(SaveVMState *s, QEMUFile *f, bool *quit, GError **errp)
{
    *quit = false;
    for (;;) {
        uint64_t offset = qemu_file_tell(f);
        uint8_t type = qemu_get_byte(f);
        bool ok;

        if (!savevm_check_read(f, errp, "reading a section type")) {
            return false;
        }
        switch (type) {
        case QEMU_VM_EOF:
            s->times.load_eof_us = g_get_monotonic_time();
            return true;
        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_FULL:
            ok = savevm_load_start_full(s, f, type, offset, errp);
            break;
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END:
            if (type == QEMU_VM_SECTION_END && !s->times.load_first_end_us) {
                s->times.load_first_end_us = g_get_monotonic_time();
            }
            ok = savevm_load_part_end(s, f, offset, errp);
            break;
        case QEMU_VM_COMMAND:
            switch (savevm_load_command(s, f, offset, savevm_load_sections, errp)) {
            case SAVEVM_CMD_QUIT:
                *quit = true;
                return true;
            case SAVEVM_CMD_CONTINUE:
                ok = true;
                break;
            default:
                ok = false;
            }
            break;
        default:
            error_setg(errp, "Unknown savevm section type %u at offset %" PRIu64,
                       type, offset);
            ok = false;
        }
        if (!ok) {
            return false;
        }
    }
}

/*
 * The trailer after EOF (the VM description, `0x06 ; be32 len ; JSON`),
 * read whole and dropped: a destination that closes with bytes unread
 * makes its kernel reset the connection, and the reset can overtake the
 * return path's SHUT, failing a source whose migration worked.  Peeks
 * before every read: an absent or short trailer leaves no error on the
 * stream (it is optional, as in QEMU).  A malformed one is noted in
 * s->trailer_err (savevm_state_take_trailer_error) for the caller, who
 * knows whether it matters.
 */
static void savevm_load_trailer(SaveVMState *s, QEMUFile *f)
{
    uint8_t buf[4096];
    uint64_t offset = qemu_file_tell(f);
    uint32_t len, left;
    int type = qemu_peek_byte(f, 0);

    if (type < 0) {
        return;
    }
    if (type != QEMU_VM_VMDESCRIPTION) {
        s->trailer_err = g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                                     "Expected vmdescription section, but got %d (the "
                                     "trailer after EOF, at offset %" PRIu64 ")", type,
                                     offset);
        return;
    }
    if (qemu_peek_byte(f, 4) < 0) {
        s->trailer_err = g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                                     "the vmdescription at offset %" PRIu64 " ends in its "
                                     "length", offset);
        return;
    }
    qemu_get_byte(f);
    len = qemu_get_be32(f);
    if (len > SAVEVM_VMDESC_MAX) {
        s->trailer_err = g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                                     "vmdescription of %" PRIu32 " bytes at offset %" PRIu64
                                     " (at most %u)", len, offset, SAVEVM_VMDESC_MAX);
        return;
    }
    for (left = len; left > 0; left -= MIN(left, sizeof(buf))) {
        uint32_t chunk = MIN(left, sizeof(buf));

        if (qemu_peek_byte(f, chunk - 1) < 0) {
            s->trailer_err = g_error_new(TERN_ERROR, TERN_ERROR_GENERIC,
                                         "the vmdescription at offset %" PRIu64 " ends after "
                                         "%" PRIu32 " of its %" PRIu32 " bytes", offset,
                                         len - left, len);
            return;
        }
        qemu_get_buffer(f, buf, chunk);
    }
}

GError *savevm_state_take_trailer_error(SaveVMState *s)
{
    return g_steal_pointer(&s->trailer_err);
}

void savevm_drain(QEMUFile *f, size_t max)
{
    uint8_t buf[4096];

    while (max > 0 && qemu_peek_byte(f, 0) >= 0) {
        size_t n = MIN(MIN(qemu_file_unread(f), sizeof(buf)), max);

        qemu_get_buffer(f, buf, n);
        max -= n;
    }
}

static bool savevm_load_setup(SaveVMState *s, GError **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        GError *err = NULL;

        if (e->ops && e->ops->load_setup && !e->ops->load_setup(e->opaque, &err)) {
            if (!err) {
                error_setg(&err, "handler failed");
            }
            g_propagate_prefixed_error(errp, err, "load setup of section '%s': ",
                                       e->idstr);
            return false;
        }
    }
    return true;
}

static void savevm_load_cleanup(SaveVMState *s)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (e->ops && e->ops->load_cleanup) {
            e->ops->load_cleanup(e->opaque);
        }
    }
}

bool savevm_state_load(SaveVMState *s, QEMUFile *f, const SaveVMConfig *local_cfg,
                       GError **errp)
{
    bool quit = false;
    bool ok;

    s->load_quit = false;
    s->times.load_first_end_us = s->times.load_eof_us = 0;
    for (guint i = 0; i < s->entries->len; i++) {
        ((SaveVMEntry *)g_ptr_array_index(s->entries, i))->load_started = false;
    }
    if (!savevm_load_header(f, local_cfg, errp)) {
        return false;
    }
    ok = savevm_load_setup(s, errp) && savevm_load_sections(s, f, &quit, errp);
    if (ok && quit) {
        /* Postcopy: the rest comes with savevm_state_load_more(). */
        s->load_quit = true;
        return true;
    }
    g_clear_error(&s->trailer_err);
    if (ok) {
        savevm_load_trailer(s, f);
    }
    savevm_load_cleanup(s);
    return ok;
}

bool savevm_state_load_quit(SaveVMState *s)
{
    return s->load_quit;
}

bool savevm_state_load_more(SaveVMState *s, QEMUFile *f, GError **errp)
{
    bool quit = false;

    g_assert(s->load_quit);
    if (!savevm_load_sections(s, f, &quit, errp)) {
        return false;
    }
    if (quit) {
        error_setg(errp, "a second postcopy switch in one stream");
        return false;
    }
    return true;
}

void savevm_state_load_finish(SaveVMState *s)
{
    g_assert(s->load_quit);
    s->load_quit = false;
    savevm_load_cleanup(s);
}
