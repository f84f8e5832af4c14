/*
 * tern's one error pattern: GError in the TERN_ERROR domain, whose codes are
 * QMP's error classes, so an error reaches a QMP reply without translation.
 *
 * Functions that can fail take `GError **errp` as their last parameter and
 * return bool (or a pointer, or a negative errno).  On success they leave
 * *errp alone; the callee sets, the caller decides; an error is reported once,
 * at a boundary (a QMP reply, the end of a migration, main()).
 */
#ifndef TERN_ERROR_H
#define TERN_ERROR_H

#include <glib.h>
#include <stdbool.h>

#define TERN_ERROR tern_error_quark()
GQuark tern_error_quark(void);

/* Codes in QMP ErrorClass order; tern_error_class_name() gives the wire name. */
typedef enum {
    TERN_ERROR_GENERIC,             /* "GenericError" */
    TERN_ERROR_COMMAND_NOT_FOUND,   /* "CommandNotFound" */
    TERN_ERROR_DEVICE_NOT_ACTIVE,   /* "DeviceNotActive" */
    TERN_ERROR_DEVICE_NOT_FOUND,    /* "DeviceNotFound" */
    TERN_ERROR_KVM_MISSING_CAP,     /* "KVMMissingCap" */
} TernErrorClass;

/* The QMP class name of @err; errors from other domains are GenericError. */
const char *tern_error_class_name(const GError *err);

/* Set a GenericError; like g_set_error() with the domain and code filled in. */
void error_setg(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Set a GenericError whose message ends with ": strerror(errnum)". */
void error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Set an error of a given class. */
void error_set(GError **errp, TernErrorClass cls, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Put "prefix" in front of an already-set error's message (no-op if unset). */
void error_prepend(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Print "tern: <message>" to stderr and free the error. */
void error_report_err(GError *err);

/* Print "tern: <formatted message>" to stderr. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Print "tern: warning: <formatted message>" to stderr. */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif
