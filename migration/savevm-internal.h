/*
 * What savevm.c (registry, source side), savevm-load.c (destination) and
 * savevm-config.c (the configuration section) share.  Not for other
 * subsystems: they use include/migration/savevm.h.
 */
#ifndef MIGRATION_SAVEVM_INTERNAL_H
#define MIGRATION_SAVEVM_INTERNAL_H

#include "migration/savevm.h"

typedef struct SaveVMEntry {
    char *idstr;
    uint32_t instance_id;
    int version_id;
    uint32_t section_id;            /* assigned at registration */
    MigrationPriority priority;
    const SaveVMHandlers *ops;      /* iterative section, or NULL */
    const VMStateDescription *vmsd; /* device section, or NULL */
    void *opaque;

    /* Destination, for the current load only. */
    bool load_started;              /* a START/FULL was read (PART/END may follow if ops) */
    uint32_t load_section_id;       /* the section id the source used */
    int load_version_id;
} SaveVMEntry;

struct SaveVMState {
    GPtrArray *entries;             /* SaveVMEntry *, in save order (priority, then registration) */
    uint32_t next_section_id;

    /* Source, between savevm_state_header and savevm_state_cleanup. */
    JsonBuilder *vmdesc;            /* NULL when the trailer is suppressed */
    bool suppress_vmdesc;

    /* Destination: around device section loads. */
    void (*device_lock)(void *opaque);
    void (*device_unlock)(void *opaque);
    void *device_lock_opaque;

    /* Destination: who handles QEMU_VM_COMMAND records (savevm-commands.c). */
    const struct SaveVMCommandOps *cmd_ops;
    void *cmd_opaque;
    bool load_quit;                 /* the last load stopped at POSTCOPY_RUN */
    GError *trailer_err;            /* the last load's trailer was malformed: why */

    SaveVMTimes times;              /* the switchover payload's (savevm_state_times) */
};

/*
 * savevm-load.c: records until EOF (true), or until a command says this
 * loop ends (true, *@quit set: POSTCOPY_RUN, or a package holding it).
 */
bool savevm_load_sections(SaveVMState *s, QEMUFile *f, bool *quit, GError **errp);

/* savevm-config.c: the configuration section's vmstate, after the 0x07 byte. */
bool savevm_config_save(QEMUFile *f, const SaveVMConfig *cfg, JsonBuilder *vmdesc,
                        GError **errp);
bool savevm_config_load(QEMUFile *f, const SaveVMConfig *local, GError **errp);

/* vmdesc.c: @root as QEMU's JSON writer would print it (", " and ": " separators). */
GString *vmdesc_to_json(JsonNode *root);

#endif
