/*
 * Unit tests for the stream framing (migration/savevm*.c) through the
 * memory-buffer QEMUFile: a whole stream (header, configuration, a fake
 * iterative section, device sections, footers, EOF, vmdesc) compared with
 * hand-written bytes and loaded back; configuration checks; the registry.
 * Broken streams are in test-savevm-corrupt.c.
 */
#include "savevm-fixture.h"
#include "qemu/error.h"

#include <string.h>

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

static SaveVMIterateResult stopping_iterate(QEMUFile *f, void *opaque,
                                            GError **errp)
{
    int *calls = opaque;

    (*calls)++;
    return *calls >= stop_after ? SAVEVM_ITERATE_DONE : SAVEVM_ITERATE_MORE;
}

static SaveVMIterateResult failing_iterate(QEMUFile *f, void *opaque,
                                           GError **errp)
{
    error_setg(errp, "disk on fire");
    return SAVEVM_ITERATE_ERROR;
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
    g_assert_cmpint(savevm_state_iterate(s, out, NULL), ==, SAVEVM_ITERATE_MORE);
    g_assert_cmpint(first, ==, 1);
    g_assert_cmpint(second, ==, 0);     /* stopped at the first with more to send */
    g_assert_cmpint(savevm_state_iterate(s, out, NULL), ==, SAVEVM_ITERATE_MORE);
    g_assert_cmpint(first, ==, 2);
    g_assert_cmpint(second, ==, 1);
    g_assert_cmpint(savevm_state_iterate(s, out, &err), ==, SAVEVM_ITERATE_ERROR);
    g_assert_cmpstr(err->message, ==, "section 'three' (instance 0): disk on fire");
    qemu_fclose(out, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/savevm/stream/exact-bytes", test_stream_exact_bytes);
    g_test_add_func("/savevm/stream/roundtrip", test_stream_roundtrip);
    g_test_add_func("/savevm/stream/vmdesc-analyzer", test_vmdesc_findable_by_analyzer);
    g_test_add_func("/savevm/stream/suppressed",
                    test_suppress_vmdesc_and_no_configuration);
    g_test_add_func("/savevm/configuration/checks", test_configuration_checks);
    g_test_add_func("/savevm/configuration/uuid-not-sent", test_uuid_not_sent);
    g_test_add_func("/savevm/registry", test_registry);
    g_test_add_func("/savevm/vmdesc-escaping", test_vmdesc_escaping);
    g_test_add_func("/savevm/iterate", test_iterate_semantics);
    return g_test_run();
}
