/*
 * crypto/: the credential objects load (or refuse) their files, x509
 * sanity checks at creation, authz decisions, the object set's ids and
 * -object's key=value form.  Credentials are made here, at test time.
 */
#include "crypto/object-set.h"
#include "qapi/qapi-visit.h"
#include "qemu/option.h"
#include "tls-test-certs.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct Fixture {
    char *dir;
    ObjectSet *set;
} Fixture;

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

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("tern-crypto-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->set = object_set_new();
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    object_set_free(f->set);
    rm_rf(f->dir);
    g_free(f->dir);
}

/* object-add's arguments as JSON, "%s" standing for the fixture's dir. */
static bool add_json(Fixture *f, const char *fmt, GError **errp)
{
    g_autofree char *json = g_strdup_printf(fmt, f->dir);
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(ObjectOptions) opts = NULL;

    g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
    if (!visit_ObjectOptions_from_json(json_parser_get_root(p), &opts, errp)) {
        return false;
    }
    return object_set_add(f->set, opts, errp);
}

static void add_ok(Fixture *f, const char *fmt)
{
    g_autoptr(GError) err = NULL;

    add_json(f, fmt, &err);
    g_assert_no_error(err);
}

/* The object must be refused with a message containing @want. */
static void add_fails(Fixture *f, const char *fmt, const char *want)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(add_json(f, fmt, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, want)) {
        g_error("error '%s' does not contain '%s'", err->message, want);
    }
}

/* ---- PSK ---- */

static void test_psk(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCreds) creds = NULL;

    add_fails(f, "{'qom-type': 'tls-creds-psk', 'id': 'p0', 'endpoint': 'server'}",
              "Missing 'dir' property value");
    add_fails(f, "{'qom-type': 'tls-creds-psk', 'id': 'p0', 'dir': '%s'}",
              "Unable to access credentials");
    tls_test_psk_write(f->dir, "qemu", "009d5638c40fde0c");
    add_fails(f, "{'qom-type': 'tls-creds-psk', 'id': 'p0', 'dir': '%s',"
              " 'endpoint': 'server', 'username': 'qemu'}",
              "username should not be set when endpoint=server");
    add_fails(f, "{'qom-type': 'tls-creds-psk', 'id': 'p0', 'dir': '%s',"
              " 'username': 'bob'}", "Username bob not found in PSK file");
    add_ok(f, "{'qom-type': 'tls-creds-psk', 'id': 'p0', 'dir': '%s'}");
    add_ok(f, "{'qom-type': 'tls-creds-psk', 'id': 'p1', 'dir': '%s',"
           " 'endpoint': 'server'}");
    creds = object_set_tls_creds(f->set, "p1", &err);
    g_assert_no_error(err);
    g_assert_cmpint(tls_creds_type(creds), ==, TLS_CREDS_PSK);
    g_assert_cmpint(tls_creds_endpoint(creds), ==, QCRYPTO_TLS_CREDS_ENDPOINT_SERVER);
    g_assert_true(tls_creds_verify_peer(creds));
    /* The reference outlives object-del. */
    g_assert_true(object_set_del(f->set, "p1", &err));
    g_assert_cmpint(tls_creds_type(creds), ==, TLS_CREDS_PSK);
}

/* ---- x509 ---- */

static char *path_in(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static void test_x509_ok(Fixture *f, gconstpointer data)
{
    tls_test_x509_dir(f->dir, "127.0.0.1", NULL, "CN=client");
    add_ok(f, "{'qom-type': 'tls-creds-x509', 'id': 's', 'dir': '%s',"
           " 'endpoint': 'server'}");
    add_ok(f, "{'qom-type': 'tls-creds-x509', 'id': 'c', 'dir': '%s',"
           " 'sanity-check': true}");
    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 'e', 'dir': '%s',"
              " 'passwordid': 'sec0'}", "Property 'passwordid' is not supported");
}

static void test_x509_missing(Fixture *f, gconstpointer data)
{
    g_autofree char *ca = path_in(f, "ca-cert.pem");
    TlsTestCA *c;

    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 's', 'dir': '%s'}",
              "Unable to access credentials");
    c = tls_test_ca_new(ca);
    tls_test_ca_free(c);
    /* A client may have no certificate; a server must. */
    add_ok(f, "{'qom-type': 'tls-creds-x509', 'id': 'c', 'dir': '%s'}");
    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 's', 'dir': '%s',"
              " 'endpoint': 'server'}", "server-cert.pem");
}

/* A client certificate without its key (or the reverse) is refused, not ignored. */
static void test_x509_half_pair(Fixture *f, gconstpointer data)
{
    g_autofree char *key = path_in(f, "client-key.pem");
    g_autofree char *cert = path_in(f, "client-cert.pem");
    g_autofree char *moved = path_in(f, "moved.pem");

    tls_test_x509_dir(f->dir, "127.0.0.1", NULL, "CN=client");
    g_assert_cmpint(rename(key, moved), ==, 0);
    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 'c', 'dir': '%s'}",
              "has client-cert.pem but not client-key.pem");
    g_assert_cmpint(unlink(cert), ==, 0);
    g_assert_cmpint(rename(moved, key), ==, 0);
    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 'c', 'dir': '%s'}",
              "has client-key.pem but not client-cert.pem");
}

/* A server certificate per @spec (signed by the dir's CA unless @self). */
static void write_server(Fixture *f, const TlsTestCertSpec *spec, bool self)
{
    g_autofree char *ca = path_in(f, "ca-cert.pem");
    g_autofree char *cert = path_in(f, "server-cert.pem");
    g_autofree char *key = path_in(f, "server-key.pem");
    TlsTestCA *c = tls_test_ca_new(ca);

    tls_test_cert_write(self ? NULL : c, spec, cert, key);
    tls_test_ca_free(c);
}

static void test_x509_sanity(Fixture *f, gconstpointer data)
{
    static const char server_json[] =
        "{'qom-type': 'tls-creds-x509', 'id': 's', 'dir': '%s', 'endpoint': 'server'}";
    static const char unchecked_json[] =
        "{'qom-type': 'tls-creds-x509', 'id': 'u', 'dir': '%s', 'endpoint': 'server',"
        " 'sanity-check': false}";
    TlsTestCertSpec expired = { .dn = "CN=old", .server = true, .days = -1 };
    TlsTestCertSpec client_purpose = { .dn = "CN=c", .server = false };
    TlsTestCertSpec is_ca = { .dn = "CN=ca2", .is_ca = true };
    TlsTestCertSpec foreign = { .dn = "CN=foreign", .server = true };

    write_server(f, &expired, false);
    add_fails(f, server_json, "has expired");
    write_server(f, &client_purpose, false);
    add_fails(f, server_json, "is not valid for a TLS server");
    write_server(f, &is_ca, false);
    add_fails(f, server_json, "basic constraints show it as a CA");
    write_server(f, &foreign, true);
    add_fails(f, server_json, "Unable to verify certificate");
    /* sanity-check=off loads what the checks refused. */
    add_ok(f, unchecked_json);
}

static void test_x509_ca_not_ca(Fixture *f, gconstpointer data)
{
    g_autofree char *ca = path_in(f, "ca-cert.pem");
    TlsTestCertSpec leaf = { .dn = "CN=not a ca", .server = true };

    tls_test_cert_write(NULL, &leaf, ca, NULL);
    add_fails(f, "{'qom-type': 'tls-creds-x509', 'id': 'c', 'dir': '%s'}",
              "basic constraints do not show it as a CA");
}

/* ---- anon, authz, the set ---- */

static void test_anon_and_set(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ObjectPropertyInfoList) list = NULL;
    g_autoptr(Authz) az = NULL;
    TlsCreds *creds;

    add_ok(f, "{'qom-type': 'tls-creds-anon', 'id': 'a0', 'endpoint': 'server'}");
    add_ok(f, "{'qom-type': 'authz-simple', 'id': 'z0', 'identity': 'CN=x'}");
    add_fails(f, "{'qom-type': 'tls-creds-anon', 'id': 'a0'}",
              "attempt to add duplicate property 'a0' to object (type 'container')");
    add_fails(f, "{'qom-type': 'authz-simple', 'id': 'z1', 'identity': ''}",
              "The 'identity' property must be set");
    add_fails(f, "{'qom-type': 'authz-simple', 'id': 'z1'}",
              "Parameter 'identity' is missing");

    creds = object_set_tls_creds(f->set, "nope", &err);
    g_assert_null(creds);
    g_assert_cmpstr(err->message, ==, "No TLS credentials with id 'nope'");
    g_clear_error(&err);
    g_assert_null(object_set_tls_creds(f->set, "z0", &err));
    g_assert_cmpstr(err->message, ==, "Object with id 'z0' is not TLS credentials");
    g_clear_error(&err);
    g_assert_null(object_set_authz(f->set, "nope", &err));
    g_assert_cmpstr(err->message, ==, "Cannot find QAuthZ object ID nope");
    g_clear_error(&err);
    az = object_set_authz(f->set, "z0", &err);
    g_assert_true(authz_is_allowed(az, "CN=x"));
    g_assert_false(authz_is_allowed(az, "CN=xy"));

    list = object_set_list(f->set);
    g_assert_cmpstr(list->value->name, ==, "a0");
    g_assert_cmpstr(list->value->type, ==, "child<tls-creds-anon>");
    g_assert_cmpstr(list->next->value->type, ==, "child<authz-simple>");
    g_assert_null(list->next->next);

    g_assert_false(object_set_del(f->set, "nope", &err));
    g_assert_cmpstr(err->message, ==, "object 'nope' not found");
    g_assert_true(object_set_del(f->set, "a0", NULL));
}

static void test_authz_list(Fixture *f, gconstpointer data)
{
    g_autoptr(Authz) deny = NULL;
    g_autoptr(Authz) allow = NULL;

    add_ok(f, "{'qom-type': 'authz-list', 'id': 'l0', 'rules': ["
           " {'match': 'CN=bad*', 'policy': 'deny', 'format': 'glob'},"
           " {'match': 'CN=b?b', 'policy': 'allow', 'format': 'glob'},"
           " {'match': 'CN=alice', 'policy': 'allow'}]}");
    add_ok(f, "{'qom-type': 'authz-list', 'id': 'l1', 'policy': 'allow',"
           " 'rules': [{'match': 'CN=eve', 'policy': 'deny'}]}");
    deny = object_set_authz(f->set, "l0", NULL);
    allow = object_set_authz(f->set, "l1", NULL);
    g_assert_true(authz_is_allowed(deny, "CN=alice"));
    g_assert_true(authz_is_allowed(deny, "CN=bob"));
    g_assert_false(authz_is_allowed(deny, "CN=badbob"));
    g_assert_false(authz_is_allowed(deny, "CN=alice2"));   /* exact */
    g_assert_false(authz_is_allowed(deny, "CN=carol"));    /* default deny */
    g_assert_false(authz_is_allowed(allow, "CN=eve"));
    g_assert_true(authz_is_allowed(allow, "CN=carol"));
}

static void write_rules(Fixture *f, const char *name, const char *json)
{
    g_autofree char *tmp = path_in(f, "rules.tmp");
    g_autofree char *path = path_in(f, name);

    /* Replace by rename, as an editor or a config tool would. */
    g_assert_true(g_file_set_contents(tmp, json, -1, NULL));
    g_assert_cmpint(rename(tmp, path), ==, 0);
}

static gboolean give_up(gpointer opaque)
{
    g_error("authz-listfile did not reload its file within 30 s");
    return G_SOURCE_REMOVE;
}

/* Dispatch the main context (the inotify watch) until @az decides @want. */
static void wait_for_decision(Authz *az, const char *identity, bool want)
{
    guint guard = g_timeout_add_seconds(30, give_up, NULL);

    while (authz_is_allowed(az, identity) != want) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_source_remove(guard);
}

static void test_authz_listfile(Fixture *f, gconstpointer data)
{
    g_autoptr(Authz) watched = NULL;
    g_autoptr(Authz) fixed = NULL;

    add_fails(f, "{'qom-type': 'authz-listfile', 'id': 'f0',"
              " 'filename': '%s/absent.json'}", "Unable to load authorization rules");
    write_rules(f, "rules.json", "{\"rules\": [{\"match\": \"CN=alice\", \"policy\": \"allow\"}]}");
    add_ok(f, "{'qom-type': 'authz-listfile', 'id': 'f0', 'filename': '%s/rules.json'}");
    add_ok(f, "{'qom-type': 'authz-listfile', 'id': 'f1', 'filename': '%s/rules.json',"
           " 'refresh': false}");
    watched = object_set_authz(f->set, "f0", NULL);
    fixed = object_set_authz(f->set, "f1", NULL);
    g_assert_true(authz_is_allowed(watched, "CN=alice"));
    g_assert_false(authz_is_allowed(watched, "CN=bob"));

    write_rules(f, "rules.json", "{\"policy\": \"allow\","
                " \"rules\": [{\"match\": \"CN=alice\", \"policy\": \"deny\"}]}");
    wait_for_decision(watched, "CN=bob", true);
    g_assert_false(authz_is_allowed(watched, "CN=alice"));
    g_assert_true(authz_is_allowed(fixed, "CN=alice"));      /* refresh off */
    g_assert_false(authz_is_allowed(fixed, "CN=bob"));

    /* A file that stops parsing denies everyone until it parses again. */
    write_rules(f, "rules.json", "{\"policy\": \"allow\", \"rules\": 7}");
    wait_for_decision(watched, "CN=bob", false);
    write_rules(f, "rules.json", "{\"policy\": \"allow\"}");
    wait_for_decision(watched, "CN=bob", true);
    g_assert_true(object_set_del(f->set, "f0", NULL));       /* the watch goes too */
}

/* ---- -object key=value ---- */

static void test_keyval(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) kv = NULL;
    g_autoptr(GHashTable) bad = NULL;
    g_autoptr(GHashTable) unknown = NULL;
    g_autoptr(ObjectOptions) opts = NULL;

    kv = qemu_opts_parse("tls-creds-x509,id=x,dir=/d,verify-peer=off,sanity-check=yes,"
                         "endpoint=server", "qom-type", &err);
    g_assert_no_error(err);
    opts = object_options_from_keyval(kv, &err);
    g_assert_no_error(err);
    g_assert_cmpint(opts->qom_type, ==, OBJECT_TYPE_TLS_CREDS_X509);
    g_assert_cmpstr(opts->id, ==, "x");
    g_assert_true(opts->u.tls_creds_x509.has_verify_peer);
    g_assert_false(opts->u.tls_creds_x509.verify_peer);
    g_assert_true(opts->u.tls_creds_x509.sanity_check);
    g_assert_cmpint(opts->u.tls_creds_x509.endpoint, ==,
                    QCRYPTO_TLS_CREDS_ENDPOINT_SERVER);

    bad = qemu_opts_parse("tls-creds-psk,id=p,verify-peer=maybe", "qom-type", NULL);
    g_assert_null(object_options_from_keyval(bad, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'verify-peer' expects 'on' or 'off'");
    g_clear_error(&err);
    unknown = qemu_opts_parse("tls-creds-psk,id=p,colour=red", "qom-type", NULL);
    g_assert_null(object_options_from_keyval(unknown, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'colour' is unexpected");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/crypto/tls-creds/psk", test_psk);
    ADD("/crypto/tls-creds/x509/ok", test_x509_ok);
    ADD("/crypto/tls-creds/x509/missing", test_x509_missing);
    ADD("/crypto/tls-creds/x509/half-pair", test_x509_half_pair);
    ADD("/crypto/tls-creds/x509/sanity", test_x509_sanity);
    ADD("/crypto/tls-creds/x509/ca-not-ca", test_x509_ca_not_ca);
    ADD("/crypto/object-set/anon-and-ids", test_anon_and_set);
    ADD("/crypto/authz/list", test_authz_list);
    ADD("/crypto/authz/listfile", test_authz_listfile);
    ADD("/crypto/object-set/keyval", test_keyval);
#undef ADD
    return g_test_run();
}
