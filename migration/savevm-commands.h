/*
 * QEMU_VM_COMMAND records (`u8 0x08 ; be16 cmd ; be16 len ; payload`,
 * qemu-migration-facts.md §4.5 and facts-2 §12.2): what the source sends
 * to steer the destination (open the return path, ping, the postcopy
 * steps), and the destination's parser, which checks every length before
 * it hands a command to whoever loads (incoming.c and the postcopy code).
 */
#ifndef MIGRATION_SAVEVM_COMMANDS_H
#define MIGRATION_SAVEVM_COMMANDS_H

#include "migration/savevm.h"

/* QEMU's enum MigrationCommand. */
typedef enum MigCommand {
    MIG_CMD_INVALID = 0,
    MIG_CMD_OPEN_RETURN_PATH,
    MIG_CMD_PING,
    MIG_CMD_POSTCOPY_ADVISE,
    MIG_CMD_POSTCOPY_LISTEN,
    MIG_CMD_POSTCOPY_RUN,
    MIG_CMD_POSTCOPY_RAM_DISCARD,
    MIG_CMD_PACKAGED,
    MIG_CMD_ENABLE_COLO,
    MIG_CMD_POSTCOPY_RESUME,
    MIG_CMD_RECV_BITMAP,
    MIG_CMD_SWITCHOVER_START,
    MIG_CMD_MAX
} MigCommand;

/* PING values the source sends (QEMU's, for a reader of a trace). */
#define MIG_PING_START          1
#define MIG_PING_BEFORE_PACKAGE 2
#define MIG_PING_IN_PACKAGE     3
#define MIG_PING_AFTER_PACKAGE  4

/* A PACKAGED blob longer than this is refused (QEMU's limit). */
#define MIG_MAX_PACKAGED_SIZE   UINT32_MAX

/* What the loader does after a command. */
typedef enum SaveVMCommandResult {
    SAVEVM_CMD_ERROR,
    SAVEVM_CMD_CONTINUE,        /* read the next record */
    SAVEVM_CMD_QUIT,            /* this stream's loop ends here (postcopy) */
} SaveVMCommandResult;

/*
 * The destination's side of the commands, called on the incoming thread
 * with the command's payload checked for length.  A NULL hook refuses its
 * command.
 */
typedef struct SaveVMCommandOps {
    /* @f: the stream the command came on (its channel gives the return path). */
    bool (*open_return_path)(void *opaque, QEMUFile *f, GError **errp);
    bool (*ping)(void *opaque, uint32_t value, GError **errp);
    bool (*postcopy_advise)(void *opaque, uint64_t ram_pagesize_summary,
                            uint64_t target_page_size, GError **errp);
    bool (*postcopy_listen)(void *opaque, QEMUFile *f, GError **errp);
    bool (*postcopy_run)(void *opaque, GError **errp);
    /* [@starts[i], +@lengths[i]) bytes of block @name, @n ranges. */
    bool (*postcopy_ram_discard)(void *opaque, const char *name,
                                 const uint64_t *starts, const uint64_t *lengths,
                                 size_t n, GError **errp);
    /* Postcopy recovery: send block @name's received bitmap back; then the resume. */
    bool (*recv_bitmap)(void *opaque, const char *name, GError **errp);
    bool (*postcopy_resume)(void *opaque, GError **errp);
} SaveVMCommandOps;

/* Load commands through @ops from now on (NULL: refuse them all). */
void savevm_set_command_ops(SaveVMState *s, const SaveVMCommandOps *ops, void *opaque);

/* ---- source ---- */
void savevm_send_open_return_path(QEMUFile *f);
void savevm_send_ping(QEMUFile *f, uint32_t value);
void savevm_send_postcopy_advise(QEMUFile *f, uint64_t ram_pagesize_summary);
void savevm_send_postcopy_listen(QEMUFile *f);
void savevm_send_postcopy_run(QEMUFile *f);
/* Up to MIG_DISCARD_MAX_RANGES ranges of block @name, in bytes. */
#define MIG_DISCARD_MAX_RANGES  12
void savevm_send_postcopy_ram_discard(QEMUFile *f, const char *name,
                                      const uint64_t *starts,
                                      const uint64_t *lengths, size_t n);
/* PACKAGED: @len bytes of nested stream (len <= MIG_MAX_PACKAGED_SIZE). */
void savevm_send_packaged(QEMUFile *f, const void *buf, size_t len);
/* Postcopy recovery: ask for block @name's received bitmap; resume once all came. */
void savevm_send_recv_bitmap(QEMUFile *f, const char *name);
void savevm_send_postcopy_resume(QEMUFile *f);
/*
 * tern's own, x-switchover-commit (switchover-commit.h): COMMIT, empty, far
 * from QEMU's numbers; not in MigCommand, so savevm_load_command() refuses
 * it as unknown anywhere but where switchover-commit.c reads it.
 */
#define MIG_CMD_X_SWITCHOVER_COMMIT     0x7401
void savevm_send_x_switchover_commit(QEMUFile *f);

/* ---- destination (savevm-load.c, after the 0x08 byte at @offset) ---- */

/*
 * The loop that loads records until EOF or a quitting command: PACKAGED's
 * nested stream goes through the caller's own (savevm-load.c's
 * savevm_load_sections), so that this parser stays below the loader.
 */
typedef bool (*SaveVMSectionLoader)(SaveVMState *s, QEMUFile *f, bool *quit,
                                    GError **errp);

SaveVMCommandResult savevm_load_command(SaveVMState *s, QEMUFile *f, uint64_t offset,
                                        SaveVMSectionLoader load_nested, GError **errp);

#endif
