/*
 * The fault-injection tests' shared parts (issue 17): the proxy tap that
 * finds a protocol step in the bytes and does one fault there, and the
 * steps every cell takes (a destination set up for it, the final states,
 * the guest's checks, the second migration).  Used by
 * migration-fault-test.c (the table) and the programs with more cells.
 */
#ifndef MIGRATION_FAULT_COMMON_H
#define MIGRATION_FAULT_COMMON_H

#include "migration-helpers.h"
#include "migration-proxy.h"

#include <sys/types.h>

/* Small RAM (3 MiB of a-b range) keeps every migration short under interp. */
#define FAULT_RAM_MIB       16
#define FAULT_START         (1u << 20)
#define FAULT_END           (4u << 20)
#define FAULT_RAM_RECORD    64      /* the RAM step: this page record of the passes */
#define FAULT_RAM2_RECORD   16      /* the second pass's step: this page record of it */
#define FAULT_TIMEOUT_MS    60000

#define MFD_CHANNELS        2
#define RP_MSG_SHUT         1
#define RP_MSG_LOADED       0x7401      /* x-switchover-commit's LOADED (tern's own) */
#define FAULT_MAX_CONNS     16

typedef enum FaultStep {
    STEP_HEADER, STEP_RAM, STEP_DEVICE, STEP_EOF, STEP_RP_SHUT,
    STEP_MFD_INIT, STEP_MFD_PACKET,     /* on multifd channel 0 (multifd, 2 channels) */
    STEP_POSTCOPY,                      /* the first page record after the package (postcopy) */
    STEP_RAM2,                          /* a page record of the second pass */
    STEP_COMMIT,                        /* x-switchover-commit's COMMIT, after the trailer */
    STEP_MFD_PASS2,                     /* multifd channel 0's first packet of pass 2 */
    STEP_PREEMPT,                       /* the preempt channel's first page record */
} FaultStep;

typedef enum FaultKind {
    FAULT_CLOSE, FAULT_STALL, FAULT_TRUNCATE, FAULT_CORRUPT, FAULT_KILL,
    FAULT_KILL_SOURCE,          /* the tap stalls at the step; the test kills the source */
} FaultKind;

extern const char *const step_names[];
extern const char *const fault_names[];

typedef enum FaultScanPhase {
    SCAN_HEADER, SCAN_SECTIONS, SCAN_RECORDS, SCAN_TRAILER,
} FaultScanPhase;

/* The proxy's tap: what it has seen of the watched direction and where the step is. */
typedef struct FaultTap {
    FaultStep step;
    FaultKind fault;
    uint16_t rp_type;           /* the return path's step: SHUT, or LOADED (commit) */
    GByteArray *seen;           /* every byte of the watched direction so far */
    size_t pos;                 /* parsed up to here (a record or section boundary) */
    FaultScanPhase phase;
    uint32_t ram_id;
    bool in_part;               /* records of a PART / END section (not START's) */
    bool after_package;         /* postcopy: the package (with POSTCOPY_RUN) went by */
    char *block;                /* the block of the last page record */
    GHashTable *last_addr;      /* block name -> its last page record's address */
    unsigned pass2_records;     /* page records since the second pass began */
    unsigned records;           /* page records in PART / END sections */
    size_t last_counted;        /* the last record header counted */
    uint64_t point;             /* the step's byte, or UINT64_MAX */
    bool done;
    gint released;              /* atomic; postcopy: the destination runs (see the tap) */
    GByteArray *rp_seen;        /* postcopy: the return path so far, for page requests */
    size_t rp_pos;              /* parsed up to here (a message boundary) */
    /* Multifd steps, per connection (each touched by its own thread only). */
    uint8_t conn_kind[FAULT_MAX_CONNS];
} FaultTap;

bool fault_step_is_multifd(FaultStep step);

/*
 * The proxy's tap (a MigProxyTap; @opaque is a FaultTap): finds the step
 * in the watched connection's bytes and does the fault there.
 */
size_t fault_tap(void *opaque, unsigned conn, MigProxyDir dir, uint8_t *buf,
                 size_t len, uint64_t offset, MigProxyAction *action);

/* What the tap kept (its proxy is freed). */
void fault_tap_clear(FaultTap *ft);

/* ---- the guest's travels ---- */

/* The processes of every cell: the a-b guest in 3 MiB of 16 MiB. */
extern const MigrateStart fault_args;

/* The destination has the guest now: it becomes the source, the old one quits. */
void fault_swap(MigTest *t);

/* The guest runs: new 'B's on @serial. */
void fault_check_guest_runs(const char *serial);

/* The destination's memory is a-b's, checked stopped; then it runs on. */
void fault_check_dest_memory(MigTest *t);

/* query-migrate's status and error-desc (NULL if none) now (both transfer full). */
char *fault_query(QTestState *who, char **desc);

/* query-migrate's status once it is final (failed, completed, cancelled or postcopy-paused). */
char *fault_wait_final(QTestState *who, char **desc);

/* Wait until @pid is dead (a zombie or gone): a kill took effect. */
void fault_wait_dead(pid_t pid);

/* What a cell's destination and its source run with. */
typedef struct FaultCaps {
    bool multifd, postcopy, preempt, commit;
} FaultCaps;

/* A fresh destination listening at @dst_path; both sides' capabilities set. */
void fault_start_destination(MigTest *t, const char *dst_path, bool multifd,
                             bool commit);

/* A socket path of its own for each destination (transfer full). */
char *fault_socket_path(MigTest *t, const char *what);

/* The second migration: whoever has the guest, to a fresh destination, with the memory check. */
void fault_migrate_ok(MigTest *t, bool multifd, bool commit);

/* The side that failed or was cancelled: it says why, its guest runs, no thread is left. */
void fault_check_source_survived(MigTest *t, const char *status, const char *desc);

/* ---- postcopy ---- */

/* @who's guest runs (a destination after POSTCOPY_RUN). */
void fault_wait_running(QTestState *who);

/*
 * A fresh destination with postcopy-ram (and postcopy-preempt if @preempt)
 * on both sides, the background pass at a trickle.
 */
void fault_postcopy_start_destination(MigTest *t, const char *dst_path, bool preempt);

/* Both paused, the guest the destination's: recover by hand, then the memory check. */
void fault_postcopy_recover(MigTest *t);

#endif
