/*
 * The schedule of postcopy auto-recover's attempts (x-postcopy-auto-recover-delay):
 * the first wait as set, doubled at each attempt, held at 10 s, or at the
 * first wait when that is longer.
 */
#include "postcopy-recover.h"

#include <glib.h>

static void test_delay_doubles_to_cap(void)
{
    static const uint64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000 };

    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_assert_cmpuint(postcopy_auto_recover_delay(100, i + 1), ==, want[i]);
    }
    /* No overflow however many attempts. */
    g_assert_cmpuint(postcopy_auto_recover_delay(1, 1000), ==, 10000);
    g_assert_cmpuint(postcopy_auto_recover_delay(1, UINT32_MAX), ==, 10000);
}

static void test_delay_long_first_wait(void)
{
    g_assert_cmpuint(postcopy_auto_recover_delay(60000, 1), ==, 60000);
    g_assert_cmpuint(postcopy_auto_recover_delay(60000, 5), ==, 60000);
    g_assert_cmpuint(postcopy_auto_recover_delay(6000, 2), ==, 10000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/postcopy-auto-recover/delay/doubles-to-cap", test_delay_doubles_to_cap);
    g_test_add_func("/postcopy-auto-recover/delay/long-first-wait", test_delay_long_first_wait);
    return g_test_run();
}
