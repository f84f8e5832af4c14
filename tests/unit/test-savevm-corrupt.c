/*
 * Unit tests for the destination's handling of broken streams
 * (migration/savevm-load.c): bad headers, truncation at every offset,
 * corrupted bytes, bad sections, footers and commands, and the optional
 * vmdesc trailer.  Every case must fail cleanly or load; none may crash.
 */
#include "savevm-fixture.h"
#include "qemu/error.h"

#include <string.h>

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

/* A device's FULL section reusing the live section's id does not take over its PARTs. */
static void body_part_for_device_id(GByteArray *b)
{
    bb_header(b, 0x04, 0, "dev-b", 0, 2);
    bb_be16(b, 1);
    bb_footer(b, 0);
    bb_header(b, 0x02, 0, NULL, 0, 0);
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
        { body_part_for_device_id, "Unknown savevm section 0 at offset 142" },
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

/*
 * The trailer's verdict (savevm_state_take_trailer_error): read whole it
 * is NULL and nothing is left unread (a destination that closed with
 * bytes unread would reset the connection); malformed it says why, and
 * savevm_drain() reads the rest.
 */
static void check_trailer(const GByteArray *stream, const char *needle)
{
    Machine m;
    QEMUFile *in = qemu_file_new_input_buffer(stream->data, stream->len);
    GError *err = NULL;
    g_autoptr(GError) trailer = NULL;

    machine_init(&m);
    g_assert_true(savevm_state_load(m.s, in, &m.cfg, &err));
    g_assert_no_error(err);
    trailer = savevm_state_take_trailer_error(m.s);
    if (!needle) {
        g_assert_null(trailer);
        g_assert_cmpuint(qemu_file_tell(in), ==, stream->len);
    } else {
        g_assert_nonnull(trailer);
        g_assert_nonnull(strstr(trailer->message, needle));
        savevm_drain(in, SAVEVM_VMDESC_MAX);
        g_assert_cmpuint(qemu_file_tell(in), ==, stream->len);
    }
    g_assert_null(savevm_state_take_trailer_error(m.s));
    qemu_fclose(in, NULL);
    machine_cleanup(&m);
}

static void test_trailer_verdict(void)
{
    size_t eof;
    g_autoptr(GByteArray) stream = expected_stream(&eof);
    g_autoptr(GByteArray) none = g_byte_array_new();
    g_autoptr(GByteArray) lying = g_byte_array_new();
    g_autoptr(GByteArray) other = g_byte_array_new();
    g_autoptr(GByteArray) cut = g_byte_array_new();

    check_trailer(stream, NULL);
    bb_raw(none, stream->data, eof + 1);
    check_trailer(none, NULL);
    bb_raw(lying, stream->data, eof + 1);
    bb_u8(lying, 0x06);
    bb_be32(lying, 0xffffffff);
    bb_raw(lying, "{}", 2);
    check_trailer(lying, "vmdescription of 4294967295 bytes");
    bb_raw(other, stream->data, eof + 1);
    bb_u8(other, 0x42);
    bb_raw(other, "rest", 4);
    check_trailer(other, "Expected vmdescription section, but got 66");
    bb_raw(cut, stream->data, stream->len - 3);
    check_trailer(cut, "ends after");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/savevm/header/bad", test_bad_header);
    g_test_add_func("/savevm/corrupt/truncated", test_truncated_every_offset);
    g_test_add_func("/savevm/corrupt/flipped", test_flipped_bytes);
    g_test_add_func("/savevm/corrupt/headers-and-payload",
                    test_flips_in_headers_and_payload);
    g_test_add_func("/savevm/corrupt/sections", test_bad_sections);
    g_test_add_func("/savevm/trailer-optional", test_trailer_optional);
    g_test_add_func("/savevm/trailer-verdict", test_trailer_verdict);
    return g_test_run();
}
