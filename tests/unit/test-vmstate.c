/*
 * Unit tests for the VMState engine (migration/vmstate*.c) through the
 * memory-buffer QEMUFile: wire bytes, round trips, subsections, versions,
 * bounds, rollback of failed loads, truncation and the vmdesc JSON.
 */
#include "migration/vmstate.h"
#include "migration/savevm.h"
#include "qemu/error.h"

#include <string.h>

/* ---- helpers ---- */

/* The bytes vmstate_save_state writes for @vmsd over @opaque. */
static GBytes *save_bytes(const VMStateDescription *vmsd, void *opaque)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *bytes;

    g_assert_true(vmstate_save_state(out, vmsd, opaque, NULL, &err));
    g_assert_no_error(err);
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_true(qemu_fclose(out, NULL));
    return bytes;
}

/* Load @len bytes of @data into @opaque; returns the error or NULL; *consumed = bytes read. */
static GError *load_bytes(const VMStateDescription *vmsd, void *opaque, int version,
                          const void *data, size_t len, size_t *consumed)
{
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    GError *err = NULL;

    vmstate_load_state(in, vmsd, opaque, version, &err);
    if (consumed) {
        *consumed = qemu_file_tell(in);
    }
    qemu_fclose(in, NULL);
    return err;
}

/* ---- a small device with an exact encoding ---- */

typedef struct Small {
    bool b;
    uint16_t w;
    uint32_t d;
    int64_t q;
    uint8_t arr[3];
    uint32_t extra;     /* in subsection "small/extra" */
    bool want_extra;
} Small;

static bool small_extra_needed(void *opaque)
{
    return ((Small *)opaque)->want_extra;
}

static const VMStateDescription vmstate_small_extra = {
    .name = "small/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = small_extra_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(extra, Small),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_small = {
    .name = "small",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(b, Small),
        VMSTATE_UINT16(w, Small),
        VMSTATE_UINT32(d, Small),
        VMSTATE_INT64_V(q, Small, 2),
        VMSTATE_UINT8_ARRAY(arr, Small, 3),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_small_extra,
        NULL
    },
};

static const Small small_value = {
    .b = true, .w = 0x1234, .d = 0xdeadbeef, .q = -2,
    .arr = { 7, 8, 9 }, .extra = 0x01020304,
};

static const uint8_t small_bytes[] = {
    0x01,                                           /* b */
    0x12, 0x34,                                     /* w */
    0xde, 0xad, 0xbe, 0xef,                         /* d */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* q = -2 */
    0x07, 0x08, 0x09,                               /* arr */
};

static const uint8_t small_extra_bytes[] = {
    0x05, 11, 's', 'm', 'a', 'l', 'l', '/', 'e', 'x', 't', 'r', 'a',
    0x00, 0x00, 0x00, 0x01,                         /* subsection version */
    0x01, 0x02, 0x03, 0x04,                         /* extra */
};

static void test_small_exact_bytes(void)
{
    Small s = small_value;
    g_autoptr(GBytes) bytes = save_bytes(&vmstate_small, &s);

    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    small_bytes, sizeof(small_bytes));
}

static void test_subsection_needed(void)
{
    Small s = small_value, loaded = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GByteArray) expect = g_byte_array_new();
    GError *err;

    s.want_extra = true;
    bytes = save_bytes(&vmstate_small, &s);
    g_byte_array_append(expect, small_bytes, sizeof(small_bytes));
    g_byte_array_append(expect, small_extra_bytes, sizeof(small_extra_bytes));
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect->data, expect->len);

    err = load_bytes(&vmstate_small, &loaded, 2, expect->data, expect->len, NULL);
    g_assert_no_error(err);
    g_assert_cmpuint(loaded.extra, ==, 0x01020304);
    g_assert_cmpuint(loaded.d, ==, 0xdeadbeef);
    g_assert_cmpint(loaded.q, ==, -2);
    g_assert_true(loaded.b);

    /* Not sent: the field keeps its value. */
    loaded.extra = 42;
    err = load_bytes(&vmstate_small, &loaded, 2, small_bytes, sizeof(small_bytes), NULL);
    g_assert_no_error(err);
    g_assert_cmpuint(loaded.extra, ==, 42);
}

static void test_subsection_unknown(void)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();
    static const uint8_t unknown[] = {
        0x05, 9, 's', 'm', 'a', 'l', 'l', '/', 'z', 'z', 'z',
        0x00, 0x00, 0x00, 0x01,
    };
    Small loaded = { 0 };
    g_autoptr(GError) err = NULL;

    g_byte_array_append(stream, small_bytes, sizeof(small_bytes));
    g_byte_array_append(stream, unknown, sizeof(unknown));
    err = load_bytes(&vmstate_small, &loaded, 2, stream->data, stream->len, NULL);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "subsection 'small/zzz' does not exist"));
    g_assert_nonnull(strstr(err->message, "at offset 18"));
    g_assert_false(loaded.b);       /* rolled back */
}

/* A 0x05 byte whose name lacks the "small" prefix belongs to whoever reads next. */
static void test_subsection_other_prefix(void)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();
    static const uint8_t other[] = { 0x05, 7, 'o', 't', 'h', 'e', 'r', '/', 'x' };
    Small loaded = { 0 };
    size_t consumed;
    GError *err;

    g_byte_array_append(stream, small_bytes, sizeof(small_bytes));
    g_byte_array_append(stream, other, sizeof(other));
    err = load_bytes(&vmstate_small, &loaded, 2, stream->data, stream->len, &consumed);
    g_assert_no_error(err);
    g_assert_cmpuint(consumed, ==, sizeof(small_bytes));
}

static void test_versions(void)
{
    Small loaded = { .q = 99 };
    g_autoptr(GError) too_new = NULL, too_old = NULL;
    GError *err;

    too_new = load_bytes(&vmstate_small, &loaded, 3, small_bytes, sizeof(small_bytes), NULL);
    g_assert_nonnull(too_new);
    g_assert_nonnull(strstr(too_new->message,
                            "small: incoming version_id 3 is too new for local version_id 2"));
    too_old = load_bytes(&vmstate_small, &loaded, 0, small_bytes, sizeof(small_bytes), NULL);
    g_assert_nonnull(too_old);
    g_assert_nonnull(strstr(too_old->message,
                            "small: incoming version_id 0 is too old for local minimum "
                            "version_id 1"));

    /* Version 1 has no 'q': the 8 bytes are not read and q keeps its value. */
    static const uint8_t v1[] = {
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x0b, 0x0c,
    };
    size_t consumed;
    err = load_bytes(&vmstate_small, &loaded, 1, v1, sizeof(v1), &consumed);
    g_assert_no_error(err);
    g_assert_cmpuint(consumed, ==, sizeof(v1));
    g_assert_cmpint(loaded.q, ==, 99);
    g_assert_cmpuint(loaded.w, ==, 1);
    g_assert_cmpuint(loaded.arr[2], ==, 0x0c);
}

static void test_truncated_every_offset(void)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();

    g_byte_array_append(stream, small_bytes, sizeof(small_bytes));
    g_byte_array_append(stream, small_extra_bytes, sizeof(small_extra_bytes));
    for (size_t len = 0; len < stream->len; len++) {
        Small loaded = { .w = 77 };
        size_t consumed;
        g_autoptr(GError) err = load_bytes(&vmstate_small, &loaded, 2, stream->data,
                                           len, &consumed);

        if (len >= sizeof(small_bytes) && len < sizeof(small_bytes) + 13) {
            /*
             * The fields are complete; a subsection header whose name cannot
             * be peeked whole is left to the next reader (as in QEMU), and
             * the section footer check fails there.
             */
            g_assert_no_error(err);
            g_assert_cmpuint(consumed, ==, sizeof(small_bytes));
            continue;
        }
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "unexpected end of migration stream"));
        g_assert_cmpuint(loaded.w, ==, 77);
    }
}

static void test_error_names_field_and_offset(void)
{
    Small loaded = { 0 };
    g_autoptr(GError) err = load_bytes(&vmstate_small, &loaded, 2, small_bytes, 5, NULL);

    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==,
                    "small: field 'd': unexpected end of migration stream at offset 5");
}

/* ---- every field type ---- */

typedef struct Inner {
    uint16_t x;
    int8_t y;
} Inner;

static const VMStateDescription vmstate_inner = {
    .name = "inner",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(x, Inner),
        VMSTATE_INT8(y, Inner),
        VMSTATE_END_OF_LIST()
    },
};

typedef struct All {
    bool b;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint8_t eq8;
    uint16_t eq16;
    uint32_t eq32;
    uint64_t eq64;
    int32_t eqi32;
    int32_t le;
    uint8_t a8[5];
    uint32_t a32[3];
    uint64_t a64[2];
    uint32_t count;
    uint16_t varr[8];
    uint8_t buf[6];
    uint32_t vlen;
    uint8_t vbuf[16];
    Inner in;
    Inner ins[2];
    uint32_t nins;
    Inner vins[4];
} All;

static const VMStateDescription vmstate_all = {
    .name = "all",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(b, All),
        VMSTATE_INT8(i8, All),
        VMSTATE_INT16(i16, All),
        VMSTATE_INT32(i32, All),
        VMSTATE_INT64(i64, All),
        VMSTATE_UINT8(u8, All),
        VMSTATE_UINT16(u16, All),
        VMSTATE_UINT32(u32, All),
        VMSTATE_UINT64(u64, All),
        VMSTATE_UINT8_EQUAL(eq8, All),
        VMSTATE_UINT16_EQUAL(eq16, All),
        VMSTATE_UINT32_EQUAL(eq32, All),
        VMSTATE_UINT64_EQUAL(eq64, All),
        VMSTATE_INT32_EQUAL(eqi32, All),
        VMSTATE_INT32_POSITIVE_LE(le, All),
        VMSTATE_UINT8_ARRAY(a8, All, 5),
        VMSTATE_UINT32_ARRAY(a32, All, 3),
        VMSTATE_UINT64_ARRAY(a64, All, 2),
        VMSTATE_UINT32(count, All),
        VMSTATE_VARRAY_UINT32(varr, All, count, 0, vmstate_info_uint16, uint16_t),
        VMSTATE_BUFFER(buf, All),
        VMSTATE_UNUSED(3),
        VMSTATE_UINT32(vlen, All),
        VMSTATE_VBUFFER_UINT32(vbuf, All, 0, NULL, vlen),
        VMSTATE_STRUCT(in, All, 0, vmstate_inner, Inner),
        VMSTATE_STRUCT_ARRAY(ins, All, 2, 0, vmstate_inner, Inner),
        VMSTATE_UINT32(nins, All),
        VMSTATE_STRUCT_VARRAY_UINT32(vins, All, nins, 0, vmstate_inner, Inner),
        VMSTATE_UNUSED(2),
        VMSTATE_END_OF_LIST()
    },
};

static void all_fill(All *a)
{
    *a = (All) {
        .b = true, .i8 = -5, .i16 = -300, .i32 = -70000, .i64 = INT64_MIN + 3,
        .u8 = 250, .u16 = 65000, .u32 = 4000000000u, .u64 = UINT64_MAX - 1,
        .eq8 = 8, .eq16 = 16, .eq32 = 32, .eq64 = 64, .eqi32 = -32, .le = 10,
        .a8 = { 1, 2, 3, 4, 5 }, .a32 = { 10, 20, 30 }, .a64 = { 1ull << 40, 7 },
        .count = 3, .varr = { 100, 200, 300, 0xdead },
        .buf = "hello", .vlen = 4, .vbuf = "abcdXXXX",
        .in = { 0xaaaa, -1 }, .ins = { { 1, 2 }, { 3, 4 } },
        .nins = 2, .vins = { { 5, 6 }, { 7, 8 }, { 9, 9 } },
    };
}

/* The destination's values that *_EQUAL / INT32_POSITIVE_LE compare against. */
static void all_prepare_dest(All *a)
{
    memset(a, 0xee, sizeof(*a));
    a->eq8 = 8;
    a->eq16 = 16;
    a->eq32 = 32;
    a->eq64 = 64;
    a->eqi32 = -32;
    a->le = 100;
}

/* Where the count/length fields sit in the stream, by hand from the encoding. */
#define ALL_OFFSET_COUNT  (16 + 15 + 19 + 37)           /* scalars, equals, le, arrays */
#define ALL_OFFSET_VLEN   (ALL_OFFSET_COUNT + 4 + 6 + 6 + 3)  /* count, varr, buf, unused */
#define ALL_OFFSET_NINS   (ALL_OFFSET_VLEN + 4 + 4 + 3 + 6)   /* vlen, vbuf, in, ins */
#define ALL_STREAM_LEN    (ALL_OFFSET_NINS + 4 + 6 + 2)       /* nins, vins, unused */

static GBytes *all_stream(void)
{
    All a;

    all_fill(&a);
    return save_bytes(&vmstate_all, &a);
}

static void assert_inner_equal(const Inner *a, const Inner *b)
{
    g_assert_cmpuint(a->x, ==, b->x);
    g_assert_cmpint(a->y, ==, b->y);
}

static void test_all_types_roundtrip(void)
{
    g_autoptr(GBytes) bytes = all_stream();
    All src, dst;
    size_t len, consumed;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    GError *err;

    all_fill(&src);
    all_prepare_dest(&dst);
    err = load_bytes(&vmstate_all, &dst, 1, data, len, &consumed);
    g_assert_no_error(err);
    g_assert_cmpuint(consumed, ==, len);
    g_assert_cmpuint(len, ==, ALL_STREAM_LEN);

    g_assert_true(dst.b);
    g_assert_cmpint(dst.i8, ==, src.i8);
    g_assert_cmpint(dst.i16, ==, src.i16);
    g_assert_cmpint(dst.i32, ==, src.i32);
    g_assert_cmpint(dst.i64, ==, src.i64);
    g_assert_cmpuint(dst.u8, ==, src.u8);
    g_assert_cmpuint(dst.u16, ==, src.u16);
    g_assert_cmpuint(dst.u32, ==, src.u32);
    g_assert_cmpuint(dst.u64, ==, src.u64);
    g_assert_cmpint(dst.le, ==, 10);
    g_assert_cmpmem(dst.a8, sizeof(dst.a8), src.a8, sizeof(src.a8));
    g_assert_cmpmem(dst.a32, sizeof(dst.a32), src.a32, sizeof(src.a32));
    g_assert_cmpmem(dst.a64, sizeof(dst.a64), src.a64, sizeof(src.a64));
    g_assert_cmpuint(dst.count, ==, 3);
    g_assert_cmpmem(dst.varr, 3 * sizeof(uint16_t), src.varr, 3 * sizeof(uint16_t));
    g_assert_cmpuint(dst.varr[3], ==, 0xeeee);      /* beyond the count: untouched */
    g_assert_cmpmem(dst.buf, sizeof(dst.buf), src.buf, sizeof(src.buf));
    g_assert_cmpuint(dst.vlen, ==, 4);
    g_assert_cmpmem(dst.vbuf, 4, "abcd", 4);
    g_assert_cmpuint(dst.vbuf[4], ==, 0xee);
    assert_inner_equal(&dst.in, &src.in);
    assert_inner_equal(&dst.ins[0], &src.ins[0]);
    assert_inner_equal(&dst.ins[1], &src.ins[1]);
    g_assert_cmpuint(dst.nins, ==, 2);
    assert_inner_equal(&dst.vins[0], &src.vins[0]);
    assert_inner_equal(&dst.vins[1], &src.vins[1]);
    g_assert_cmpuint(dst.vins[2].x, ==, 0xeeee);
}

/* Overwrite the big-endian u32 at @offset of a copy of @bytes and load it. */
static GError *load_patched_u32(GBytes *bytes, size_t offset, uint32_t v, All *dst)
{
    size_t len = g_bytes_get_size(bytes);
    g_autofree uint8_t *copy = g_memdup2(g_bytes_get_data(bytes, NULL), len);
    uint32_t be = GUINT32_TO_BE(v);

    memcpy(copy + offset, &be, 4);
    all_prepare_dest(dst);
    return load_bytes(&vmstate_all, dst, 1, copy, len, NULL);
}


static void test_bounds_rejected(void)
{
    g_autoptr(GBytes) bytes = all_stream();
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    All dst, before;

    e1 = load_patched_u32(bytes, ALL_OFFSET_COUNT, 9, &dst);
    g_assert_nonnull(e1);
    g_assert_nonnull(strstr(e1->message,
                            "all: field 'varr': element count 9 exceeds maximum 8"));
    all_prepare_dest(&before);
    g_assert_cmpmem(&dst, sizeof(dst), &before, sizeof(before));

    e2 = load_patched_u32(bytes, ALL_OFFSET_VLEN, 17, &dst);
    g_assert_nonnull(e2);
    g_assert_nonnull(strstr(e2->message,
                            "all: field 'vbuf': length 17 exceeds maximum 16 at offset"));
    g_assert_cmpmem(&dst, sizeof(dst), &before, sizeof(before));

    e3 = load_patched_u32(bytes, ALL_OFFSET_NINS, 0xffffffff, &dst);
    g_assert_nonnull(e3);
    g_assert_nonnull(strstr(e3->message, "element count 4294967295 exceeds maximum 4"));
    g_assert_cmpmem(&dst, sizeof(dst), &before, sizeof(before));
}

static void test_equal_and_le_checks(void)
{
    g_autoptr(GBytes) bytes = all_stream();
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    All dst;

    all_prepare_dest(&dst);
    dst.eq32 = 33;
    e1 = load_bytes(&vmstate_all, &dst, 1, data, len, NULL);
    g_assert_nonnull(e1);
    g_assert_nonnull(strstr(e1->message, "all: field 'eq32': 32 != 33 at offset"));
    g_assert_cmpuint(dst.u32, ==, 0xeeeeeeee);

    all_prepare_dest(&dst);
    dst.le = 9;
    e2 = load_bytes(&vmstate_all, &dst, 1, data, len, NULL);
    g_assert_nonnull(e2);
    g_assert_nonnull(strstr(e2->message, "all: field 'le': loaded 10 max 9"));
}

static void test_save_rejects_bad_count(void)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    All a;

    all_fill(&a);
    a.count = 100;
    g_assert_false(vmstate_save_state(out, &vmstate_all, &a, NULL, &err));
    g_assert_nonnull(strstr(err->message, "element count 100 exceeds maximum 8"));
    qemu_fclose(out, NULL);
}

static void test_all_truncated_every_offset(void)
{
    g_autoptr(GBytes) bytes = all_stream();
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);

    for (size_t cut = 0; cut < len; cut++) {
        All dst, before;
        g_autoptr(GError) err = NULL;

        all_prepare_dest(&dst);
        before = dst;
        err = load_bytes(&vmstate_all, &dst, 1, data, cut, NULL);
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "unexpected end of migration stream"));
        g_assert_cmpmem(&dst, sizeof(dst), &before, sizeof(before));
    }
}

/* ---- post_load validates; a failure leaves the struct as it was ---- */

typedef struct Serial {
    uint16_t divisor;
    uint8_t lcr;
    int post_loads;
} Serial;

static bool serial_post_load(void *opaque, int version_id, GError **errp)
{
    Serial *s = opaque;

    if (s->divisor == 0) {
        error_setg(errp, "invalid divisor 0");
        return false;
    }
    s->post_loads++;
    return true;
}

static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .post_load = serial_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(lcr, Serial),
        VMSTATE_UINT16(divisor, Serial),
        VMSTATE_END_OF_LIST()
    },
};

static void test_post_load_failure_untouched(void)
{
    static const uint8_t bad[] = { 0x83, 0x00, 0x00 };
    static const uint8_t good[] = { 0x03, 0x00, 0x0c };
    Serial s = { .divisor = 12, .lcr = 0x03 };
    g_autoptr(GError) err = load_bytes(&vmstate_serial, &s, 1, bad, sizeof(bad), NULL);
    GError *ok;

    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, "serial: post_load: invalid divisor 0");
    g_assert_cmpuint(s.divisor, ==, 12);
    g_assert_cmpuint(s.lcr, ==, 0x03);
    g_assert_cmpint(s.post_loads, ==, 0);

    ok = load_bytes(&vmstate_serial, &s, 1, good, sizeof(good), NULL);
    g_assert_no_error(ok);
    g_assert_cmpint(s.post_loads, ==, 1);
}

/* ---- vmdesc ---- */

typedef struct Desc {
    uint32_t regs[4];
    Inner in;
    uint8_t buf[3];
    Small sm;
    Small sms[2];
} Desc;

static const VMStateDescription vmstate_desc_small_struct = {
    .name = "sm",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(w, Small),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { NULL },
};

static const VMStateDescription vmstate_desc = {
    .name = "desc",
    .version_id = 3,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(regs, Desc, 4),
        VMSTATE_UNUSED(2),
        VMSTATE_STRUCT(in, Desc, 0, vmstate_inner, Inner),
        VMSTATE_BUFFER(buf, Desc),
        VMSTATE_UNUSED(1),
        VMSTATE_STRUCT_ARRAY(sms, Desc, 2, 0, vmstate_desc_small_struct, Small),
        VMSTATE_END_OF_LIST()
    },
};

static void test_vmdesc_shape(void)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;
    Desc d = { .regs = { 1, 2, 3, 4 } };
    const char *expect =
        "{\"vmsd_name\":\"desc\",\"version\":3,\"fields\":["
        "{\"name\":\"regs\",\"array_len\":4,\"type\":\"uint32\",\"size\":4},"
        "{\"name\":\"unused[0]\",\"type\":\"unused_buffer\",\"size\":2},"
        "{\"name\":\"in\",\"type\":\"struct\",\"struct\":{\"vmsd_name\":\"inner\","
        "\"version\":1,\"fields\":[{\"name\":\"x\",\"type\":\"uint16\",\"size\":2},"
        "{\"name\":\"y\",\"type\":\"int8\",\"size\":1}]},\"size\":3},"
        "{\"name\":\"buf\",\"type\":\"buffer\",\"size\":3},"
        "{\"name\":\"unused[1]\",\"type\":\"unused_buffer\",\"size\":1},"
        "{\"name\":\"sms\",\"index\":0,\"type\":\"struct\",\"struct\":{\"vmsd_name\":"
        "\"sm\",\"version\":1,\"fields\":[{\"name\":\"w\",\"type\":\"uint16\","
        "\"size\":2}]},\"size\":2},"
        "{\"name\":\"sms\",\"index\":1,\"type\":\"struct\",\"struct\":{\"vmsd_name\":"
        "\"sm\",\"version\":1,\"fields\":[{\"name\":\"w\",\"type\":\"uint16\","
        "\"size\":2}]},\"size\":2}]}";

    json_builder_begin_object(b);
    g_assert_true(vmstate_save_state(out, &vmstate_desc, &d, b, NULL));
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, NULL);
    g_assert_cmpstr(json, ==, expect);
    qemu_fclose(out, NULL);
}

static void test_vmdesc_subsections(void)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;
    Small s = small_value;

    s.want_extra = true;
    json_builder_begin_object(b);
    g_assert_true(vmstate_save_state(out, &vmstate_small, &s, b, NULL));
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, NULL);
    g_assert_nonnull(strstr(json, ",\"subsections\":[{\"vmsd_name\":\"small/extra\","
                            "\"version\":1,\"fields\":[{\"name\":\"extra\","
                            "\"type\":\"uint32\",\"size\":4}]}]}"));
    g_assert_nonnull(strstr(json, "{\"name\":\"arr\",\"array_len\":3,\"type\":\"uint8\","
                            "\"size\":1}"));
    qemu_fclose(out, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/small/exact-bytes", test_small_exact_bytes);
    g_test_add_func("/vmstate/small/error-names-field-and-offset",
                    test_error_names_field_and_offset);
    g_test_add_func("/vmstate/subsection/needed", test_subsection_needed);
    g_test_add_func("/vmstate/subsection/unknown", test_subsection_unknown);
    g_test_add_func("/vmstate/subsection/other-prefix", test_subsection_other_prefix);
    g_test_add_func("/vmstate/versions", test_versions);
    g_test_add_func("/vmstate/small/truncated", test_truncated_every_offset);
    g_test_add_func("/vmstate/all/roundtrip", test_all_types_roundtrip);
    g_test_add_func("/vmstate/all/bounds", test_bounds_rejected);
    g_test_add_func("/vmstate/all/equal-and-le", test_equal_and_le_checks);
    g_test_add_func("/vmstate/all/save-bad-count", test_save_rejects_bad_count);
    g_test_add_func("/vmstate/all/truncated", test_all_truncated_every_offset);
    g_test_add_func("/vmstate/post-load-failure", test_post_load_failure_untouched);
    g_test_add_func("/vmstate/vmdesc/shape", test_vmdesc_shape);
    g_test_add_func("/vmstate/vmdesc/subsections", test_vmdesc_subsections);
    return g_test_run();
}
