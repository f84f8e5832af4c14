/*
 * The return path: messages from the destination back to the source, on
 * the other direction of the main channel (the same connection, so the
 * same cancel token and whatever the channel wraps; include/migration/
 * channel.h).  Framing `be16 type ; be16 len ; data`, qemu-migration-
 * facts.md §8 and facts-2 §12.1.
 *
 * Source: a thread ("mig/src/rp") reads the messages and hands them to
 * the migration (PONG, page requests, SWITCHOVER_ACK); it ends on the
 * destination's SHUT, on an error, or when the migration's token is
 * cancelled.  Destination: a sender any thread may use (the incoming
 * thread answers PINGs and says SHUT; the postcopy fault thread asks for
 * pages), serialised by a mutex.
 */
#ifndef MIGRATION_RETURN_PATH_H
#define MIGRATION_RETURN_PATH_H

#include "migration/migration.h"

/* QEMU's enum mig_rp_message_type. */
typedef enum MigRPMessage {
    MIG_RP_MSG_INVALID = 0,
    MIG_RP_MSG_SHUT,            /* be32 error (0: ok) */
    MIG_RP_MSG_PONG,            /* be32 the PING's value */
    MIG_RP_MSG_REQ_PAGES_ID,    /* be64 start, be32 len, u8 n, name */
    MIG_RP_MSG_REQ_PAGES,       /* be64 start, be32 len (the last block named) */
    MIG_RP_MSG_RECV_BITMAP,     /* u8 n, name; a bitmap follows */
    MIG_RP_MSG_RESUME_ACK,      /* be32 1 */
    MIG_RP_MSG_SWITCHOVER_ACK,  /* empty */
    MIG_RP_MSG_MAX
} MigRPMessage;

/*
 * tern's own (x-switchover-commit, switchover-commit.h): the destination
 * loaded everything and waits for the source's commit.  Empty.  Far from
 * QEMU's numbers; a QEMU source refuses it as an invalid message, which
 * fails its migration and resumes its guest, as it should.
 */
#define MIG_RP_MSG_X_SWITCHOVER_LOADED  0x7401

/* The longest message QEMU accepts. */
#define MIG_RP_MSG_MAX_LEN      512

/* RESUME_ACK's one accepted value (QEMU's MIGRATION_RESUME_ACK_VALUE). */
#define MIG_RP_RESUME_ACK_VALUE     1

/*
 * SHUT's values: 0 the load worked, any other it failed (QEMU sends 1).
 * tern's own: the load failed on x-verify-ram's comparison.  Only a
 * destination with x-verify-ram sends it, which a source without it (QEMU)
 * never migrates to, and a source reads it as any failure besides.
 */
#define MIG_RP_SHUT_OK                  0
#define MIG_RP_SHUT_FAILED              1
#define MIG_RP_SHUT_X_VERIFY_MISMATCH   2

/* ---- source ---- */

/*
 * What the source's return-path thread reports, on that thread.  A hook
 * returning false (with @errp set) ends the thread with that error; a
 * NULL hook refuses its message.
 */
typedef struct ReturnPathSourceOps {
    void (*pong)(void *opaque, uint32_t value);
    /* @block: the block named by this request or the last REQ_PAGES_ID. */
    bool (*req_pages)(void *opaque, const char *block, uint64_t start,
                      uint64_t len, GError **errp);
    void (*switchover_ack)(void *opaque);
    /*
     * Postcopy recovery: block @block's received bitmap follows on
     * @from_dst (ram_recover_load_bitmap() reads it); RESUME_ACK came
     * with the value QEMU requires.
     */
    bool (*recv_bitmap)(void *opaque, const char *block, QEMUFile *from_dst,
                        GError **errp);
    bool (*resume_ack)(void *opaque, GError **errp);
    /* SHUT with error @value: the destination's load ended, failed (not paused). */
    void (*shut_failed)(void *opaque, uint32_t value);
    /* x-switchover-commit: the destination loaded everything. */
    void (*switchover_loaded)(void *opaque);
    /* The thread is ending with @err (never NULL). */
    void (*failed)(void *opaque, const GError *err);
    /* The thread is ending, whatever ended it (after failed). */
    void (*ended)(void *opaque);
} ReturnPathSourceOps;

typedef struct ReturnPathSource ReturnPathSource;

/*
 * Open the return path of @to_dst and start reading it.  Fails with
 * QEMU's "Unable to open return-path for postcopy" when the channel is
 * not a socket (exec:, file:, a pipe).
 */
ReturnPathSource *return_path_source_start(QEMUFile *to_dst,
                                           const ReturnPathSourceOps *ops,
                                           void *opaque, GError **errp);

/*
 * Wait for the thread to end and free @rp: true if the destination said
 * SHUT with 0; else false with why (its error, a broken or cancelled
 * channel).  The caller cancels the channel first when it does not want
 * to wait for the destination.  NULL-safe (true).
 */
bool return_path_source_join(ReturnPathSource *rp, GError **errp);

/* The source's glue (MigrationState; migration thread). */

/*
 * Where the glue hands postcopy's messages: s->rp_postcopy, which
 * migration.c points at postcopy-source.c's and postcopy-recover-source.c's
 * handlers, so that the return path calls nothing above it.  Return-path
 * thread; false (with @errp set) ends it with that error.
 */
typedef struct ReturnPathPostcopyOps {
    bool (*req_pages)(MigrationState *s, const char *block, uint64_t start,
                      uint64_t len, GError **errp);
    bool (*recv_bitmap)(MigrationState *s, const char *block, QEMUFile *from_dst,
                        GError **errp);
    bool (*resume_ack)(MigrationState *s, GError **errp);
} ReturnPathPostcopyOps;

/* After the header: OPEN_RETURN_PATH and PING(1) when the return path is on. */
void migration_rp_announce(MigrationState *s);
/* After connecting: start the return path if the capabilities ask for one. */
bool migration_rp_open(MigrationState *s, GError **errp);
/*
 * After the last byte: wait (without the BQL, which the caller holds and
 * gets back) for the destination's verdict on the load.  False with the
 * BQL released on failure, as migration_switchover() leaves it.
 */
bool migration_rp_await(MigrationState *s, GError **errp);
/*
 * May the source switch over (precopy completion or postcopy)?  Always,
 * unless switchover-ack is on and the destination has not acked yet.
 */
bool migration_rp_switchover_acked(MigrationState *s);
/* Whatever happened: end the thread (cancelling its wait) and free it. */
void migration_rp_stop(MigrationState *s);

/* ---- destination ---- */

typedef struct ReturnPathDst ReturnPathDst;

/* The return path of @from_src (the stream the OPEN_RETURN_PATH came on). */
ReturnPathDst *return_path_dst_open(QEMUFile *from_src, GError **errp);

/* Send; any thread.  Errors stick (see return_path_dst_check()). */
void return_path_dst_send_shut(ReturnPathDst *rp, uint32_t value);
void return_path_dst_send_pong(ReturnPathDst *rp, uint32_t value);
/* A page request: REQ_PAGES_ID when @block differs from the last one sent. */
void return_path_dst_send_req_pages(ReturnPathDst *rp, const char *block,
                                    uint64_t start, uint32_t len);
void return_path_dst_send_switchover_ack(ReturnPathDst *rp);
void return_path_dst_send_switchover_loaded(ReturnPathDst *rp);
/*
 * Postcopy recovery: RECV_BITMAP naming @block, then its received bitmap
 * as QEMU frames it (be64 @size, @size bytes, be64 end mark); RESUME_ACK.
 */
void return_path_dst_send_recv_bitmap(ReturnPathDst *rp, const char *block,
                                      const void *bitmap, uint64_t size);
void return_path_dst_send_resume_ack(ReturnPathDst *rp);

/*
 * Postcopy recovery: the connection broke.  Detached, the return path
 * drops what is sent (the requests are sent again after the resume) and
 * forgets the last block named; attached to the stream of the new
 * connection, it sends again.  Any thread.
 */
void return_path_dst_detach(ReturnPathDst *rp);
bool return_path_dst_attach(ReturnPathDst *rp, QEMUFile *from_src, GError **errp);

/* Has every send so far reached the channel?  True while detached. */
bool return_path_dst_check(ReturnPathDst *rp, GError **errp);

/* Close the return path (NULL-safe); the connection closes with the stream. */
void return_path_dst_close(ReturnPathDst *rp);

#endif
