/*
 * Shared fixtures of the savevm tests: byte builders for hand-written
 * streams, a fake iterative section, three devices, a "machine" bundling
 * them with a registry and a configuration, and the standard stream that
 * machine sends, written out by hand from QEMU's format.
 */
#include "savevm-fixture.h"
#include "qemu/error.h"

#include <string.h>

/* ---- hand-written expected bytes ---- */

void bb_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

void bb_be16(GByteArray *b, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);
    g_byte_array_append(b, (uint8_t *)&be, 2);
}

void bb_be32(GByteArray *b, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);
    g_byte_array_append(b, (uint8_t *)&be, 4);
}

void bb_raw(GByteArray *b, const void *p, size_t len)
{
    g_byte_array_append(b, p, len);
}

/* u8 length + bytes */
void bb_str(GByteArray *b, const char *s)
{
    bb_u8(b, strlen(s));
    bb_raw(b, s, strlen(s));
}

void bb_header(GByteArray *b, uint8_t type, uint32_t id, const char *idstr,
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

void bb_footer(GByteArray *b, uint32_t id)
{
    bb_u8(b, 0x7e);
    bb_be32(b, id);
}

/* ---- a fake iterative section ---- */

static bool fake_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_be32(f, 0x5e7);
    return true;
}

static SaveVMIterateResult fake_save_iterate(QEMUFile *f, void *opaque,
                                             GError **errp)
{
    FakeLive *l = opaque;

    qemu_put_be32(f, l->next++);
    return --l->rounds > 0 ? SAVEVM_ITERATE_MORE : SAVEVM_ITERATE_DONE;
}

static bool fake_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    qemu_put_be32(f, 0xc0de);
    return true;
}

static void fake_pending_estimate(void *opaque, uint64_t *pending)
{
    *pending = ((FakeLive *)opaque)->rounds * 100;
}

static bool fake_pending_exact(void *opaque, uint64_t *pending, GError **errp)
{
    *pending = ((FakeLive *)opaque)->rounds * 100 + 1;
    return true;
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

const VMStateDescription vmstate_devb = {
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

static const char *const machine_caps[] = { "events", "x-ignore-shared", NULL };
const uint8_t machine_uuid[16] = {
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

void machine_init(Machine *m)
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

void machine_cleanup(Machine *m)
{
    savevm_state_free(m->s);
}

/* Run the source side over @m and return the stream. */
GBytes *machine_save(Machine *m)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    uint64_t pending;
    GBytes *bytes;
    SaveVMIterateResult ret;

    m->live.rounds = 2;
    m->a = (DevA) { .reg = 0xa1a2a3a4, .mem = { 1, 2, 3, 4 }, .flag = true };
    m->b.x = 0xb0b1;
    g_assert_true(savevm_state_header(m->s, out, &m->cfg, &err));
    g_assert_true(savevm_state_setup(m->s, out, &err));
    g_assert_cmpuint(savevm_state_pending_estimate(m->s), ==, 200);
    g_assert_true(savevm_state_pending_exact(m->s, &pending, &err));
    g_assert_cmpuint(pending, ==, 201);
    g_assert_cmpint(savevm_state_iterate(m->s, out, &err), ==,
                    SAVEVM_ITERATE_MORE);
    ret = savevm_state_iterate(m->s, out, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ret, ==, SAVEVM_ITERATE_DONE);
    g_assert_true(savevm_state_complete(m->s, out, &err));
    g_assert_no_error(err);
    savevm_state_cleanup(m->s);
    g_assert_cmpint(m->live.cleanups, ==, 1);
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_true(qemu_fclose(out, NULL));
    return bytes;
}

GBytes *standard_stream(void)
{
    Machine src;
    GBytes *bytes;

    machine_init(&src);
    bytes = machine_save(&src);
    machine_cleanup(&src);
    return bytes;
}

/* Load @len bytes into a fresh destination machine; returns the error or NULL. */
GError *load_into(Machine *dst, const void *data, size_t len)
{
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    GError *err = NULL;

    savevm_state_load(dst->s, in, &dst->cfg, &err);
    qemu_fclose(in, NULL);
    return err;
}

GError *load_fresh(const void *data, size_t len, void (*tweak)(Machine *m))
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
GByteArray *expected_stream(size_t *eof_offset)
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

void expect_load_error(const GByteArray *stream, void (*tweak)(Machine *m),
                              const char *needle)
{
    g_autoptr(GError) err = load_fresh(stream->data, stream->len, tweak);

    g_assert_nonnull(err);
    if (!strstr(err->message, needle)) {
        g_test_message("error '%s' lacks '%s'", err->message, needle);
        g_test_fail();
    }
}
