/*
 * authz-listfile: an authz-list whose policy and rules live in a JSON file
 * (the AuthZListProperties shape: {"policy": ..., "rules": [...]}).  With
 * refresh on, the file's directory is watched with inotify from the main
 * loop and the rules are replaced on every change; a file that stops
 * parsing denies everyone until it parses again, as QEMU does.
 */
#ifndef CRYPTO_AUTHZ_LISTFILE_H
#define CRYPTO_AUTHZ_LISTFILE_H

#include "crypto/authz.h"

/* Read @filename into @rules. */
bool authz_listfile_load(AuthzRules *rules, const char *filename, GError **errp);

/*
 * Reload @filename into @rules whenever it changes, from the default main
 * context.  The source holds its own reference to @rules, so destroying it
 * from any thread is safe; the caller owns the returned source.
 */
GSource *authz_listfile_watch(AuthzRules *rules, const char *filename, GError **errp);

#endif
