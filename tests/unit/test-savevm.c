/*
 * Unit tests for the stream framing (migration/savevm*.c) through the
 * memory-buffer QEMUFile: a whole stream (header, configuration, a fake
 * iterative section, device sections, footers, EOF, vmdesc) compared with
 * hand-written bytes and loaded back, then every way of breaking it.
 */
#include "migration/savevm.h"
#include "qemu/error.h"

#include <string.h>

/* ---- hand-written expected bytes ---- */

static void bb_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void bb_be16(GByteArray *b, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);
    g_byte_array_append(b, (uint8_t *)&be, 2);
}

static void bb_be32(GByteArray *b, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);
    g_byte_array_append(b, (uint8_t *)&be, 4);
}

static void bb_raw(GByteArray *b, const void *p, size_t len)
{
    g_byte_array_append(b, p, len);
}

/* u8 length + bytes */
static void bb_str(GByteArray *b, const char *s)
{
    bb_u8(b, strlen(s));
    bb_raw(b, s, strlen(s));
}

static void bb_header(GByteArray *b, uint8_t type, uint32_t id, const char *idstr,
                      uint32_t instance, uint32_t version)
{
    bb_u8(b, type);
    bb_be32(b, id);
    if (idstr) {
        bb_str(b, idstr);
        bb_be32(b, instance);
        bb_be32(b, version);
    }
}

static void bb_footer(GByteArray *b, uint32_t id)
{
    bb_u8(b, 0x7e);
    bb_be32(b, id);
}

/* ---- a fake iterative section ---- */

typedef struct FakeLive {
    int rounds;                 /* source: iterate calls until done */
    uint32_t next;
    int cleanups;
    uint32_t got[16];           /* destination: payload words received */
    int ngot;
    int load_setups, load_cleanups;
    int last_version;
} FakeLive;

static bool fake_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_be32(f, 0x5e7);
    return true;
}

static int fake_save_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    FakeLive *l = opaque;

    qemu_put_be32(f, l->next++);
    return --l->rounds > 0 ? 0 : 1;
}

static bool fake_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_be32(f, 0xc0de);
    return true;
}

static uint64_t fake_pending_estimate(void *opaque)
{
    return ((FakeLive *)opaque)->rounds * 100;
}

static uint64_t fake_pending_exact(void *opaque, GError **errp)
{
    return ((FakeLive *)opaque)->rounds * 100 + 1;
}

static void fake_save_cleanup(void *opaque)
{
    ((FakeLive *)opaque)->cleanups++;
}

static bool fake_load_setup(void *opaque, GError **errp)
{
    ((FakeLive *)opaque)->load_setups++;
    return true;
}

static bool fake_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    FakeLive *l = opaque;
    uint32_t v = qemu_get_be32(f);

    if (l->ngot == G_N_ELEMENTS(l->got)) {
        error_setg(errp, "too many fake sections");
        return false;
    }
    l->got[l->ngot++] = v;
    l->last_version = version_id;
    return true;
}

static void fake_load_cleanup(void *opaque)
{
    ((FakeLive *)opaque)->load_cleanups++;
}

static const SaveVMHandlers fake_handlers = {
    .save_setup = fake_save_setup,
    .save_live_iterate = fake_save_iterate,
    .save_live_complete = fake_save_complete,
    .state_pending_estimate = fake_pending_estimate,
    .state_pending_exact = fake_pending_exact,
    .save_cleanup = fake_save_cleanup,
    .load_setup = fake_load_setup,
    .load_state = fake_load_state,
    .load_cleanup = fake_load_cleanup,
};

/* ---- devices ---- */

typedef struct DevA {
    uint32_t reg;
    uint8_t mem[4];
    bool flag;
    const bool *locked;         /* destination: the device lock is held */
} DevA;

static bool deva_flag_needed(void *opaque)
{
    return ((DevA *)opaque)->flag;
}

static bool deva_post_load(void *opaque, int version_id, GError **errp)
{
    DevA *a = opaque;

    g_assert_true(!a->locked || *a->locked);
    return true;
}

static const VMStateDescription vmstate_deva_flag = {
    .name = "dev-a/flag",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = deva_flag_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(flag, DevA),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_deva = {
    .name = "dev-a",
    .version_id = 1,
    .post_load = deva_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(reg, DevA),
        VMSTATE_UINT8_ARRAY(mem, DevA, 4),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_deva_flag, NULL },
};

typedef struct DevB {
    uint16_t x;
} DevB;

static const VMStateDescription vmstate_devb = {
    .name = "dev-b",
    .version_id = 2,
    .minimum_version_id = 1,
    .priority = MIG_PRI_APIC,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(x, DevB),
        VMSTATE_END_OF_LIST()
    },
};

static bool never_needed(void *opaque)
{
    return false;
}

static const VMStateDescription vmstate_devc = {
    .name = "dev-c",
    .version_id = 1,
    .needed = never_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(x, DevB),
        VMSTATE_END_OF_LIST()
    },
};

/* One side's machine: registry, its sections' state, its configuration. */
typedef struct Machine {
    SaveVMState *s;
    FakeLive live;
    DevA a;
    DevB b;
    DevB c;
    SaveVMConfig cfg;
    bool locked;
    int locks;
} Machine;

static const char *const machine_caps[] = { "events", "x-ignore-shared", NULL };
static const uint8_t machine_uuid[16] = {
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

static void machine_lock(void *opaque)
{
    Machine *m = opaque;

    g_assert_false(m->locked);
    m->locked = true;
    m->locks++;
}

static void machine_unlock(void *opaque)
{
    Machine *m = opaque;

    g_assert_true(m->locked);
    m->locked = false;
}

static void machine_init(Machine *m)
{
    memset(m, 0, sizeof(*m));
    m->s = savevm_state_new();
    savevm_register_live(m->s, "fake-live", 0, 2, &fake_handlers, &m->live);
    savevm_register_vmsd(m->s, "dev-a", 0, &vmstate_deva, &m->a);
    savevm_register_vmsd(m->s, "dev-b", 0, &vmstate_devb, &m->b);
    savevm_register_vmsd(m->s, "dev-c", 0, &vmstate_devc, &m->c);
    savevm_set_device_load_lock(m->s, machine_lock, machine_unlock, m);
    m->a.locked = &m->locked;
    m->cfg = (SaveVMConfig) {
        .machine_name = "pc-tern-1.0",
        .send_configuration = true,
        .has_uuid = true,
        .validate_uuid = true,
        .capabilities = machine_caps,
    };
    memcpy(m->cfg.uuid, machine_uuid, 16);
}

static void machine_cleanup(Machine *m)
{
    savevm_state_free(m->s);
}

/* Run the source side over @m and return the stream. */
static GBytes *machine_save(Machine *m)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    uint64_t pending;
    GBytes *bytes;
    int ret;

    m->live.rounds = 2;
    m->a = (DevA) { .reg = 0xa1a2a3a4, .mem = { 1, 2, 3, 4 }, .flag = true };
    m->b.x = 0xb0b1;
    g_assert_true(savevm_state_header(m->s, out, &m->cfg, &err));
    g_assert_true(savevm_state_setup(m->s, out, &err));
    g_assert_cmpuint(savevm_state_pending_estimate(m->s), ==, 200);
    g_assert_true(savevm_state_pending_exact(m->s, &pending, &err));
    g_assert_cmpuint(pending, ==, 201);
    g_assert_cmpint(savevm_state_iterate(m->s, out, &err), ==, 0);
    ret = savevm_state_iterate(m->s, out, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ret, ==, 1);
    g_assert_true(savevm_state_complete(m->s, out, &err));
    g_assert_no_error(err);
    savevm_state_cleanup(m->s);
    g_assert_cmpint(m->live.cleanups, ==, 1);
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_true(qemu_fclose(out, NULL));
    return bytes;
}

static GBytes *standard_stream(void)
{
    Machine src;
    GBytes *bytes;

    machine_init(&src);
    bytes = machine_save(&src);
    machine_cleanup(&src);
    return bytes;
}

/* Load @len bytes into a fresh destination machine; returns the error or NULL. */
static GError *load_into(Machine *dst, const void *data, size_t len)
{
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    GError *err = NULL;

    savevm_state_load(dst->s, in, &dst->cfg, &err);
    qemu_fclose(in, NULL);
    return err;
}

static GError *load_fresh(const void *data, size_t len, void (*tweak)(Machine *m))
{
    Machine dst;
    GError *err;

    machine_init(&dst);
    if (tweak) {
        tweak(&dst);
    }
    err = load_into(&dst, data, len);
    machine_cleanup(&dst);
    return err;
}

static const char expected_vmdesc[] =
    "{\"configuration\": {\"vmsd_name\": \"configuration\", \"version\": 1, \"fields\": ["
    "{\"name\": \"len\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"name\", \"type\": \"buffer\", \"size\": 11}], "
    "\"subsections\": [{\"vmsd_name\": \"configuration/capabilities\", \"version\": 1, "
    "\"fields\": [{\"name\": \"caps_count\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"capabilities\", \"type\": \"capability\", \"size\": 16}]}, "
    "{\"vmsd_name\": \"configuration/uuid\", \"version\": 1, \"fields\": ["
    "{\"name\": \"uuid.data\", \"array_len\": 16, \"type\": \"uint8\", \"size\": 1}]}]}, "
    "\"page_size\": 4096, \"devices\": ["
    "{\"name\": \"dev-b\", \"instance_id\": 0, \"vmsd_name\": \"dev-b\", \"version\": 2, "
    "\"fields\": [{\"name\": \"x\", \"type\": \"uint16\", \"size\": 2}]}, "
    "{\"name\": \"dev-a\", \"instance_id\": 0, \"vmsd_name\": \"dev-a\", \"version\": 1, "
    "\"fields\": [{\"name\": \"reg\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"mem\", \"array_len\": 4, \"type\": \"uint8\", \"size\": 1}], "
    "\"subsections\": [{\"vmsd_name\": \"dev-a/flag\", \"version\": 1, \"fields\": ["
    "{\"name\": \"flag\", \"type\": \"bool\", \"size\": 1}]}]}]}";

/* The standard stream, by hand from QEMU's format (facts §4.2-4.4, 4.7, 4.8). */
static GByteArray *expected_stream(size_t *eof_offset)
{
    GByteArray *b = g_byte_array_new();

    bb_be32(b, 0x5145564d);
    bb_be32(b, 3);
    bb_u8(b, 0x07);                                     /* configuration */
    bb_be32(b, 11);
    bb_raw(b, "pc-tern-1.0", 11);
    bb_u8(b, 0x05);
    bb_str(b, "configuration/capabilities");
    bb_be32(b, 1);
    bb_be32(b, 1);
    bb_str(b, "x-ignore-shared");
    bb_u8(b, 0x05);
    bb_str(b, "configuration/uuid");
    bb_be32(b, 1);
    bb_raw(b, machine_uuid, 16);

    bb_header(b, 0x01, 0, "fake-live", 0, 2);           /* START */
    bb_be32(b, 0x5e7);
    bb_footer(b, 0);
    bb_header(b, 0x02, 0, NULL, 0, 0);                  /* PART */
    bb_be32(b, 0);
    bb_footer(b, 0);
    bb_header(b, 0x02, 0, NULL, 0, 0);
    bb_be32(b, 1);
    bb_footer(b, 0);
    bb_header(b, 0x03, 0, NULL, 0, 0);                  /* END */
    bb_be32(b, 0xc0de);
    bb_footer(b, 0);

    bb_header(b, 0x04, 2, "dev-b", 0, 2);               /* FULL, APIC priority first */
    bb_be16(b, 0xb0b1);
    bb_footer(b, 2);
    bb_header(b, 0x04, 1, "dev-a", 0, 1);
    bb_be32(b, 0xa1a2a3a4);
    bb_raw(b, "\x01\x02\x03\x04", 4);
    bb_u8(b, 0x05);
    bb_str(b, "dev-a/flag");
    bb_be32(b, 1);
    bb_u8(b, 1);
    bb_footer(b, 1);

    *eof_offset = b->len;
    bb_u8(b, 0x00);                                     /* EOF */
    bb_u8(b, 0x06);                                     /* VMDESCRIPTION */
    bb_be32(b, strlen(expected_vmdesc));
    bb_raw(b, expected_vmdesc, strlen(expected_vmdesc));
    return b;
}

/* ---- tests ---- */

static void test_stream_exact_bytes(void)
{
    g_autoptr(GBytes) bytes = standard_stream();
    size_t eof;
    g_autoptr(GByteArray) expect = expected_stream(&eof);

    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect->data, expect->len);
}

static void test_stream_roundtrip(void)
{
    g_autoptr(GBytes) bytes = standard_stream();
    Machine dst;
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    GError *err;

    machine_init(&dst);
    err = load_into(&dst, data, len);
    g_assert_no_error(err);
    g_assert_cmpuint(dst.a.reg, ==, 0xa1a2a3a4);
    g_assert_cmpmem(dst.a.mem, 4, "\x01\x02\x03\x04", 4);
    g_assert_true(dst.a.flag);
    g_assert_cmpuint(dst.b.x, ==, 0xb0b1);
    g_assert_cmpint(dst.live.ngot, ==, 4);
    g_assert_cmpuint(dst.live.got[0], ==, 0x5e7);
    g_assert_cmpuint(dst.live.got[1], ==, 0);
    g_assert_cmpuint(dst.live.got[2], ==, 1);
    g_assert_cmpuint(dst.live.got[3], ==, 0xc0de);
    g_assert_cmpint(dst.live.last_version, ==, 2);
    g_assert_cmpint(dst.live.load_setups, ==, 1);
    g_assert_cmpint(dst.live.load_cleanups, ==, 1);
    g_assert_cmpint(dst.locks, ==, 2);
    g_assert_false(dst.locked);
    machine_cleanup(&dst);
}

/* What analyze-migration.py does to find the trailer (facts §4.9). */
static void test_vmdesc_findable_by_analyzer(void)
{
    g_autoptr(GBytes) bytes = standard_stream();
    g_autoptr(JsonParser) parser = json_parser_new();
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    const uint8_t *nul = NULL, *brace;
    uint32_t json_len;
    JsonObject *root;

    for (const uint8_t *p = data; p < data + len; p++) {
        if (*p == 0) {
            nul = p;
        }
    }
    g_assert_nonnull(nul);
    brace = memchr(nul, '{', data + len - nul);
    g_assert_nonnull(brace);
    g_assert_cmpuint(brace[-5], ==, 0x06);
    memcpy(&json_len, brace - 4, 4);
    json_len = GUINT32_FROM_BE(json_len);
    g_assert_cmpuint(brace + json_len - data, ==, len);
    g_assert_true(json_parser_load_from_data(parser, (const char *)brace, json_len, NULL));
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpint(json_object_get_int_member(root, "page_size"), ==, 4096);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(root, "devices")),
                     ==, 2);
}

static void test_suppress_vmdesc_and_no_configuration(void)
{
    Machine src, dst;
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    size_t len;
    GError *err;

    machine_init(&src);
    src.cfg.suppress_vmdesc = true;
    src.cfg.send_configuration = false;
    bytes = machine_save(&src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_cmpuint(data[8], ==, 0x01);        /* straight to START */
    g_assert_cmpuint(data[len - 1], ==, 0x00);  /* ends with EOF */

    machine_init(&dst);
    dst.cfg.send_configuration = false;
    err = load_into(&dst, data, len);
    g_assert_no_error(err);
    g_assert_cmpuint(dst.b.x, ==, 0xb0b1);
    machine_cleanup(&dst);

    err = load_fresh(data, len, NULL);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Configuration section missing at offset 8"));
    g_error_free(err);
    machine_cleanup(&src);
}

static void expect_load_error(const GByteArray *stream, void (*tweak)(Machine *m),
                              const char *needle)
{
    g_autoptr(GError) err = load_fresh(stream->data, stream->len, tweak);

    g_assert_nonnull(err);
    if (!strstr(err->message, needle)) {
        g_test_message("error '%s' lacks '%s'", err->message, needle);
        g_test_fail();
    }
}

static void test_bad_header(void)
{
    g_autoptr(GByteArray) magic = g_byte_array_new();
    g_autoptr(GByteArray) v2 = g_byte_array_new();
    g_autoptr(GByteArray) v4 = g_byte_array_new();

    bb_be32(magic, 0x5145564e);
    bb_be32(magic, 3);
    expect_load_error(magic, NULL, "Not a migration stream");
    bb_be32(v2, 0x5145564d);
    bb_be32(v2, 2);
    expect_load_error(v2, NULL, "SaveVM v2 format is obsolete");
    bb_be32(v4, 0x5145564d);
    bb_be32(v4, 4);
    expect_load_error(v4, NULL, "Unsupported migration stream version");
}

static void other_machine(Machine *m)
{
    m->cfg.machine_name = "pc-other";
}

static void other_uuid(Machine *m)
{
    m->cfg.uuid[15] ^= 1;
}

static void no_uuid(Machine *m)
{
    m->cfg.has_uuid = false;
    m->cfg.validate_uuid = false;
}

static const char *const mapped_ram_caps[] = { "mapped-ram", NULL };

static void other_caps(Machine *m)
{
    m->cfg.capabilities = mapped_ram_caps;
}

static void test_configuration_checks(void)
{
    g_autoptr(GBytes) bytes = standard_stream();
    g_autoptr(GByteArray) stream = g_byte_array_new();
    GError *err;

    bb_raw(stream, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
    expect_load_error(stream, other_machine,
                      "Machine type received is 'pc-tern-1.0' and local is 'pc-other'");
    expect_load_error(stream, other_uuid,
                      "UUID received is 12345678-9abc-def0-0123-456789abcdef and local "
                      "is 12345678-9abc-def0-0123-456789abcdee");
    expect_load_error(stream, other_caps,
                      "Capability x-ignore-shared is off, but received capability is on; "
                      "Capability mapped-ram is on, but received capability is off");
    /* A destination without -uuid only warns. */
    err = load_fresh(stream->data, stream->len, no_uuid);
    g_assert_no_error(err);
}

/* Without validate-uuid on the source, no uuid is sent and none is checked. */
static void test_uuid_not_sent(void)
{
    Machine src;
    g_autoptr(GBytes) bytes = NULL;
    GError *err;

    machine_init(&src);
    src.cfg.validate_uuid = false;
    bytes = machine_save(&src);
    g_assert_null(memmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                         "configuration/uuid", 18));
    err = load_fresh(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), other_uuid);
    g_assert_no_error(err);
    machine_cleanup(&src);
}

/* A stream cut anywhere before its EOF byte fails; the trailer is optional. */
static void test_truncated_every_offset(void)
{
    size_t eof;
    g_autoptr(GByteArray) stream = expected_stream(&eof);

    for (size_t cut = 0; cut <= stream->len; cut++) {
        g_autoptr(GError) err = load_fresh(stream->data, cut, NULL);

        if (cut <= eof) {
            g_assert_nonnull(err);
        } else {
            g_assert_no_error(err);
        }
    }
}

/* Any single corrupted byte either fails cleanly or loads; never a crash. */
static void test_flipped_bytes(void)
{
    static const uint8_t masks[] = { 0xff, 0x01, 0x80, 0x7f };
    size_t eof;
    g_autoptr(GByteArray) stream = expected_stream(&eof);
    g_autofree uint8_t *copy = g_malloc(stream->len);
    int failures = 0;

    for (size_t pos = 0; pos < stream->len; pos++) {
        for (size_t m = 0; m < G_N_ELEMENTS(masks); m++) {
            g_autoptr(GError) err = NULL;

            memcpy(copy, stream->data, stream->len);
            copy[pos] ^= masks[m];
            err = load_fresh(copy, stream->len, NULL);
            if (err) {
                g_assert_cmpuint(strlen(err->message), >, 0);
                failures++;
            }
        }
    }
    g_test_message("%d of %zu corrupted streams rejected", failures,
                   stream->len * G_N_ELEMENTS(masks));
    g_assert_cmpint(failures, >, 0);
}

/* Flips in framing bytes always fail; flips in payload bytes load. */
static void test_flips_in_headers_and_payload(void)
{
    size_t eof;
    g_autoptr(GByteArray) stream = expected_stream(&eof);
    const uint8_t *start = memmem(stream->data, stream->len, "\x01\x00\x00\x00\x00\x09", 6);
    size_t st = start - stream->data;
    /* magic, version, config length, START type, START idlen, START footer mark, EOF */
    const size_t framing[] = { 0, 5, 9, st, st + 5, st + 23 + 4, eof };
    Machine dst;
    GError *err;

    for (size_t i = 0; i < G_N_ELEMENTS(framing); i++) {
        g_autoptr(GByteArray) copy = g_byte_array_new();

        bb_raw(copy, stream->data, stream->len);
        copy->data[framing[i]] ^= 0x40;
        err = load_fresh(copy->data, copy->len, NULL);
        g_assert_nonnull(err);
        g_error_free(err);
    }

    /* dev-b's x payload sits 2+5 bytes before dev-a's FULL header. */
    g_autoptr(GByteArray) payload = g_byte_array_new();
    const uint8_t *devb = memmem(stream->data, stream->len, "\x05" "dev-b", 6);
    size_t xpos = devb - stream->data + 6 + 8;

    bb_raw(payload, stream->data, stream->len);
    payload->data[xpos] ^= 0xff;
    machine_init(&dst);
    err = load_into(&dst, payload->data, payload->len);
    g_assert_no_error(err);
    g_assert_cmpuint(dst.b.x, ==, 0x4fb1);
    machine_cleanup(&dst);
}

/* Splice hand-written sections after the configuration of the standard stream. */
static GByteArray *stream_with_body(void (*body)(GByteArray *b))
{
    size_t eof;
    g_autoptr(GByteArray) std = expected_stream(&eof);
    GByteArray *b = g_byte_array_new();
    const uint8_t *start = memmem(std->data, std->len, "\x01\x00\x00\x00\x00\x09", 6);

    bb_raw(b, std->data, start - std->data);
    body(b);
    return b;
}

static void body_unknown_section(GByteArray *b)
{
    bb_header(b, 0x04, 7, "nosuch", 0, 1);
}

static void body_unknown_instance(GByteArray *b)
{
    bb_header(b, 0x04, 1, "dev-a", 1, 1);
}

static void body_version_too_new(GByteArray *b)
{
    bb_header(b, 0x04, 2, "dev-b", 0, 3);
}

static void body_version_too_old(GByteArray *b)
{
    bb_header(b, 0x04, 2, "dev-b", 0, 0);
    bb_be16(b, 1);
}

static void body_part_before_start(GByteArray *b)
{
    bb_header(b, 0x02, 0, NULL, 0, 0);
}

static void body_missing_footer(GByteArray *b)
{
    bb_header(b, 0x04, 2, "dev-b", 0, 2);
    bb_be16(b, 1);
    bb_u8(b, 0x00);
}

static void body_footer_mismatch(GByteArray *b)
{
    bb_header(b, 0x04, 2, "dev-b", 0, 2);
    bb_be16(b, 1);
    bb_footer(b, 9);
}

static void body_command(GByteArray *b)
{
    bb_u8(b, 0x08);
    bb_be16(b, 2);
    bb_be16(b, 4);
    bb_be32(b, 1);
}

static void body_unknown_type(GByteArray *b)
{
    bb_u8(b, 0x06);
}

static void body_start_for_device(GByteArray *b)
{
    bb_header(b, 0x01, 2, "dev-b", 0, 2);
}

static void body_device_subsection_unknown(GByteArray *b)
{
    bb_header(b, 0x04, 2, "dev-b", 0, 2);
    bb_be16(b, 1);
    bb_u8(b, 0x05);
    bb_str(b, "dev-b/nope");
    bb_be32(b, 1);
}

static void test_bad_sections(void)
{
    static const struct {
        void (*body)(GByteArray *b);
        const char *needle;
    } cases[] = {
        { body_unknown_section, "Unknown savevm section or instance 'nosuch' 0 at offset 116" },
        { body_unknown_instance, "Unknown savevm section or instance 'dev-a' 1" },
        { body_version_too_new, "savevm: unsupported version 3 for 'dev-b' v2 at offset 116" },
        { body_version_too_old, "of device 'dev-b' (section at offset 116): dev-b: incoming "
                                "version_id 0 is too old" },
        { body_part_before_start, "Unknown savevm section 0 at offset 116" },
        { body_missing_footer, "Missing section footer for dev-b at offset 137" },
        { body_footer_mismatch, "Mismatched section id in footer for dev-b - read 0x9 "
                                "expected 0x2" },
        { body_command, "Unsupported migration command PING (2, length 4) at offset 116" },
        { body_unknown_type, "Unknown savevm section type 6 at offset 116" },
        { body_start_for_device, "START section for device 'dev-b'" },
        { body_device_subsection_unknown, "dev-b: subsection 'dev-b/nope' does not exist" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) stream = stream_with_body(cases[i].body);

        expect_load_error(stream, NULL, cases[i].needle);
    }
}

/* EOF not followed by the trailer, or followed by a lying one, still loads. */
static void test_trailer_optional(void)
{
    size_t eof;
    g_autoptr(GByteArray) stream = expected_stream(&eof);
    g_autoptr(GByteArray) lying = g_byte_array_new();
    g_autoptr(GByteArray) other = g_byte_array_new();
    GError *err;

    err = load_fresh(stream->data, eof + 1, NULL);
    g_assert_no_error(err);

    bb_raw(lying, stream->data, eof + 1);
    bb_u8(lying, 0x06);
    bb_be32(lying, 0xffffffff);
    bb_raw(lying, "{}", 2);
    err = load_fresh(lying->data, lying->len, NULL);
    g_assert_no_error(err);

    bb_raw(other, stream->data, eof + 1);
    bb_u8(other, 0x42);
    err = load_fresh(other->data, other->len, NULL);
    g_assert_no_error(err);
}

static void test_registry(void)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    DevB b0, b1, b2;
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GBytes) bytes = NULL;
    SaveVMConfig cfg = { .suppress_vmdesc = true };

    savevm_register_vmsd(s, "dev-b", SAVEVM_INSTANCE_ID_ANY, &vmstate_devb, &b0);
    savevm_register_vmsd(s, "dev-b", SAVEVM_INSTANCE_ID_ANY, &vmstate_devb, &b1);
    savevm_register_vmsd(s, "dev-b", 5, &vmstate_devb, &b2);
    g_assert_true(savevm_unregister(s, "dev-b", 1));
    g_assert_false(savevm_unregister(s, "dev-b", 1));
    savevm_register_vmsd(s, "dev-b", SAVEVM_INSTANCE_ID_ANY, &vmstate_devb, &b1);
    g_assert_true(savevm_state_header(s, out, &cfg, NULL));
    g_assert_true(savevm_state_complete(s, out, NULL));
    bytes = qemu_file_output_buffer_bytes(out);
    /* instance 6 (the next after 5), section id 3 (registration order) */
    g_assert_nonnull(memmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                            "\x04\x00\x00\x00\x03\x05" "dev-b\x00\x00\x00\x06", 15));
    qemu_fclose(out, NULL);
}

/* Trailer strings are escaped as QEMU's JSON writer does: \uXXXX beyond ASCII. */
static void test_vmdesc_escaping(void)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GBytes) bytes = NULL;
    SaveVMConfig cfg = { 0 };
    DevB b = { 0 };
    const char *needle = "{\"name\": \"d\\u00E9v\\\"\\u007F\\n\\uD83D\\uDE00\", "
                         "\"instance_id\": 0, ";

    savevm_register_vmsd(s, "d\xc3\xa9v\"\x7f\n\xf0\x9f\x98\x80", 0, &vmstate_devb, &b);
    g_assert_true(savevm_state_header(s, out, &cfg, NULL));
    g_assert_true(savevm_state_complete(s, out, NULL));
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_nonnull(memmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                            needle, strlen(needle)));
    qemu_fclose(out, NULL);
}

static int stop_after;

static int stopping_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    int *calls = opaque;

    (*calls)++;
    return *calls >= stop_after ? 1 : 0;
}

static int failing_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    error_setg(errp, "disk on fire");
    return -1;
}

static void test_iterate_semantics(void)
{
    static const SaveVMHandlers stopping = { .save_live_iterate = stopping_iterate };
    static const SaveVMHandlers failing = { .save_live_iterate = failing_iterate };
    g_autoptr(SaveVMState) s = savevm_state_new();
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    int first = 0, second = 0;

    stop_after = 2;
    savevm_register_live(s, "one", 0, 1, &stopping, &first);
    savevm_register_live(s, "two", 0, 1, &stopping, &second);
    savevm_register_live(s, "three", 0, 1, &failing, NULL);
    g_assert_cmpint(savevm_state_iterate(s, out, NULL), ==, 0);
    g_assert_cmpint(first, ==, 1);
    g_assert_cmpint(second, ==, 0);     /* stopped at the first with more to send */
    g_assert_cmpint(savevm_state_iterate(s, out, NULL), ==, 0);
    g_assert_cmpint(first, ==, 2);
    g_assert_cmpint(second, ==, 1);
    g_assert_cmpint(savevm_state_iterate(s, out, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "section 'three' (instance 0): disk on fire");
    qemu_fclose(out, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/savevm/stream/exact-bytes", test_stream_exact_bytes);
    g_test_add_func("/savevm/stream/roundtrip", test_stream_roundtrip);
    g_test_add_func("/savevm/stream/vmdesc-analyzer", test_vmdesc_findable_by_analyzer);
    g_test_add_func("/savevm/stream/suppressed", test_suppress_vmdesc_and_no_configuration);
    g_test_add_func("/savevm/header/bad", test_bad_header);
    g_test_add_func("/savevm/configuration/checks", test_configuration_checks);
    g_test_add_func("/savevm/configuration/uuid-not-sent", test_uuid_not_sent);
    g_test_add_func("/savevm/corrupt/truncated", test_truncated_every_offset);
    g_test_add_func("/savevm/corrupt/flipped", test_flipped_bytes);
    g_test_add_func("/savevm/corrupt/headers-and-payload", test_flips_in_headers_and_payload);
    g_test_add_func("/savevm/corrupt/sections", test_bad_sections);
    g_test_add_func("/savevm/trailer-optional", test_trailer_optional);
    g_test_add_func("/savevm/registry", test_registry);
    g_test_add_func("/savevm/vmdesc-escaping", test_vmdesc_escaping);
    g_test_add_func("/savevm/iterate", test_iterate_semantics);
    return g_test_run();
}
