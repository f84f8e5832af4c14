/*
 * The basic VMState field types and their wire encoding (QEMU's
 * vmstate-types.c formats): bool is one byte, integers are big-endian of
 * their own width, buffers are raw bytes.  The *_equal and int32_le types
 * check the loaded value against the destination's current one.
 */
#include "migration/vmstate.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

/* ---- bool ---- */

static bool get_bool(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                     GError **errp)
{
    *(bool *)pv = qemu_get_byte(f) != 0;
    return true;
}

static bool put_bool(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                     GError **errp)
{
    qemu_put_byte(f, *(bool *)pv);
    return true;
}

const VMStateInfo vmstate_info_bool = { "bool", get_bool, put_bool };

/* ---- plain integers ---- */

/*
 * One get/put pair per width; the signed types share the unsigned
 * encoding (two's complement on the wire, as in QEMU).
 */
#define VMSTATE_INT_TYPE(_ctype, _wire, _getter, _putter)                          \
    static bool get_##_ctype(QEMUFile *f, void *pv, size_t size,                   \
                             const VMStateField *field, GError **errp)             \
    {                                                                              \
        *(_ctype *)pv = (_ctype)(_wire)_getter(f);                                 \
        return true;                                                               \
    }                                                                              \
    static bool put_##_ctype(QEMUFile *f, void *pv, size_t size,                   \
                             const VMStateField *field, GError **errp)             \
    {                                                                              \
        _putter(f, (_wire)*(_ctype *)pv);                                          \
        return true;                                                               \
    }

VMSTATE_INT_TYPE(int8_t, uint8_t, qemu_get_byte, qemu_put_byte)
VMSTATE_INT_TYPE(int16_t, uint16_t, qemu_get_be16, qemu_put_be16)
VMSTATE_INT_TYPE(int32_t, uint32_t, qemu_get_be32, qemu_put_be32)
VMSTATE_INT_TYPE(int64_t, uint64_t, qemu_get_be64, qemu_put_be64)
VMSTATE_INT_TYPE(uint8_t, uint8_t, qemu_get_byte, qemu_put_byte)
VMSTATE_INT_TYPE(uint16_t, uint16_t, qemu_get_be16, qemu_put_be16)
VMSTATE_INT_TYPE(uint32_t, uint32_t, qemu_get_be32, qemu_put_be32)
VMSTATE_INT_TYPE(uint64_t, uint64_t, qemu_get_be64, qemu_put_be64)

const VMStateInfo vmstate_info_int8 = { "int8", get_int8_t, put_int8_t };
const VMStateInfo vmstate_info_int16 = { "int16", get_int16_t, put_int16_t };
const VMStateInfo vmstate_info_int32 = { "int32", get_int32_t, put_int32_t };
const VMStateInfo vmstate_info_int64 = { "int64", get_int64_t, put_int64_t };
const VMStateInfo vmstate_info_uint8 = { "uint8", get_uint8_t, put_uint8_t };
const VMStateInfo vmstate_info_uint16 = { "uint16", get_uint16_t, put_uint16_t };
const VMStateInfo vmstate_info_uint32 = { "uint32", get_uint32_t, put_uint32_t };
const VMStateInfo vmstate_info_uint64 = { "uint64", get_uint64_t, put_uint64_t };

/* ---- values that must match the destination ---- */

#define VMSTATE_EQUAL_TYPE(_sym, _name, _ctype, _wire, _getter, _putter, _fmt)     \
    static bool get_##_sym(QEMUFile *f, void *pv, size_t size,                     \
                           const VMStateField *field, GError **errp)               \
    {                                                                              \
        _ctype v = (_ctype)(_wire)_getter(f);                                      \
        if (qemu_file_get_error(f) || v == *(_ctype *)pv) {                        \
            return true;                                                           \
        }                                                                          \
        error_setg(errp, "%" _fmt " != %" _fmt " at offset %" PRIu64,              \
                   v, *(_ctype *)pv, qemu_file_tell(f));                           \
        return false;                                                              \
    }                                                                              \
    static bool put_##_sym(QEMUFile *f, void *pv, size_t size,                     \
                           const VMStateField *field, GError **errp)               \
    {                                                                              \
        _putter(f, (_wire)*(_ctype *)pv);                                          \
        return true;                                                               \
    }                                                                              \
    const VMStateInfo vmstate_info_##_sym = { _name, get_##_sym, put_##_sym }

VMSTATE_EQUAL_TYPE(int32_equal, "int32 equal", int32_t, uint32_t,
                   qemu_get_be32, qemu_put_be32, PRId32);
VMSTATE_EQUAL_TYPE(uint8_equal, "uint8 equal", uint8_t, uint8_t,
                   qemu_get_byte, qemu_put_byte, PRIu8);
VMSTATE_EQUAL_TYPE(uint16_equal, "uint16 equal", uint16_t, uint16_t,
                   qemu_get_be16, qemu_put_be16, PRIu16);
VMSTATE_EQUAL_TYPE(uint32_equal, "uint32 equal", uint32_t, uint32_t,
                   qemu_get_be32, qemu_put_be32, PRIu32);
VMSTATE_EQUAL_TYPE(uint64_equal, "uint64 equal", uint64_t, uint64_t,
                   qemu_get_be64, qemu_put_be64, PRIu64);

/* 0 <= loaded <= current: a position the destination's buffer can hold. */
static bool get_int32_le(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                         GError **errp)
{
    int32_t *cur = pv;
    int32_t v = (int32_t)qemu_get_be32(f);

    if (qemu_file_get_error(f)) {
        return true;
    }
    if (v < 0 || v > *cur) {
        error_setg(errp, "loaded %" PRId32 " max %" PRId32 " at offset %" PRIu64,
                   v, *cur, qemu_file_tell(f));
        return false;
    }
    *cur = v;
    return true;
}

const VMStateInfo vmstate_info_int32_le = { "int32 le", get_int32_le, put_int32_t };

/* ---- buffers ---- */

static bool get_buffer(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                       GError **errp)
{
    qemu_get_buffer(f, pv, size);
    return true;
}

static bool put_buffer(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
                       GError **errp)
{
    qemu_put_buffer(f, pv, size);
    return true;
}

const VMStateInfo vmstate_info_buffer = { "buffer", get_buffer, put_buffer };

/* Unused bytes are not in the struct (@pv is meaningless): skip or send zeros. */
static bool get_unused_buffer(QEMUFile *f, void *pv, size_t size,
                              const VMStateField *field, GError **errp)
{
    uint8_t scratch[256];

    while (size > 0 && !qemu_file_get_error(f)) {
        size_t chunk = MIN(size, sizeof(scratch));

        qemu_get_buffer(f, scratch, chunk);
        size -= chunk;
    }
    return true;
}

static bool put_unused_buffer(QEMUFile *f, void *pv, size_t size,
                              const VMStateField *field, GError **errp)
{
    static const uint8_t zeros[256];

    while (size > 0) {
        size_t chunk = MIN(size, sizeof(zeros));

        qemu_put_buffer(f, zeros, chunk);
        size -= chunk;
    }
    return true;
}

const VMStateInfo vmstate_info_unused_buffer = {
    "unused_buffer", get_unused_buffer, put_unused_buffer
};
