/*
 * Unit tests for number and size parsing (util/cutils.c): accepted forms,
 * and the exact message of every rejection.
 */
#include "qemu/cutils.h"

typedef struct {
    const char *str;
    uint64_t unit;
    uint64_t want;
} SizeCase;

typedef struct {
    const char *str;
    const char *msg;
} BadCase;

static void test_strtosz_good(void)
{
    static const SizeCase cases[] = {
        { "0", 1, 0 },
        { "12345", 1, 12345 },
        { "1024", MiB, 1024 * MiB },
        { "4096B", MiB, 4096 },
        { "4096b", 1, 4096 },
        { "512k", 1, 512 * KiB },
        { "512K", 1, 512 * KiB },
        { "128M", 1, 128 * MiB },
        { "128m", 1, 128 * MiB },
        { "4G", 1, 4 * GiB },
        { "1T", 1, TiB },
        { "2P", 1, 2 * PiB },
        { "15E", 1, 15 * EiB },
        { "1.5G", 1, GiB + GiB / 2 },
        { "0.5", MiB, MiB / 2 },
        { "1.k", 1, KiB },
        { "0.25k", 1, 256 },
        { "12.345M", 1, 12944670 },    /* floor(12.345 * 2^20) */
        { "0x1000", 1, 0x1000 },
        { "0X10", MiB, 16 * MiB },
        { "0xffffffffffffffff", 1, UINT64_MAX },
        { "18446744073709551615", 1, UINT64_MAX },
        { "15.999999999E", 1, UINT64_C(18446744072556630111) },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        uint64_t v = 1234;

        g_test_message("size '%s'", cases[i].str);
        g_assert_true(qemu_strtosz(cases[i].str, cases[i].unit, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, cases[i].want);
    }
}

static void test_strtosz_bad(void)
{
    static const BadCase cases[] = {
        { "", "invalid size ''" },
        { "12Q", "invalid size '12Q'" },
        { "M", "invalid size 'M'" },
        { "12MB", "invalid size '12MB'" },
        { "12 M", "invalid size '12 M'" },
        { " 12", "invalid size ' 12'" },
        { "+12", "invalid size '+12'" },
        { ".5M", "invalid size '.5M'" },
        { "1e5", "invalid size '1e5'" },
        { "1.2.3M", "invalid size '1.2.3M'" },
        { "-1", "size '-1' must not be negative" },
        { "-0", "size '-0' must not be negative" },
        { "1.5", "invalid size '1.5' (fractions of a byte are not allowed)" },
        { "1.5B", "invalid size '1.5B' (fractions of a byte are not allowed)" },
        { "0x20M", "invalid size '0x20M' (a hex size takes no suffix or fraction)" },
        { "0x1.8", "invalid size '0x1.8' (a hex size takes no suffix or fraction)" },
        { "0x", "invalid size '0x' (a hex size takes no suffix or fraction)" },
        { "0xg", "invalid size '0xg' (a hex size takes no suffix or fraction)" },
        { "99999999999T", "size '99999999999T' is too large" },
        { "16E", "size '16E' is too large" },
        { "16.0E", "size '16.0E' is too large" },
        { "18446744073709551616", "size '18446744073709551616' is too large" },
        { "0x10000000000000000", "size '0x10000000000000000' is too large" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        uint64_t v = 1234;

        g_test_message("size '%s'", cases[i].str);
        g_assert_false(qemu_strtosz(cases[i].str, 1, &v, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
        g_assert_cmpuint(v, ==, 1234);     /* untouched on failure */
    }
}

static void test_strtosz_default_unit_overflow(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err_hex = NULL;
    uint64_t v;

    g_assert_false(qemu_strtosz("17592186044416", MiB, &v, &err));
    g_assert_cmpstr(err->message, ==, "size '17592186044416' is too large");
    g_assert_false(qemu_strtosz("0x100000000000", MiB, &v, &err_hex));
    g_assert_cmpstr(err_hex->message, ==, "size '0x100000000000' is too large");
}

static void test_strtou64(void)
{
    static const BadCase bad[] = {
        { "", "invalid number ''" },
        { "12a", "invalid number '12a'" },
        { "0x", "invalid number '0x'" },
        { " 1", "invalid number ' 1'" },
        { "1.0", "invalid number '1.0'" },
        { "-1", "number '-1' must not be negative" },
        { "18446744073709551616", "number '18446744073709551616' is out of range" },
    };
    uint64_t v;

    g_assert_true(qemu_strtou64("0", &v, NULL));
    g_assert_cmpuint(v, ==, 0);
    g_assert_true(qemu_strtou64("18446744073709551615", &v, NULL));
    g_assert_cmpuint(v, ==, UINT64_MAX);
    g_assert_true(qemu_strtou64("0xDeadBeef", &v, NULL));
    g_assert_cmpuint(v, ==, 0xdeadbeef);
    g_assert_true(qemu_strtou64("010", &v, NULL));
    g_assert_cmpuint(v, ==, 10);                /* no octal */

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_false(qemu_strtou64(bad[i].str, &v, &err));
        g_assert_cmpstr(err->message, ==, bad[i].msg);
    }
}

static void test_strtoi64(void)
{
    static const BadCase bad[] = {
        { "", "invalid number ''" },
        { "-", "invalid number '-'" },
        { "--1", "invalid number '--1'" },
        { "1-", "invalid number '1-'" },
        { "9223372036854775808", "number '9223372036854775808' is out of range" },
        { "-9223372036854775809", "number '-9223372036854775809' is out of range" },
    };
    int64_t v;

    g_assert_true(qemu_strtoi64("-42", &v, NULL));
    g_assert_cmpint(v, ==, -42);
    g_assert_true(qemu_strtoi64("-0x10", &v, NULL));
    g_assert_cmpint(v, ==, -16);
    g_assert_true(qemu_strtoi64("9223372036854775807", &v, NULL));
    g_assert_cmpint(v, ==, INT64_MAX);
    g_assert_true(qemu_strtoi64("-9223372036854775808", &v, NULL));
    g_assert_cmpint(v, ==, INT64_MIN);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_false(qemu_strtoi64(bad[i].str, &v, &err));
        g_assert_cmpstr(err->message, ==, bad[i].msg);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cutils/strtosz/good", test_strtosz_good);
    g_test_add_func("/cutils/strtosz/bad", test_strtosz_bad);
    g_test_add_func("/cutils/strtosz/default-unit-overflow",
                    test_strtosz_default_unit_overflow);
    g_test_add_func("/cutils/strtou64", test_strtou64);
    g_test_add_func("/cutils/strtoi64", test_strtoi64);
    return g_test_run();
}
