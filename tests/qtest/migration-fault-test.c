/*
 * Fault injection (issue 17): a precopy migration with return-path goes
 * through a proxy (migration-proxy.h) that watches the stream and, at one
 * protocol step, does one fault.  Steps are found in the bytes, never by
 * time: the file header (its 6th byte), the 64th page record of the RAM
 * passes, the 16th page record of the second pass (which begins at the
 * first record that goes back to an address its block already sent), the
 * first device section after RAM's END (switchover: the source's guest is
 * stopped), the VM description trailer just after EOF, and the
 * destination's SHUT on the return path.  With multifd (2
 * channels) the steps are on multifd channel 0, not the main one: its
 * MultiFDInit (the channel id byte) and the middle of the pages of its
 * first packet that carries pages.  With postcopy, the first page record
 * after the package (LISTEN, the devices, POSTCOPY_RUN), held there until
 * the destination runs, is closed at or corrupted: both sides must pause
 * and a recovery by hand must complete (test_fault_postcopy).  Faults:
 *
 *   close     both ends of the connection are closed there;
 *   stall     nothing more is read or written either way: neither side
 *             has a timeout (as QEMU), so the source must end on
 *             migrate_cancel; then the proxy lets go (closes);
 *   truncate  that direction ends there (shutdown for writing), the other
 *             goes on;
 *   corrupt   one byte is changed there (the header's version, the
 *             record's address, the section's type, the trailer's type,
 *             SHUT's type, the MultiFDInit's channel id, the packet's
 *             middle page offset: a page's own bytes have no check), the
 *             rest forwarded;
 *   kill      the destination is killed (SIGKILL) having received the
 *             bytes before the step, then the proxy lets go.
 *
 * Every cell checks: the source ends as the table says (failed with an
 * error-desc, or cancelled, or completed) and, unless it completed, its
 * guest runs on (new 'B's) with no migration thread left; the destination
 * ends as the table says, naming the problem in error-desc when it
 * failed, with no load thread left, and when it completed the guest runs
 * there and its memory is a-b's; then a second migration of whoever has
 * the guest to a fresh destination completes with the memory check.  The
 * guest moves from cell to cell (the process that has it is the next
 * cell's source), so the table costs one destination pair per cell.
 *
 * The cells where the destination completed but the source failed (the
 * return path lost after the destination loaded everything) leave both
 * guests running: the source cannot know; QEMU does the same.  The table
 * says so for each.  A second run of those cells has x-switchover-commit
 * on both sides (commit_table): the return path's step is then the
 * destination's LOADED, and one more step is the source's COMMIT after
 * the trailer (its type byte).  There no cell leaves two guests running:
 * the source fails (or is cancelled) and resumes, or (at COMMIT) it
 * completes with its guest stopped; the destination fails with its guest
 * paused, and where the source completed 'cont' runs the guest there.
 */
#include "migration-helpers.h"
#include "migration-proxy.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Small RAM (3 MiB of a-b range) keeps every migration short under interp. */
#define FAULT_RAM_MIB       16
#define FAULT_START         (1u << 20)
#define FAULT_END           (4u << 20)
#define FAULT_RAM_RECORD    64      /* the RAM step: this page record of the passes */
#define FAULT_RAM2_RECORD   16      /* the second pass's step: this page record of it */
#define FAULT_TIMEOUT_MS    60000

#define VM_EOF              0x00
#define VM_SECTION_START    0x01
#define VM_SECTION_PART     0x02
#define VM_SECTION_END      0x03
#define VM_SECTION_FULL     0x04
#define VM_VMDESCRIPTION    0x06
#define VM_CONFIGURATION    0x07
#define VM_COMMAND          0x08
#define MIG_CMD_PACKAGED    7
#define VM_SECTION_FOOTER   0x7e
#define RAM_ZERO            0x02
#define RAM_MEM_SIZE        0x04
#define RAM_PAGE            0x08
#define RAM_EOS             0x10
#define RAM_CONTINUE        0x20
#define RAM_MULTIFD_FLUSH   0x200
#define RP_MSG_SHUT         1
#define RP_MSG_LOADED       0x7401      /* x-switchover-commit's LOADED (tern's own) */

#define MFD_CHANNELS        2
#define MFD_MAGIC           0x11223344u
#define MFD_INIT_SIZE       64
#define MFD_INIT_ID         24          /* the MultiFDInit's channel id byte */
#define MFD_HDR_SIZE        (320 + 8 * 128)     /* a packet header, its offsets included */
#define MFD_HDR_NORMAL      16
#define MFD_HDR_SIZE_FIELD  20
#define MFD_HDR_OFFSETS     320
#define FAULT_MAX_CONNS     16

/* A multifd step's connection: not known yet, another one, the one watched (channel 0). */
enum { CONN_UNKNOWN, CONN_OTHER, CONN_WATCHED };

typedef enum FaultStep {
    STEP_HEADER, STEP_RAM, STEP_DEVICE, STEP_EOF, STEP_RP_SHUT,
    STEP_MFD_INIT, STEP_MFD_PACKET,     /* on multifd channel 0 (multifd, 2 channels) */
    STEP_POSTCOPY,                      /* the first page record after the package (postcopy) */
    STEP_RAM2,                          /* a page record of the second pass */
    STEP_COMMIT,                        /* x-switchover-commit's COMMIT, after the trailer */
} FaultStep;

typedef enum FaultKind {
    FAULT_CLOSE, FAULT_STALL, FAULT_TRUNCATE, FAULT_CORRUPT, FAULT_KILL,
} FaultKind;

static const char *const step_names[] = {
    "header", "ram", "device", "eof", "rp-shut", "multifd-init", "multifd-packet",
    "postcopy-run", "ram-pass2", "commit",
};
static const char *const fault_names[] = { "close", "stall", "truncate", "corrupt", "kill" };

/* One cell: the step, the fault, how each side must end, what the destination says. */
typedef struct FaultCell {
    FaultStep step;
    FaultKind fault;
    const char *src_end;        /* failed, cancelled, completed */
    const char *dst_end;        /* failed, completed, killed */
    const char *dst_says;       /* in the destination's error-desc (failed) */
    bool commit;                /* x-switchover-commit on both sides */
} FaultCell;

#define F "failed"
#define C "completed"
#define X "cancelled"
#define K "killed"

/*
 * "migration stream" is in every read or write failure: which comes first
 * (a reply to the source's PING written into a closed link, or the next
 * record read from it) depends on how far the destination had read.
 */
static const FaultCell fault_table[] = {
    { STEP_HEADER, FAULT_CLOSE, F, F, "reading the stream header" },
    { STEP_HEADER, FAULT_STALL, X, F, "reading the stream header" },
    { STEP_HEADER, FAULT_TRUNCATE, F, F, "reading the stream header" },
    { STEP_HEADER, FAULT_CORRUPT, F, F, "Unsupported migration stream version" },
    { STEP_HEADER, FAULT_KILL, F, K, NULL },
    { STEP_RAM, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_RAM, FAULT_STALL, X, F, "migration stream" },
    { STEP_RAM, FAULT_TRUNCATE, F, F, "RAM record at stream offset" },
    { STEP_RAM, FAULT_CORRUPT, F, F, "Illegal RAM offset 0x80000000" },
    { STEP_RAM, FAULT_KILL, F, K, NULL },
    { STEP_DEVICE, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_DEVICE, FAULT_STALL, X, F, "migration stream" },
    { STEP_DEVICE, FAULT_TRUNCATE, F, F, "reading a section type" },
    { STEP_DEVICE, FAULT_CORRUPT, F, F, "Unknown savevm section type 123" },
    { STEP_DEVICE, FAULT_KILL, F, K, NULL },
    /*
     * The trailer is optional: the destination has all it needs.  A
     * malformed one is drained after SHUT, until the source closes.
     */
    { STEP_EOF, FAULT_CLOSE, F, C, NULL },
    { STEP_EOF, FAULT_STALL, X, C, NULL },
    { STEP_EOF, FAULT_TRUNCATE, C, C, NULL },
    { STEP_EOF, FAULT_CORRUPT, C, C, NULL },
    { STEP_EOF, FAULT_KILL, F, K, NULL },
    /* The destination loaded and runs; the source never hears it. */
    { STEP_RP_SHUT, FAULT_CLOSE, F, C, NULL },
    { STEP_RP_SHUT, FAULT_STALL, X, C, NULL },
    { STEP_RP_SHUT, FAULT_TRUNCATE, F, C, NULL },
    { STEP_RP_SHUT, FAULT_CORRUPT, F, C, NULL },
    { STEP_RP_SHUT, FAULT_KILL, F, K, NULL },
    /* The second pass: as the first, later. */
    { STEP_RAM2, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_RAM2, FAULT_STALL, X, F, "migration stream" },
    { STEP_RAM2, FAULT_TRUNCATE, F, F, "RAM record at stream offset" },
    { STEP_RAM2, FAULT_CORRUPT, F, F, "Illegal RAM offset" },
    { STEP_RAM2, FAULT_KILL, F, K, NULL },
    /*
     * Multifd channel 0: its MultiFDInit's id byte; the middle of a packet's
     * pages.  A closed or stalled channel: the source may fail (or be
     * cancelled) first and close the main channel, so which channel the
     * destination names varies; a truncated one is the first it sees.
     */
    { STEP_MFD_INIT, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_MFD_INIT, FAULT_STALL, X, F, "migration stream" },
    { STEP_MFD_INIT, FAULT_TRUNCATE, F, F, "multifd channel: migration stream ended" },
    { STEP_MFD_INIT, FAULT_CORRUPT, F, F, "received channel id 128 is greater than" },
    { STEP_MFD_INIT, FAULT_KILL, F, K, NULL },
    { STEP_MFD_PACKET, FAULT_CLOSE, F, F, "migration stream" },
    { STEP_MFD_PACKET, FAULT_STALL, X, F, "migration stream" },
    { STEP_MFD_PACKET, FAULT_TRUNCATE, F, F, "multifd channel 0: packet" },
    { STEP_MFD_PACKET, FAULT_CORRUPT, F, F, "is out of RAM block" },
    { STEP_MFD_PACKET, FAULT_KILL, F, K, NULL },
};

/*
 * The split-brain cells again, with x-switchover-commit on both sides:
 * the return path's step is then LOADED (the destination's "I have it
 * all", which SHUT was), and a step more, the source's COMMIT after the
 * trailer.  No cell ends with both guests running: without LOADED the
 * source fails (or is cancelled) and resumes, the destination fails
 * paused; with it (the commit step) the source completes, its guest
 * stopped, and the destination fails paused with its state complete,
 * where 'cont' runs the guest.
 */
#define NO_COMMIT "switchover commit not received"
static const FaultCell commit_table[] = {
    { STEP_EOF, FAULT_CLOSE, F, F, NO_COMMIT, true },
    { STEP_EOF, FAULT_STALL, X, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_CLOSE, F, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_STALL, X, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_TRUNCATE, F, F, NO_COMMIT, true },
    { STEP_RP_SHUT, FAULT_CORRUPT, F, F, NO_COMMIT, true },
    /* The source has LOADED: committed, whatever comes; a stall ends on cancel. */
    { STEP_COMMIT, FAULT_CLOSE, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_STALL, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_TRUNCATE, C, F, NO_COMMIT, true },
    { STEP_COMMIT, FAULT_CORRUPT, C, F, "not the commit", true },
};

/* A cell's step, named: with the commit, the return path's step is LOADED. */
static const char *fault_step_name(const FaultCell *cell)
{
    return cell->commit && cell->step == STEP_RP_SHUT ? "rp-loaded" : step_names[cell->step];
}

/* ---- finding the step in the bytes ---- */

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
    gint released;              /* atomic; postcopy: the test saw the destination run */
    /* Multifd steps, per connection (each touched by its own thread only). */
    uint8_t conn_kind[FAULT_MAX_CONNS];
} FaultTap;

static bool fault_step_is_multifd(FaultStep step)
{
    return step == STEP_MFD_INIT || step == STEP_MFD_PACKET;
}

static uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)be16_at(p) << 16 | be16_at(p + 2);
}

static uint64_t be64_at(const uint8_t *p)
{
    return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

/* One section header at ft->pos; false when more bytes are needed. */
static bool fault_scan_section(FaultTap *ft, const uint8_t *d, size_t n)
{
    size_t p = ft->pos;
    size_t len;

    switch (d[p]) {
    case VM_CONFIGURATION:
        if (n < p + 5 || n < p + 5 + be32_at(d + p + 1)) {
            return false;
        }
        ft->pos = p + 5 + be32_at(d + p + 1);
        return true;
    case VM_COMMAND:
        if (n < p + 5 || n < p + 5 + be16_at(d + p + 3)) {
            return false;
        }
        ft->pos = p + 5 + be16_at(d + p + 3);
        if (be16_at(d + p + 1) == MIG_CMD_PACKAGED) {
            /* Its blob (LISTEN, the devices, RUN) is skipped whole. */
            ft->pos += be32_at(d + p + 5);
            ft->after_package = true;
        }
        return true;
    case VM_SECTION_START:
        if (n < p + 6 || n < p + 6 + d[p + 5] + 8) {
            return false;
        }
        len = d[p + 5];
        if (len != 3 || memcmp(d + p + 6, "ram", 3)) {
            g_error("unexpected section '%.*s' at %zu", (int)len, d + p + 6, p);
        }
        ft->ram_id = be32_at(d + p + 1);
        ft->in_part = false;
        ft->pos = p + 6 + len + 8;
        ft->phase = SCAN_RECORDS;
        return true;
    case VM_SECTION_PART:
    case VM_SECTION_END:
        if (n < p + 5) {
            return false;
        }
        g_assert_cmpuint(be32_at(d + p + 1), ==, ft->ram_id);
        ft->in_part = true;
        ft->pos = p + 5;
        ft->phase = SCAN_RECORDS;
        return true;
    case VM_SECTION_FULL:
        /* The first device section: the switchover's device state. */
        if (ft->step == STEP_DEVICE) {
            ft->point = p;
        }
        ft->phase = SCAN_TRAILER;
        return true;
    default:
        g_error("unexpected section type 0x%x at %zu", d[p], p);
    }
}

/* The block list of a MEM_SIZE record at @p; its end, or 0 when more bytes are needed. */
static size_t fault_scan_block_list(const uint8_t *d, size_t n, size_t p)
{
    uint64_t left = be64_at(d + p) & ~0xfffull;
    size_t q = p + 8;

    while (left) {
        if (n < q + 1 || n < q + 1 + d[q] + 8) {
            return 0;
        }
        left -= MIN(left, be64_at(d + q + 1 + d[q]));
        q += 1 + d[q] + 8;
    }
    return q;
}

/*
 * A whole page record at @p: the second pass began when a record goes
 * back (an address not past its block's last one: the first pass sends
 * each block in address order).  True at the second pass's step.
 */
static bool fault_track_pass(FaultTap *ft, const uint8_t *d, size_t p, uint64_t flags)
{
    uint64_t addr = be64_at(d + p) & ~0xfffull;
    uint64_t *last;

    if (!(flags & RAM_CONTINUE)) {
        g_free(ft->block);
        ft->block = g_strndup((const char *)d + p + 9, d[p + 8]);
    }
    g_assert_nonnull(ft->block);
    if (!ft->last_addr) {
        ft->last_addr = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    last = g_hash_table_lookup(ft->last_addr, ft->block);
    if (ft->pass2_records || (last && addr <= *last)) {
        ft->pass2_records++;
    }
    g_hash_table_insert(ft->last_addr, g_strdup(ft->block), g_memdup2(&addr, sizeof(addr)));
    return ft->step == STEP_RAM2 && ft->pass2_records == FAULT_RAM2_RECORD;
}

/* One RAM record at ft->pos; false when more bytes are needed. */
static bool fault_scan_record(FaultTap *ft, const uint8_t *d, size_t n)
{
    size_t p = ft->pos, q = p + 8;
    uint64_t flags;

    if (n < p + 8) {
        return false;
    }
    flags = be64_at(d + p) & 0xfff;
    if (ft->step == STEP_POSTCOPY && ft->after_package && (flags & (RAM_ZERO | RAM_PAGE))) {
        ft->point = p;
        return false;
    }
    if (ft->in_part && (flags & (RAM_ZERO | RAM_PAGE)) && p != ft->last_counted) {
        ft->last_counted = p;
        if (++ft->records == FAULT_RAM_RECORD && ft->step == STEP_RAM) {
            ft->point = p;
            return false;
        }
    }
    if (flags & RAM_EOS) {
        if (n < p + 8 + 5) {
            return false;
        }
        g_assert_cmpint(d[p + 8], ==, VM_SECTION_FOOTER);
        ft->pos = p + 8 + 5;
        ft->phase = SCAN_SECTIONS;
        return true;
    }
    if (flags & RAM_MEM_SIZE) {
        q = fault_scan_block_list(d, n, p);
        if (!q) {
            return false;
        }
        ft->pos = q;
        return true;
    }
    if (flags == RAM_MULTIFD_FLUSH) {
        ft->pos = q;
        return true;
    }
    if (!(flags & RAM_CONTINUE)) {
        if (n < q + 1) {
            return false;
        }
        q += 1 + d[q];
    }
    if (flags & RAM_ZERO) {
        q += 1;
    } else if (flags & RAM_PAGE) {
        q += MIG_PAGE_SIZE;
    } else {
        g_error("unexpected RAM record flags 0x%" PRIx64 " at %zu", flags, p);
    }
    if (n < q) {
        return false;
    }
    if (fault_track_pass(ft, d, p, flags)) {
        ft->point = p;
        return false;
    }
    ft->pos = q;
    return true;
}

/* EOF, then the VM description: 0x00, 0x06, be32 length, '{'; the step is its 0x06. */
static void fault_scan_trailer(FaultTap *ft, const uint8_t *d, size_t n)
{
    for (size_t p = ft->pos; p + 7 <= n; p++) {
        if (d[p] == VM_EOF && d[p + 1] == VM_VMDESCRIPTION && d[p + 6] == '{' &&
            be32_at(d + p + 2) < (1u << 20)) {
            ft->point = p + 1;
            return;
        }
        ft->pos = p + 1;
    }
}

/* After the trailer (found as above): the COMMIT command's type byte. */
static void fault_scan_commit(FaultTap *ft, const uint8_t *d, size_t n)
{
    fault_scan_trailer(ft, d, n);
    if (ft->point != UINT64_MAX) {
        ft->point += 5 + be32_at(d + ft->point + 1);
    }
}

/* The source's stream: parse what came; returns how far nothing is the step. */
static size_t fault_scan_stream(FaultTap *ft)
{
    const uint8_t *d = ft->seen->data;
    size_t n = ft->seen->len;
    bool more = true;

    if (ft->step == STEP_HEADER) {
        ft->point = 5;              /* the version's second byte */
        return 0;
    }
    while (more && ft->point == UINT64_MAX) {
        switch (ft->phase) {
        case SCAN_HEADER:
            more = n >= 8;
            if (more) {
                ft->pos = 8;
                ft->phase = SCAN_SECTIONS;
            }
            break;
        case SCAN_SECTIONS:
            more = n > ft->pos && fault_scan_section(ft, d, n);
            break;
        case SCAN_RECORDS:
            more = fault_scan_record(ft, d, n);
            break;
        case SCAN_TRAILER:
            if (ft->step == STEP_EOF) {
                fault_scan_trailer(ft, d, n);
            } else if (ft->step == STEP_COMMIT) {
                fault_scan_commit(ft, d, n);
            } else {
                ft->pos = n;    /* the step was earlier */
            }
            more = false;
            break;
        }
    }
    return ft->point == UINT64_MAX ? ft->pos : ft->point;
}

/* The return path: be16 type, be16 length, payload; the step is SHUT's (LOADED's) first byte. */
static size_t fault_scan_rp(FaultTap *ft)
{
    const uint8_t *d = ft->seen->data;
    size_t n = ft->seen->len;

    while (n >= ft->pos + 4) {
        if (be16_at(d + ft->pos) == ft->rp_type) {
            ft->point = ft->pos;
            break;
        }
        if (n < ft->pos + 4 + be16_at(d + ft->pos + 2)) {
            break;
        }
        ft->pos += 4 + be16_at(d + ft->pos + 2);
    }
    return ft->pos;
}

/*
 * Multifd channel 0's bytes: the step is its MultiFDInit's id byte, or in
 * the first packet that carries normal pages: the middle of its pages
 * (for corrupt: the high byte of the middle page's offset, as a page's
 * bytes have nothing to check them by).
 */
static size_t fault_scan_multifd(FaultTap *ft)
{
    const uint8_t *d = ft->seen->data;
    size_t n = ft->seen->len;

    if (ft->step == STEP_MFD_INIT) {
        ft->point = MFD_INIT_ID;
        return 0;
    }
    if (!ft->pos) {
        ft->pos = MFD_INIT_SIZE;
    }
    while (n >= ft->pos + MFD_HDR_SIZE) {
        uint32_t normal = be32_at(d + ft->pos + MFD_HDR_NORMAL);

        if (normal) {
            ft->point = ft->fault == FAULT_CORRUPT
                        ? ft->pos + MFD_HDR_OFFSETS + 8 * (normal / 2)
                        : ft->pos + MFD_HDR_SIZE + (uint64_t)MIG_PAGE_SIZE * (normal / 2) + 100;
            break;
        }
        ft->pos += MFD_HDR_SIZE + be32_at(d + ft->pos + MFD_HDR_SIZE_FIELD);
    }
    return ft->pos;
}

/*
 * Which connection a multifd step watches: the one whose MultiFDInit
 * says channel 0 (the main channel starts with QEVM).  Bytes are held
 * until its first MFD_INIT_ID + 1 bytes came.
 */
static bool fault_classify_conn(FaultTap *ft, unsigned conn, const uint8_t *buf, size_t len,
                                uint64_t offset)
{
    g_assert_cmpuint(conn, <, FAULT_MAX_CONNS);
    if (ft->conn_kind[conn] == CONN_UNKNOWN && offset == 0 && len > MFD_INIT_ID) {
        ft->conn_kind[conn] = be32_at(buf) == MFD_MAGIC && buf[MFD_INIT_ID] == 0
                              ? CONN_WATCHED : CONN_OTHER;
    }
    return ft->conn_kind[conn] != CONN_UNKNOWN;
}

/*
 * Each step's byte, changed: the version (0x00ff0003), the address (past
 * any block), the section type (0x04 to 0x7b, unknown), the trailer's
 * type, SHUT's type (0xff01, unknown; LOADED's 0x8b01), COMMIT's record
 * type (0xf7).
 */
static const uint8_t fault_corrupt_mask[] = {
    [STEP_HEADER] = 0xff, [STEP_RAM] = 0x80, [STEP_DEVICE] = VM_SECTION_FULL ^ 0x7b,
    [STEP_EOF] = 0xff, [STEP_RP_SHUT] = 0xff, [STEP_MFD_INIT] = 0x80, [STEP_MFD_PACKET] = 0x80,
    [STEP_POSTCOPY] = 0x80, [STEP_RAM2] = 0x80, [STEP_COMMIT] = 0xff,
};

static size_t fault_tap(void *opaque, unsigned conn, MigProxyDir dir, uint8_t *buf,
                        size_t len, uint64_t offset, MigProxyAction *action)
{
    FaultTap *ft = opaque;
    bool rp = ft->step == STEP_RP_SHUT;
    bool mfd = fault_step_is_multifd(ft->step);
    size_t at;

    if (mfd && dir == MIG_PROXY_TO_TARGET && !fault_classify_conn(ft, conn, buf, len, offset)) {
        return 0;
    }
    if (mfd ? dir != MIG_PROXY_TO_TARGET || ft->conn_kind[conn] != CONN_WATCHED
            : conn != 0 || (dir == MIG_PROXY_TO_CLIENT) != rp) {
        return len;
    }
    if (ft->done) {
        return len;
    }
    g_assert_cmpuint(ft->seen->len, >=, offset);
    g_byte_array_append(ft->seen, buf + (ft->seen->len - offset),
                        offset + len - ft->seen->len);
    at = (rp ? fault_scan_rp(ft) : mfd ? fault_scan_multifd(ft) : fault_scan_stream(ft)) -
         offset;
    if (ft->point == UINT64_MAX || ft->point >= offset + len) {
        return MIN(MIN(at, len), ft->point - offset);
    }
    if (ft->step == STEP_POSTCOPY && !g_atomic_int_get(&ft->released)) {
        /* Held at the step until the destination runs; the next bytes act. */
        return ft->point - offset;
    }
    at = ft->point - offset;
    ft->done = true;
    switch (ft->fault) {
    case FAULT_CORRUPT:
        buf[at] ^= fault_corrupt_mask[ft->step];
        return len;
    case FAULT_CLOSE:
        *action = MIG_PROXY_CLOSE;
        return at;
    case FAULT_TRUNCATE:
        *action = MIG_PROXY_TRUNCATE;
        return at;
    default:
        *action = MIG_PROXY_STALL;
        return at;
    }
}

/* What the tap kept (its proxy is freed). */
static void fault_tap_clear(FaultTap *ft)
{
    g_byte_array_unref(ft->seen);
    g_free(ft->block);
    if (ft->last_addr) {
        g_hash_table_unref(ft->last_addr);
    }
}

/* ---- the guest's travels ---- */

static MigTest *fault_chain;

static const MigrateStart fault_args = {
    .ram_mib = FAULT_RAM_MIB,
    .start_address = FAULT_START,
    .end_address = FAULT_END,
    .only_source = true,
};

/* The process that has the guest now (the first cell starts it). */
static MigTest *fault_source(void)
{
    if (!fault_chain) {
        fault_chain = migrate_start(&fault_args);
        wait_for_serial(fault_chain->src_serial);
    }
    return fault_chain;
}

/* The destination has the guest now: it becomes the source, the old one quits. */
static void fault_swap(MigTest *t)
{
    qtest_proto_free(t->qfrom);
    qtest_quit(t->from);
    t->from = t->to;
    t->qfrom = t->qto;
    t->to = NULL;
    t->qto = NULL;
    g_free(t->src_serial);
    t->src_serial = t->dst_serial;
    t->dst_serial = NULL;
}

/* 'B's in @serial (the first process's output starts with its 'A'): a destination's. */
static size_t fault_count_bs(const char *serial)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    size_t bs = 0;

    g_file_get_contents(serial, &text, &len, NULL);
    for (gsize i = 0; i < len; i++) {
        bs += text[i] == 'B';
    }
    return bs;
}

/* The guest runs: new 'B's on @serial. */
static void fault_check_guest_runs(const char *serial)
{
    gint64 deadline = qtest_deadline_ms(FAULT_TIMEOUT_MS);
    size_t bs = fault_count_bs(serial);

    while (fault_count_bs(serial) <= bs) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the guest does not run (no new 'B' on %s)", serial);
        }
        g_usleep(2000);
    }
}

/* The destination's memory is a-b's, checked stopped; then it runs on. */
static void fault_check_dest_memory(MigTest *t)
{
    fault_check_guest_runs(t->dst_serial);
    qtest_qmp_assert_success(t->to, "{'execute': 'stop'}");
    check_guests_ram(t, t->qto);
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
}

/* query-migrate's status once it is final (failed, completed or cancelled). */
static char *fault_wait_final(QTestState *who, char **desc)
{
    gint64 deadline = qtest_deadline_ms(FAULT_TIMEOUT_MS);
    g_autoptr(JsonNode) info = NULL;
    JsonObject *obj;
    char *status;

    for (;;) {
        status = migrate_query_status(who);
        if (!strcmp(status, "failed") || !strcmp(status, "completed") ||
            !strcmp(status, "cancelled") || !strcmp(status, "postcopy-paused")) {
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("migration still '%s' after %d ms", status, FAULT_TIMEOUT_MS);
        }
        g_free(status);
        g_usleep(2000);
    }
    info = migrate_query(who);
    obj = json_node_get_object(info);
    *desc = json_object_has_member(obj, "error-desc")
            ? g_strdup(json_object_get_string_member(obj, "error-desc")) : NULL;
    return status;
}

/* Wait until @pid is dead (a zombie or gone): a kill took effect. */
static void fault_wait_dead(pid_t pid)
{
    gint64 deadline = qtest_deadline_ms(FAULT_TIMEOUT_MS);
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);

    for (;;) {
        g_autofree char *stat = NULL;
        const char *paren;

        if (!g_file_get_contents(path, &stat, NULL, NULL) ||
            !(paren = strrchr(stat, ')')) || paren[2] == 'Z' || paren[2] == 'X') {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
}

/* Both sides' capabilities are set each time: the source was an earlier cell's destination. */
static void fault_start_destination(MigTest *t, const char *dst_path, bool multifd,
                                    bool commit)
{
    g_autofree char *uri = g_strdup_printf("unix:%s", dst_path);
    QTestState *sides[2];

    migrate_start_destination(t, &fault_args);
    sides[0] = t->from;
    sides[1] = t->to;
    for (int i = 0; i < 2; i++) {
        migrate_set_capability(sides[i], "return-path", true);
        migrate_set_capability(sides[i], "multifd", multifd);
        migrate_set_capability(sides[i], "postcopy-ram", false);
        if (multifd) {
            migrate_set_parameter_int(sides[i], "multifd-channels", MFD_CHANNELS);
        }
        migrate_set_capability(sides[i], "x-switchover-commit", commit);
    }
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
}

/* A socket path of its own for each destination (they do not remove theirs). */
static char *fault_socket_path(MigTest *t, const char *what)
{
    g_autofree char *name = g_strdup_printf("%s.%u.sock", what, t->dst_generation);

    return migrate_test_path(t, name);
}

/* The second migration: whoever has the guest, to a fresh destination, with the memory check. */
static void fault_migrate_ok(MigTest *t, bool multifd, bool commit)
{
    g_autofree char *path = fault_socket_path(t, "ok");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    fault_start_destination(t, path, multifd, commit);
    migrate_ensure_converge(t->from);
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    fault_check_dest_memory(t);
    fault_swap(t);
}

/* The side that failed or was cancelled: it says why, its guest runs, no thread is left. */
static void fault_check_source_survived(MigTest *t, const char *status, const char *desc)
{
    if (!strcmp(status, "failed")) {
        g_assert_nonnull(desc);
        g_assert_cmpuint(strlen(desc), >, 0);
    }
    migrate_check_source_guest_runs(t);
    migrate_wait_thread_gone(t->from, "mig/src");
    migrate_wait_thread_gone(t->from, "mig/src/rp");
}

static void fault_check_dest(MigTest *t, const FaultCell *cell, const char *status,
                             const char *desc)
{
    g_autofree char *runstate = migrate_runstate(t->to);

    migrate_wait_thread_gone(t->to, "mig/dst");
    if (!strcmp(status, "completed")) {
        g_assert_cmpstr(runstate, ==, "running");
        return;
    }
    g_assert_cmpstr(runstate, !=, "running");
    if (cell->commit) {
        /* It never ran, and 'cont' would run it (the state may be complete). */
        g_assert_cmpstr(runstate, ==, "paused");
    }
    g_assert_nonnull(desc);
    if (cell->dst_says && !strstr(desc, cell->dst_says)) {
        g_error("the destination's error-desc '%s' does not say '%s'", desc, cell->dst_says);
    }
}

static void test_fault(gconstpointer data)
{
    const FaultCell *cell = data;
    MigTest *t = fault_source();
    g_autofree char *dst_path = fault_socket_path(t, "fault");
    g_autofree char *proxy_path = fault_socket_path(t, "proxy");
    g_autofree char *proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    FaultTap ft = {
        .step = cell->step, .fault = cell->fault, .seen = g_byte_array_new(),
        .point = UINT64_MAX, .rp_type = cell->commit ? RP_MSG_LOADED : RP_MSG_SHUT,
    };
    bool multifd = fault_step_is_multifd(cell->step);
    MigProxy *proxy;

    fault_start_destination(t, dst_path, multifd, cell->commit);
    /* The early steps come while RAM is sent again and again; the late ones after it converged. */
    if (cell->step <= STEP_RAM || cell->step == STEP_RAM2 || multifd) {
        migrate_ensure_non_converge(t->from);
    } else {
        migrate_ensure_converge(t->from);
    }
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    if (cell->fault != FAULT_CORRUPT) {
        mig_proxy_wait_action(proxy);
    }
    if (cell->fault == FAULT_KILL) {
        qtest_kill(t->to, SIGKILL);
        fault_wait_dead(qtest_pid(t->to));
        g_clear_pointer(&proxy, mig_proxy_cut_and_free);
    } else if (cell->fault == FAULT_STALL) {
        /*
         * Nothing moves and nothing times out: the source ends when
         * cancelled (completed when it has committed: the cancel only
         * ends its wait for the destination's SHUT).
         */
        g_autofree char *status = migrate_query_status(t->from);

        g_assert_true(strcmp(status, "failed") && strcmp(status, "completed"));
        migrate_cancel(t->from);
        wait_for_migration_status(t->from, cell->src_end, NULL);
        g_clear_pointer(&proxy, mig_proxy_cut_and_free);
    }

    src_status = fault_wait_final(t->from, &src_desc);
    if (cell->fault == FAULT_KILL) {
        dst_status = g_strdup("killed");
    } else {
        dst_status = fault_wait_final(t->to, &dst_desc);
    }
    g_test_message("%s x %s: source %s (%s); destination %s (%s); step at byte %" PRIu64,
                   fault_step_name(cell), fault_names[cell->fault], src_status,
                   src_desc ? src_desc : "-", dst_status, dst_desc ? dst_desc : "-",
                   ft.point);
    g_assert_cmpstr(src_status, ==, cell->src_end);
    g_assert_cmpstr(dst_status, ==, cell->dst_end);
    if (strcmp(dst_status, "killed")) {
        fault_check_dest(t, cell, dst_status, dst_desc);
    }
    if (proxy) {
        mig_proxy_cut_and_free(proxy);
    }
    fault_tap_clear(&ft);

    if (!strcmp(src_status, "completed")) {
        /* The guest moved despite the fault: it is the destination's now. */
        migrate_check_source_after(t);
        if (!strcmp(dst_status, "failed")) {
            /* Committed, but no COMMIT came: the state is complete, 'cont' runs it. */
            g_assert_true(cell->commit);
            qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
        }
        fault_check_dest_memory(t);
        fault_swap(t);
    } else {
        fault_check_source_survived(t, src_status, src_desc);
    }
    fault_migrate_ok(t, multifd, cell->commit);
}

/* ---- postcopy: the guest is the destination's once the package went by ---- */

/*
 * A cell after the switch to postcopy: the fault hits the first page
 * record after the package (LISTEN, the devices, POSTCOPY_RUN).  The
 * guest now lives on the destination, so "the source's guest runs" does
 * not apply: what must hold is that the source keeps every page the
 * destination lacks (it pauses, never fails).
 */
typedef struct PostcopyCell {
    FaultKind fault;
    const char *dst_says;       /* in the destination's error-desc */
} PostcopyCell;

/*
 * Both end postcopy-paused: the destination pauses on any load error
 * once it runs, a bad record as well as a lost link (as QEMU: its loader
 * pauses whatever failed, to keep the guest's pages), and recovery then
 * sends again every page it never placed, the corrupted one included.
 */
static const PostcopyCell postcopy_table[] = {
    { FAULT_CLOSE, "migration stream" },
    { FAULT_CORRUPT, "Illegal RAM offset" },
};

/* @who's guest runs (a destination after POSTCOPY_RUN). */
static void fault_wait_running(QTestState *who)
{
    gint64 deadline = qtest_deadline_ms(FAULT_TIMEOUT_MS);

    for (;;) {
        g_autofree char *runstate = migrate_runstate(who);

        if (!strcmp(runstate, "running")) {
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("the destination does not run (%s)", runstate);
        }
        g_usleep(2000);
    }
}

static void fault_postcopy_start_destination(MigTest *t, const char *dst_path)
{
    fault_start_destination(t, dst_path, false, false);
    migrate_set_capability(t->from, "postcopy-ram", true);
    migrate_set_capability(t->to, "postcopy-ram", true);
    /* The background pass at a trickle: most pages are still the source's at the fault. */
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 4096);
}

/* Both paused, the guest the destination's: recover by hand, then the memory check. */
static void fault_postcopy_recover(MigTest *t)
{
    g_autofree char *path = fault_socket_path(t, "recover");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *quoted = g_strdup_printf("'%s'", uri);
    g_autofree char *runstate = migrate_runstate(t->to);

    g_assert_cmpstr(runstate, ==, "running");
    qtest_qmp_assert_success(t->to, "{'execute': 'migrate-recover', 'arguments': {'uri': %s}}",
                             quoted);
    migrate_qmp(t->from, uri, "'resume': true");
    migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 0);
    wait_for_migration_complete(t->from);
    wait_for_migration_complete(t->to);
    migrate_check_source_after(t);
    fault_check_dest_memory(t);
    fault_swap(t);
}

static void test_fault_postcopy(gconstpointer data)
{
    const PostcopyCell *cell = data;
    g_autofree char *why = NULL;
    MigTest *t;
    g_autofree char *dst_path = NULL, *proxy_path = NULL, *proxy_uri = NULL;
    g_autofree char *src_status = NULL, *src_desc = NULL;
    g_autofree char *dst_status = NULL, *dst_desc = NULL;
    g_autofree char *src_runstate = NULL;
    FaultTap ft = {
        .step = STEP_POSTCOPY, .fault = cell->fault, .seen = g_byte_array_new(),
        .point = UINT64_MAX,
    };
    MigProxy *proxy;

    if (!userfaultfd_usable(&why)) {
        g_byte_array_unref(ft.seen);
        g_test_skip(why);
        return;
    }
    t = fault_source();
    dst_path = fault_socket_path(t, "fault");
    proxy_path = fault_socket_path(t, "proxy");
    proxy_uri = g_strdup_printf("unix:%s", proxy_path);
    fault_postcopy_start_destination(t, dst_path);
    migrate_ensure_non_converge(t->from);
    proxy = mig_proxy_new(proxy_path, dst_path, fault_tap, &ft);
    migrate_qmp(t->from, proxy_uri, NULL);
    wait_for_migration_pass(t->from, 2);
    qtest_qmp_assert_success(t->from, "{'execute': 'migrate-start-postcopy'}");
    fault_wait_running(t->to);
    /*
     * The destination runs: its vCPU asks for pages, the source sends them
     * behind the held record, and those bytes make the tap act.
     */
    g_atomic_int_set(&ft.released, 1);

    src_status = fault_wait_final(t->from, &src_desc);
    dst_status = fault_wait_final(t->to, &dst_desc);
    g_test_message("postcopy-run x %s: source %s (%s); destination %s (%s); step at byte %"
                   PRIu64, fault_names[cell->fault], src_status, src_desc ? src_desc : "-",
                   dst_status, dst_desc ? dst_desc : "-", ft.point);
    g_assert_cmpstr(src_status, ==, "postcopy-paused");
    g_assert_nonnull(src_desc);
    src_runstate = migrate_runstate(t->from);
    g_assert_cmpstr(src_runstate, !=, "running");   /* the guest is the destination's */
    g_assert_cmpstr(dst_status, ==, "postcopy-paused");
    g_assert_nonnull(dst_desc);
    if (!strstr(dst_desc, cell->dst_says)) {
        g_error("the destination's error-desc '%s' does not say '%s'", dst_desc, cell->dst_says);
    }
    mig_proxy_cut_and_free(proxy);
    fault_tap_clear(&ft);

    fault_postcopy_recover(t);
    fault_migrate_ok(t, false, false);
}

/* ---- x-switchover-commit without a fault, and where it is refused ---- */

/* A plain migration with the capability: completes, memory checked; HMP lists it. */
static void test_commit_plain(void)
{
    MigTest *t = fault_source();
    g_autofree char *caps = NULL;

    fault_migrate_ok(t, false, true);
    caps = qtest_hmp(t->from, "info migrate_capabilities");
    g_assert_nonnull(strstr(caps, "x-switchover-commit: on"));
}

/* migrate-set-capabilities with @caps (a JSON list) must fail saying @says. */
static void fault_caps_refused(QTestState *who, const char *caps, const char *says)
{
    g_autoptr(JsonNode) reply = qtest_qmp(who, "{'execute': 'migrate-set-capabilities', "
                                          "'arguments': {'capabilities': %s}}", caps);
    const char *desc = qtest_reply_error_desc(reply);

    if (!desc || !strstr(desc, says)) {
        g_error("capabilities %s: '%s', not '%s'", caps, desc ? desc : "(accepted)", says);
    }
}

#define CAP_ON(name) "{'capability': '" name "', 'state': true}"
#define CAP_OFF(name) "{'capability': '" name "', 'state': false}"

static void test_commit_refused(void)
{
    MigTest *t = fault_source();
    g_autofree char *path = migrate_test_path(t, "commit.file");
    g_autofree char *args = g_strdup_printf("{'uri': 'file:%s'}", path);
    g_autofree char *err = NULL;

    fault_caps_refused(t->from, "[" CAP_OFF("return-path") ", " CAP_ON("x-switchover-commit")
                       "]", "Capability 'x-switchover-commit' requires capability "
                       "'return-path'");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("postcopy-ram") ", "
                       CAP_ON("x-switchover-commit") "]", "not combined with postcopy-ram");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("background-snapshot")
                       ", " CAP_ON("x-switchover-commit") "]",
                       "not combined with background-snapshot");
    fault_caps_refused(t->from, "[" CAP_ON("return-path") ", " CAP_ON("mapped-ram") ", "
                       CAP_ON("x-switchover-commit") "]", "not combined with mapped-ram");
    /* Nothing of those stuck (all or nothing); a file: URI is refused by migrate. */
    migrate_set_capability(t->from, "postcopy-ram", false);
    migrate_set_capability(t->from, "return-path", true);
    migrate_set_capability(t->from, "x-switchover-commit", true);
    err = migrate_qmp_fail(t->from, args);
    g_assert_nonnull(strstr(err, "x-switchover-commit needs a socket transport"));
    migrate_set_capability(t->from, "x-switchover-commit", false);
    migrate_check_source_guest_runs(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(fault_table); i++) {
        const FaultCell *cell = &fault_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/%s/%s",
                                                step_names[cell->step],
                                                fault_names[cell->fault]);

        g_test_add_data_func(name, cell, test_fault);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(postcopy_table); i++) {
        g_autofree char *name = g_strdup_printf("/migration/fault/postcopy-run/%s",
                                                fault_names[postcopy_table[i].fault]);

        g_test_add_data_func(name, &postcopy_table[i], test_fault_postcopy);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commit_table); i++) {
        const FaultCell *cell = &commit_table[i];
        g_autofree char *name = g_strdup_printf("/migration/fault/switchover-commit/%s/%s",
                                                fault_step_name(cell),
                                                fault_names[cell->fault]);

        g_test_add_data_func(name, cell, test_fault);
    }
    g_test_add_func("/migration/fault/switchover-commit/plain", test_commit_plain);
    g_test_add_func("/migration/fault/switchover-commit/refused", test_commit_refused);
    ret = g_test_run();
    if (fault_chain) {
        migrate_end(fault_chain, false);
        migrate_test_free(fault_chain);
    }
    return ret;
}
