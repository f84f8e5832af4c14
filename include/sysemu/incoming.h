/*
 * -incoming URI|defer as the command line gives it, kept for the migration
 * subsystem.  main() enters run state inmigrate and calls incoming_setup();
 * the migration work replaces its body with the real start of an incoming
 * migration (listening now, or waiting for migrate-incoming with "defer").
 */
#ifndef SYSEMU_INCOMING_H
#define SYSEMU_INCOMING_H

#include <glib.h>
#include <stdbool.h>

/*
 * Remember @uri ("defer" or a migration URI) and whether the VM should run
 * once the incoming migration completes (@autostart: no -S).  Main thread,
 * BQL held, run state inmigrate.
 */
bool incoming_setup(const char *uri, bool autostart, GError **errp);

/* The -incoming value, or NULL when tern was started without it. */
const char *incoming_uri(void);

#endif
