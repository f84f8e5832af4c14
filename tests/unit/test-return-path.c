/*
 * Unit tests for the return path (migration/return-path.c) over a
 * socketpair: the destination's sender and the source's reader agree,
 * every malformed message ends the reader with QEMU's message, and a
 * cancelled token ends a reader waiting for a silent destination.
 */
#include "return-path.h"

#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Fixture {
    QEMUFile *to_dst;           /* the source's stream; the reader reads its other direction */
    ChannelCancel *cancel;
    int peer;                   /* the destination's end, raw */
    GPtrArray *requests;        /* "block:start:len" strings */
    guint pongs;
    uint32_t last_pong;
} Fixture;

static void fx_init(Fixture *fx)
{
    g_autoptr(GError) err = NULL;
    int sv[2];
    Channel *ch;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    fx->cancel = channel_cancel_new(&err);
    g_assert_no_error(err);
    ch = channel_new_fd(sv[0], fx->cancel, &err);
    g_assert_no_error(err);
    fx->to_dst = qemu_file_new_channel(ch, true);
    fx->peer = sv[1];
    fx->requests = g_ptr_array_new_with_free_func(g_free);
}

static void fx_cleanup(Fixture *fx)
{
    qemu_fclose(fx->to_dst, NULL);
    channel_cancel_unref(fx->cancel);
    if (fx->peer >= 0) {
        close(fx->peer);
    }
    g_ptr_array_unref(fx->requests);
}

static void fx_pong(void *opaque, uint32_t value)
{
    Fixture *fx = opaque;

    fx->pongs++;
    fx->last_pong = value;
}

static bool fx_req_pages(void *opaque, const char *block, uint64_t start,
                         uint64_t len, GError **errp)
{
    Fixture *fx = opaque;

    g_ptr_array_add(fx->requests, g_strdup_printf("%s:%" G_GUINT64_FORMAT ":%"
                                                  G_GUINT64_FORMAT,
                                                  block ? block : "-", start, len));
    return true;
}

/* RECV_BITMAP: the hook would read the bitmap that follows; none follows here. */
static bool fx_recv_bitmap(void *opaque, const char *block, QEMUFile *from_dst,
                           GError **errp)
{
    Fixture *fx = opaque;

    g_ptr_array_add(fx->requests, g_strdup_printf("bitmap:%s", block));
    return true;
}

static bool fx_resume_ack(void *opaque, GError **errp)
{
    Fixture *fx = opaque;

    g_ptr_array_add(fx->requests, g_strdup("resume-ack"));
    return true;
}

static void fx_shut_failed(void *opaque, uint32_t value)
{
    Fixture *fx = opaque;

    g_ptr_array_add(fx->requests, g_strdup_printf("shut:%" PRIu32, value));
}

static const ReturnPathSourceOps fx_ops = {
    .pong = fx_pong,
    .req_pages = fx_req_pages,
    .recv_bitmap = fx_recv_bitmap,
    .resume_ack = fx_resume_ack,
    .shut_failed = fx_shut_failed,
};

static void peer_write(Fixture *fx, const void *buf, size_t len)
{
    g_assert_cmpint(write(fx->peer, buf, len), ==, (ssize_t)len);
}

/* Start the reader, send @len raw bytes as the destination, and join. */
static bool run_raw(Fixture *fx, const void *bytes, size_t len, GError **errp)
{
    ReturnPathSource *rp = return_path_source_start(fx->to_dst, &fx_ops, fx, errp);

    g_assert_nonnull(rp);
    peer_write(fx, bytes, len);
    shutdown(fx->peer, SHUT_WR);
    return return_path_source_join(rp, errp);
}

static void check_raw_error(const void *bytes, size_t len, const char *want)
{
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };

    fx_init(&fx);
    g_assert_false(run_raw(&fx, bytes, len, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, want);
    fx_cleanup(&fx);
}

static void test_shut_ok(void)
{
    static const uint8_t msg[] = { 0, 1, 0, 4, 0, 0, 0, 0 };
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };

    fx_init(&fx);
    g_assert_true(run_raw(&fx, msg, sizeof(msg), &err));
    g_assert_no_error(err);
    fx_cleanup(&fx);
}

static void test_shut_error(void)
{
    static const uint8_t msg[] = { 0, 1, 0, 4, 0, 0, 0, 1 };

    check_raw_error(msg, sizeof(msg), "Sibling indicated error 1");
}

/* tern's SHUT for a failed x-verify-ram comparison: its value reaches the hook, and says so. */
static void test_shut_verify_mismatch(void)
{
    static const uint8_t msg[] = { 0, 1, 0, 4, 0, 0, 0, 2 };
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };

    fx_init(&fx);
    g_assert_false(run_raw(&fx, msg, sizeof(msg), &err));
    g_assert_cmpstr(err->message, ==, "Sibling indicated error 2: x-verify-ram: the "
                    "destination's RAM differs from the source's (its query-migrate "
                    "names where)");
    g_assert_cmpuint(fx.requests->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 0), ==, "shut:2");
    fx_cleanup(&fx);
}

static void test_invalid_type(void)
{
    static const uint8_t zero[] = { 0, 0, 0, 0 };
    static const uint8_t big[] = { 0, 8, 0, 2, 0, 0 };

    check_raw_error(zero, sizeof(zero), "Received invalid message 0x0000 length 0x0000");
    check_raw_error(big, sizeof(big), "Received invalid message 0x0008 length 0x0002");
}

static void test_bad_length(void)
{
    static const uint8_t pong[] = { 0, 2, 0, 3, 0, 0, 0 };
    static const uint8_t huge[] = { 0, 3, 0x02, 0x01 };

    check_raw_error(pong, sizeof(pong), "Received 'PONG' message (0x0002) "
                    "withincorrect length 3 expecting 4");
    check_raw_error(huge, sizeof(huge), "Received 'REQ_PAGES_ID' message (0x0003) "
                    "withincorrect length 513 expecting -1");
}

static void test_req_pages_without_block(void)
{
    static const uint8_t msg[] = { 0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0 };

    check_raw_error(msg, sizeof(msg), "MIG_RP_MSG_REQ_PAGES has no previous block");
}

static void test_req_pages_id_bad_length(void)
{
    /* The name length says 5, the message holds 2 bytes of name. */
    static const uint8_t msg[] = { 0, 3, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0x10, 0, 5, 'p', 'c' };

    check_raw_error(msg, sizeof(msg), "Req_Page_id with length 15 expecting 18");
}

/* Postcopy recovery's messages: the name framing and RESUME_ACK's one value. */
static void test_recovery_messages(void)
{
    static const uint8_t ok[] = { 0, 5, 0, 3, 2, 'p', 'c', 0, 6, 0, 4, 0, 0, 0, 1,
                                  0, 1, 0, 4, 0, 0, 0, 0 };
    static const uint8_t no_name[] = { 0, 5, 0, 0 };
    static const uint8_t short_name[] = { 0, 5, 0, 3, 5, 'p', 'c' };
    static const uint8_t bad_ack[] = { 0, 6, 0, 4, 0, 0, 0, 2 };
    Fixture fx = { 0 };

    fx_init(&fx);
    g_assert_true(run_raw(&fx, ok, sizeof(ok), NULL));
    g_assert_cmpuint(fx.requests->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 0), ==, "bitmap:pc");
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 1), ==, "resume-ack");
    fx_cleanup(&fx);
    check_raw_error(no_name, sizeof(no_name), "MIG_RP_MSG_RECV_BITMAP missing block name");
    check_raw_error(short_name, sizeof(short_name),
                    "MIG_RP_MSG_RECV_BITMAP with length 3 expecting 6");
    check_raw_error(bad_ack, sizeof(bad_ack), "illegal resume_ack value 2");
}

static void test_eof_without_shut(void)
{
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };

    fx_init(&fx);
    g_assert_false(run_raw(&fx, NULL, 0, &err));
    g_assert_true(g_str_has_prefix(err->message, "return path: reading a message header"));
    fx_cleanup(&fx);
}

/* What the destination's sender writes, the source's reader reads back. */
static void test_round_trip(void)
{
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };
    ReturnPathSource *rp;
    ReturnPathDst *dst;
    QEMUFile *from_src;
    Channel *ch;

    fx_init(&fx);
    rp = return_path_source_start(fx.to_dst, &fx_ops, &fx, &err);
    g_assert_no_error(err);
    ch = channel_new_fd(fx.peer, NULL, &err);
    g_assert_no_error(err);
    fx.peer = -1;
    from_src = qemu_file_new_channel(ch, false);
    dst = return_path_dst_open(from_src, &err);
    g_assert_no_error(err);
    return_path_dst_send_pong(dst, 0x42);
    return_path_dst_send_req_pages(dst, "pc.ram", 0x1000, 0x1000);
    return_path_dst_send_req_pages(dst, "pc.ram", 0x5000, 0x1000);
    return_path_dst_send_req_pages(dst, "other", 0, 0x1000);
    return_path_dst_send_shut(dst, 0);
    g_assert_true(return_path_dst_check(dst, NULL));
    return_path_dst_close(dst);
    qemu_fclose(from_src, NULL);

    g_assert_true(return_path_source_join(rp, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(fx.pongs, ==, 1);
    g_assert_cmphex(fx.last_pong, ==, 0x42);
    g_assert_cmpuint(fx.requests->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 0), ==, "pc.ram:4096:4096");
    /* Same block: REQ_PAGES, which names none; the reader remembers it. */
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 1), ==, "pc.ram:20480:4096");
    g_assert_cmpstr(g_ptr_array_index(fx.requests, 2), ==, "other:0:4096");
    fx_cleanup(&fx);
}

/* A destination that never answers: cancelling the token ends the wait. */
static void test_cancel_silent_peer(void)
{
    g_autoptr(GError) err = NULL;
    Fixture fx = { 0 };
    ReturnPathSource *rp;

    fx_init(&fx);
    rp = return_path_source_start(fx.to_dst, &fx_ops, &fx, &err);
    g_assert_no_error(err);
    channel_cancel_trigger(fx.cancel);
    g_assert_false(return_path_source_join(rp, &err));
    g_assert_nonnull(err);
    fx_cleanup(&fx);
}

/* A pipe carries one direction: no return path. */
static void test_pipe_refused(void)
{
    g_autoptr(GError) err = NULL;
    int p[2];
    QEMUFile *f;

    g_assert_cmpint(pipe(p), ==, 0);
    close(p[0]);
    f = qemu_file_new_fd(p[1], true, &err);
    g_assert_no_error(err);
    g_assert_null(return_path_source_start(f, &fx_ops, NULL, &err));
    g_assert_true(g_str_has_prefix(err->message, "Unable to open return-path for postcopy"));
    qemu_fclose(f, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/return-path/shut/ok", test_shut_ok);
    g_test_add_func("/return-path/shut/error", test_shut_error);
    g_test_add_func("/return-path/shut/verify-mismatch", test_shut_verify_mismatch);
    g_test_add_func("/return-path/invalid-type", test_invalid_type);
    g_test_add_func("/return-path/bad-length", test_bad_length);
    g_test_add_func("/return-path/req-pages/no-block", test_req_pages_without_block);
    g_test_add_func("/return-path/req-pages-id/bad-length", test_req_pages_id_bad_length);
    g_test_add_func("/return-path/eof-without-shut", test_eof_without_shut);
    g_test_add_func("/return-path/recovery-messages", test_recovery_messages);
    g_test_add_func("/return-path/round-trip", test_round_trip);
    g_test_add_func("/return-path/cancel", test_cancel_silent_peer);
    g_test_add_func("/return-path/pipe-refused", test_pipe_refused);
    return g_test_run();
}
