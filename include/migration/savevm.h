/*
 * The migration stream's framing (QEMU's version-3 format): the registry
 * of sections (iterative ones with SaveVMHandlers, device ones with a
 * VMStateDescription), the helpers the migration thread calls to write
 * header, configuration, START/PART/END/FULL sections, EOF and the vmdesc
 * trailer, and the loader that reads all of it back on the destination.
 * Threads and locks: see the top of migration/savevm.c.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu-file.h"
#include "migration/register.h"
#include "migration/vmstate.h"

/* Wire constants (QEMU migration/savevm.h). */
#define QEMU_VM_FILE_MAGIC              0x5145564d
#define QEMU_VM_FILE_VERSION_COMPAT     0x00000002
#define QEMU_VM_FILE_VERSION            0x00000003

#define QEMU_VM_EOF                     0x00
#define QEMU_VM_SECTION_START           0x01
#define QEMU_VM_SECTION_PART            0x02
#define QEMU_VM_SECTION_END             0x03
#define QEMU_VM_SECTION_FULL            0x04
#define QEMU_VM_SUBSECTION              0x05
#define QEMU_VM_VMDESCRIPTION           0x06
#define QEMU_VM_CONFIGURATION           0x07
#define QEMU_VM_COMMAND                 0x08
#define QEMU_VM_SECTION_FOOTER          0x7e

/* Register with this instance id to get the next free one for the idstr. */
#define SAVEVM_INSTANCE_ID_ANY          UINT32_MAX
/* The target page size written to the vmdesc ("page_size"); x86. */
#define SAVEVM_TARGET_PAGE_SIZE         4096
/* A vmdesc trailer longer than this is not read (the load still succeeds). */
#define SAVEVM_VMDESC_MAX               (64 * 1024 * 1024)

typedef struct SaveVMState SaveVMState;

/* What the configuration section carries or checks, on either side. */
typedef struct SaveVMConfig {
    const char *machine_name;       /* e.g. "pc-q35-9.1"; must match on both sides */
    bool send_configuration;        /* source: send it; dest: require it (QEMU default on) */
    bool has_uuid;                  /* -uuid was given */
    uint8_t uuid[16];
    bool validate_uuid;             /* source: send the uuid subsection (validate-uuid) */
    /*
     * NULL-terminated names of the enabled capabilities, or NULL.  Only
     * the validated ones (x-ignore-shared, mapped-ram) are sent and must
     * be equal on both sides; other names are ignored.
     */
    const char *const *capabilities;
    bool suppress_vmdesc;           /* source: no vmdesc trailer */
} SaveVMConfig;

/* ---- registry (build it before migrating; not changed while a migration runs) ---- */

SaveVMState *savevm_state_new(void);
/* Free @s and its registrations (not the opaques); NULL-safe. */
void savevm_state_free(SaveVMState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SaveVMState, savevm_state_free)

/*
 * Register an iterative section.  @ops and @opaque must outlive @s.
 * Section ids follow registration order; iterative sections have the
 * default priority.  (@idstr, @instance_id) must be unique; @idstr is at
 * most 255 bytes (127 keeps streams readable by analyze-migration.py).
 */
void savevm_register_live(SaveVMState *s, const char *idstr, uint32_t instance_id,
                          int version_id, const SaveVMHandlers *ops, void *opaque);

/* Register a device section sent once, FULL, at completion; version = @vmsd's. */
void savevm_register_vmsd(SaveVMState *s, const char *idstr, uint32_t instance_id,
                          const VMStateDescription *vmsd, void *opaque);

/* Remove a registration (device unplug); false if there was none. */
bool savevm_unregister(SaveVMState *s, const char *idstr, uint32_t instance_id);

/*
 * Destination: @lock / @unlock are called around the load of every device
 * (VMState) section, e.g. to take the BQL from the incoming thread.  May
 * be NULL (the caller already holds what is needed, e.g. in tests).
 */
void savevm_set_device_load_lock(SaveVMState *s, void (*lock)(void *opaque),
                                 void (*unlock)(void *opaque), void *opaque);

/* ---- source, in this order ---- */

/* Magic, version and (if cfg->send_configuration) the configuration section; starts the vmdesc. */
bool savevm_state_header(SaveVMState *s, QEMUFile *f, const SaveVMConfig *cfg,
                         GError **errp);
/* START sections of the iterative entries (their save_setup). */
bool savevm_state_setup(SaveVMState *s, QEMUFile *f, GError **errp);
/*
 * PART sections, entry by entry, stopping at the first that has more to
 * send: DONE when every entry is done for now, MORE when one has more,
 * ERROR (@errp set) when one failed.
 */
SaveVMIterateResult savevm_state_iterate(SaveVMState *s, QEMUFile *f,
                                         GError **errp);
/* Bytes still to send, summed over the iterative entries. */
uint64_t savevm_state_pending_estimate(SaveVMState *s);
bool savevm_state_pending_exact(SaveVMState *s, uint64_t *pending, GError **errp);
/*
 * END sections of the iterative entries, FULL sections of every device
 * whose vmsd is needed, EOF, then the vmdesc trailer.  VM stopped.
 */
bool savevm_state_complete(SaveVMState *s, QEMUFile *f, GError **errp);
/*
 * The second half of savevm_state_complete(): the FULL sections, EOF and
 * the vmdesc trailer, without END sections (background-snapshot writes
 * them into a buffer at its instant, its RAM goes in PART sections only).
 */
bool savevm_state_complete_non_iterable(SaveVMState *s, QEMUFile *f, GError **errp);
/*
 * Postcopy, in place of savevm_state_complete(): the FULL sections of
 * every device (into the package, no vmdesc from here on), and at the end
 * the END sections of the iterative entries and EOF.
 */
bool savevm_state_complete_devices(SaveVMState *s, QEMUFile *f, GError **errp);
bool savevm_state_complete_postcopy(SaveVMState *s, QEMUFile *f, GError **errp);
/* After success, failure or cancel: save_cleanup of every iterative entry; drops the vmdesc. */
void savevm_state_cleanup(SaveVMState *s);

/* ---- destination ---- */

/*
 * Read a whole precopy stream: header, configuration (checked against
 * @local_cfg), sections up to EOF, then the optional vmdesc trailer (read
 * and dropped; a missing or short trailer is not an error).  Runs the
 * iterative entries' load_setup before and load_cleanup after.  Errors
 * name the section and the stream offset.
 */
bool savevm_state_load(SaveVMState *s, QEMUFile *f, const SaveVMConfig *local_cfg,
                       GError **errp);

/*
 * After a savevm_state_load() that returned true (not at POSTCOPY_RUN):
 * why the trailer after EOF was malformed (not a vmdescription, longer
 * than SAVEVM_VMDESC_MAX, or cut short), or NULL when it was read whole or
 * absent.  The caller takes it.  A malformed trailer leaves unread bytes:
 * savevm_drain() them before closing a connection.
 */
GError *savevm_state_take_trailer_error(SaveVMState *s);

/*
 * Read and drop what is left of @f until it ends, at most @max bytes (the
 * peer may never stop).  A connection closed with bytes unread is reset,
 * which may overtake what this side wrote last.  Errors are left on @f.
 */
void savevm_drain(QEMUFile *f, size_t max);

/*
 * Did the last savevm_state_load() stop at POSTCOPY_RUN?  Then it returned
 * with the RAM section still open: the guest runs, and
 * savevm_state_load_more() loads the rest of @f until EOF; after a failure
 * (a broken link, postcopy recovery) it may be called again on the stream
 * of a new connection.  savevm_state_load_finish() then closes the load.
 */
bool savevm_state_load_quit(SaveVMState *s);
bool savevm_state_load_more(SaveVMState *s, QEMUFile *f, GError **errp);
void savevm_state_load_finish(SaveVMState *s);

/*
 * When the switchover payload went by, for the downtime's phases
 * (g_get_monotonic_time() µs; 0: not reached).  Source: when
 * savevm_state_complete had written the iterable sections (the final RAM
 * pass).  Destination: when the last savevm_state_load met its first END
 * section and its EOF.  Read by the thread that runs them, or after it.
 */
typedef struct SaveVMTimes {
    int64_t iterables_done_us;
    int64_t load_first_end_us;
    int64_t load_eof_us;
} SaveVMTimes;

SaveVMTimes savevm_state_times(const SaveVMState *s);

#endif
