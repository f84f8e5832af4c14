/*
 * VMState: device state described as data.  A device lists its migratable
 * fields in a VMStateDescription; the engine (migration/vmstate.c) writes
 * and reads them in QEMU's version-3 stream encoding and describes them in
 * the VM description JSON trailer.
 *
 * All state is inline in the device struct: arrays and buffers are fixed
 * C arrays, and a variable count or length (held in another field) is
 * checked against the array's declared size before every use, so a load
 * never writes outside the struct.  A failed load leaves the struct as it
 * was (the engine restores it), which is why post_load must validate
 * everything before it changes anything outside the struct.
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/qemu-file.h"

typedef struct VMStateField VMStateField;
typedef struct VMStateDescription VMStateDescription;

/*
 * How one element of a basic type is encoded.  @name is the type name in
 * the vmdesc JSON ("uint32", "bool", "buffer", ...).  get() may leave a
 * stream error on @f (the engine reports it); it sets @errp only for
 * values it rejects.
 */
typedef struct VMStateInfo {
    const char *name;
    bool (*get)(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                GError **errp);
    bool (*put)(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                GError **errp);
} VMStateInfo;

/* The same values as QEMU's VMStateFlags, for the flags tern implements. */
enum VMStateFlags {
    VMS_SINGLE        = 0x1,     /* one element of field->info */
    VMS_ARRAY         = 0x4,     /* field->num elements */
    VMS_STRUCT        = 0x8,     /* element(s) described by field->vmsd */
    VMS_BUFFER        = 0x20,    /* field->size raw bytes */
    VMS_VBUFFER       = 0x100,   /* raw bytes, count in a uint32 at size_offset */
    VMS_VARRAY_UINT32 = 0x800,   /* elements, count in a uint32 at num_offset */
    VMS_MUST_EXIST    = 0x1000,  /* load fails if field_exists() says no */
    VMS_END           = 0x20000, /* terminates a field list */
};

/* Save and load order of sections: higher first (QEMU's MigrationPriority). */
typedef enum MigrationPriority {
    MIG_PRI_UNINITIALIZED = 0,   /* treated as MIG_PRI_DEFAULT */
    MIG_PRI_LOW,
    MIG_PRI_DEFAULT,
    MIG_PRI_IOMMU,
    MIG_PRI_PCI_BUS,
    MIG_PRI_APIC,
    MIG_PRI_MAX,
} MigrationPriority;

struct VMStateField {
    const char *name;
    size_t offset;            /* of the first element in the struct */
    size_t size;              /* bytes per element; VBUFFER: buffer capacity */
    size_t num;               /* ARRAY: element count; VARRAY: capacity */
    size_t num_offset;        /* VARRAY: offset of the uint32 element count */
    size_t size_offset;       /* VBUFFER: offset of the uint32 byte count */
    const VMStateInfo *info;  /* basic types */
    const VMStateDescription *vmsd; /* VMS_STRUCT */
    int flags;
    int version_id;           /* field present from this stream version on */
    /* When set, decides alone whether the field is in the stream. */
    bool (*field_exists)(void *opaque, int version_id);
};

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    MigrationPriority priority;     /* only for device sections */
    /* Subsections and device sections: sent only when this returns true (NULL: always). */
    bool (*needed)(void *opaque);
    bool (*pre_save)(void *opaque, GError **errp);
    bool (*pre_load)(void *opaque, GError **errp);
    /*
     * After all fields and subsections were read into the struct.  Must
     * check everything before changing anything outside the struct: on
     * failure the engine restores the struct's fields, nothing else.
     */
    bool (*post_load)(void *opaque, int version_id, GError **errp);
    const VMStateField *fields;                     /* ends with VMSTATE_END_OF_LIST() */
    const VMStateDescription *const *subsections;   /* NULL-terminated, or NULL */
};

/* ---- basic types (migration/vmstate-types.c) ---- */
extern const VMStateInfo vmstate_info_bool;
extern const VMStateInfo vmstate_info_int8;
extern const VMStateInfo vmstate_info_int16;
extern const VMStateInfo vmstate_info_int32;
extern const VMStateInfo vmstate_info_int64;
extern const VMStateInfo vmstate_info_uint8;
extern const VMStateInfo vmstate_info_uint16;
extern const VMStateInfo vmstate_info_uint32;
extern const VMStateInfo vmstate_info_uint64;
extern const VMStateInfo vmstate_info_int32_equal;
extern const VMStateInfo vmstate_info_uint8_equal;
extern const VMStateInfo vmstate_info_uint16_equal;
extern const VMStateInfo vmstate_info_uint32_equal;
extern const VMStateInfo vmstate_info_uint64_equal;
extern const VMStateInfo vmstate_info_int32_le;
extern const VMStateInfo vmstate_info_buffer;
extern const VMStateInfo vmstate_info_unused_buffer;

/* ---- engine ---- */

/*
 * Write @vmsd's fields and needed subsections from @opaque.  When @vmdesc
 * is not NULL its current object gets "vmsd_name", "version", "fields" and
 * (if any was sent) "subsections".
 */
bool vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                        void *opaque, JsonBuilder *vmdesc, GError **errp);

/*
 * Read @vmsd's fields, written with stream version @version_id, and the
 * subsections that follow into @opaque, then run post_load.  On failure
 * @opaque's fields are restored to their values before the call.
 */
bool vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                        void *opaque, int version_id, GError **errp);

/* Whether @vmsd (a device section or subsection) is to be sent. */
bool vmstate_section_needed(const VMStateDescription *vmsd, void *opaque);

/* ---- declaration helpers ---- */

#define vmstate_typeof_field(_state, _field) __typeof__(((_state *)0)->_field)
/* Compiles only when @t1 and @t2 are the same type; evaluates to 0. */
#define VMSTATE_TYPE_CHECK(t1, t2) \
    (0 * sizeof((__typeof__(t1) *)0 - (__typeof__(t2) *)0))
#define vmstate_offset_value(_state, _field, _type) \
    (offsetof(_state, _field) +                     \
     VMSTATE_TYPE_CHECK(_type, vmstate_typeof_field(_state, _field)))
#define vmstate_offset_array(_state, _field, _type, _num) \
    (offsetof(_state, _field) +                           \
     VMSTATE_TYPE_CHECK(_type[_num], vmstate_typeof_field(_state, _field)))
/* An inline array of @_type, whatever its length. */
#define vmstate_offset_varray(_state, _field, _type) \
    (offsetof(_state, _field) +                      \
     VMSTATE_TYPE_CHECK(_type, vmstate_typeof_field(_state, _field[0])))
#define vmstate_array_len(_state, _field) \
    (sizeof(((_state *)0)->_field) / sizeof(((_state *)0)->_field[0]))
#define vmstate_sizeof_field(_state, _field) sizeof(((_state *)0)->_field)

/* ---- field macros (QEMU's names and argument order) ---- */

#define VMSTATE_SINGLE_TEST(_field, _state, _test, _version, _info, _type) { \
    .name = #_field, .version_id = (_version), .field_exists = (_test),      \
    .size = sizeof(_type), .info = &(_info), .flags = VMS_SINGLE,            \
    .offset = vmstate_offset_value(_state, _field, _type),                   \
}
#define VMSTATE_SINGLE(_field, _state, _version, _info, _type) \
    VMSTATE_SINGLE_TEST(_field, _state, NULL, _version, _info, _type)

#define VMSTATE_BOOL_V(_f, _s, _v)   VMSTATE_SINGLE(_f, _s, _v, vmstate_info_bool, bool)
#define VMSTATE_INT8_V(_f, _s, _v)   VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int8, int8_t)
#define VMSTATE_INT16_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int16, int16_t)
#define VMSTATE_INT32_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int64, int64_t)
#define VMSTATE_UINT8_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint64, uint64_t)

#define VMSTATE_BOOL(_f, _s)   VMSTATE_BOOL_V(_f, _s, 0)
#define VMSTATE_INT8(_f, _s)   VMSTATE_INT8_V(_f, _s, 0)
#define VMSTATE_INT16(_f, _s)  VMSTATE_INT16_V(_f, _s, 0)
#define VMSTATE_INT32(_f, _s)  VMSTATE_INT32_V(_f, _s, 0)
#define VMSTATE_INT64(_f, _s)  VMSTATE_INT64_V(_f, _s, 0)
#define VMSTATE_UINT8(_f, _s)  VMSTATE_UINT8_V(_f, _s, 0)
#define VMSTATE_UINT16(_f, _s) VMSTATE_UINT16_V(_f, _s, 0)
#define VMSTATE_UINT32(_f, _s) VMSTATE_UINT32_V(_f, _s, 0)
#define VMSTATE_UINT64(_f, _s) VMSTATE_UINT64_V(_f, _s, 0)

#define VMSTATE_BOOL_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_bool, bool)
#define VMSTATE_UINT8_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_uint64, uint64_t)

/* Loaded value must equal the destination's current value. */
#define VMSTATE_INT32_EQUAL(_f, _s)  VMSTATE_SINGLE(_f, _s, 0, vmstate_info_int32_equal, int32_t)
#define VMSTATE_UINT8_EQUAL(_f, _s)  VMSTATE_SINGLE(_f, _s, 0, vmstate_info_uint8_equal, uint8_t)
#define VMSTATE_UINT16_EQUAL(_f, _s) VMSTATE_SINGLE(_f, _s, 0, vmstate_info_uint16_equal, uint16_t)
#define VMSTATE_UINT32_EQUAL(_f, _s) VMSTATE_SINGLE(_f, _s, 0, vmstate_info_uint32_equal, uint32_t)
#define VMSTATE_UINT64_EQUAL(_f, _s) VMSTATE_SINGLE(_f, _s, 0, vmstate_info_uint64_equal, uint64_t)
#define VMSTATE_UINT32_EQUAL_V(_f, _s, _v) \
    VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint32_equal, uint32_t)
/* Loaded value must satisfy 0 <= v <= the destination's current value. */
#define VMSTATE_INT32_POSITIVE_LE(_f, _s) \
    VMSTATE_SINGLE(_f, _s, 0, vmstate_info_int32_le, int32_t)

/* Fixed arrays: @_num elements of @_type. */
#define VMSTATE_ARRAY(_field, _state, _num, _version, _info, _type) {       \
    .name = #_field, .version_id = (_version), .num = (_num),               \
    .info = &(_info), .size = sizeof(_type), .flags = VMS_ARRAY,            \
    .offset = vmstate_offset_array(_state, _field, _type, _num),            \
}
#define VMSTATE_BOOL_ARRAY(_f, _s, _n)   VMSTATE_ARRAY(_f, _s, _n, 0, vmstate_info_bool, bool)
#define VMSTATE_UINT8_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint64, uint64_t)
#define VMSTATE_UINT8_ARRAY(_f, _s, _n)  VMSTATE_UINT8_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT16_ARRAY(_f, _s, _n) VMSTATE_UINT16_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT32_ARRAY(_f, _s, _n) VMSTATE_UINT32_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT64_ARRAY(_f, _s, _n) VMSTATE_UINT64_ARRAY_V(_f, _s, _n, 0)

/*
 * Variable array: the first *_field_num elements of the inline array
 * @_field (the count is a uint32 field sent before this one).  A count
 * above the array's length fails the save or the load.
 */
#define VMSTATE_VARRAY_UINT32(_field, _state, _field_num, _version, _info, _type) { \
    .name = #_field, .version_id = (_version),                              \
    .num = vmstate_array_len(_state, _field),                               \
    .num_offset = vmstate_offset_value(_state, _field_num, uint32_t),       \
    .info = &(_info), .size = sizeof(_type), .flags = VMS_VARRAY_UINT32,    \
    .offset = vmstate_offset_varray(_state, _field, _type),                 \
}

/* Nested structs described by their own vmsd (loaded with its local version). */
#define VMSTATE_STRUCT_TEST(_field, _state, _test, _version, _vmsd, _type) { \
    .name = #_field, .version_id = (_version), .field_exists = (_test),     \
    .vmsd = &(_vmsd), .size = sizeof(_type), .flags = VMS_STRUCT,           \
    .offset = vmstate_offset_value(_state, _field, _type),                  \
}
#define VMSTATE_STRUCT(_field, _state, _version, _vmsd, _type) \
    VMSTATE_STRUCT_TEST(_field, _state, NULL, _version, _vmsd, _type)
#define VMSTATE_STRUCT_ARRAY(_field, _state, _num, _version, _vmsd, _type) { \
    .name = #_field, .version_id = (_version), .num = (_num),               \
    .vmsd = &(_vmsd), .size = sizeof(_type), .flags = VMS_STRUCT | VMS_ARRAY, \
    .offset = vmstate_offset_array(_state, _field, _type, _num),            \
}
#define VMSTATE_STRUCT_VARRAY_UINT32(_field, _state, _field_num, _version, _vmsd, _type) { \
    .name = #_field, .version_id = (_version),                              \
    .num = vmstate_array_len(_state, _field),                               \
    .num_offset = vmstate_offset_value(_state, _field_num, uint32_t),       \
    .vmsd = &(_vmsd), .size = sizeof(_type),                                \
    .flags = VMS_STRUCT | VMS_VARRAY_UINT32,                                \
    .offset = vmstate_offset_varray(_state, _field, _type),                 \
}

/* Fixed-size byte buffer: the whole inline array, raw. */
#define VMSTATE_BUFFER_TEST(_field, _state, _test, _version) {              \
    .name = #_field, .version_id = (_version), .field_exists = (_test),     \
    .size = vmstate_sizeof_field(_state, _field),                           \
    .info = &vmstate_info_buffer, .flags = VMS_BUFFER,                      \
    .offset = offsetof(_state, _field),                                     \
}
#define VMSTATE_BUFFER_V(_f, _s, _v) VMSTATE_BUFFER_TEST(_f, _s, NULL, _v)
#define VMSTATE_BUFFER(_f, _s)       VMSTATE_BUFFER_TEST(_f, _s, NULL, 0)

/*
 * Variable byte buffer: the first *_field_size bytes of the inline array
 * @_field (the length is a uint32 field sent before this one), bounded by
 * the array's size.
 */
#define VMSTATE_VBUFFER_UINT32(_field, _state, _version, _test, _field_size) { \
    .name = #_field, .version_id = (_version), .field_exists = (_test),     \
    .size = vmstate_sizeof_field(_state, _field),                           \
    .size_offset = vmstate_offset_value(_state, _field_size, uint32_t),     \
    .info = &vmstate_info_buffer, .flags = VMS_VBUFFER,                     \
    .offset = offsetof(_state, _field),                                     \
}

/* @_size bytes sent as zeros and skipped on load (a field that was removed). */
#define VMSTATE_UNUSED_V(_version, _size) {                                 \
    .name = "unused", .version_id = (_version), .size = (_size),            \
    .info = &vmstate_info_unused_buffer, .flags = VMS_BUFFER,               \
}
#define VMSTATE_UNUSED(_size) VMSTATE_UNUSED_V(0, _size)

/* No data: the load fails unless @_test returns true. */
#define VMSTATE_VALIDATE(_name, _test) {                                    \
    .name = (_name), .field_exists = (_test),                               \
    .flags = VMS_ARRAY | VMS_MUST_EXIST, .num = 0,                          \
}

#define VMSTATE_END_OF_LIST() { .flags = VMS_END }

#endif
