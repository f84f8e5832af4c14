/*
 * GError helpers for the TERN_ERROR domain (see include/qemu/error.h).
 */
#include "qemu/error.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(tern-error-quark, tern_error)

static const char *const error_class_names[] = {
    [TERN_ERROR_GENERIC] = "GenericError",
    [TERN_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [TERN_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [TERN_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [TERN_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *tern_error_class_name(const GError *err)
{
    if (err->domain == TERN_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(error_class_names)) {
        return error_class_names[err->code];
    }
    return "GenericError";
}

static void error_setv(GError **errp, TernErrorClass cls,
                       const char *fmt, va_list ap)
{
    if (!errp) {
        return;
    }
    g_assert(*errp == NULL);    /* setting twice loses the first error */
    *errp = g_error_new_valist(TERN_ERROR, cls, fmt, ap);
}

void error_setg(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, TERN_ERROR_GENERIC, fmt, ap);
    va_end(ap);
}

void error_set(GError **errp, TernErrorClass cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, cls, fmt, ap);
    va_end(ap);
}

void error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (!errp) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s: %s", msg, g_strerror(errnum));
}

void error_prepend(GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *prefix = NULL;
    char *old;

    if (!errp || !*errp) {
        return;
    }
    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    old = (*errp)->message;
    (*errp)->message = g_strconcat(prefix, old, NULL);
    g_free(old);
}

void error_report_err(GError *err)
{
    fprintf(stderr, "tern: %s\n", err->message);
    g_error_free(err);
}

void error_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tern: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tern: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
