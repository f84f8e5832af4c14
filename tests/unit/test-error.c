/*
 * Unit tests for the GError helpers (util/error.c).
 */
#include "qemu/error.h"

#include <errno.h>

static void test_class_names(void)
{
    g_autoptr(GError) generic = NULL;
    g_autoptr(GError) not_found = NULL;
    g_autoptr(GError) foreign = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");

    error_setg(&generic, "bad %d", 42);
    error_set(&not_found, TERN_ERROR_COMMAND_NOT_FOUND, "The command %s has not been found", "foo");
    g_assert_cmpstr(generic->message, ==, "bad 42");
    g_assert_cmpstr(tern_error_class_name(generic), ==, "GenericError");
    g_assert_cmpstr(tern_error_class_name(not_found), ==, "CommandNotFound");
    g_assert_cmpstr(tern_error_class_name(foreign), ==, "GenericError");
}

static void test_errno_and_prepend(void)
{
    g_autoptr(GError) err = NULL;

    error_setg_errno(&err, ENOENT, "open '%s'", "/x");
    g_assert_cmpstr(err->message, ==, "open '/x': No such file or directory");
    error_prepend(&err, "section '%s': ", "ram");
    g_assert_cmpstr(err->message, ==, "section 'ram': open '/x': No such file or directory");
}

static void test_null_errp(void)
{
    error_setg(NULL, "ignored");
    error_prepend(NULL, "ignored");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/class-names", test_class_names);
    g_test_add_func("/error/errno-and-prepend", test_errno_and_prepend);
    g_test_add_func("/error/null-errp", test_null_errp);
    return g_test_run();
}
