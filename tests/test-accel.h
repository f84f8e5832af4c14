/*
 * Which of a test program's cases run.  meson runs a program that has cases
 * needing /dev/kvm twice: NAME with TERN_TEST_ACCEL=interp for the cases
 * that run anywhere, NAME-kvm with TERN_TEST_ACCEL=kvm for the others, so
 * that where kvm is unusable the kvm entry is skipped as a whole and meson
 * shows it as SKIP, not OK.  Unset (a program run by hand): every case.
 * To see what a machine without kvm does, run the suite with
 * TERN_KVM_DEVICE=/nonexistent (tern and the tests open that instead).
 */
#ifndef TEST_ACCEL_H
#define TEST_ACCEL_H

#include <glib.h>
#include <stdbool.h>
#include <string.h>

static inline bool test_accel_selected(bool needs_kvm)
{
    const char *only = g_getenv("TERN_TEST_ACCEL");

    return !only || !strcmp(only, needs_kvm ? "kvm" : "interp");
}

#endif
