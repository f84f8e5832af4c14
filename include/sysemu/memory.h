/*
 * Guest memory: a GuestMemory is one VM's list of RAMBlocks (the machine's
 * main RAM and every memory backend), with host backing (anonymous, memfd,
 * file), guest-physical access for devices and qtest, and the one
 * dirty-tracking interface migration uses.  The machine owns it
 * (Machine.memory, hw/machine.c builds it); every reader is handed it.
 * Block ids are stable and documented in docs/memory.md: "pc.ram" for -m
 * RAM, the backend id for a backend.
 *
 * The list is built at start-up (main thread) and fixed afterwards, so
 * lookups and iteration need no lock; block contents and dirty bitmaps are
 * shared with vCPU threads as described per function.
 */
#ifndef SYSEMU_MEMORY_H
#define SYSEMU_MEMORY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec/ramblock.h"
#include "sysemu/accel-ops.h"
#include "sysemu/vm.h"

#define RAM_ADDR_INVALID UINT64_MAX     /* guest_addr of an unmapped block */
#define MAIN_RAM_ID "pc.ram"            /* QEMU's id for x86 main RAM */
#define MAIN_RAM_DEFAULT_SIZE (128 * 1024 * 1024)

typedef enum MemoryBackendKind {
    MEMORY_BACKEND_RAM,
    MEMORY_BACKEND_MEMFD,
    MEMORY_BACKEND_FILE,
} MemoryBackendKind;

/* What -object memory-backend-*,... asked for. */
typedef struct MemoryBackendConfig {
    MemoryBackendKind kind;
    char *id;
    uint64_t size;
    bool share;
    char *mem_path;             /* file backend only */
    bool prealloc;
} MemoryBackendConfig;

/*
 * Parse the option table of one -object whose qom-type is a memory backend
 * ("memory-backend-ram", "-memfd", "-file").  Returns NULL with QEMU-like
 * errors ("can't create backend with size 0", "Invalid parameter 'x'", ...).
 */
MemoryBackendConfig *memory_backend_config_parse(GHashTable *opts,
                                                 GError **errp);
void memory_backend_config_free(MemoryBackendConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MemoryBackendConfig, memory_backend_config_free)

/* One VM's guest memory: its RAM blocks and the dirty log's accelerator. */
typedef struct GuestMemory GuestMemory;

/* An empty block list (start-up, main thread). */
GuestMemory *guest_memory_new(void);

/*
 * Where shared blocks get their memory when another process already holds
 * it (CPR, include/migration/cpr.h): @take returns the fd for block @id
 * (the caller owns it), or -1 when none came.
 */
typedef struct MemoryFdSource {
    int (*take)(void *opaque, const char *id);
    void *opaque;
} MemoryFdSource;

/*
 * From now on, every memfd block and every memory-backend-ram,share=on
 * block of @gm maps the fd @src gives for its id, and one that gets none
 * fails (tern's choice where QEMU makes an empty memfd: the guest's memory
 * would be lost).  Before any block is added; @src must outlive @gm's
 * start-up.  NULL: blocks create their own memory (the default).
 */
void guest_memory_set_fd_source(GuestMemory *gm, const MemoryFdSource *src);

/* Unmap and free every block, then @gm; NULL-safe (shut-down and tests). */
void guest_memory_free(GuestMemory *gm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestMemory, guest_memory_free)

/*
 * Create a block from a backend and append it to @gm (unmapped until
 * memory_map_block()).  Fails on a duplicate id or when the backing cannot
 * be created; the message names the backend.
 */
RAMBlock *memory_add_backend(GuestMemory *gm, const MemoryBackendConfig *cfg,
                             GError **errp);

/* Create the anonymous main RAM block "pc.ram" of @size bytes. */
RAMBlock *memory_add_main_ram(GuestMemory *gm, uint64_t size, GError **errp);

/* Map @rb, one of @gm's blocks, into guest-physical space at @gpa
 * (start-up only). */
bool memory_map_block(GuestMemory *gm, RAMBlock *rb, uint64_t gpa,
                      GError **errp);

/* ---- the block list ---- */

RAMBlock *ram_block_by_id(GuestMemory *gm, const char *id);
/* Every block, in creation order (borrowed; RAMBlock*). */
GPtrArray *ram_block_list(GuestMemory *gm);
/* The guest-mapped blocks only (what the accelerator maps). */
GPtrArray *ram_block_list_mapped(GuestMemory *gm);

/* Size of the machine's main RAM (what -m says), 0 before it is mapped. */
uint64_t memory_main_ram_size(GuestMemory *gm);

/* HMP "info ramblock": one header line and one line per block. */
char *memory_format_ramblocks(GuestMemory *gm);

/* ---- guest-physical access (devices, qtest, loaders) ---- */

/*
 * Copy guest-physical [@gpa, @gpa + @len) out of / into guest RAM.  The
 * range must lie inside one mapped block.  Writes mark the pages in
 * rb->dirty_log.  Any thread, concurrent with vCPUs as real DMA is; a
 * writer holds the BQL (memory_sync_dirty() relies on it where
 * membarrier(2) is missing).
 */
bool guest_memory_read(GuestMemory *gm, uint64_t gpa, void *buf,
                       uint64_t len, GError **errp);
bool guest_memory_write(GuestMemory *gm, uint64_t gpa, const void *buf,
                        uint64_t len, GError **errp);
/*
 * Where [@gpa, @gpa + @len) lives in this process, for reading it in place
 * (qtest's read without a copy); NULL with @errp set if it is not in one
 * mapped block.  Valid while the block exists.
 */
const uint8_t *guest_memory_view(GuestMemory *gm, uint64_t gpa, uint64_t len,
                                 GError **errp);
/* Fill with @byte (qtest memset). */
bool guest_memory_set(GuestMemory *gm, uint64_t gpa, uint8_t byte,
                      uint64_t len, GError **errp);

/* ---- dirty tracking ---- */

/*
 * Which accelerator's dirty log memory_sync_dirty() merges (NULL: none),
 * and whose vCPUs write guest memory (NULL: none), so a collect without
 * membarrier(2) can park them.
 */
void memory_set_accel(GuestMemory *gm, const AccelOps *ops,
                      AccelState *accel, VM *vm);

/*
 * Start recording guest writes: clears every block's software log and
 * starts the accelerator's.  Main or migration thread, BQL held.
 */
bool memory_dirty_log_start(GuestMemory *gm, GError **errp);

/*
 * OR into @dest (one bit per target page of @rb) every page written since
 * the previous sync (or start), from the accelerator and from
 * rb->dirty_log, and forget them.  Every write whose page is not in @dest
 * is visible in @rb by the time this returns (a later sync reports the
 * page otherwise).  Any thread but a vCPU's, with or without the BQL (it
 * takes it when membarrier(2) is missing, to park the vCPUs); one syncing
 * thread at a time.
 */
bool memory_sync_dirty(GuestMemory *gm, RAMBlock *rb, unsigned long *dest,
                       GError **errp);

/*
 * Order the collect by parking the vCPUs even where membarrier(2) works,
 * as where it does not (tests of that path).
 */
void memory_dirty_barrier_force_pause(GuestMemory *gm, bool force);

void memory_dirty_log_stop(GuestMemory *gm);

#endif
