/*
 * Migration over TLS (QEMU's tls-tests.c paths): PSK and x509 credentials
 * made at test time (tests/tls-test-certs.c), a live migration of the a-b
 * guest with the memory check where it must succeed, and where it must
 * not, both sides "failed" with the reason, the source's guest running,
 * and no thread or fd left behind on either side.
 */
#include "migration-helpers.h"
#include "tls-test-certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PSK_KEY "009d5638c40fde0c"
#define PSK_OTHER_KEY "d1ab0ac3c1e5d2ee"
#define CLIENT_DN "CN=ACME QEMU Client"
#define HOSTILE_DN "CN=ACME Hostile Client"

typedef struct TlsCase TlsCase;

struct TlsCase {
    const char *transport;          /* "tcp" or "unix" */
    /* Writes the credentials into @dir; returns each side's -object
     * arguments (or "" for plain text) through @src and @dst. */
    void (*creds)(const TlsCase *c, const char *dir, char **src, char **dst);
    const char *src_id;             /* tls-creds if not the object made */
    const char *hostname;           /* source's tls-hostname, or NULL */
    bool authz;                     /* destination's tls-authz tlsauthz0 */
    const char *authz_identity;
    bool server_verify;             /* x509 server's verify-peer */
    const char *client_dn;          /* x509 client certificate, or NULL */
    bool return_path;               /* return-path + switchover-ack on both */
    bool postcopy;                  /* postcopy-ram on both, then switch to it */
    bool preempt;                   /* postcopy-preempt on both (a TLS preempt channel) */
    bool recover;                   /* pause the postcopy, recover on a new TLS connection */
    bool multifd;                   /* multifd on both (2 channels, each TLS) */
    const char *server_ip;          /* x509 server certificate's names */
    const char *server_dns;
    /* Expected to fail: what each error-desc contains ("" = any). */
    const char *src_error;
    const char *dst_error;
};

/* ---- credentials ---- */

static void creds_psk(const TlsCase *c, const char *dir, char **src, char **dst)
{
    g_autofree char *sdir = g_build_filename(dir, "psk-src", NULL);
    g_autofree char *ddir = g_build_filename(dir, "psk-dst", NULL);
    bool mismatch = c->src_error != NULL;

    tls_test_psk_write(sdir, "qemu", PSK_KEY);
    tls_test_psk_write(ddir, "qemu", mismatch ? PSK_OTHER_KEY : PSK_KEY);
    *src = g_strdup_printf("-object tls-creds-psk,id=tlscredspsk0,endpoint=client,"
                           "dir=%s,username=qemu", sdir);
    *dst = g_strdup_printf("-object tls-creds-psk,id=tlscredspsk0,endpoint=server,"
                           "dir=%s", ddir);
}

/* The destination's PSK credentials made for the wrong endpoint. */
static void creds_psk_dst_client(const TlsCase *c, const char *dir, char **src, char **dst)
{
    g_autofree char *ddst = NULL;

    creds_psk(c, dir, src, &ddst);
    *dst = g_strdup_printf("-object tls-creds-psk,id=tlscredspsk0,endpoint=client,"
                           "dir=%s/psk-dst", dir);
}

static void creds_x509(const TlsCase *c, const char *dir, char **src, char **dst)
{
    g_autofree char *xdir = g_build_filename(dir, "x509", NULL);

    tls_test_x509_dir(xdir, c->server_ip, c->server_dns, c->client_dn);
    *src = g_strdup_printf("-object tls-creds-x509,id=tlscredsx509client0,"
                           "endpoint=client,verify-peer=on,sanity-check=on,dir=%s",
                           xdir);
    *dst = g_strdup_printf("-object tls-creds-x509,id=tlscredsx509server0,"
                           "endpoint=server,verify-peer=%s,dir=%s%s%s%s",
                           c->server_verify ? "on" : "off", xdir,
                           c->authz ? " -object 'authz-simple,id=tlsauthz0,identity=" : "",
                           c->authz ? c->authz_identity : "",
                           c->authz ? "'" : "");
}

static void creds_anon(const TlsCase *c, const char *dir, char **src, char **dst)
{
    *src = g_strdup("-object tls-creds-anon,id=tlscredsanon0,endpoint=client");
    *dst = g_strdup("-object tls-creds-anon,id=tlscredsanon0,endpoint=server");
}

/* The id the -object arguments made ("" for none). */
static const char *creds_id(const char *opts)
{
    if (strstr(opts, "tlscredspsk0")) {
        return "tlscredspsk0";
    }
    if (strstr(opts, "tlscredsanon0")) {
        return "tlscredsanon0";
    }
    if (strstr(opts, "tlscredsx509client0")) {
        return "tlscredsx509client0";
    }
    return strstr(opts, "tlscredsx509server0") ? "tlscredsx509server0" : "";
}

/* ---- what a failure leaves ---- */

/*
 * @who's open fds less two kept by design: a migration's cancel token (an
 * eventfd, until the next migration starts; channel.h) and the RAM state's
 * /proc/self/pagemap (the residency probe's, for the process's life).  A
 * socket, pipe or other file left open is a leak.
 */
static unsigned count_fds(QTestState *who)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int)qtest_pid(who));
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;
    unsigned n = 0;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        g_autofree char *fd = g_build_filename(path, name, NULL);
        g_autofree char *target = g_file_read_link(fd, NULL);

        if (target && !strstr(target, "eventfd") && !g_str_has_suffix(target, "/pagemap")) {
            n++;
        }
    }
    return n;
}

/* The destination's final error-desc, once it is "failed" (60 s). */
static char *wait_for_destination_fail(QTestState *to)
{
    gint64 deadline = qtest_deadline_ms(60000);
    g_autoptr(JsonNode) info = NULL;

    for (;;) {
        g_autofree char *status = migrate_query_status(to);

        if (!strcmp(status, "failed")) {
            break;
        }
        g_assert_cmpstr(status, !=, "completed");
        if (g_get_monotonic_time() > deadline) {
            g_error("destination still '%s' after 60 s", status);
        }
        g_usleep(2000);
    }
    info = migrate_query(to);
    g_assert_true(json_object_has_member(json_node_get_object(info), "error-desc"));
    return g_strdup(json_object_get_string_member(json_node_get_object(info),
                                                  "error-desc"));
}

static void assert_error(const char *side, const char *desc, const char *want)
{
    g_test_message("%s error-desc: %s", side, desc);
    g_assert_cmpuint(strlen(desc), >, 0);
    if (!strstr(desc, want)) {
        g_error("%s error-desc '%s' does not contain '%s'", side, desc, want);
    }
}

/* Remove @path and what it holds (the credentials are a few files deep). */
static void rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        rm_rf(child);
    }
    g_remove(path);
}

/* ---- the flow ---- */

static void set_tls_params(QTestState *who, const char *creds, const char *hostname,
                           bool authz)
{
    qtest_qmp_assert_success(who, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'tls-creds': '%s'%s%s%s%s}}", creds,
                             hostname ? ", 'tls-hostname': '" : "",
                             hostname ? hostname : "", hostname ? "'" : "",
                             authz ? ", 'tls-authz': 'tlsauthz0'" : "");
}

static void set_cap_both(MigTest *t, const char *cap)
{
    migrate_set_capability(t->from, cap, true);
    migrate_set_capability(t->to, cap, true);
}

/*
 * Postcopy recovery over TLS: pause, then migrate-recover on a new tcp
 * port and resume there; both new connections are TLS sessions again.
 */
static void tls_recover(MigTest *t)
{
    g_autofree char *uri = NULL;

    /* Paused before RUN, the destination could not keep the guest: it fails. */
    json_node_unref(migrate_eventwait(t->to, "RESUME"));
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-pause'}");
    wait_for_migration_status(t->from, "postcopy-paused", NULL);
    wait_for_migration_status(t->to, "postcopy-paused", NULL);
    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-recover', "
                             "'arguments': {'uri': 'tcp:127.0.0.1:0'}}");
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    migrate_qmp(t->from, uri, "'resume': true");
    migration_event_wait(t->from, "postcopy-active");
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 0);
}

static void tls_migrate_ok(MigTest *t, const TlsCase *c, const char *uri)
{
    migrate_qmp(t->from, uri, NULL);
    migrate_wait_for_dirty_mem(t);
    if (c->postcopy) {
        /* Page requests travel on the return path, inside the session. */
        qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
        migration_event_wait(t->from, "postcopy-active");
        if (c->recover) {
            tls_recover(t);
        }
    } else {
        migrate_ensure_converge(t->from);
    }
    json_node_unref(migrate_eventwait(t->from, "STOP"));
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    if (!c->recover) {
        json_node_unref(migrate_eventwait(t->to, "RESUME"));
    }
    migrate_end(t, true);
}

static void tls_migrate_fail(MigTest *t, const TlsCase *c, const char *uri,
                             unsigned src_fds, unsigned dst_fds)
{
    g_autofree char *src_desc = NULL;
    g_autofree char *dst_desc = NULL;

    migrate_qmp(t->from, uri, NULL);
    src_desc = wait_for_migration_fail(t->from, true);
    dst_desc = wait_for_destination_fail(t->to);
    assert_error("source", src_desc, c->src_error);
    assert_error("destination", dst_desc, c->dst_error);
    migrate_check_source_guest_runs(t);
    migrate_wait_thread_gone(t->from, "mig/src");
    migrate_wait_thread_gone(t->to, "mig/dst");
    g_assert_cmpuint(count_fds(t->from), ==, src_fds);
    g_assert_cmpuint(count_fds(t->to), ==, dst_fds);
    migrate_end(t, false);
}

static void test_tls(gconstpointer data)
{
    const TlsCase *c = data;
    g_autofree char *dir = g_dir_make_tmp("tern-tls-XXXXXX", NULL);
    g_autofree char *src_opts = NULL, *dst_opts = NULL;
    g_autofree char *listen = NULL, *uri = NULL;
    MigrateStart start = { 0 };
    g_autofree char *why = NULL;
    unsigned src_fds, dst_fds;
    MigTest *t;

    if (c->postcopy && !userfaultfd_usable(&why)) {
        g_test_skip(why);
        rm_rf(dir);
        return;
    }
    g_assert_nonnull(dir);
    c->creds(c, dir, &src_opts, &dst_opts);
    start.src_opts = src_opts;
    start.dst_opts = dst_opts;
    t = migrate_start(&start);
    if (!t) {
        return;
    }
    set_tls_params(t->from, c->src_id ? c->src_id : creds_id(src_opts), c->hostname,
                   false);
    set_tls_params(t->to, creds_id(dst_opts), NULL, c->authz);
    if (c->return_path) {
        set_cap_both(t, "return-path");
        set_cap_both(t, "switchover-ack");
    }
    if (c->postcopy) {
        set_cap_both(t, "postcopy-ram");
    }
    if (c->recover) {
        /* As QEMU's recovery tests: slow enough to pause before the end. */
        migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 4096);
    }
    if (c->preempt) {
        set_cap_both(t, "postcopy-preempt");
    }
    if (c->multifd) {
        set_cap_both(t, "multifd");
    }
    migrate_ensure_non_converge(t->from);
    listen = g_str_equal(c->transport, "tcp") ? g_strdup("tcp:127.0.0.1:0")
                                              : g_strdup_printf("unix:%s/migsocket", t->dir);
    src_fds = count_fds(t->from);
    dst_fds = count_fds(t->to);
    migrate_incoming_qmp(t->to, listen, c->src_error ? "'exit-on-error': false" : NULL);
    wait_for_serial(t->src_serial);
    uri = migrate_get_connect_uri(t->to, listen);
    if (c->src_error) {
        tls_migrate_fail(t, c, uri, src_fds, dst_fds);
    } else {
        tls_migrate_ok(t, c, uri);
    }
    migrate_test_free(t);
    rm_rf(dir);
}

/*
 * One side speaks TLS, the other plain text: both fail, neither hangs.
 * @tls_source: the source has the credentials, else the destination.
 */
static void test_tls_vs_plain(gconstpointer data)
{
    bool tls_source = GPOINTER_TO_INT(data);
    g_autofree char *dir = g_dir_make_tmp("tern-tls-XXXXXX", NULL);
    g_autofree char *src_opts = NULL, *dst_opts = NULL, *uri = NULL;
    TlsCase c = { .transport = "tcp", .creds = creds_psk };
    MigrateStart start = { 0 };
    unsigned src_fds, dst_fds;
    MigTest *t;

    creds_psk(&c, dir, &src_opts, &dst_opts);
    start.src_opts = src_opts;
    start.dst_opts = dst_opts;
    t = migrate_start(&start);
    if (!t) {
        return;
    }
    set_tls_params(tls_source ? t->from : t->to, "tlscredspsk0", NULL, false);
    /* The plain side reads TLS records as a stream; the TLS side reads
     * "QEVM" as a record, or the plain side's close. */
    c.src_error = tls_source ? "TLS handshake failed" : "";
    c.dst_error = tls_source ? "" : "TLS handshake failed";
    src_fds = count_fds(t->from);
    dst_fds = count_fds(t->to);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", "'exit-on-error': false");
    wait_for_serial(t->src_serial);
    uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    tls_migrate_fail(t, &c, uri, src_fds, dst_fds);
    migrate_test_free(t);
    rm_rf(dir);
}

/* A listening socket on 127.0.0.1 that never accepts: the kernel
 * completes connections to it, and nothing is ever said. */
static int silent_listener(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A connected socket to @uri ("tcp:127.0.0.1:PORT") that says nothing. */
static int silent_client(const char *uri)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    const char *port = strrchr(uri, ':');
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_nonnull(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(atoi(port + 1));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/*
 * A peer that connects (or accepts) and never answers the handshake: both
 * the source and the destination give up after the handshake timeout.
 */
static void test_tls_handshake_timeout(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-tls-XXXXXX", NULL);
    g_autofree char *src_opts = NULL, *dst_opts = NULL;
    g_autofree char *src_uri = NULL, *dst_uri = NULL;
    g_autofree char *src_desc = NULL, *dst_desc = NULL;
    TlsCase c = { .transport = "tcp", .creds = creds_psk };
    MigrateStart start = { 0 };
    unsigned src_fds, dst_fds;
    int listener, client, port;
    MigTest *t;

    creds_psk(&c, dir, &src_opts, &dst_opts);
    start.src_opts = src_opts;
    start.dst_opts = dst_opts;
    t = migrate_start(&start);
    if (!t) {
        return;
    }
    set_tls_params(t->from, "tlscredspsk0", NULL, false);
    set_tls_params(t->to, "tlscredspsk0", NULL, false);
    src_fds = count_fds(t->from);
    dst_fds = count_fds(t->to);
    listener = silent_listener(&port);
    src_uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    migrate_incoming_qmp(t->to, "tcp:127.0.0.1:0", "'exit-on-error': false");
    dst_uri = migrate_get_connect_uri(t->to, "tcp:127.0.0.1:0");
    client = silent_client(dst_uri);
    migrate_qmp(t->from, src_uri, NULL);

    src_desc = wait_for_migration_fail(t->from, false);
    dst_desc = wait_for_destination_fail(t->to);
    assert_error("source", src_desc, "TLS handshake timed out");
    assert_error("destination", dst_desc, "TLS handshake timed out");
    migrate_check_source_guest_runs(t);
    migrate_wait_thread_gone(t->from, "mig/src");
    migrate_wait_thread_gone(t->to, "mig/dst");
    g_assert_cmpuint(count_fds(t->from), ==, src_fds);
    g_assert_cmpuint(count_fds(t->to), ==, dst_fds);
    close(client);
    close(listener);
    migrate_end(t, false);
    migrate_test_free(t);
    rm_rf(dir);
}

/*
 * The objects over QMP and the command line: object-add loads the files
 * (its errors are the command's), qom-list shows /objects, object-del
 * removes; query-migrate-parameters and HMP show the TLS parameters.
 */
static void test_tls_objects(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-tls-XXXXXX", NULL);
    g_autofree char *psk = g_build_filename(dir, "psk", NULL);
    g_autofree char *args = NULL;
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(JsonNode) params = NULL;
    g_autoptr(JsonNode) hmp = NULL;
    JsonArray *a;
    JsonObject *p;
    QTestState *s;

    tls_test_psk_write(psk, "qemu", PSK_KEY);
    args = g_strdup_printf("-display none -accel qtest -m 16 "
                           "-object tls-creds-psk,id=tls0,endpoint=server,dir=%s", psk);
    s = qtest_init(args);
    qtest_qmp_expect_error(s, "GenericError", "Unable to access credentials",
                           "{'execute': 'object-add', 'arguments': {'qom-type':"
                           " 'tls-creds-psk', 'id': 'tls1', 'dir': '/nonexistent'}}");
    qtest_qmp_expect_error(s, "GenericError",
                           "attempt to add duplicate property 'tls0' to object",
                           "{'execute': 'object-add', 'arguments': {'qom-type':"
                           " 'tls-creds-anon', 'id': 'tls0'}}");
    qtest_qmp_assert_success(s, "{'execute': 'object-add', 'arguments': {'qom-type':"
                             " 'authz-list', 'id': 'auth0', 'rules': [{'match':"
                             " 'CN=*', 'policy': 'allow', 'format': 'glob'}]}}");
    list = qtest_qmp_assert_success_ref(s, "{'execute': 'qom-list', 'arguments':"
                                        " {'path': '/objects'}}");
    a = json_node_get_array(list);
    g_assert_cmpuint(json_array_get_length(a), ==, 2);
    g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(a, 0),
                                                  "name"), ==, "tls0");
    g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(a, 1),
                                                  "type"), ==, "child<authz-list>");
    qtest_qmp_assert_success(s, "{'execute': 'object-del', 'arguments': {'id': 'auth0'}}");
    qtest_qmp_expect_error(s, "GenericError", "object 'auth0' not found",
                           "{'execute': 'object-del', 'arguments': {'id': 'auth0'}}");

    qtest_qmp_assert_success(s, "{'execute': 'migrate-set-parameters', 'arguments':"
                             " {'tls-creds': 'tls0', 'tls-hostname': 'qemu.org',"
                             " 'tls-authz': 'auth0'}}");
    params = qtest_qmp_assert_success_ref(s, "{'execute': 'query-migrate-parameters'}");
    p = json_node_get_object(params);
    g_assert_cmpstr(json_object_get_string_member(p, "tls-creds"), ==, "tls0");
    g_assert_cmpstr(json_object_get_string_member(p, "tls-hostname"), ==, "qemu.org");
    g_assert_cmpstr(json_object_get_string_member(p, "tls-authz"), ==, "auth0");
    hmp = qtest_qmp_assert_success_ref(s, "{'execute': 'human-monitor-command',"
                                       " 'arguments': {'command-line':"
                                       " 'info migrate_parameters'}}");
    g_assert_nonnull(strstr(json_node_get_string(hmp), "tls-creds: 'tls0'"));
    g_assert_nonnull(strstr(json_node_get_string(hmp), "tls-hostname: 'qemu.org'"));
    g_assert_nonnull(strstr(json_node_get_string(hmp), "tls-authz: 'auth0'"));
    qtest_qmp_assert_success(s, "{'execute': 'migrate-set-parameters', 'arguments':"
                             " {'tls-creds': null}}");
    qtest_quit(s);
    rm_rf(dir);
}

/*
 * QEMU as the TLS client, tern as the server, with the same keys.psk: tern
 * decrypts QEMU's stream and reads as far as the configuration section,
 * whose machine type it refuses.  That error, not a TLS one, is the proof
 * the two speak the same TLS.  SKIP without qemu-system-x86_64.
 */
static void test_tls_qemu_source(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *dir = NULL, *src_opts = NULL, *dst_opts = NULL;
    g_autofree char *qemu_args = NULL, *tern_args = NULL, *uri = NULL, *desc = NULL;
    g_autofree char *tern_binary = NULL;
    TlsCase c = { .transport = "tcp", .creds = creds_psk };
    QTestState *src, *dst;

    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed");
        return;
    }
    dir = g_dir_make_tmp("tern-tls-XXXXXX", NULL);
    creds_psk(&c, dir, &src_opts, &dst_opts);
    tern_args = g_strdup_printf("-display none -accel qtest -m 16 -incoming defer %s",
                                dst_opts);
    dst = qtest_init(tern_args);
    set_tls_params(dst, "tlscredspsk0", NULL, false);
    migrate_incoming_qmp(dst, "tcp:127.0.0.1:0", "'exit-on-error': false");
    uri = migrate_get_connect_uri(dst, "tcp:127.0.0.1:0");

    /* libqtest starts $QTEST_TERN_BINARY; QEMU takes the same -qmp. */
    tern_binary = g_strdup(g_getenv("QTEST_TERN_BINARY"));
    g_setenv("QTEST_TERN_BINARY", qemu, TRUE);
    qemu_args = g_strdup_printf("-display none -nodefaults -machine pc -accel tcg -m 16 %s",
                                src_opts);
    src = qtest_init(qemu_args);
    g_setenv("QTEST_TERN_BINARY", tern_binary, TRUE);
    set_tls_params(src, "tlscredspsk0", NULL, false);
    migrate_qmp(src, uri, NULL);

    desc = wait_for_destination_fail(dst);
    assert_error("destination", desc, "Machine type received is 'pc-");
    qtest_quit(src);
    qtest_quit(dst);
    rm_rf(dir);
}

static const TlsCase psk_match = { .transport = "tcp", .creds = creds_psk };
static const TlsCase psk_unix = { .transport = "unix", .creds = creds_psk };
/* The return path reads and writes the main channel's session. */
static const TlsCase psk_return_path = {
    .transport = "tcp", .creds = creds_psk, .return_path = true,
};
static const TlsCase psk_postcopy = {
    .transport = "tcp", .creds = creds_psk, .postcopy = true,
};
static const TlsCase psk_postcopy_preempt = {
    .transport = "tcp", .creds = creds_psk, .postcopy = true, .preempt = true,
};
static const TlsCase psk_postcopy_recover = {
    .transport = "tcp", .creds = creds_psk, .postcopy = true, .recover = true,
};
static const TlsCase psk_postcopy_preempt_recover = {
    .transport = "tcp", .creds = creds_psk, .postcopy = true, .preempt = true,
    .recover = true,
};
static const TlsCase psk_multifd = {
    .transport = "tcp", .creds = creds_psk, .multifd = true,
};
static const TlsCase psk_multifd_mismatch = {
    .transport = "tcp", .creds = creds_psk, .multifd = true,
    .src_error = "TLS handshake failed", .dst_error = "TLS handshake failed",
};
static const TlsCase psk_mismatch = {
    .transport = "tcp", .creds = creds_psk,
    .src_error = "TLS handshake failed", .dst_error = "TLS handshake failed",
};
/* Parameter errors surface when the migration connects, as in QEMU. */
static const TlsCase psk_no_object = {
    .transport = "tcp", .creds = creds_psk, .src_id = "nope",
    .src_error = "No TLS credentials with id 'nope'", .dst_error = "TLS handshake failed",
};
static const TlsCase psk_wrong_endpoint = {
    .transport = "tcp", .creds = creds_psk_dst_client,
    .src_error = "", .dst_error = "Expected TLS credentials for a server endpoint",
};
static const TlsCase anon = { .transport = "tcp", .creds = creds_anon };

static const TlsCase x509_default_host = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_ip = "127.0.0.1",
};
/* unix: addresses carry no host name to check the certificate against. */
static const TlsCase x509_unix_default_host = {
    .transport = "unix", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_ip = "127.0.0.1",
    .src_error = "No hostname for certificate validation", .dst_error = "",
};
static const TlsCase x509_override_host = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_dns = "qemu.org", .hostname = "qemu.org",
};
static const TlsCase x509_unix_override_host = {
    .transport = "unix", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_dns = "qemu.org", .hostname = "qemu.org",
};
static const TlsCase x509_mismatch_host = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_ip = "10.0.0.1",
    .src_error = "Certificate does not match the hostname 127.0.0.1", .dst_error = "",
};
static const TlsCase x509_friendly_client = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .client_dn = CLIENT_DN, .server_ip = "127.0.0.1",
    .authz = true, .authz_identity = CLIENT_DN,
};
static const TlsCase x509_hostile_client = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .client_dn = HOSTILE_DN, .server_ip = "127.0.0.1",
    .authz = true, .authz_identity = CLIENT_DN,
    .src_error = "", .dst_error = "TLS x509 authz check for " HOSTILE_DN " is denied",
};
static const TlsCase x509_allow_anon_client = {
    .transport = "tcp", .creds = creds_x509, .server_verify = false,
    .server_ip = "127.0.0.1",
};
static const TlsCase x509_reject_anon_client = {
    .transport = "tcp", .creds = creds_x509, .server_verify = true,
    .server_ip = "127.0.0.1",
    .src_error = "", .dst_error = "",
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/tls/objects", test_tls_objects);
    g_test_add_data_func("/migration/precopy/unix/tls/psk", &psk_unix, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/match", &psk_match, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/return-path", &psk_return_path,
                         test_tls);
    g_test_add_data_func("/migration/postcopy/tls/psk", &psk_postcopy, test_tls);
    g_test_add_data_func("/migration/postcopy/preempt/tls/psk", &psk_postcopy_preempt,
                         test_tls);
    g_test_add_data_func("/migration/postcopy/recovery/tls/psk", &psk_postcopy_recover,
                         test_tls);
    g_test_add_data_func("/migration/postcopy/preempt/recovery/tls/psk",
                         &psk_postcopy_preempt_recover, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/mismatch", &psk_mismatch,
                         test_tls);
    g_test_add_data_func("/migration/multifd/tcp/tls/psk/match", &psk_multifd, test_tls);
    g_test_add_data_func("/migration/multifd/tcp/tls/psk/mismatch", &psk_multifd_mismatch,
                         test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/anon", &anon, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/no-object", &psk_no_object,
                         test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/wrong-endpoint",
                         &psk_wrong_endpoint, test_tls);
    g_test_add_data_func("/migration/precopy/unix/tls/x509/default-host",
                         &x509_unix_default_host, test_tls);
    g_test_add_data_func("/migration/precopy/unix/tls/x509/override-host",
                         &x509_unix_override_host, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/default-host",
                         &x509_default_host, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/override-host",
                         &x509_override_host, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/mismatch-host",
                         &x509_mismatch_host, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/friendly-client",
                         &x509_friendly_client, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/hostile-client",
                         &x509_hostile_client, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/allow-anon-client",
                         &x509_allow_anon_client, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/x509/reject-anon-client",
                         &x509_reject_anon_client, test_tls);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/plain-destination",
                         GINT_TO_POINTER(true), test_tls_vs_plain);
    g_test_add_data_func("/migration/precopy/tcp/tls/psk/plain-source",
                         GINT_TO_POINTER(false), test_tls_vs_plain);
    g_test_add_func("/migration/precopy/tcp/tls/psk/qemu-source", test_tls_qemu_source);
    g_test_add_func("/migration/precopy/tcp/tls/psk/handshake-timeout",
                    test_tls_handshake_timeout);
    return g_test_run();
}
