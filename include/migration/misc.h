/*
 * How the rest of tern starts and stops the migration subsystem.
 */
#ifndef MIGRATION_MISC_H
#define MIGRATION_MISC_H

#include <glib.h>
#include <stdbool.h>

typedef struct Machine Machine;

/*
 * Create the process's migration objects over @m: the section registry
 * (ram, globalstate, the machine's devices and vCPUs), the options, the
 * outgoing and incoming states.  Main thread, BQL held, once.
 */
bool migration_init(Machine *m, GError **errp);

/*
 * -incoming URI|defer: listen now, or wait for migrate-incoming.  Run state
 * inmigrate; @autostart says whether the guest runs once the load is done.
 */
bool migration_incoming_setup(const char *uri, bool autostart, GError **errp);

/* Cancel what runs, join the threads, free everything.  BQL held. */
void migration_shutdown(void);

#endif
