/*
 * Unit tests for QEMUFile buffering and its backends (migration/qemu-file*.c).
 */
#include "migration/qemu-file.h"
#include "qemu/error.h"

#include <string.h>
#include <signal.h>
#include <unistd.h>

static void test_roundtrip_integers(void)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GBytes) bytes = NULL;
    static const uint8_t expect[] = {
        0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    };
    QEMUFile *in;

    qemu_put_byte(out, 0x7f);
    qemu_put_be16(out, 0x1234);
    qemu_put_be32(out, 0xdeadbeef);
    qemu_put_be64(out, 0x0102030405060708ull);
    g_assert_cmpuint(qemu_file_transferred(out), ==, sizeof(expect));
    bytes = qemu_file_output_buffer_bytes(out);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    expect, sizeof(expect));
    g_assert_true(qemu_fclose(out, NULL));

    in = qemu_file_new_input_buffer(expect, sizeof(expect));
    g_assert_cmpint(qemu_peek_byte(in, 1), ==, 0x12);
    g_assert_cmpuint(qemu_get_byte(in), ==, 0x7f);
    g_assert_cmpuint(qemu_get_be16(in), ==, 0x1234);
    g_assert_cmpuint(qemu_get_be32(in), ==, 0xdeadbeef);
    g_assert_cmpuint(qemu_file_tell(in), ==, 7);
    g_assert_cmpuint(qemu_get_be64(in), ==, 0x0102030405060708ull);
    g_assert_cmpint(qemu_peek_byte(in, 0), ==, -1);
    g_assert_true(qemu_fclose(in, NULL));
}

static void test_async_pages_and_many_iovecs(void)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autofree uint8_t *pages = g_malloc(4096 * 600);
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    size_t size;

    for (int i = 0; i < 600; i++) {
        memset(pages + i * 4096, i & 0xff, 4096);
        qemu_put_be32(out, i);                      /* header copied */
        qemu_put_buffer_async(out, pages + i * 4096, 4096);  /* page referenced */
    }
    bytes = qemu_file_output_buffer_bytes(out);
    data = g_bytes_get_data(bytes, &size);
    g_assert_cmpuint(size, ==, 600 * 4100);
    for (int i = 0; i < 600; i++) {
        const uint8_t *rec = data + i * 4100;
        g_assert_cmpuint(GUINT32_FROM_BE(*(uint32_t *)rec), ==, (uint32_t)i);
        g_assert_cmpuint(rec[4], ==, i & 0xff);
        g_assert_cmpuint(rec[4099], ==, i & 0xff);
    }
    g_assert_true(qemu_fclose(out, NULL));
}

static void test_truncated_input_is_sticky(void)
{
    static const uint8_t two[] = { 0xaa, 0xbb };
    QEMUFile *in = qemu_file_new_input_buffer(two, sizeof(two));
    g_autoptr(GError) err = NULL;

    g_assert_cmpuint(qemu_get_be32(in), ==, 0xaabb0000);   /* short read zero-fills */
    g_assert_cmpint(qemu_file_get_error(in), <, 0);
    g_assert_cmpuint(qemu_get_byte(in), ==, 0);           /* later reads do nothing */
    g_assert_false(qemu_fclose(in, &err));
    g_assert_cmpstr(err->message, ==, "unexpected end of migration stream at offset 2");
}

/* A borrowed input reads the caller's bytes in place, short reads as a copy does; empty is fine. */
static void test_borrowed_input(void)
{
    g_autofree uint8_t *three = g_memdup2((const uint8_t[]){ 0x11, 0x22, 0x33 }, 3);
    QEMUFile *in = qemu_file_new_input_borrowed(three, 3);
    QEMUFile *empty = qemu_file_new_input_borrowed(NULL, 0);
    g_autoptr(GError) err = NULL;

    g_assert_cmpuint(qemu_get_be16(in), ==, 0x1122);
    g_assert_cmpuint(qemu_get_be16(in), ==, 0x3300);        /* short read zero-fills */
    g_assert_false(qemu_fclose(in, &err));
    g_assert_cmpstr(err->message, ==, "unexpected end of migration stream at offset 3");
    g_assert_cmpuint(three[0], ==, 0x11);                   /* the caller's bytes stay */
    g_assert_cmpuint(qemu_get_byte(empty), ==, 0);
    g_assert_cmpint(qemu_file_get_error(empty), <, 0);
    qemu_fclose(empty, NULL);
}

/* A QEMUFile on a new channel over @fd (which it takes). */
static QEMUFile *file_on_fd(int fd, bool writable)
{
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_fd(fd, writable, &err);

    g_assert_no_error(err);
    return f;
}

static void test_fd_pipe_and_shutdown(void)
{
    int fds[2];
    QEMUFile *out, *in;
    g_autoptr(GError) err = NULL;
    uint8_t buf[100000];

    g_assert_cmpint(pipe(fds), ==, 0);
    out = file_on_fd(fds[1], true);
    in = file_on_fd(fds[0], false);
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = i * 7;
    }
    qemu_put_buffer(out, buf, 30000);   /* fits in the pipe */
    g_assert_true(qemu_fclose(out, NULL));
    memset(buf, 0, sizeof(buf));
    g_assert_cmpuint(qemu_get_buffer(in, buf, 30000), ==, 30000);
    for (size_t i = 0; i < 30000; i++) {
        g_assert_cmpuint(buf[i], ==, (uint8_t)(i * 7));
    }
    qemu_file_shutdown(in);
    qemu_get_byte(in);
    g_assert_false(qemu_fclose(in, &err));
    g_assert_cmpstr(err->message, ==, "migration stream was shut down");
}

static void test_write_error_to_closed_pipe(void)
{
    int fds[2];
    QEMUFile *out;
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(pipe(fds), ==, 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    out = file_on_fd(fds[1], true);
    qemu_put_be64(out, 1);
    qemu_fflush(out);
    g_assert_cmpint(qemu_file_get_error(out), <, 0);
    g_assert_false(qemu_fclose(out, &err));
    g_assert_nonnull(strstr(err->message, "failed to write migration stream"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-file/roundtrip-integers", test_roundtrip_integers);
    g_test_add_func("/qemu-file/async-pages", test_async_pages_and_many_iovecs);
    g_test_add_func("/qemu-file/truncated-input", test_truncated_input_is_sticky);
    g_test_add_func("/qemu-file/borrowed-input", test_borrowed_input);
    g_test_add_func("/qemu-file/fd-pipe-and-shutdown", test_fd_pipe_and_shutdown);
    g_test_add_func("/qemu-file/write-error", test_write_error_to_closed_pipe);
    return g_test_run();
}
