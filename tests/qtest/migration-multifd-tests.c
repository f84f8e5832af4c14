/*
 * Multifd: the a-b guest migrated live over several channels (QEMU's
 * /migration/multifd/... paths), with zero-copy-send over tcp and its
 * refusals, cancel with 16 channels, a multifd channel the destination
 * closes mid-stream, and a corrupt packet on the destination.  Every successful migration ends with the memory check.
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct MultifdArgs {
    const char *listen_uri;         /* migrate-incoming; "%s": the test directory */
    bool channels_form;             /* migrate with `channels`, not `uri` */
    int channels;                   /* multifd-channels on both sides */
    const char *zero_page_detection; /* on the source; NULL: QEMU's default */
    /*
     * Not live: the source is stopped and migrated at full speed.  The
     * compression tests are: compressed, the fill moves so fast that a
     * loaded host's guest may dirty nothing between two syncs, and the
     * migration would converge before the test saw the memory dirtied.
     */
    bool stopped;
    const char *compression;        /* multifd-compression on both sides; NULL: none */
    const char *level_param;        /* and its level parameter, set to @level */
    int level;
    bool zero_copy;                 /* zero-copy-send on the source */
} MultifdArgs;

static void set_param_str(QTestState *who, const char *param, const char *value)
{
    qtest_qmp_assert_success(who,
        "{'execute': 'migrate-set-parameters', 'arguments': {'%s': '%s'}}",
        param, value);
}

static void multifd_setup(QTestState *who, int channels)
{
    migrate_set_capability(who, "multifd", true);
    migrate_set_parameter_int(who, "multifd-channels", channels);
}

/* The `channels` argument for a tcp:HOST:PORT or unix:PATH URI (transfer full). */
static char *channels_json(const char *uri)
{
    if (g_str_has_prefix(uri, "tcp:")) {
        const char *port = strrchr(uri, ':') + 1;
        g_autofree char *host = g_strndup(uri + 4, port - 1 - (uri + 4));

        return g_strdup_printf("[{'channel-type': 'main', 'addr': {'transport': 'socket', "
                               "'type': 'inet', 'host': '%s', 'port': '%s'}}]", host, port);
    }
    g_assert_true(g_str_has_prefix(uri, "unix:"));
    return g_strdup_printf("[{'channel-type': 'main', 'addr': {'transport': 'socket', "
                           "'type': 'unix', 'path': '%s'}}]", uri + 5);
}

/*
 * x-multifd-channels: one entry per channel, in order, each with packets
 * (every channel carries at least the SYNC ones), summing to multifd-bytes;
 * `info migrate` prints a line per channel.
 */
static void multifd_check_channel_stats(QTestState *from, int channels)
{
    g_autoptr(JsonNode) ret = migrate_query(from);
    JsonObject *info = json_node_get_object(ret);
    JsonArray *list = json_object_get_array_member(info, "x-multifd-channels");
    int64_t sum = 0;
    g_autoptr(JsonNode) hmp = NULL;
    g_autofree char *last = g_strdup_printf("multifd channel %d: ", channels - 1);

    g_assert_cmpint(json_array_get_length(list), ==, channels);
    for (int i = 0; i < channels; i++) {
        JsonObject *c = json_array_get_object_element(list, i);

        g_assert_cmpint(json_object_get_int_member(c, "id"), ==, i);
        g_assert_cmpint(json_object_get_int_member(c, "packets"), >, 0);
        sum += json_object_get_int_member(c, "bytes");
    }
    g_assert_cmpint(sum, ==, json_object_get_int_member(
                        json_object_get_object_member(info, "ram"), "multifd-bytes"));
    hmp = qtest_qmp_assert_success_ref(from, "{'execute': 'human-monitor-command', "
                                       "'arguments': {'command-line': 'info migrate'}}");
    g_assert_nonnull(strstr(json_node_get_string(hmp), "multifd channel 0: "));
    g_assert_nonnull(strstr(json_node_get_string(hmp), last));
}

/*
 * zero-copy-send: a channel's sync counts as missed when the kernel copied
 * every page since the last one (tcp loopback does: it copies what it
 * delivers locally), so the count lies within 0..syncs x channels.
 */
static void multifd_check_zero_copy(QTestState *from, int channels)
{
    int64_t missed = migrate_query_ram_int(from, "dirty-sync-missed-zero-copy");
    int64_t syncs = migrate_query_ram_int(from, "dirty-sync-count");

    g_test_message("zero-copy-send: %" PRId64 " of at most %" PRId64
                   " channel syncs found every page copied", missed, syncs * channels);
    g_assert_cmpint(missed, >=, 0);
    g_assert_cmpint(missed, <=, syncs * channels);
}

/*
 * Live: start non-converging, wait until sent memory is dirty again, then
 * converge.  Or with the source stopped (@stopped).
 */
static void test_multifd_common(const MultifdArgs *args)
{
    MigrateStart start = { 0 };
    g_autofree char *listen = NULL;
    g_autofree char *uri = NULL;
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    listen = strstr(args->listen_uri, "%s") ? g_strdup_printf(args->listen_uri, t->dir)
                                            : g_strdup(args->listen_uri);
    multifd_setup(t->from, args->channels);
    multifd_setup(t->to, args->channels);
    if (args->zero_page_detection) {
        set_param_str(t->from, "zero-page-detection", args->zero_page_detection);
    }
    if (args->compression) {
        set_param_str(t->from, "multifd-compression", args->compression);
        set_param_str(t->to, "multifd-compression", args->compression);
        migrate_set_parameter_int(t->from, args->level_param, args->level);
        migrate_set_parameter_int(t->to, args->level_param, args->level);
    }
    if (args->zero_copy) {
        migrate_set_capability(t->from, "zero-copy-send", true);
    }
    if (args->stopped) {
        migrate_ensure_converge(t->from);
    } else {
        migrate_ensure_non_converge(t->from);
    }
    migrate_incoming_qmp(t->to, listen, NULL);
    wait_for_serial(t->src_serial);
    if (args->stopped) {
        qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
        json_node_unref(migrate_eventwait(t->from, "STOP"));
    }
    uri = migrate_get_connect_uri(t->to, listen);
    if (args->channels_form) {
        g_autofree char *channels = channels_json(uri);

        qtest_qmp_assert_success(t->from,
            "{'execute': 'migrate', 'arguments': {'channels': %s}}", channels);
    } else {
        migrate_qmp(t->from, uri, NULL);
    }
    if (!args->stopped) {
        migrate_wait_for_dirty_mem(t);
        migrate_ensure_converge(t->from);
        json_node_unref(migrate_eventwait(t->from, "STOP"));
    }
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    if (args->stopped) {
        g_autofree char *runstate = migrate_runstate(t->to);

        g_assert_cmpstr(runstate, ==, "paused");
        qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
    } else {
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
    }

    /*
     * The pages went over the multifd channels (compressed: the fill
     * compresses to far less than the range), zero pages as the mode says.
     */
    if (args->compression) {
        g_assert_cmpint(migrate_query_ram_int(t->from, "multifd-bytes"), >, 0);
        g_assert_cmpint(migrate_query_ram_int(t->from, "multifd-bytes"), <,
                        (int64_t)(t->end_address - t->start_address) / 2);
    } else {
        g_assert_cmpint(migrate_query_ram_int(t->from, "multifd-bytes"), >,
                        (int64_t)(t->end_address - t->start_address));
    }
    multifd_check_channel_stats(t->from, args->channels);
    if (args->zero_copy) {
        multifd_check_zero_copy(t->from, args->channels);
    }
    if (args->zero_page_detection && !strcmp(args->zero_page_detection, "none")) {
        g_assert_cmpint(migrate_query_ram_int(t->from, "duplicate"), ==, 0);
    } else {
        g_assert_cmpint(migrate_query_ram_int(t->from, "duplicate"), >, 0);
    }
    migrate_end(t, true);
    migrate_test_free(t);
}

static void test_multifd_tcp_uri_none(void)
{
    MultifdArgs args = { .listen_uri = "tcp:127.0.0.1:0", .channels = 4 };

    test_multifd_common(&args);
}

static void test_multifd_tcp_channels_none(void)
{
    MultifdArgs args = {
        .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .channels_form = true,
    };

    test_multifd_common(&args);
}

static void test_multifd_tcp_zero_page_legacy(void)
{
    MultifdArgs args = {
        .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .zero_page_detection = "legacy",
    };

    test_multifd_common(&args);
}

static void test_multifd_tcp_zero_page_none(void)
{
    MultifdArgs args = {
        .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .zero_page_detection = "none",
    };

    test_multifd_common(&args);
}

static void test_multifd_tcp_zlib(void)
{
    MultifdArgs args = {
        .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .stopped = true,
        .compression = "zlib", .level_param = "multifd-zlib-level", .level = 2,
    };

    test_multifd_common(&args);
}

static void test_multifd_tcp_zstd(void)
{
    MultifdArgs args = {
        .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .stopped = true,
        .compression = "zstd", .level_param = "multifd-zstd-level", .level = 2,
    };

    test_multifd_common(&args);
}

static void test_multifd_tcp_zero_copy(void)
{
    MultifdArgs args = { .listen_uri = "tcp:127.0.0.1:0", .channels = 4, .zero_copy = true };

    test_multifd_common(&args);
}

/* QEMU's refusals of zero-copy-send, whichever of the settings comes last. */
static void test_multifd_zero_copy_refused(void)
{
    static const char *const msg =
        "Zero copy only available for non-compressed non-TLS multifd migration";
    static const char *const cap_on =
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': "
        "[{'capability': 'zero-copy-send', 'state': true}]}}";
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);

    qtest_qmp_expect_error(t->from, "GenericError", msg, "%s", cap_on);
    multifd_setup(t->from, 2);
    set_param_str(t->from, "multifd-compression", "zstd");
    qtest_qmp_expect_error(t->from, "GenericError", msg, "%s", cap_on);
    set_param_str(t->from, "multifd-compression", "none");
    migrate_set_capability(t->from, "zero-copy-send", true);
    qtest_qmp_expect_error(t->from, "GenericError", msg,
        "{'execute': 'migrate-set-parameters', 'arguments': {'multifd-compression': 'zlib'}}");
    qtest_qmp_expect_error(t->from, "GenericError", msg,
        "{'execute': 'migrate-set-parameters', 'arguments': {'tls-creds': 'tls0'}}");
    qtest_qmp_expect_error(t->from, "GenericError", msg,
        "{'execute': 'migrate-set-capabilities', 'arguments': {'capabilities': "
        "[{'capability': 'multifd', 'state': false}]}}");
    migrate_test_free(t);
}

/*
 * A unix socket has no SO_ZEROCOPY: the migration fails with QEMU's
 * message when the channels connect, and the guest keeps running.
 */
static void test_multifd_unix_zero_copy_refused(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *listen = NULL;
    g_autofree char *desc = NULL;

    if (!t) {
        return;
    }
    listen = g_strdup_printf("unix:%s/migsocket", t->dir);
    multifd_setup(t->from, 2);
    multifd_setup(t->to, 2);
    migrate_set_capability(t->from, "zero-copy-send", true);
    migrate_incoming_qmp(t->to, listen, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, listen, NULL);
    desc = wait_for_migration_fail(t->from, false);
    g_assert_cmpstr(desc, ==, "Zero copy send feature not detected in host kernel");
    migrate_test_free(t);
}

static void test_multifd_unix_none(void)
{
    MultifdArgs args = { .listen_uri = "unix:%s/migsocket", .channels = 4 };

    test_multifd_common(&args);
}

static void test_multifd_unix_16_channels(void)
{
    MultifdArgs args = { .listen_uri = "unix:%s/migsocket", .channels = 16 };

    test_multifd_common(&args);
}

static void test_multifd_unix_1_channel(void)
{
    MultifdArgs args = { .listen_uri = "unix:%s/migsocket", .channels = 1 };

    test_multifd_common(&args);
}

/* No thread of a multifd migration is left on @who. */
static void wait_multifd_threads_gone(QTestState *who, const char *prefix, int channels)
{
    for (int i = 0; i < channels; i++) {
        g_autofree char *name = g_strdup_printf("%s%d", prefix, i);

        migrate_wait_thread_gone(who, name);
    }
}

/*
 * Cancel with 16 channels: the source ends cancelled with its guest
 * running, the destination failed, no multifd thread left on either; then
 * a new destination takes the guest.
 */
static void test_multifd_tcp_cancel(void)
{
    MigrateStart start = { 0 };
    g_autofree char *uri = NULL;
    g_autofree char *status = NULL;
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    multifd_setup(t->from, 16);
    multifd_setup(t->to, 16);
    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_status(t->from, "active", NULL);
    /* Pages went out over the channels before the cancel (120 s at most). */
    for (int i = 0; migrate_query_ram_int(t->from, "multifd-bytes") == 0; i++) {
        g_assert_cmpint(i, <, 120000);
        g_usleep(1000);
    }
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    migration_event_wait(t->to, "failed");
    wait_multifd_threads_gone(t->from, "mig/mfdsend", 16);
    migrate_wait_thread_gone(t->from, "mig/src");
    wait_multifd_threads_gone(t->to, "mig/mfdrecv", 16);
    migrate_wait_thread_gone(t->to, "mig/dst");
    status = migrate_runstate(t->from);
    g_assert_cmpstr(status, ==, "running");

    /* The same source migrates to a new destination. */
    migrate_start_destination(t, &start);
    multifd_setup(t->to, 16);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", NULL);
    g_free(uri);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

/*
 * Cancel in pre-switchover (pause-before-switchover), with 16 channels:
 * every page was sent, the channels idle, the guest stopped; the cancel
 * resumes it and leaves no multifd thread on either side.
 */
static void test_multifd_cancel_pre_switchover(void)
{
    MigrateStart start = { 0 };
    g_autofree char *uri = NULL;
    g_autofree char *status = NULL;
    MigTest *t = migrate_start(&start);

    if (!t) {
        return;
    }
    multifd_setup(t->from, 16);
    multifd_setup(t->to, 16);
    migrate_set_capability(t->from, "pause-before-switchover", true);
    migrate_ensure_converge(t->from);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_status(t->from, "pre-switchover", NULL);
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    migration_event_wait(t->to, "failed");
    wait_multifd_threads_gone(t->from, "mig/mfdsend", 16);
    migrate_wait_thread_gone(t->from, "mig/src");
    wait_multifd_threads_gone(t->to, "mig/mfdrecv", 16);
    migrate_wait_thread_gone(t->to, "mig/dst");
    status = migrate_runstate(t->from);
    g_assert_cmpstr(status, ==, "running");
    migrate_test_free(t);
}

/* ---- a fake peer in the test process ---- */

static int unix_listen_at(const char *path);

/*
 * Cancel in setup with 16 channels: the destination (the test) listens
 * with a backlog of one and accepts only the main channel, so the source
 * cannot finish connecting its multifd channels and stays in setup.  The
 * cancel ends it there: cancelled, the guest running, no multifd thread
 * left; then the same source migrates to a real destination.
 */
static void test_multifd_cancel_setup(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "fake-dest");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *status = NULL;
    g_autofree char *runstate = NULL;
    int lfd = unix_listen_at(path);
    int main_fd;

    g_assert_cmpint(listen(lfd, 0), ==, 0);     /* room for one pending connection */
    multifd_setup(t->from, 16);
    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    main_fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(main_fd, >=, 0);
    status = migrate_query_status(t->from);
    g_assert_cmpstr(status, ==, "setup");
    migrate_cancel(t->from);
    wait_for_migration_status(t->from, "cancelled", NULL);
    wait_multifd_threads_gone(t->from, "mig/mfdsend", 16);
    migrate_wait_thread_gone(t->from, "mig/src");
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    close(main_fd);
    close(lfd);

    /* The same source migrates to a new destination. */
    migrate_start_destination(t, &start);
    multifd_setup(t->to, 16);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", NULL);
    g_free(uri);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    migrate_end(t, true);
    migrate_test_free(t);
}

static int unix_listen_at(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 32), ==, 0);
    return fd;
}

static int unix_connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(fd, (uint8_t *)buf + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(n, >, 0);
        done += n;
    }
}

/*
 * Write @buf, or find the destination gone: once it failed on what came
 * before it closes the channel, and later writes meet EPIPE (libqtest
 * ignores SIGPIPE).
 */
static void write_exact(int fd, const void *buf, size_t len)
{
    ssize_t n = write(fd, buf, len);

    if (n < 0) {
        g_assert_true(errno == EPIPE || errno == ECONNRESET);
        return;
    }
    g_assert_cmpint(n, ==, (ssize_t)len);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * Read packets from a multifd channel until one carries pages, and half
 * of those pages.  The channel 0 nobody reads fills up first, so the
 * source keeps handing batches to this one (8 MiB of the guest's data
 * against a few MiB that fit into channel 0's pipe and socket).
 */
static void read_into_first_pages(int fd)
{
    for (;;) {
        uint8_t hdr[320 + 8 * 128];
        uint32_t size;

        read_exact(fd, hdr, sizeof(hdr));
        g_assert_cmpmem(hdr, 4, "\x11\x22\x33\x44", 4);
        size = get_be32(hdr + 20);
        if (get_be32(hdr + 16) > 0) {
            g_autofree uint8_t *half = g_malloc(size / 2);

            read_exact(fd, half, size / 2);
            return;
        }
        g_assert_cmpuint(size, ==, 0);      /* a SYNC packet, or zero pages only */
    }
}

/*
 * The destination (the test) closes multifd channel 1 after its
 * MultiFDInit, or (@opaque true) in the middle of the first packet that
 * carries pages: the source fails naming that channel, its guest keeps
 * running, and every multifd thread is gone.
 */
static void test_multifd_killed_channel(const void *opaque)
{
    bool mid_stream = GPOINTER_TO_INT(opaque);
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "fake-dest");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *desc = NULL;
    int lfd = unix_listen_at(path);
    int conn[3];
    int killed = -1;

    multifd_setup(t->from, 2);
    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    /*
     * The migration thread connects the main channel, then the multifd
     * channels one after the other: they queue in that order.  The main
     * channel is not read (its first bytes may wait in the source's buffer).
     */
    for (int i = 0; i < 3; i++) {
        conn[i] = accept(lfd, NULL, NULL);
        g_assert_cmpint(conn[i], >=, 0);
    }
    for (int i = 1; i < 3; i++) {
        uint8_t init[64];

        read_exact(conn[i], init, sizeof(init));
        g_assert_cmpmem(init, 4, "\x11\x22\x33\x44", 4);
        if (init[24] == 1) {
            killed = i;
        }
    }
    g_assert_cmpint(killed, >=, 0);
    if (mid_stream) {
        read_into_first_pages(conn[killed]);
    }
    close(conn[killed]);
    desc = wait_for_migration_fail(t->from, true);
    g_test_message("source error: %s", desc);
    g_assert_nonnull(strstr(desc, "multifd channel 1"));
    wait_multifd_threads_gone(t->from, "mig/mfdsend", 2);
    migrate_wait_thread_gone(t->from, "mig/src");
    for (int i = 0; i < 3; i++) {
        if (i != killed) {
            close(conn[i]);
        }
    }
    close(lfd);
    migrate_test_free(t);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/*
 * The source (the test) opens the main channel, stalls after the file
 * header, and sends a packet for a RAM block the destination lacks on
 * multifd channel 0: the destination fails naming the channel and the
 * packet.
 */
typedef struct CorruptArgs {
    const char *compression;        /* the destination's; NULL: none */
    uint32_t flags;                 /* the packet's */
    const char *block;
    const char *want;               /* in the error, besides channel and packet */
} CorruptArgs;

static void test_multifd_corrupt_packet(const void *opaque)
{
    const CorruptArgs *ca = opaque;
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(JsonNode) info = NULL;
    static const uint8_t header[8] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };
    uint8_t init[64] = { 0 };
    uint8_t packet[320 + 8 * 128] = { 0 };
    const char *desc;
    int main_fd, mfd;

    multifd_setup(t->to, 2);
    if (ca->compression) {
        set_param_str(t->to, "multifd-compression", ca->compression);
    }
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    main_fd = unix_connect_to(path);
    write_exact(main_fd, header, sizeof(header));
    migration_event_wait(t->to, "active");

    mfd = unix_connect_to(path);
    put_be32(init, 0x11223344);
    put_be32(init + 4, 1);
    write_exact(mfd, init, sizeof(init));
    put_be32(packet, 0x11223344);
    put_be32(packet + 4, 1);
    put_be32(packet + 8, ca->flags);
    put_be32(packet + 12, 128);         /* pages_alloc */
    put_be32(packet + 16, 1);           /* normal_pages */
    put_be32(packet + 20, 4096);        /* next_packet_size */
    put_be32(packet + 28, 5);           /* packet_num (low half) */
    strcpy((char *)packet + 64, ca->block);
    write_exact(mfd, packet, sizeof(packet));
    /* The payload: 4096 bytes that are no compressed page. */
    memset(packet, 0x5a, 4096 < sizeof(packet) ? 4096 : sizeof(packet));
    write_exact(mfd, packet, 1024);
    write_exact(mfd, packet, 1024);
    write_exact(mfd, packet, 1024);
    write_exact(mfd, packet, 1024);

    wait_for_migration_status(t->to, "failed", NULL);
    info = migrate_query(t->to);
    desc = json_object_get_string_member(json_node_get_object(info), "error-desc");
    g_test_message("destination error: %s", desc);
    g_assert_nonnull(strstr(desc, "multifd channel 0"));
    g_assert_nonnull(strstr(desc, "packet 5"));
    g_assert_nonnull(strstr(desc, ca->want));
    migrate_wait_thread_gone(t->to, "mig/mfdrecv0");
    migrate_wait_thread_gone(t->to, "mig/dst");
    close(mfd);
    close(main_fd);
    migrate_test_free(t);
}

/* multifd needs a transport that opens more channels: QEMU's message otherwise. */
static void test_multifd_needs_sockets(void)
{
    MigrateStart start = { .only_source = true };
    MigTest *t = migrate_start(&start);
    g_autofree char *args = g_strdup_printf("{'uri': 'file:%s/migfile'}", t->dir);
    g_autofree char *desc = NULL;
    g_autofree char *runstate = NULL;

    multifd_setup(t->from, 2);
    desc = migrate_qmp_fail(t->from, args);
    g_assert_cmpstr(desc, ==, "Migration requires multi-channel URIs (e.g. tcp)");
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    migrate_test_free(t);
}

static const CorruptArgs corrupt_block = {
    .block = "no-such-block", .want = "unknown ram block no-such-block",
};
static const CorruptArgs corrupt_zlib = {
    .compression = "zlib", .flags = 1 << 1, .block = "pc.ram", .want = "inflate failed",
};
static const CorruptArgs corrupt_zstd = {
    .compression = "zstd", .flags = 2 << 1, .block = "pc.ram",
    .want = "zstd decompression failed",
};

void migration_register_multifd_tests(void)
{
    g_test_add_func("/migration/multifd/tcp/uri/plain/none", test_multifd_tcp_uri_none);
    g_test_add_func("/migration/multifd/tcp/channels/plain/none",
                    test_multifd_tcp_channels_none);
    g_test_add_func("/migration/multifd/tcp/plain/zero-page/legacy",
                    test_multifd_tcp_zero_page_legacy);
    g_test_add_func("/migration/multifd/tcp/plain/zero-page/none",
                    test_multifd_tcp_zero_page_none);
    g_test_add_func("/migration/multifd/tcp/plain/cancel", test_multifd_tcp_cancel);
    g_test_add_func("/migration/multifd/tcp/plain/cancel/pre-switchover",
                    test_multifd_cancel_pre_switchover);
    g_test_add_func("/migration/multifd/tcp/plain/zlib", test_multifd_tcp_zlib);
    g_test_add_func("/migration/multifd/tcp/plain/zstd", test_multifd_tcp_zstd);
    g_test_add_func("/migration/multifd/tcp/plain/zero-copy", test_multifd_tcp_zero_copy);
    g_test_add_func("/migration/multifd/zero-copy/refused", test_multifd_zero_copy_refused);
    g_test_add_func("/migration/multifd/unix/zero-copy/refused",
                    test_multifd_unix_zero_copy_refused);
    g_test_add_func("/migration/multifd/unix/plain/none", test_multifd_unix_none);
    g_test_add_func("/migration/multifd/unix/plain/1-channel", test_multifd_unix_1_channel);
    g_test_add_func("/migration/multifd/unix/plain/16-channels",
                    test_multifd_unix_16_channels);
    g_test_add_data_func("/migration/multifd/unix/killed-channel", GINT_TO_POINTER(false),
                         test_multifd_killed_channel);
    g_test_add_data_func("/migration/multifd/unix/killed-channel/mid-stream",
                         GINT_TO_POINTER(true), test_multifd_killed_channel);
    g_test_add_func("/migration/multifd/unix/cancel/setup", test_multifd_cancel_setup);
    g_test_add_data_func("/migration/multifd/unix/corrupt-packet/block", &corrupt_block,
                         test_multifd_corrupt_packet);
    g_test_add_data_func("/migration/multifd/unix/corrupt-packet/zlib", &corrupt_zlib,
                         test_multifd_corrupt_packet);
    g_test_add_data_func("/migration/multifd/unix/corrupt-packet/zstd", &corrupt_zstd,
                         test_multifd_corrupt_packet);
    g_test_add_func("/migration/multifd/file/refused", test_multifd_needs_sockets);
}
