/*
 * The fault-injection tests' shared parts (migration-fault-common.h).
 */
#include "migration-fault-common.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

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
#define RP_MSG_REQ_PAGES_ID 3
#define RP_MSG_REQ_PAGES    4

#define MFD_MAGIC           0x11223344u
#define MFD_INIT_SIZE       64
#define MFD_INIT_ID         24          /* the MultiFDInit's channel id byte */
#define MFD_HDR_SIZE        (320 + 8 * 128)     /* a packet header, its offsets included */
#define MFD_HDR_NORMAL      16
#define MFD_HDR_SIZE_FIELD  20
#define MFD_HDR_ZERO        32
#define MFD_HDR_BLOCK       64          /* the block's name, 256 bytes */
#define MFD_PAGES_MAX       128
#define MFD_HDR_OFFSETS     320

/* A multifd step's connection: not known yet, another one, the one watched (channel 0). */
enum { CONN_UNKNOWN, CONN_OTHER, CONN_WATCHED };

const char *const step_names[] = {
    "header", "ram", "device", "eof", "rp-shut", "multifd-init", "multifd-packet",
    "postcopy-run", "ram-pass2", "commit", "multifd-pass2", "preempt-run",
};
const char *const fault_names[] = {
    "close", "stall", "truncate", "corrupt", "kill", "kill-source",
};

/* ---- finding the step in the bytes ---- */

bool fault_step_is_multifd(FaultStep step)
{
    return step == STEP_MFD_INIT || step == STEP_MFD_PACKET || step == STEP_MFD_PASS2;
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
 * A packet header of multifd channel 0 at @p: has the second pass begun?
 * The first pass gives the channel each block's pages in address order,
 * so a packet whose first page is not past the last one the channel had
 * of its block goes round again.  ft->last_addr keeps the last pages.
 */
static bool fault_multifd_pass2(FaultTap *ft, const uint8_t *d, size_t p)
{
    uint32_t pages = be32_at(d + p + MFD_HDR_NORMAL) + be32_at(d + p + MFD_HDR_ZERO);
    uint64_t first = UINT64_MAX, last = 0;
    g_autofree char *block = NULL;
    uint64_t *seen;

    if (!pages || ft->pass2_records) {
        return ft->pass2_records;
    }
    g_assert_cmpuint(pages, <=, MFD_PAGES_MAX);
    block = g_strndup((const char *)d + p + MFD_HDR_BLOCK, 256);
    for (uint32_t i = 0; i < pages; i++) {
        uint64_t off = be64_at(d + p + MFD_HDR_OFFSETS + 8 * i);

        first = MIN(first, off);
        last = MAX(last, off);
    }
    if (!ft->last_addr) {
        ft->last_addr = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    seen = g_hash_table_lookup(ft->last_addr, block);
    if (seen && first <= *seen) {
        ft->pass2_records = 1;
        return true;
    }
    g_hash_table_insert(ft->last_addr, g_steal_pointer(&block), g_memdup2(&last, sizeof(last)));
    return false;
}

/*
 * Multifd channel 0's bytes: the step is its MultiFDInit's id byte, or in
 * the first packet that carries normal pages (of the second pass for
 * STEP_MFD_PASS2): the middle of its pages (for corrupt: the high byte of
 * the middle page's offset, as a page's bytes have nothing to check them
 * by).
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
        bool pass2 = ft->step == STEP_MFD_PASS2 && fault_multifd_pass2(ft, d, ft->pos);

        if (normal && (ft->step != STEP_MFD_PASS2 || pass2)) {
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
 * The preempt channel (the second connection; bare page records, sent
 * only for pages the running destination asked for): the step is its
 * first record's first byte (for corrupt: the address's high byte).
 */
static size_t fault_scan_preempt(FaultTap *ft)
{
    if (ft->seen->len >= 8) {
        /* Not QEVM: the main channel is the first connection. */
        g_assert_cmphex(be32_at(ft->seen->data), !=, 0x5145564d);
        ft->point = 0;
    }
    return 0;
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
    [STEP_POSTCOPY] = 0x80, [STEP_RAM2] = 0x80, [STEP_COMMIT] = 0xff, [STEP_MFD_PASS2] = 0x80, [STEP_PREEMPT] = 0x80,
};

/*
 * Postcopy: the return path's bytes (@buf, @len at @offset), forwarded
 * whole.  A page request proves the destination runs the guest (a vCPU
 * faulted), so it releases the held step: the answer comes after it, and
 * its bytes make the tap act.  Waiting for the test to see the
 * destination run instead could leave the answer held already, and the
 * next bytes a background page that the bandwidth limit holds back for
 * half a minute.
 */
static void fault_watch_requests(FaultTap *ft, const uint8_t *buf, size_t len, uint64_t offset)
{
    const uint8_t *d;
    size_t n;

    if (!ft->rp_seen) {
        ft->rp_seen = g_byte_array_new();
    }
    g_assert_cmpuint(ft->rp_seen->len, ==, offset);
    g_byte_array_append(ft->rp_seen, buf, len);
    d = ft->rp_seen->data;
    n = ft->rp_seen->len;
    while (n >= ft->rp_pos + 4) {
        uint16_t type = be16_at(d + ft->rp_pos);

        if (type == RP_MSG_REQ_PAGES_ID || type == RP_MSG_REQ_PAGES) {
            g_atomic_int_set(&ft->released, 1);
        }
        ft->rp_pos += 4 + be16_at(d + ft->rp_pos + 2);
    }
}

size_t fault_tap(void *opaque, unsigned conn, MigProxyDir dir, uint8_t *buf,
                        size_t len, uint64_t offset, MigProxyAction *action)
{
    FaultTap *ft = opaque;
    bool rp = ft->step == STEP_RP_SHUT;
    bool mfd = fault_step_is_multifd(ft->step);
    bool preempt = ft->step == STEP_PREEMPT;
    size_t at;

    if (ft->step == STEP_POSTCOPY && conn == 0 && dir == MIG_PROXY_TO_CLIENT) {
        if (!ft->done) {
            fault_watch_requests(ft, buf, len, offset);
        }
        return len;
    }
    if (mfd && dir == MIG_PROXY_TO_TARGET && !fault_classify_conn(ft, conn, buf, len, offset)) {
        return 0;
    }
    if (mfd ? dir != MIG_PROXY_TO_TARGET || ft->conn_kind[conn] != CONN_WATCHED
            : conn != (preempt ? 1 : 0) || (dir == MIG_PROXY_TO_CLIENT) != rp) {
        return len;
    }
    if (ft->done) {
        return len;
    }
    g_assert_cmpuint(ft->seen->len, >=, offset);
    g_byte_array_append(ft->seen, buf + (ft->seen->len - offset),
                        offset + len - ft->seen->len);
    at = (rp ? fault_scan_rp(ft) : mfd ? fault_scan_multifd(ft) :
          preempt ? fault_scan_preempt(ft) : fault_scan_stream(ft)) - offset;
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
void fault_tap_clear(FaultTap *ft)
{
    g_byte_array_unref(ft->seen);
    if (ft->rp_seen) {
        g_byte_array_unref(ft->rp_seen);
    }
    g_free(ft->block);
    if (ft->last_addr) {
        g_hash_table_unref(ft->last_addr);
    }
}

/* ---- the guest's travels ---- */

const MigrateStart fault_args = {
    .ram_mib = FAULT_RAM_MIB,
    .start_address = FAULT_START,
    .end_address = FAULT_END,
    .only_source = true,
};

/* The destination has the guest now: it becomes the source, the old one quits. */
void fault_swap(MigTest *t)
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
void fault_check_guest_runs(const char *serial)
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
void fault_check_dest_memory(MigTest *t)
{
    fault_check_guest_runs(t->dst_serial);
    qtest_qmp_assert_success(t->to, "{'execute': 'stop'}");
    check_guests_ram(t, t->qto);
    qtest_qmp_assert_success(t->to, "{'execute': 'cont'}");
}

char *fault_query(QTestState *who, char **desc)
{
    g_autoptr(JsonNode) info = migrate_query(who);
    JsonObject *obj = json_node_get_object(info);

    *desc = json_object_has_member(obj, "error-desc")
            ? g_strdup(json_object_get_string_member(obj, "error-desc")) : NULL;
    return g_strdup(json_object_get_string_member(obj, "status"));
}

/* query-migrate's status once it is final (failed, completed or cancelled). */
char *fault_wait_final(QTestState *who, char **desc)
{
    gint64 deadline = qtest_deadline_ms(FAULT_TIMEOUT_MS);
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
    g_free(status);
    return fault_query(who, desc);
}

/* Wait until @pid is dead (a zombie or gone): a kill took effect. */
void fault_wait_dead(pid_t pid)
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

/*
 * A fresh destination, then both sides' capabilities (the source was an
 * earlier cell's destination), then it listens at @dst_path.
 */
static void fault_start_destination_caps(MigTest *t, const char *dst_path,
                                         const FaultCaps *caps)
{
    g_autofree char *uri = g_strdup_printf("unix:%s", dst_path);
    QTestState *sides[2];

    migrate_start_destination(t, &fault_args);
    sides[0] = t->from;
    sides[1] = t->to;
    for (int i = 0; i < 2; i++) {
        migrate_set_capability(sides[i], "return-path", true);
        migrate_set_capability(sides[i], "multifd", caps->multifd);
        /* preempt needs postcopy-ram: off before it, on after it. */
        migrate_set_capability(sides[i], "postcopy-preempt", false);
        migrate_set_capability(sides[i], "postcopy-ram", caps->postcopy);
        if (caps->preempt) {
            migrate_set_capability(sides[i], "postcopy-preempt", true);
        }
        if (caps->multifd) {
            migrate_set_parameter_int(sides[i], "multifd-channels", MFD_CHANNELS);
        }
        migrate_set_capability(sides[i], "x-switchover-commit", caps->commit);
    }
    if (caps->postcopy) {
        /* The background pass at a trickle: most pages are still the source's at the fault. */
        migrate_set_parameter_int(t->from, "max-postcopy-bandwidth", 4096);
    }
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
}

void fault_start_destination(MigTest *t, const char *dst_path, bool multifd,
                             bool commit)
{
    FaultCaps caps = { .multifd = multifd, .commit = commit };

    fault_start_destination_caps(t, dst_path, &caps);
}

/* A socket path of its own for each destination (they do not remove theirs). */
char *fault_socket_path(MigTest *t, const char *what)
{
    g_autofree char *name = g_strdup_printf("%s.%u.sock", what, t->dst_generation);

    return migrate_test_path(t, name);
}

/* The second migration: whoever has the guest, to a fresh destination, with the memory check. */
void fault_migrate_ok(MigTest *t, bool multifd, bool commit)
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
void fault_check_source_survived(MigTest *t, const char *status, const char *desc)
{
    if (!strcmp(status, "failed")) {
        g_assert_nonnull(desc);
        g_assert_cmpuint(strlen(desc), >, 0);
    }
    migrate_check_source_guest_runs(t);
    migrate_wait_thread_gone(t->from, "mig/src");
    migrate_wait_thread_gone(t->from, "mig/src/rp");
}

/* @who's guest runs (a destination after POSTCOPY_RUN). */
void fault_wait_running(QTestState *who)
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

void fault_postcopy_start_destination(MigTest *t, const char *dst_path, bool preempt)
{
    FaultCaps caps = { .postcopy = true, .preempt = preempt };

    fault_start_destination_caps(t, dst_path, &caps);
}

/* Both paused, the guest the destination's: recover by hand, then the memory check. */
void fault_postcopy_recover(MigTest *t)
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
