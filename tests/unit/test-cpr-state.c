/*
 * Unit tests for the CPR state (migration/cpr-state.c): QEMU's bytes
 * (qemu-migration-facts-2.md §21.5), a round trip of real memfds over a
 * socketpair, and every way a received state must be refused: cut
 * anywhere, bad magic or version, an fd no entry names, a duplicate.
 */
#include "migration/cpr.h"
#include "qemu/error.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* The stream QEMU 10.2 (no IOMMUFD) sends for one memfd "ram0". */
static const uint8_t one_entry[] = {
    0x51, 0x43, 0x50, 0x52, 0, 0, 0, 1,             /* magic, version */
    1, 0, 0, 0, 5, 'r', 'a', 'm', '0', 0,           /* entry "ram0" */
    0, 0, 0, 0, 0x20,                               /* id 0, the fd's byte */
    0,                                              /* end of list */
    5, 21, 'C', 'p', 'r', 'S', 't', 'a', 't', 'e', '/', 'v', 'f', 'i', 'o', ' ',
    'd', 'e', 'v', 'i', 'c', 'e', 's', 0, 0, 0, 1,  /* the vfio subsection, v1 */
};

static int test_memfd(const char *name, uint8_t fill)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    uint8_t *p;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    g_assert_true(p != MAP_FAILED);
    p[0] = fill;
    munmap(p, 4096);
    return fd;
}

static uint8_t test_memfd_byte(int fd)
{
    uint8_t b = 0;

    g_assert_cmpint(pread(fd, &b, 1, 0), ==, 1);
    return b;
}

/* What cpr_state_send writes, read back raw from the other end, fds dropped. */
static GBytes *sent_bytes(const CprState *s)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    int sv[2];
    uint8_t buf[4096];
    ssize_t n;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(cpr_state_send(s, sv[0], NULL));
    close(sv[0]);
    while ((n = recv(sv[1], buf, sizeof(buf), 0)) > 0) {
        g_byte_array_append(out, buf, n);
    }
    close(sv[1]);
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static void test_bytes(void)
{
    g_autoptr(CprState) s = cpr_state_new();
    g_autoptr(GBytes) bytes = NULL;
    int fd = test_memfd("ram0", 1);

    cpr_state_add_fd(s, "ram0", 0, fd);
    bytes = sent_bytes(s);
    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                    one_entry, sizeof(one_entry));
    close(fd);
}

/* Two memfds across a socketpair: each arrives under its name, same memory. */
static void test_round_trip(void)
{
    g_autoptr(CprState) s = cpr_state_new();
    g_autoptr(CprState) r = NULL;
    g_autoptr(GError) err = NULL;
    int a = test_memfd("a", 0xaa), b = test_memfd("b", 0xbb);
    int sv[2], fa, fb;

    cpr_state_add_fd(s, "a", 0, a);
    cpr_state_add_fd(s, "b", 0, b);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(cpr_state_send(s, sv[0], &err));
    g_assert_no_error(err);
    shutdown(sv[0], SHUT_WR);
    r = cpr_state_receive(sv[1], &err);
    g_assert_no_error(err);
    g_assert_cmpuint(cpr_state_count(r), ==, 2);
    g_assert_false(cpr_state_check_taken(r, NULL));
    fa = cpr_state_take_fd(r, "a", 0);
    fb = cpr_state_take_fd(r, "b", 0);
    g_assert_cmpint(cpr_state_take_fd(r, "a", 0), ==, -1);     /* once */
    g_assert_cmpint(cpr_state_take_fd(r, "c", 0), ==, -1);
    g_assert_cmpint(test_memfd_byte(fa), ==, 0xaa);
    g_assert_cmpint(test_memfd_byte(fb), ==, 0xbb);
    g_assert_true(cpr_state_check_taken(r, NULL));
    close(fa);
    close(fb);
    close(a);
    close(b);
    close(sv[0]);
    close(sv[1]);
}

static CprState *parse(const uint8_t *data, size_t len, int nfds, GError **errp)
{
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
    CprState *s;

    for (int i = 0; i < nfds; i++) {
        int fd = test_memfd("x", 0);

        g_array_append_val(fds, fd);
    }
    s = cpr_state_parse(data, len, fds, errp);
    for (guint i = 0; i < fds->len; i++) {
        close(g_array_index(fds, int, i));
    }
    return s;
}

static void assert_parse_error(const uint8_t *data, size_t len, int nfds, const char *expect)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(CprState) s = parse(data, len, nfds, &err);

    g_assert_null(s);
    g_assert_nonnull(err);
    if (!strstr(err->message, expect)) {
        g_error("'%s' does not contain '%s'", err->message, expect);
    }
}

/* Cut after every byte: a clear error each time, never a crash. */
static void test_truncated(void)
{
    /* Without the subsection a 10.0 stream is whole: up to its list end, every cut fails. */
    for (size_t cut = 0; cut < 24; cut++) {
        assert_parse_error(one_entry, cut, 1, "CPR state truncated at offset");
    }
    for (size_t cut = 25; cut < sizeof(one_entry); cut++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(CprState) s = parse(one_entry, cut, 1, &err);

        g_assert_null(s);
        g_assert_nonnull(err);
    }
}

static void test_whole_without_subsection(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(CprState) s = parse(one_entry, 24, 1, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(cpr_state_count(s), ==, 1);
}

static void test_bad_magic_and_version(void)
{
    uint8_t data[sizeof(one_entry)];

    memcpy(data, one_entry, sizeof(data));
    data[0] = 'Q' ^ 1;
    assert_parse_error(data, sizeof(data), 1, "Not a migration stream (bad magic 50435052)");
    memcpy(data, one_entry, sizeof(data));
    data[7] = 2;
    assert_parse_error(data, sizeof(data), 1, "Unsupported migration stream version 2");
}

/* An fd that arrived with no entry naming it. */
static void test_unknown_fd(void)
{
    assert_parse_error(one_entry, sizeof(one_entry), 2,
                       "CPR state: 1 fds arrived that no entry names");
}

/* An entry whose fd did not arrive parses (as in QEMU); taking it gives -1. */
static void test_missing_fd(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(CprState) s = parse(one_entry, sizeof(one_entry), 0, &err);

    g_assert_no_error(err);
    g_assert_cmpint(cpr_state_take_fd(s, "ram0", 0), ==, -1);
}

static void test_bad_entries(void)
{
    uint8_t data[sizeof(one_entry)];
    g_autoptr(GByteArray) dup = g_byte_array_new();

    memcpy(data, one_entry, sizeof(data));
    data[12] = 0;                               /* name length 0 */
    assert_parse_error(data, sizeof(data), 1, "has a name of 0 bytes");
    memcpy(data, one_entry, sizeof(data));
    data[16] = 0;                               /* NUL inside the name */
    assert_parse_error(data, sizeof(data), 1, "not one NUL-terminated string");
    memcpy(data, one_entry, sizeof(data));
    data[22] = 0x21;                            /* not the fd's byte */
    assert_parse_error(data, sizeof(data), 1, "fd byte 0x21, 0x20 expected");
    memcpy(data, one_entry, sizeof(data));
    data[8] = 2;                                /* neither entry nor end */
    assert_parse_error(data, sizeof(data), 1, "byte 0x02 at offset 8 in the fd list");
    memcpy(data, one_entry, sizeof(data));
    data[26] = 'X';                             /* another subsection */
    assert_parse_error(data, sizeof(data), 1, "unknown subsection 'XprState/vfio devices'");

    /* The same name twice. */
    g_byte_array_append(dup, one_entry, 23);
    g_byte_array_append(dup, one_entry + 8, 15);
    g_byte_array_append(dup, (const guint8 *)"\0", 1);
    assert_parse_error(dup->data, dup->len, 2, "CPR state names fd 'ram0' (id 0) twice");
}

/* A receiver whose peer dies mid-state: an error, the fds that came closed. */
static void test_receive_cut(void)
{
    g_autoptr(GError) err = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_cmpint(write(sv[0], one_entry, 12), ==, 12);
    close(sv[0]);
    g_assert_null(cpr_state_receive(sv[1], &err));
    g_assert_nonnull(strstr(err->message, "CPR state truncated at offset 9 (12 bytes)"));
    close(sv[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpr-state/bytes", test_bytes);
    g_test_add_func("/cpr-state/round-trip", test_round_trip);
    g_test_add_func("/cpr-state/truncated", test_truncated);
    g_test_add_func("/cpr-state/whole-without-subsection", test_whole_without_subsection);
    g_test_add_func("/cpr-state/bad-magic-and-version", test_bad_magic_and_version);
    g_test_add_func("/cpr-state/unknown-fd", test_unknown_fd);
    g_test_add_func("/cpr-state/missing-fd", test_missing_fd);
    g_test_add_func("/cpr-state/bad-entries", test_bad_entries);
    g_test_add_func("/cpr-state/receive-cut", test_receive_cut);
    return g_test_run();
}
