/*
 * The VMState engine: walks a VMStateDescription's fields to write them
 * in QEMU's encoding (fields back to back, then subsections as
 * `0x05 ; u8 len ; name ; be32 version ; fields`), to read them back, and
 * to describe them in the vmdesc JSON as QEMU does.  Every count and
 * length read from the stream is checked against the field's declared
 * capacity, and a failed load restores the struct it was writing into.
 */
#include "migration/vmstate.h"
#include "migration/savevm.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

static bool vmstate_save_vmsd(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, JsonBuilder *vmdesc, GError **errp);
static bool vmstate_load_vmsd(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, int version_id, GError **errp);

bool vmstate_section_needed(const VMStateDescription *vmsd, void *opaque)
{
    return !vmsd->needed || vmsd->needed(opaque);
}

static bool vmstate_field_exists(const VMStateField *field, void *opaque,
                                 int version_id)
{
    if (field->field_exists) {
        return field->field_exists(opaque, version_id);
    }
    return field->version_id <= version_id;
}

/* Elements in @field, checked against its capacity. */
static bool vmstate_n_elems(const VMStateField *field, void *opaque,
                            size_t *n, GError **errp)
{
    if (field->flags & VMS_VARRAY_UINT32) {
        uint32_t count = *(uint32_t *)((uint8_t *)opaque + field->num_offset);

        if (count > field->num) {
            error_setg(errp, "element count %" PRIu32 " exceeds maximum %zu",
                       count, field->num);
            return false;
        }
        *n = count;
    } else if (field->flags & VMS_ARRAY) {
        *n = field->num;
    } else {
        *n = 1;
    }
    return true;
}

/* Bytes per element of @field, checked against its capacity. */
static bool vmstate_elem_size(const VMStateField *field, void *opaque,
                              size_t *size, GError **errp)
{
    if (field->flags & VMS_VBUFFER) {
        uint32_t len = *(uint32_t *)((uint8_t *)opaque + field->size_offset);

        if (len > field->size) {
            error_setg(errp, "length %" PRIu32 " exceeds maximum %zu",
                       len, field->size);
            return false;
        }
        *size = len;
    } else {
        *size = field->size;
    }
    return true;
}

/* ---- vmdesc (the JSON description of what was sent) ---- */

/* Whether an array of @field is described by its first element alone. */
static bool vmsd_can_compress(const VMStateField *field)
{
    if (field->field_exists) {
        return false;
    }
    if (field->flags & VMS_STRUCT) {
        for (const VMStateField *sf = field->vmsd->fields; sf->name; sf++) {
            if (!vmsd_can_compress(sf)) {
                return false;
            }
        }
        if (field->vmsd->subsections) {
            return false;
        }
    }
    return true;
}

/* -1 when @field's name is unique in @vmsd, else its rank among the homonyms. */
static int vmsd_field_name_index(const VMStateDescription *vmsd,
                                 const VMStateField *field)
{
    int rank = -1, count = 0;

    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (strcmp(f->name, field->name) == 0) {
            if (f == field) {
                rank = count;
            }
            count++;
        }
    }
    return count > 1 ? rank : -1;
}

static const char *vmsd_field_type_name(const VMStateField *field)
{
    if (field->flags & VMS_STRUCT) {
        return "struct";
    }
    return field->info && field->info->name ? field->info->name : "unknown";
}

/*
 * Open the JSON object of element @i of @n.  A compressible array is one
 * object with "array_len"; otherwise each element has an "index".
 */
static void vmsd_desc_field_start(const VMStateDescription *vmsd, JsonBuilder *vmdesc,
                                  const VMStateField *field, size_t i, size_t n,
                                  bool compress)
{
    int rank = vmsd_field_name_index(vmsd, field);
    g_autofree char *name = rank < 0 ? g_strdup(field->name)
                                     : g_strdup_printf("%s[%d]", field->name, rank);

    json_builder_begin_object(vmdesc);
    json_builder_set_member_name(vmdesc, "name");
    json_builder_add_string_value(vmdesc, name);
    if (n > 1) {
        json_builder_set_member_name(vmdesc, compress ? "array_len" : "index");
        json_builder_add_int_value(vmdesc, compress ? (gint64)n : (gint64)i);
    }
    json_builder_set_member_name(vmdesc, "type");
    json_builder_add_string_value(vmdesc, vmsd_field_type_name(field));
    if (field->flags & VMS_STRUCT) {
        json_builder_set_member_name(vmdesc, "struct");
        json_builder_begin_object(vmdesc);
    }
}

static void vmsd_desc_field_end(JsonBuilder *vmdesc, const VMStateField *field,
                                uint64_t written)
{
    if (field->flags & VMS_STRUCT) {
        json_builder_end_object(vmdesc);
    }
    json_builder_set_member_name(vmdesc, "size");
    json_builder_add_int_value(vmdesc, (gint64)written);
    json_builder_end_object(vmdesc);
}

/* ---- saving ---- */

static bool vmstate_save_elem(QEMUFile *f, const VMStateField *field, void *elem,
                              size_t size, JsonBuilder *vmdesc, GError **errp)
{
    if (field->flags & VMS_STRUCT) {
        return vmstate_save_vmsd(f, field->vmsd, elem, vmdesc, errp);
    }
    return field->info->put(f, elem, size, field, errp);
}

static bool vmstate_save_field(QEMUFile *f, const VMStateDescription *vmsd,
                               const VMStateField *field, void *opaque,
                               JsonBuilder *vmdesc, GError **errp)
{
    bool compress = vmsd_can_compress(field);
    JsonBuilder *desc = vmdesc;
    size_t n, size;

    if (!vmstate_n_elems(field, opaque, &n, errp) ||
        !vmstate_elem_size(field, opaque, &size, errp)) {
        error_prepend(errp, "%s: field '%s': ", vmsd->name, field->name);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *elem = (uint8_t *)opaque + field->offset + size * i;
        uint64_t start = qemu_file_transferred(f);
        bool ok;

        if (desc) {
            vmsd_desc_field_start(vmsd, desc, field, i, n, compress);
        }
        ok = vmstate_save_elem(f, field, elem, size, desc, errp);
        if (desc) {
            vmsd_desc_field_end(desc, field, qemu_file_transferred(f) - start);
        }
        if (!ok) {
            error_prepend(errp, "%s: field '%s': ", vmsd->name, field->name);
            return false;
        }
        if (compress) {
            desc = NULL;
        }
    }
    return true;
}

static bool vmstate_subsection_save(QEMUFile *f, const VMStateDescription *vmsd,
                                    void *opaque, JsonBuilder *vmdesc, GError **errp)
{
    bool described = false;

    for (const VMStateDescription *const *sub = vmsd->subsections; sub && *sub; sub++) {
        size_t len = strlen((*sub)->name);

        if (!vmstate_section_needed(*sub, opaque)) {
            continue;
        }
        g_assert(len <= UINT8_MAX);
        if (vmdesc) {
            if (!described) {
                json_builder_set_member_name(vmdesc, "subsections");
                json_builder_begin_array(vmdesc);
                described = true;
            }
            json_builder_begin_object(vmdesc);
        }
        qemu_put_byte(f, QEMU_VM_SUBSECTION);
        qemu_put_byte(f, len);
        qemu_put_buffer(f, (*sub)->name, len);
        qemu_put_be32(f, (*sub)->version_id);
        if (!vmstate_save_vmsd(f, *sub, opaque, vmdesc, errp)) {
            return false;
        }
        if (vmdesc) {
            json_builder_end_object(vmdesc);
        }
    }
    if (described) {
        json_builder_end_array(vmdesc);
    }
    return true;
}

static bool vmstate_save_vmsd(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, JsonBuilder *vmdesc, GError **errp)
{
    if (vmsd->pre_save && !vmsd->pre_save(opaque, errp)) {
        error_prepend(errp, "%s: pre_save: ", vmsd->name);
        return false;
    }
    if (vmdesc) {
        json_builder_set_member_name(vmdesc, "vmsd_name");
        json_builder_add_string_value(vmdesc, vmsd->name);
        json_builder_set_member_name(vmdesc, "version");
        json_builder_add_int_value(vmdesc, vmsd->version_id);
        json_builder_set_member_name(vmdesc, "fields");
        json_builder_begin_array(vmdesc);
    }
    for (const VMStateField *field = vmsd->fields; field->name; field++) {
        if (vmstate_field_exists(field, opaque, vmsd->version_id)) {
            if (!vmstate_save_field(f, vmsd, field, opaque, vmdesc, errp)) {
                return false;
            }
        } else if (field->flags & VMS_MUST_EXIST) {
            error_setg(errp, "%s: field '%s': output state validation failed",
                       vmsd->name, field->name);
            return false;
        }
    }
    if (vmdesc) {
        json_builder_end_array(vmdesc);
    }
    return vmstate_subsection_save(f, vmsd, opaque, vmdesc, errp);
}

bool vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                        void *opaque, JsonBuilder *vmdesc, GError **errp)
{
    if (!vmstate_save_vmsd(f, vmsd, opaque, vmdesc, errp)) {
        return false;
    }
    return qemu_file_check_error(f, errp);
}

/* ---- loading ---- */

static void vmstate_error_append_offset(GError **errp, QEMUFile *f)
{
    if (errp && *errp) {
        char *msg = g_strdup_printf("%s at offset %" PRIu64, (*errp)->message,
                                    qemu_file_tell(f));

        g_free((*errp)->message);
        (*errp)->message = msg;
    }
}

/*
 * Read one element.  A stream error wins over whatever the type reported
 * (a truncated read yields zeros, which an *_equal check would reject).
 */
static bool vmstate_load_elem(QEMUFile *f, const VMStateField *field, void *elem,
                              size_t size, GError **errp)
{
    GError *err = NULL;
    bool ok;

    if (field->flags & VMS_STRUCT) {
        ok = vmstate_load_vmsd(f, field->vmsd, elem, field->vmsd->version_id, &err);
    } else {
        ok = field->info->get(f, elem, size, field, &err);
    }
    if (!(field->flags & VMS_STRUCT) && qemu_file_get_error(f)) {
        g_clear_error(&err);
        qemu_file_check_error(f, &err);
        ok = false;
    }
    if (!ok) {
        g_propagate_error(errp, err);
    }
    return ok;
}

static bool vmstate_load_field(QEMUFile *f, const VMStateDescription *vmsd,
                               const VMStateField *field, void *opaque, GError **errp)
{
    size_t n, size;

    if (!vmstate_n_elems(field, opaque, &n, errp) ||
        !vmstate_elem_size(field, opaque, &size, errp)) {
        error_prepend(errp, "%s: field '%s': ", vmsd->name, field->name);
        vmstate_error_append_offset(errp, f);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *elem = (uint8_t *)opaque + field->offset + size * i;

        if (!vmstate_load_elem(f, field, elem, size, errp)) {
            error_prepend(errp, "%s: field '%s': ", vmsd->name, field->name);
            return false;
        }
    }
    return true;
}

static const VMStateDescription *
vmstate_find_subsection(const VMStateDescription *vmsd, const char *name, size_t len)
{
    for (const VMStateDescription *const *sub = vmsd->subsections; sub && *sub; sub++) {
        if (strlen((*sub)->name) == len && memcmp((*sub)->name, name, len) == 0) {
            return *sub;
        }
    }
    return NULL;
}

/*
 * Peek the subsection name after a 0x05 byte; false when what follows is
 * not a subsection of @vmsd (too short, truncated, or another prefix):
 * then it belongs to whatever comes next in the stream.
 */
static bool vmstate_peek_subsection(QEMUFile *f, const VMStateDescription *vmsd,
                                    char name[256], size_t *len)
{
    size_t prefix = strlen(vmsd->name);
    int n = qemu_peek_byte(f, 1);

    if (n < 0 || (size_t)n < prefix + 1) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        int c = qemu_peek_byte(f, 2 + i);

        if (c < 0) {
            return false;
        }
        name[i] = c;
    }
    name[n] = '\0';
    *len = n;
    return memcmp(name, vmsd->name, prefix) == 0;
}

static bool vmstate_subsection_load(QEMUFile *f, const VMStateDescription *vmsd,
                                    void *opaque, GError **errp)
{
    char name[256];
    size_t len;

    while (qemu_peek_byte(f, 0) == QEMU_VM_SUBSECTION &&
           vmstate_peek_subsection(f, vmsd, name, &len)) {
        const VMStateDescription *sub = vmstate_find_subsection(vmsd, name, len);
        g_autofree char *printable = g_strescape(name, NULL);
        uint32_t version_id;

        if (!sub) {
            error_setg(errp, "%s: subsection '%s' does not exist at offset %" PRIu64,
                       vmsd->name, printable, qemu_file_tell(f));
            return false;
        }
        qemu_get_byte(f);               /* QEMU_VM_SUBSECTION */
        qemu_get_byte(f);               /* len */
        qemu_get_buffer(f, name, len);
        version_id = qemu_get_be32(f);
        if (!qemu_file_check_error(f, errp)) {
            error_prepend(errp, "%s: subsection '%s': ", vmsd->name, printable);
            return false;
        }
        if (!vmstate_load_vmsd(f, sub, opaque, (int)MIN(version_id, INT32_MAX), errp)) {
            return false;
        }
    }
    return true;
}

static bool vmstate_load_vmsd(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, int version_id, GError **errp)
{
    if (version_id > vmsd->version_id) {
        error_setg(errp, "%s: incoming version_id %d is too new for local version_id %d"
                   " at offset %" PRIu64, vmsd->name, version_id, vmsd->version_id,
                   qemu_file_tell(f));
        return false;
    }
    if (version_id < vmsd->minimum_version_id) {
        error_setg(errp, "%s: incoming version_id %d is too old for local minimum "
                   "version_id %d at offset %" PRIu64, vmsd->name, version_id,
                   vmsd->minimum_version_id, qemu_file_tell(f));
        return false;
    }
    if (vmsd->pre_load && !vmsd->pre_load(opaque, errp)) {
        error_prepend(errp, "%s: pre_load: ", vmsd->name);
        return false;
    }
    for (const VMStateField *field = vmsd->fields; field->name; field++) {
        if (vmstate_field_exists(field, opaque, version_id)) {
            if (!vmstate_load_field(f, vmsd, field, opaque, errp)) {
                return false;
            }
        } else if (field->flags & VMS_MUST_EXIST) {
            error_setg(errp, "%s: field '%s': input validation failed at offset %"
                       PRIu64, vmsd->name, field->name, qemu_file_tell(f));
            return false;
        }
    }
    if (!vmstate_subsection_load(f, vmsd, opaque, errp)) {
        return false;
    }
    if (vmsd->post_load && !vmsd->post_load(opaque, version_id, errp)) {
        error_prepend(errp, "%s: post_load: ", vmsd->name);
        return false;
    }
    return true;
}

/* Bytes of the struct that loading @vmsd may write: fields, nested structs, subsections. */
static size_t vmstate_extent(const VMStateDescription *vmsd)
{
    size_t end = 0;

    for (const VMStateField *field = vmsd->fields; field->name; field++) {
        size_t n = (field->flags & (VMS_ARRAY | VMS_VARRAY_UINT32)) ? field->num : 1;

        if (field->info == &vmstate_info_unused_buffer || n == 0) {
            continue;
        }
        end = MAX(end, field->offset + field->size * n);
        if (field->flags & VMS_VARRAY_UINT32) {
            end = MAX(end, field->num_offset + sizeof(uint32_t));
        }
        if (field->flags & VMS_VBUFFER) {
            end = MAX(end, field->size_offset + sizeof(uint32_t));
        }
    }
    for (const VMStateDescription *const *sub = vmsd->subsections; sub && *sub; sub++) {
        end = MAX(end, vmstate_extent(*sub));
    }
    return end;
}

bool vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                        void *opaque, int version_id, GError **errp)
{
    size_t extent = vmstate_extent(vmsd);
    g_autofree uint8_t *saved = g_malloc(MAX(extent, 1));

    memcpy(saved, opaque, extent);
    if (vmstate_load_vmsd(f, vmsd, opaque, version_id, errp)) {
        return true;
    }
    memcpy(opaque, saved, extent);
    return false;
}
