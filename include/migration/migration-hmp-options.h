/*
 * HMP commands over the migration options: info migrate_capabilities,
 * info migrate_parameters, migrate_set_capability, migrate_set_parameter.
 * Each goes through the QMP command implementation; output is appended to
 * @out in QEMU's format, and the monitor prints an error as "Error: <msg>".
 * @ctx is the context the HMP command received, passed on to the QMP one.
 */
#ifndef MIGRATION_HMP_OPTIONS_H
#define MIGRATION_HMP_OPTIONS_H

#include <glib.h>
#include <stdbool.h>

typedef struct TernContext TernContext;

/* info migrate_capabilities: "<capability>: on|off" per line, enum order. */
bool hmp_info_migrate_capabilities(TernContext *ctx, GString *out,
                                   GError **errp);

/* info migrate_parameters: "<parameter>: <value>[ unit]" per line, QEMU's order. */
bool hmp_info_migrate_parameters(TernContext *ctx, GString *out,
                                 GError **errp);

/* migrate_set_capability <capability> on|off (args_type "capability:s,state:b"). */
bool hmp_migrate_set_capability(TernContext *ctx, const char *capability,
                                bool state, GError **errp);

/*
 * migrate_set_parameter <parameter> <value> (args_type
 * "parameter:s,value:s"); @value is read as the parameter's type is in QEMU.
 */
bool hmp_migrate_set_parameter(TernContext *ctx, const char *parameter,
                               const char *value, GError **errp);

#endif
