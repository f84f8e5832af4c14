/*
 * The RAM section's destination (ram-load.c): its SaveVMHandlers hooks,
 * which ram.c puts in the section's handler table.
 */
#ifndef MIGRATION_RAM_LOAD_H
#define MIGRATION_RAM_LOAD_H

#include "migration/qemu-file.h"
#include <glib.h>
#include <stdbool.h>

bool ram_load_setup(void *opaque, GError **errp);
bool ram_load(QEMUFile *f, void *opaque, int version_id, GError **errp);
void ram_load_cleanup(void *opaque);

#endif
