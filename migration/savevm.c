/*
 * The section registry and the source side of the stream framing: header
 * and configuration, START/PART/END sections of iterative entries, FULL
 * sections of devices, EOF and the VM description trailer, in QEMU's
 * version-3 layout.  The destination side is savevm-load.c.
 *
 * Threads and locks:
 *  - Registration happens while the machine is built (main thread, BQL)
 *    and never while a migration or an incoming load runs; the entry list
 *    is then read without a lock by the migration or incoming thread.
 *  - Source: one migration thread calls header → setup → iterate... →
 *    complete → cleanup.  It holds the BQL around savevm_state_setup and
 *    savevm_state_complete (the VM is stopped for complete, and device
 *    vmstate is saved there); iterate and pending_estimate run without it.
 *  - Destination: the incoming thread calls savevm_state_load without the
 *    BQL.  Iterative payloads (RAM) load without it; each device section
 *    loads between the lock/unlock hooks (savevm_set_device_load_lock),
 *    which take the BQL.  A caller that holds the BQL for the whole load
 *    (or a test) sets no hooks.
 */
#include "savevm-internal.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

static void savevm_entry_free(gpointer p)
{
    SaveVMEntry *e = p;

    g_free(e->idstr);
    g_free(e);
}

SaveVMState *savevm_state_new(void)
{
    SaveVMState *s = g_new0(SaveVMState, 1);

    s->entries = g_ptr_array_new_with_free_func(savevm_entry_free);
    return s;
}

void savevm_state_free(SaveVMState *s)
{
    if (!s) {
        return;
    }
    g_clear_object(&s->vmdesc);
    g_clear_error(&s->trailer_err);
    g_ptr_array_unref(s->entries);
    g_free(s);
}

/* An iterative entry that takes part in this migration (SaveVMHandlers.is_active). */
static bool savevm_entry_is_live(const SaveVMEntry *e)
{
    return e->ops && (!e->ops->is_active || e->ops->is_active(e->opaque));
}

static SaveVMEntry *savevm_find(SaveVMState *s, const char *idstr, uint32_t instance_id)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (e->instance_id == instance_id && strcmp(e->idstr, idstr) == 0) {
            return e;
        }
    }
    return NULL;
}

static uint32_t savevm_next_instance_id(SaveVMState *s, const char *idstr)
{
    uint32_t next = 0;

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (strcmp(e->idstr, idstr) == 0 && e->instance_id >= next) {
            next = e->instance_id + 1;
        }
    }
    return next;
}

/* Insert before the first entry of lower priority: higher priorities are saved first. */
static void savevm_insert(SaveVMState *s, SaveVMEntry *e)
{
    guint i;

    g_assert(strlen(e->idstr) <= UINT8_MAX);
    if (e->instance_id == SAVEVM_INSTANCE_ID_ANY) {
        e->instance_id = savevm_next_instance_id(s, e->idstr);
    }
    g_assert(!savevm_find(s, e->idstr, e->instance_id));
    if (e->priority == MIG_PRI_UNINITIALIZED) {
        e->priority = MIG_PRI_DEFAULT;
    }
    e->section_id = s->next_section_id++;
    for (i = 0; i < s->entries->len; i++) {
        SaveVMEntry *other = g_ptr_array_index(s->entries, i);

        if (other->priority < e->priority) {
            break;
        }
    }
    g_ptr_array_insert(s->entries, i, e);
}

void savevm_register_live(SaveVMState *s, const char *idstr, uint32_t instance_id,
                          int version_id, const SaveVMHandlers *ops, void *opaque)
{
    SaveVMEntry *e = g_new0(SaveVMEntry, 1);

    e->idstr = g_strdup(idstr);
    e->instance_id = instance_id;
    e->version_id = version_id;
    e->ops = ops;
    e->opaque = opaque;
    savevm_insert(s, e);
}

void savevm_register_vmsd(SaveVMState *s, const char *idstr, uint32_t instance_id,
                          const VMStateDescription *vmsd, void *opaque)
{
    SaveVMEntry *e = g_new0(SaveVMEntry, 1);

    e->idstr = g_strdup(idstr);
    e->instance_id = instance_id;
    e->version_id = vmsd->version_id;
    e->priority = vmsd->priority;
    e->vmsd = vmsd;
    e->opaque = opaque;
    savevm_insert(s, e);
}

bool savevm_unregister(SaveVMState *s, const char *idstr, uint32_t instance_id)
{
    SaveVMEntry *e = savevm_find(s, idstr, instance_id);

    return e && g_ptr_array_remove(s->entries, e);
}

void savevm_set_device_load_lock(SaveVMState *s, void (*lock)(void *opaque),
                                 void (*unlock)(void *opaque), void *opaque)
{
    s->device_lock = lock;
    s->device_unlock = unlock;
    s->device_lock_opaque = opaque;
}

/* ---- source ---- */

static void savevm_put_section_header(QEMUFile *f, const SaveVMEntry *e, uint8_t type)
{
    qemu_put_byte(f, type);
    qemu_put_be32(f, e->section_id);
    if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
        size_t len = strlen(e->idstr);

        qemu_put_byte(f, len);
        qemu_put_buffer(f, e->idstr, len);
        qemu_put_be32(f, e->instance_id);
        qemu_put_be32(f, e->version_id);
    }
}

static void savevm_put_section_footer(QEMUFile *f, const SaveVMEntry *e)
{
    qemu_put_byte(f, QEMU_VM_SECTION_FOOTER);
    qemu_put_be32(f, e->section_id);
}

/* Report a stream error, or a failed hook's error, naming the section. */
static bool savevm_section_done(QEMUFile *f, const SaveVMEntry *e, bool ok,
                                GError **errp)
{
    if (ok && !qemu_file_check_error(f, errp)) {
        ok = false;
    }
    if (!ok) {
        if (errp && !*errp) {
            error_setg(errp, "handler failed");
        }
        error_prepend(errp, "section '%s' (instance %" PRIu32 "): ",
                      e->idstr, e->instance_id);
    }
    return ok;
}

bool savevm_state_header(SaveVMState *s, QEMUFile *f, const SaveVMConfig *cfg,
                         GError **errp)
{
    g_clear_object(&s->vmdesc);
    s->suppress_vmdesc = cfg->suppress_vmdesc;
    if (!s->suppress_vmdesc) {
        s->vmdesc = json_builder_new();
        json_builder_begin_object(s->vmdesc);
    }

    qemu_put_be32(f, QEMU_VM_FILE_MAGIC);
    qemu_put_be32(f, QEMU_VM_FILE_VERSION);
    if (cfg->send_configuration) {
        qemu_put_byte(f, QEMU_VM_CONFIGURATION);
        if (s->vmdesc) {
            json_builder_set_member_name(s->vmdesc, "configuration");
            json_builder_begin_object(s->vmdesc);
        }
        if (!savevm_config_save(f, cfg, s->vmdesc, errp)) {
            return false;
        }
        if (s->vmdesc) {
            json_builder_end_object(s->vmdesc);
        }
    }
    return qemu_file_check_error(f, errp);
}

bool savevm_state_setup(SaveVMState *s, QEMUFile *f, GError **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);
        bool ok;

        if (!savevm_entry_is_live(e) || !e->ops->save_setup) {
            continue;
        }
        savevm_put_section_header(f, e, QEMU_VM_SECTION_START);
        ok = e->ops->save_setup(f, e->opaque, errp);
        savevm_put_section_footer(f, e);
        if (!savevm_section_done(f, e, ok, errp)) {
            return false;
        }
    }
    return true;
}

SaveVMIterateResult savevm_state_iterate(SaveVMState *s, QEMUFile *f,
                                         GError **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);
        SaveVMIterateResult ret;

        if (!savevm_entry_is_live(e) || !e->ops->save_live_iterate) {
            continue;
        }
        savevm_put_section_header(f, e, QEMU_VM_SECTION_PART);
        ret = e->ops->save_live_iterate(f, e->opaque, errp);
        savevm_put_section_footer(f, e);
        if (!savevm_section_done(f, e, ret != SAVEVM_ITERATE_ERROR, errp)) {
            return SAVEVM_ITERATE_ERROR;
        }
        if (ret == SAVEVM_ITERATE_MORE) {
            /* Finish this entry's round before starting the next one (as QEMU). */
            return SAVEVM_ITERATE_MORE;
        }
    }
    return SAVEVM_ITERATE_DONE;
}

uint64_t savevm_state_pending_estimate(SaveVMState *s)
{
    uint64_t pending = 0;

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);
        uint64_t mine = 0;

        if (e->ops && e->ops->state_pending_estimate) {
            e->ops->state_pending_estimate(e->opaque, &mine);
            pending += mine;
        }
    }
    return pending;
}

bool savevm_state_pending_exact(SaveVMState *s, uint64_t *pending, GError **errp)
{
    *pending = 0;
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);
        GError *err = NULL;
        uint64_t mine = 0;

        if (!e->ops || !e->ops->state_pending_exact) {
            continue;
        }
        if (!e->ops->state_pending_exact(e->opaque, &mine, &err)) {
            if (!err) {
                error_setg(&err, "handler failed");
            }
            g_propagate_prefixed_error(errp, err, "section '%s' (instance %"
                                       PRIu32 "): ", e->idstr, e->instance_id);
            return false;
        }
        *pending += mine;
    }
    return true;
}

/* One FULL device section, described in the vmdesc "devices" list. */
static bool savevm_save_device(SaveVMState *s, QEMUFile *f, SaveVMEntry *e,
                               GError **errp)
{
    bool ok;

    if (s->vmdesc) {
        json_builder_begin_object(s->vmdesc);
        json_builder_set_member_name(s->vmdesc, "name");
        json_builder_add_string_value(s->vmdesc, e->idstr);
        json_builder_set_member_name(s->vmdesc, "instance_id");
        json_builder_add_int_value(s->vmdesc, e->instance_id);
    }
    savevm_put_section_header(f, e, QEMU_VM_SECTION_FULL);
    ok = vmstate_save_state(f, e->vmsd, e->opaque, s->vmdesc, errp);
    savevm_put_section_footer(f, e);
    if (s->vmdesc) {
        json_builder_end_object(s->vmdesc);
    }
    return savevm_section_done(f, e, ok, errp);
}

/* EOF, then `0x06 ; be32 len ; json` unless suppressed. */
static bool savevm_put_eof_and_vmdesc(SaveVMState *s, QEMUFile *f, GError **errp)
{
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GString) json = NULL;

    qemu_put_byte(f, QEMU_VM_EOF);
    if (!s->vmdesc) {
        return qemu_file_check_error(f, errp);
    }
    json_builder_end_array(s->vmdesc);
    json_builder_end_object(s->vmdesc);
    root = json_builder_get_root(s->vmdesc);
    json = vmdesc_to_json(root);
    g_assert(json->len <= UINT32_MAX);

    qemu_put_byte(f, QEMU_VM_VMDESCRIPTION);
    qemu_put_be32(f, json->len);
    qemu_put_buffer(f, json->str, json->len);
    g_clear_object(&s->vmdesc);
    return qemu_file_check_error(f, errp);
}

/* The END section of every iterative entry (its save_live_complete). */
static bool savevm_complete_iterables(SaveVMState *s, QEMUFile *f, GError **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);
        bool ok;

        if (!savevm_entry_is_live(e) || !e->ops->save_live_complete) {
            continue;
        }
        savevm_put_section_header(f, e, QEMU_VM_SECTION_END);
        ok = e->ops->save_live_complete(f, e->opaque, errp);
        savevm_put_section_footer(f, e);
        if (!savevm_section_done(f, e, ok, errp)) {
            return false;
        }
    }
    return true;
}

bool savevm_state_complete(SaveVMState *s, QEMUFile *f, GError **errp)
{
    if (!savevm_complete_iterables(s, f, errp)) {
        return false;
    }
    s->times.iterables_done_us = g_get_monotonic_time();
    return savevm_state_complete_non_iterable(s, f, errp);
}

bool savevm_state_complete_non_iterable(SaveVMState *s, QEMUFile *f, GError **errp)
{
    if (!s->vmdesc && !s->suppress_vmdesc) {
        /* No header was written through us: describe the devices anyway. */
        s->vmdesc = json_builder_new();
        json_builder_begin_object(s->vmdesc);
    }
    if (s->vmdesc) {
        json_builder_set_member_name(s->vmdesc, "page_size");
        json_builder_add_int_value(s->vmdesc, SAVEVM_TARGET_PAGE_SIZE);
        json_builder_set_member_name(s->vmdesc, "devices");
        json_builder_begin_array(s->vmdesc);
    }
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (!e->vmsd || !vmstate_section_needed(e->vmsd, e->opaque)) {
            continue;
        }
        if (!savevm_save_device(s, f, e, errp)) {
            return false;
        }
    }
    if (!savevm_put_eof_and_vmdesc(s, f, errp)) {
        return false;
    }
    qemu_fflush(f);
    return qemu_file_check_error(f, errp);
}

bool savevm_state_complete_devices(SaveVMState *s, QEMUFile *f, GError **errp)
{
    /* As QEMU: a postcopy stream has no vmdesc trailer. */
    g_clear_object(&s->vmdesc);
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (!e->vmsd || !vmstate_section_needed(e->vmsd, e->opaque)) {
            continue;
        }
        if (!savevm_save_device(s, f, e, errp)) {
            return false;
        }
    }
    return qemu_file_check_error(f, errp);
}

bool savevm_state_complete_postcopy(SaveVMState *s, QEMUFile *f, GError **errp)
{
    if (!savevm_complete_iterables(s, f, errp)) {
        return false;
    }
    qemu_put_byte(f, QEMU_VM_EOF);
    qemu_fflush(f);
    return qemu_file_check_error(f, errp);
}

SaveVMTimes savevm_state_times(const SaveVMState *s)
{
    return s->times;
}

void savevm_state_cleanup(SaveVMState *s)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *e = g_ptr_array_index(s->entries, i);

        if (e->ops && e->ops->save_cleanup) {
            e->ops->save_cleanup(e->opaque);
        }
    }
    g_clear_object(&s->vmdesc);
}
