/*
 * Running one QMP request against a command table: the request's shape is
 * checked the way QEMU checks it (same error texts), the command is found
 * and called, and the response object is built with the request's "id"
 * echoed.  No I/O and no monitor state here.
 */
#ifndef MONITOR_QMP_DISPATCH_H
#define MONITOR_QMP_DISPATCH_H

#include "qapi/qmp-registry.h"

/*
 * Dispatch @request (borrowed); the command receives @ctx, whatever it
 * is.  @allow_oob: whether "exec-oob" is accepted (the client enabled the
 * oob capability).  Returns the response
 * {"return": ..} or {"error": ..} with "id" copied from the request, or
 * NULL for a successful command without success response.
 */
JsonNode *qmp_dispatch(const QmpCommandList *cmds, TernContext *ctx,
                       JsonNode *request, bool allow_oob);

/* {"error": {"class": .., "desc": ..}} for @err. */
JsonNode *qmp_error_response(const GError *err);

/* Does @request ask to run out of band ("exec-oob" without "execute")? */
bool qmp_is_oob(JsonNode *request);

/* Is @rsp an error response of class @cls ("CommandNotFound")? */
bool qmp_response_is_error_class(JsonNode *rsp, const char *cls);

#endif
