/*
 * Where -incoming is kept until the migration subsystem takes it over.
 */
#include "sysemu/incoming.h"

#include "qemu/error.h"
#include "sysemu/runstate.h"

/* The command line's -incoming value; set once at start-up. */
static char *incoming;

bool incoming_setup(const char *uri, bool autostart, GError **errp)
{
    g_free(incoming);
    incoming = g_strdup(uri);
    runstate_set_autostart(autostart);
    error_setg(errp, "-incoming %s: migration is not supported yet", uri);
    return false;
}

const char *incoming_uri(void)
{
    return incoming;
}
