/*
 * CPR, checkpoint/restart (qemu-migration-facts-2.md §21): the CPR state
 * that carries file descriptors from the old process to the new one, the
 * cpr-transfer handshake on the cpr channel, and the checks a CPR
 * migration needs.
 *
 * The CPR state is QEMU's: be32 magic "QCPR", be32 version 1, then the
 * bare vmstate "CprState": a list of `u8 1 ; be32 namelen ; name with its
 * NUL ; be32 id ; fd` entries (newest first) ended by `u8 0`, then the
 * empty subsection "CprState/vfio devices".  An fd travels as one byte
 * (0x20) sent alone with SCM_RIGHTS.
 */
#ifndef MIGRATION_CPR_H
#define MIGRATION_CPR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/ramblock.h"
#include "qapi/qapi-types.h"

#define CPR_STATE_MAGIC         0x51435052u     /* "QCPR" */
#define CPR_STATE_VERSION       1u
#define CPR_STATE_FD_BYTE       0x20            /* rides with each fd */
/* The longest name tern accepts (QEMU's names are ids and qdev paths). */
#define CPR_STATE_NAME_MAX      1024

typedef struct ChannelCancel ChannelCancel;

/* Named fds: the source's (borrowed) or those that arrived (owned until taken). */
typedef struct CprState CprState;

CprState *cpr_state_new(void);
/* Closes every received fd nobody took; NULL-safe. */
void cpr_state_free(CprState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CprState, cpr_state_free)

/* Source: name @fd (borrowed: still the caller's) as (@name, @id). */
void cpr_state_add_fd(CprState *s, const char *name, int id, int fd);

/* Entries in @s. */
guint cpr_state_count(const CprState *s);

/*
 * Destination: take the fd named (@name, @id); the caller owns it then.
 * -1 when no entry has that name, or its fd did not arrive.
 */
int cpr_state_take_fd(CprState *s, const char *name, int id);

/* Destination: every entry was taken, else an error naming the first that was not. */
bool cpr_state_check_taken(const CprState *s, GError **errp);

/*
 * Write @s to the unix stream socket @sock: the bytes, each fd by
 * SCM_RIGHTS with its byte.  Blocking.
 */
bool cpr_state_send(const CprState *s, int sock, GError **errp);

/*
 * Parse a CPR state from @len bytes at @data and the fds that came with
 * them, oldest first (@fds, ints; those taken by entries are removed, and
 * any left over is an error: an fd no entry names).  Every failure says
 * what was wrong and at which offset.
 */
CprState *cpr_state_parse(const uint8_t *data, size_t len, GArray *fds, GError **errp);

/* Read @sock to its end (the sender's shutdown), collecting fds, and parse it. */
CprState *cpr_state_receive(int sock, GError **errp);

/* ---- cpr-transfer ---- */

/*
 * Source, at migrate: the cpr channel of @channels (NULL and no error when
 * there is none), checked to be a unix socket (QEMU's texts).
 */
bool cpr_channel_find(MigrationChannelList *channels, MigrationAddress **cpr,
                      GError **errp);

/*
 * Source, before the main channel connects (migration thread; the guest
 * keeps running): connect to @cpr, send every fd-backed block of @blocks
 * as (idstr, 0), shut writing down and wait until the new process closes
 * the channel, which it does once its main listener is up.  Fails on a
 * cancel of @cancel, and when the new process died before it read the
 * state.
 */
bool cpr_transfer_send(const MigrationAddress *cpr, GPtrArray *blocks,
                       ChannelCancel *cancel, GError **errp);

/*
 * Destination, at start-up before any monitor: listen on the unix socket
 * @cpr, accept one connection and read the CPR state.  Returns the
 * connected socket, which the caller closes once its main listener is up
 * (that releases the source), or -1.  Blocks until the source comes.
 */
int cpr_transfer_receive(const MigrationAddress *cpr, CprState **state, GError **errp);

/*
 * Source, at migrate in mode @mode with main channel @main and cpr channel
 * @cpr (NULL: none): QEMU's refusals, in QEMU's order: a missing cpr
 * channel, a main channel that is not a stream, a RAM block @blocks
 * holds that is not shared memory another process can map, and the
 * capabilities CPR cannot combine with (@caps indexed by
 * MigrationCapability).
 */
bool cpr_check_migrate(MigMode mode, const MigrationAddress *main,
                       const MigrationAddress *cpr, GPtrArray *blocks,
                       const bool *caps, GError **errp);

/*
 * Destination, once the machine is built on the CPR state's fds: every
 * entry was taken, and every block of @blocks is shared memory (a private
 * one would come up empty: no page of RAM travels in cpr-transfer).
 */
bool cpr_check_incoming_memory(const CprState *state, GPtrArray *blocks, GError **errp);

/* Destination, at migrate-incoming / -incoming: a file main channel with a CPR state. */
bool cpr_check_incoming(bool cpr_transfer, const MigrationAddress *main, GError **errp);

#endif
