/*
 * RAM verification (capability x-verify-ram): proof that the destination's
 * RAM is, page for page, what the source sent last.  Every RAM path calls
 * ram_verify_page() or ram_verify_page_in_place() once per page it sends
 * (source) or places (destination), the latter hashed by a digest worker
 * off the migration's thread; the digests are folded per chunk of pages as the
 * migration goes, so at switchover only the chunks dirtied in the last
 * round are folded again and RAM itself is never reread while the guest is
 * stopped.  The source's chunk digests travel in their own section
 * ("tern-verify-ram") after the RAM's last section; the destination
 * compares them with its own before it loads device state, and fails the
 * load naming the block and the first byte range that differs.
 *
 * The digest: CRC-32 of each page (libgcrypt's PCLMUL-accelerated CRC),
 * SHA-256 (SHA-NI) over each chunk of page CRCs.  docs/devel/ram-verify.md
 * gives the measurements behind the choice and what it does not catch.
 */
#ifndef MIGRATION_RAM_VERIFY_H
#define MIGRATION_RAM_VERIFY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec/ramblock.h"
#include "migration/register.h"
#include "qapi/qapi-types.h"

/* Pages per chunk: the unit a mismatch is named in (1 MiB of 4 KiB pages). */
#define RAM_VERIFY_CHUNK_PAGES      256
/* The section's name and version in the stream. */
#define RAM_VERIFY_SECTION_IDSTR    "tern-verify-ram"
#define RAM_VERIFY_SECTION_VERSION  1

typedef struct RAMVerify RAMVerify;

/* A verifier over @blocks (RAMBlock *, not owned, outliving it); inactive. */
RAMVerify *ram_verify_new(GPtrArray *blocks);
/* NULL-safe. */
void ram_verify_free(RAMVerify *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RAMVerify, ram_verify_free)

/*
 * Every function but ram_verify_page() and ram_verify_fold() takes a NULL
 * verifier (no RAM: nothing to verify).
 *
 * Start (or not, @on false) keeping digests for a new migration: every
 * page counts as zero until a RAM path reports it.  Called before the
 * stream's first section, by the thread that then runs the migration (or
 * the load); no RAM path may run concurrently.
 */
void ram_verify_start(RAMVerify *v, bool on);

/* True between ram_verify_start(v, true) and the next start. */
bool ram_verify_is_active(const RAMVerify *v);

/*
 * Destination, incoming thread, at postcopy's LISTEN (drains and stops the
 * worker: from RUN on the guest writes RAM): the guest will run
 * here before the last page is placed (the preempt channel's thread may
 * still place some after the main stream's END), so the source's digests
 * are kept when they come and compared by ram_verify_load_done().  Until
 * the next ram_verify_start().
 */
void ram_verify_set_postcopy(RAMVerify *v);

/*
 * Destination: @on when its RAM path places pages without reporting them
 * (mapped-ram reads the file straight into guest memory); the comparison
 * then first takes every page's CRC from RAM itself.  Set before the load;
 * kept across ram_verify_start().
 */
void ram_verify_set_scan_on_load(RAMVerify *v, bool on);

/* Did the comparison find a chunk that differs?  Any thread. */
bool ram_verify_mismatched(RAMVerify *v);

/*
 * Source, any thread (the return path's): the destination's comparison
 * failed (its SHUT said so), so this side's status says failed too.
 * Until the next ram_verify_start().  Nothing when inactive.
 */
void ram_verify_set_peer_mismatch(RAMVerify *v);

/*
 * THE hook.  Page @page of @rb was sent (source) or placed (destination)
 * with the contents @data (TARGET_PAGE_SIZE bytes), or as a zero page when
 * @data is NULL.  Cheap when inactive or when @v is NULL (a path built
 * without a verifier, as unit tests build them).  May be called from
 * several threads at once for different pages (multifd channels), also
 * while ram_verify_fold() runs; not for the same page at once.
 */
void ram_verify_page(RAMVerify *v, const RAMBlock *rb, uint64_t page, const void *data);

/*
 * The same for a page that is in RAM, at rb->host (or a zero page, @zero):
 * with a worker running (ram_verify_worker_start()), the page is only
 * queued and the worker reads it from RAM later, off this thread.  Only
 * the thread that started the worker calls it; without a worker it digests
 * at once, like ram_verify_page().  Deferring is right only where RAM
 * still holds the page as sent or placed when the worker reads it, or a
 * later write makes it sent or placed (and reported) again before the
 * comparison: docs/devel/ram-verify.md, "Threads: the digest worker".
 */
void ram_verify_page_in_place(RAMVerify *v, const RAMBlock *rb, uint64_t page, bool zero);

/*
 * Start the digest worker of ram_verify_page_in_place() for this
 * migration (a thread, "mig/verify"); nothing when inactive or running.
 * The thread that calls it is the worker's only producer; it stops the
 * worker (ram_verify_worker_stop()) when its RAM path ends, whatever the
 * outcome.  ram_verify_start(), ram_verify_set_postcopy() and
 * ram_verify_free() stop it too.  NULL-safe.
 */
void ram_verify_worker_start(RAMVerify *v);

/*
 * Producer thread: return once every page queued so far is digested.  The
 * RAM paths drain at each round's boundary (the source's dirty sync, the
 * destination's end of a RAM section), so a round's deferred digests are
 * all stored before any page of the next round is reported by any thread.
 * The final fold and the comparison drain first.  NULL-safe.
 */
void ram_verify_drain(RAMVerify *v);

/* Producer thread: stop and join the worker, dropping what is queued.  NULL-safe. */
void ram_verify_worker_stop(RAMVerify *v);

/*
 * For a process that loads many streams one after another (the fuzz
 * targets): ram_verify_worker_stop() drains the worker and parks its
 * thread instead of joining it, and the next ram_verify_worker_start()
 * takes it back, so a load costs no thread creation.  The parked thread
 * ends with ram_verify_free().  A migration process leaves this off: an
 * idle thread after its one load would be waste.
 */
void ram_verify_set_keep_worker(RAMVerify *v, bool keep);

/*
 * Fold the chunks whose pages changed since the last fold.  Called by the
 * RAM path's owner thread between rounds so the switchover has little
 * left to fold.  A page reported meanwhile leaves its chunk for the next
 * fold; the last fold (at the section's END) must come after every
 * sender finished (multifd: after the sync).
 */
void ram_verify_fold(RAMVerify *v);

/*
 * Destination, incoming thread, after the last section and after every
 * other thread placed its last page: with postcopy, the comparison
 * (false, the block and range in @errp, when RAM differs); always, false
 * when the verifier is active but no digests came (the source does not
 * verify).
 */
bool ram_verify_load_done(RAMVerify *v, GError **errp);

/*
 * The x-verify-ram member of query-migrate, or NULL when this side did not
 * verify.  @completed: the migration completed (on the source, with the
 * return path that x-verify-ram needs, it means the destination's
 * comparison passed).  Any thread.
 */
VerifyRamInfo *ram_verify_info(RAMVerify *v, bool completed);

/* The "tern-verify-ram" section; opaque is the RAMVerify. */
extern const SaveVMHandlers ram_verify_handlers;

#endif
