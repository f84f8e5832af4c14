/*
 * Unit tests for QEMU-style option strings (util/option.c): parsing, comma
 * escaping, implied keys, typed getters, and the exact message of every error.
 */
#include "qemu/option.h"

#include "qemu/cutils.h"

typedef struct {
    const char *str;
    const char *implied;
    const char *msg;
} BadCase;

static void test_parse_basic(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) opts =
        qemu_opts_parse("path=/x,server=on,wait=off", NULL, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(g_hash_table_size(opts), ==, 3);
    g_assert_cmpstr(qemu_opt_get(opts, "path"), ==, "/x");
    g_assert_cmpstr(qemu_opt_get(opts, "server"), ==, "on");
    g_assert_cmpstr(qemu_opt_get(opts, "wait"), ==, "off");
    g_assert_null(qemu_opt_get(opts, "nowait"));
}

static void test_parse_edges(void)
{
    g_autoptr(GHashTable) empty = qemu_opts_parse("", NULL, NULL);
    g_autoptr(GHashTable) empty_implied = qemu_opts_parse("", "qom-type", NULL);
    g_autoptr(GHashTable) escaped =
        qemu_opts_parse("path=/a,,b,,,,c,id=x,,", NULL, NULL);
    g_autoptr(GHashTable) trailing = qemu_opts_parse("a=1,", NULL, NULL);
    g_autoptr(GHashTable) novalue = qemu_opts_parse("a=,b==", NULL, NULL);

    g_assert_cmpuint(g_hash_table_size(empty), ==, 0);
    g_assert_cmpuint(g_hash_table_size(empty_implied), ==, 0);
    g_assert_cmpstr(qemu_opt_get(escaped, "path"), ==, "/a,b,,c");
    g_assert_cmpstr(qemu_opt_get(escaped, "id"), ==, "x,");
    g_assert_cmpuint(g_hash_table_size(trailing), ==, 1);
    g_assert_cmpstr(qemu_opt_get(trailing, "a"), ==, "1");
    g_assert_cmpstr(qemu_opt_get(novalue, "a"), ==, "");
    g_assert_cmpstr(qemu_opt_get(novalue, "b"), ==, "=");
}

static void test_parse_implied(void)
{
    g_autoptr(GHashTable) obj =
        qemu_opts_parse("memory-backend-ram,id=m,size=1G", "qom-type", NULL);
    g_autoptr(GHashTable) chr =
        qemu_opts_parse("socket,id=c0,path=/x", "backend", NULL);
    g_autoptr(GHashTable) qmp =
        qemu_opts_parse("unix:/p,,q,server=on,wait=off", "addr", NULL);
    g_autoptr(GHashTable) explicit =
        qemu_opts_parse("qom-type=memory-backend-ram,id=m", "qom-type", NULL);
    g_autoptr(GHashTable) only = qemu_opts_parse("stdio", "backend", NULL);

    g_assert_cmpstr(qemu_opt_get(obj, "qom-type"), ==, "memory-backend-ram");
    g_assert_cmpstr(qemu_opt_get(obj, "id"), ==, "m");
    g_assert_cmpstr(qemu_opt_get(obj, "size"), ==, "1G");
    g_assert_cmpstr(qemu_opt_get(chr, "backend"), ==, "socket");
    g_assert_cmpstr(qemu_opt_get(chr, "path"), ==, "/x");
    g_assert_cmpstr(qemu_opt_get(qmp, "addr"), ==, "unix:/p,q");
    g_assert_cmpstr(qemu_opt_get(qmp, "server"), ==, "on");
    g_assert_cmpstr(qemu_opt_get(explicit, "qom-type"), ==, "memory-backend-ram");
    g_assert_cmpuint(g_hash_table_size(only), ==, 1);
    g_assert_cmpstr(qemu_opt_get(only, "backend"), ==, "stdio");
}

static void test_parse_errors(void)
{
    static const BadCase cases[] = {
        { "=5", NULL, "Empty parameter name at '=5'" },
        { "a=1,=2", NULL, "Empty parameter name at '=2'" },
        { ",a=1", NULL, "Empty parameter name at ',a=1'" },
        { ",a=1", "backend", "Empty parameter name at ',a=1'" },
        { "a=1,,,=2", NULL, "Empty parameter name at '=2'" },
        { "server", NULL, "Expected '=' after parameter 'server'" },
        { "path=/x,server,wait=off", NULL,
          "Expected '=' after parameter 'server'" },
        { "socket,id=c0,nowait", "backend",
          "Expected '=' after parameter 'nowait'" },
        { "a=1,a=2", NULL, "Parameter 'a' given twice" },
        { "socket,backend=file", "backend", "Parameter 'backend' given twice" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        g_test_message("opts '%s'", cases[i].str);
        g_assert_null(qemu_opts_parse(cases[i].str, cases[i].implied, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
    }
}

static void test_get_bool(void)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };
    g_autoptr(GHashTable) opts =
        qemu_opts_parse("server=on,wait=no,x=ON,y=1", NULL, NULL);
    g_autoptr(GError) err_upper = NULL;
    g_autoptr(GError) err_one = NULL;
    bool v;

    for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
        g_assert_true(qemu_parse_bool("p", on[i], &v, NULL) && v);
        g_assert_true(qemu_parse_bool("p", off[i], &v, NULL) && !v);
    }
    g_assert_true(qemu_opt_get_bool(opts, "server", false, &v, NULL) && v);
    g_assert_true(qemu_opt_get_bool(opts, "wait", true, &v, NULL) && !v);
    g_assert_true(qemu_opt_get_bool(opts, "absent", true, &v, NULL) && v);
    g_assert_true(qemu_opt_get_bool(opts, "absent", false, &v, NULL) && !v);
    g_assert_false(qemu_opt_get_bool(opts, "x", false, &v, &err_upper));
    g_assert_cmpstr(err_upper->message, ==, "Parameter 'x' expects 'on' or 'off'");
    g_assert_false(qemu_opt_get_bool(opts, "y", false, &v, &err_one));
    g_assert_cmpstr(err_one->message, ==, "Parameter 'y' expects 'on' or 'off'");
}

static void test_get_numbers(void)
{
    g_autoptr(GHashTable) opts =
        qemu_opts_parse("size=1G,bad=12Q,n=0x10,m=-1", NULL, NULL);
    g_autoptr(GError) err_size = NULL;
    g_autoptr(GError) err_u64 = NULL;
    g_autoptr(GError) err_neg = NULL;
    uint64_t v;

    g_assert_true(qemu_opt_get_size(opts, "size", 0, &v, NULL));
    g_assert_cmpuint(v, ==, GiB);
    g_assert_true(qemu_opt_get_size(opts, "absent", 4096, &v, NULL));
    g_assert_cmpuint(v, ==, 4096);
    g_assert_false(qemu_opt_get_size(opts, "bad", 0, &v, &err_size));
    g_assert_cmpstr(err_size->message, ==,
                    "Parameter 'bad' expects a size: invalid size '12Q'");

    g_assert_true(qemu_opt_get_u64(opts, "n", 0, &v, NULL));
    g_assert_cmpuint(v, ==, 16);
    g_assert_true(qemu_opt_get_u64(opts, "absent", 7, &v, NULL));
    g_assert_cmpuint(v, ==, 7);
    g_assert_false(qemu_opt_get_u64(opts, "size", 0, &v, &err_u64));
    g_assert_cmpstr(err_u64->message, ==,
                    "Parameter 'size' expects a number: invalid number '1G'");
    g_assert_false(qemu_opt_get_u64(opts, "m", 0, &v, &err_neg));
    g_assert_cmpstr(err_neg->message, ==,
                    "Parameter 'm' expects a number: number '-1' must not be negative");
}

static void test_check_keys(void)
{
    static const char *const allowed[] = { "id", "size", "share", NULL };
    g_autoptr(GHashTable) good = qemu_opts_parse("id=m,size=1G", NULL, NULL);
    g_autoptr(GHashTable) bad =
        qemu_opts_parse("id=m,zzz=1,sise=1G", NULL, NULL);
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_opts_check_keys(good, allowed, NULL));
    g_assert_false(qemu_opts_check_keys(bad, allowed, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'sise'");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/parse/basic", test_parse_basic);
    g_test_add_func("/option/parse/edges", test_parse_edges);
    g_test_add_func("/option/parse/implied", test_parse_implied);
    g_test_add_func("/option/parse/errors", test_parse_errors);
    g_test_add_func("/option/get/bool", test_get_bool);
    g_test_add_func("/option/get/numbers", test_get_numbers);
    g_test_add_func("/option/check-keys", test_check_keys);
    return g_test_run();
}
