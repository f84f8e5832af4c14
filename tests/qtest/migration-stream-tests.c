/*
 * Bad input on the destination.  A real stream is saved to a file once per
 * test, then fed back truncated or with bytes changed in its header,
 * configuration, RAM block list and page records; each attempt runs in a
 * fresh destination with exit-on-error=false, which must end "failed" with
 * an error-desc and keep answering QMP.  Also: a RAM size mismatch, and a
 * destination killed mid-stream (the source fails, its guest runs on).
 */
#include "migration-helpers.h"
#include "migration-tests.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>

/* A small guest keeps the stream small (its 3 MiB range, all data pages). */
#define STREAM_RAM_MIB 16
#define STREAM_START (1u << 20)
#define STREAM_END (4u << 20)

#define VM_SECTION_START 0x01
#define VM_SECTION_PART 0x02
#define VM_SECTION_FULL 0x04
#define VM_CONFIGURATION 0x07
#define VM_VMDESCRIPTION 0x06
#define VM_SECTION_FOOTER 0x7e
#define RAM_FLAG_MEM_SIZE 0x04
#define RAM_FLAG_EOS 0x10

/* Where things are in the saved stream (byte offsets). */
typedef struct StreamMap {
    uint8_t *data;
    size_t len;
    size_t eof_end;             /* just past the EOF byte */
    size_t ram_header;          /* the RAM START section's type byte */
    size_t ram_version;         /* its be32 version_id */
    size_t ram_mem_size;        /* be64 total | MEM_SIZE */
    size_t block_idlen;         /* the first block's u8 idlen */
    size_t block_length;        /* its be64 used_length */
    size_t ram_footer;          /* the START section's footer */
    size_t first_page;          /* the first page record's be64 header */
} StreamMap;

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p)
{
    return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

/* The stream has its VM description trailer: find it and the EOF byte. */
static void stream_find_eof(StreamMap *m)
{
    for (size_t p = m->len - 6; p > 8; p--) {
        if (m->data[p] == VM_VMDESCRIPTION && m->data[p + 5] == '{' &&
            be32_at(m->data + p + 1) == m->len - p - 5) {
            g_assert_cmpint(m->data[p - 1], ==, 0);     /* QEMU_VM_EOF */
            m->eof_end = p;
            return;
        }
    }
    g_error("no VM description trailer in the saved stream");
}

/* Find the RAM START section ("ram", instance 0, version 4) and walk its
 * block list up to the first page record. */
static void stream_find_ram(StreamMap *m)
{
    static const uint8_t idstr[] = { 3, 'r', 'a', 'm' };
    size_t p, blocks_left;

    for (p = 9; p + 20 < m->eof_end; p++) {
        if (m->data[p] == VM_SECTION_START &&
            !memcmp(m->data + p + 5, idstr, sizeof(idstr))) {
            break;
        }
    }
    g_assert_cmpuint(p + 20, <, m->eof_end);
    m->ram_header = p;
    p += 1 + 4 + sizeof(idstr);
    g_assert_cmpuint(be32_at(m->data + p), ==, 0);          /* instance */
    m->ram_version = p + 4;
    g_assert_cmpuint(be32_at(m->data + m->ram_version), ==, 4);
    m->ram_mem_size = p + 8;
    g_assert_cmpuint(be64_at(m->data + m->ram_mem_size) & 0xfff, ==,
                     RAM_FLAG_MEM_SIZE);
    blocks_left = be64_at(m->data + m->ram_mem_size) & ~0xfffull;
    p = m->ram_mem_size + 8;
    m->block_idlen = p;
    while (blocks_left) {
        uint64_t used;

        p += 1 + m->data[p];
        if (!m->block_length) {
            m->block_length = p;
        }
        used = be64_at(m->data + p);
        g_assert_cmpuint(used, <=, blocks_left);
        blocks_left -= used;
        p += 8;
    }
    g_assert_cmpuint(be64_at(m->data + p), ==, RAM_FLAG_EOS);
    p += 8;
    g_assert_cmpint(m->data[p], ==, VM_SECTION_FOOTER);
    m->ram_footer = p;
    p += 5;
    /* The first iteration: a PART section of the same id. */
    g_assert_cmpint(m->data[p], ==, VM_SECTION_PART);
    m->first_page = p + 5;
}

/*
 * Save the a-b guest (stopped) to t->dir/stream, and map it.  The source
 * stays for the tests that need it.
 */
static MigTest *stream_save(StreamMap *m)
{
    MigrateStart start = {
        .ram_mib = STREAM_RAM_MIB,
        .start_address = STREAM_START,
        .end_address = STREAM_END,
        .only_source = true,
    };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "stream");
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    gsize len;

    migrate_ensure_converge(t->from);
    wait_for_serial(t->src_serial);
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    migrate_qmp(t->from, uri, NULL);
    wait_for_migration_complete(t->from);
    g_assert_true(g_file_get_contents(path, (char **)&m->data, &len, NULL));
    m->len = len;
    /* Every work page is a data page (migrate_start() filled them), so the
     * stream holds at least the range, whatever a-b's counters were. */
    g_assert_cmpuint(m->len, >, STREAM_END - STREAM_START);
    g_assert_cmphex(be32_at(m->data), ==, 0x5145564d);
    g_assert_cmphex(be32_at(m->data + 4), ==, 3);
    g_assert_cmpint(m->data[8], ==, VM_CONFIGURATION);
    stream_find_eof(m);
    stream_find_ram(m);
    return t;
}

/*
 * Feed @len bytes of @data to a fresh destination.  Returns its final
 * status ("failed" or "completed"; transfer full) and, when failed, the
 * error-desc in @desc.  The destination must still answer QMP.
 */
static char *stream_load(MigTest *t, const uint8_t *data, size_t len,
                         uint64_t dst_ram_mib, char **desc)
{
    MigrateStart dst = {
        .ram_mib = STREAM_RAM_MIB,
        .dst_ram_mib = dst_ram_mib,
        .start_address = STREAM_START,
        .end_address = STREAM_END,
    };
    g_autofree char *path = migrate_test_path(t, "bad-stream");
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autoptr(JsonNode) info = NULL;
    g_autofree char *runstate = NULL;
    gint64 deadline = qtest_deadline_ms(60000);
    char *status;
    JsonObject *obj;

    g_assert_true(g_file_set_contents(path, (const char *)data, len, NULL));
    migrate_start_destination(t, &dst);
    migrate_incoming_qmp(t->to, uri, "'exit-on-error': false");
    for (;;) {
        status = migrate_query_status(t->to);
        if (!strcmp(status, "failed") || !strcmp(status, "completed")) {
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("destination still '%s' after 60 s", status);
        }
        g_free(status);
        g_usleep(1000);
    }
    info = migrate_query(t->to);
    obj = json_node_get_object(info);
    *desc = NULL;
    if (!strcmp(status, "failed")) {
        g_assert_true(json_object_has_member(obj, "error-desc"));
        *desc = g_strdup(json_object_get_string_member(obj, "error-desc"));
        g_assert_cmpuint(strlen(*desc), >, 0);
        /* Still answering, and the guest did not start. */
        runstate = migrate_runstate(t->to);
        g_assert_cmpstr(runstate, !=, "running");
    }
    return status;
}

/* Load @data[0..len) and require it to fail; returns error-desc. */
static char *stream_expect_fail(MigTest *t, const uint8_t *data, size_t len,
                                const char *what)
{
    char *desc = NULL;
    g_autofree char *status = stream_load(t, data, len, 0, &desc);

    if (strcmp(status, "failed")) {
        g_error("%s: the destination loaded the stream", what);
    }
    g_test_message("%s: %s", what, desc);
    return desc;
}

static void stream_free(StreamMap *m)
{
    g_free(m->data);
}

/* Cut at many offsets, from inside the header to one byte before EOF. */
static void test_stream_truncated(void)
{
    StreamMap m = { 0 };
    MigTest *t = stream_save(&m);
    size_t cuts[] = {
        0, 1, 4, 7, 8, 9, 12, 13,
        m.ram_header, m.ram_header + 3, m.ram_version + 2,
        m.ram_mem_size + 5, m.block_idlen + 1, m.block_length + 4,
        m.ram_footer, m.ram_footer + 3, m.first_page + 4, m.first_page + 9,
        m.first_page + 100, m.eof_end / 3, m.eof_end / 2,
        m.eof_end - 4096, m.eof_end - 100, m.eof_end - 2, m.eof_end - 1,
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
        g_autofree char *what = g_strdup_printf("truncated at %zu of %zu",
                                                cuts[i], m.len);

        g_free(stream_expect_fail(t, m.data, cuts[i], what));
    }
    /* The VM description after EOF is optional for the destination. */
    for (size_t cut = m.eof_end; cut <= m.eof_end + 3; cut += 3) {
        char *desc = NULL;
        g_autofree char *status = stream_load(t, m.data, cut, 0, &desc);

        if (strcmp(status, "completed")) {
            g_error("truncated after EOF (at %zu of %zu): %s, expected "
                    "completed (the trailer is optional): %s", cut, m.len,
                    status, desc);
        }
    }
    stream_free(&m);
    migrate_test_free(t);
}

/* One changed byte (or be32/be64) and the substring the error must have:
 * QEMU's message for that fault where QEMU has one (NULL: any error). */
typedef struct StreamFlip {
    const char *what;
    size_t offset;
    unsigned width;             /* 1, 4 or 8 bytes */
    uint64_t value;             /* XORed in */
    const char *expect;
} StreamFlip;

static void stream_apply(uint8_t *d, const StreamFlip *f)
{
    for (unsigned i = 0; i < f->width; i++) {
        d[f->offset + i] ^= f->value >> (8 * (f->width - 1 - i));
    }
}

static void test_stream_flipped(void)
{
    StreamMap m = { 0 };
    MigTest *t = stream_save(&m);
    uint64_t block_len = be64_at(m.data + m.block_length);
    const StreamFlip flips[] = {
        { "file magic", 0, 1, 0xff, "Not a migration stream" },
        { "version 2", 7, 1, 0x03 ^ 0x02, "SaveVM v2 format is obsolete" },
        { "version 4", 7, 1, 0x03 ^ 0x04,
          "Unsupported migration stream version" },
        { "configuration type", 8, 1, 0xff, "Configuration section missing" },
        { "machine name length", 9, 1, 0x80, NULL },
        { "machine name", 13, 1, 0x20, "Machine type received is" },
        { "ram section type", m.ram_header, 1, 0x7f,
          "Unknown savevm section type" },
        { "ram idstr length", m.ram_header + 5, 1, 0x10, NULL },
        { "ram version 5", m.ram_version, 4, 4 ^ 5,
          "savevm: unsupported version" },
        { "ram total size", m.ram_mem_size, 8, 1ull << 40, NULL },
        { "block idstr length", m.block_idlen, 1, 0x40, NULL },
        { "block name", m.block_idlen + 1, 1, 0x01, "Unknown ramblock" },
        { "block length", m.block_length, 8, block_len ^ (block_len * 2),
          "Length mismatch" },
        { "setup footer", m.ram_footer, 1, 0x01, "Missing section footer" },
        { "page offset past the block", m.first_page, 8,
          (uint64_t)STREAM_RAM_MIB << 21, "Illegal RAM offset" },
        { "page flags", m.first_page + 7, 1, 0x80 | 0x40, NULL },
        { "EOF byte", m.eof_end - 1, 1, 0x55, "Unknown savevm section type" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(flips); i++) {
        g_autofree uint8_t *copy = g_memdup2(m.data, m.len);
        g_autofree char *desc = NULL;

        stream_apply(copy, &flips[i]);
        desc = stream_expect_fail(t, copy, m.len, flips[i].what);
        if (flips[i].expect && !strstr(desc, flips[i].expect)) {
            g_error("%s: error-desc '%s' does not mention '%s'",
                    flips[i].what, desc, flips[i].expect);
        }
    }
    stream_free(&m);
    migrate_test_free(t);
}

/* A destination with twice the RAM: its block has another length. */
static void test_stream_length_mismatch(void)
{
    StreamMap m = { 0 };
    MigTest *t = stream_save(&m);
    char *desc = NULL;
    g_autofree char *status = stream_load(t, m.data, m.len,
                                          2 * STREAM_RAM_MIB, &desc);

    g_assert_cmpstr(status, ==, "failed");
    g_test_message("error-desc: %s", desc);
    if (!strstr(desc, "Length mismatch")) {
        g_error("error-desc '%s' does not say 'Length mismatch'", desc);
    }
    g_free(desc);
    stream_free(&m);
    migrate_test_free(t);
}

/* The destination dies mid-stream: the source fails, its guest runs on. */
static void test_dest_killed(void)
{
    MigrateStart start = { 0 };
    MigTest *t = migrate_start(&start);
    g_autofree char *path = migrate_test_path(t, "migsocket");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *desc = NULL;
    g_autofree char *runstate = NULL;
    size_t before;

    migrate_ensure_non_converge(t->from);
    migrate_incoming_qmp(t->to, uri, NULL);
    wait_for_serial(t->src_serial);
    migrate_qmp(t->from, uri, NULL);
    migrate_wait_for_dirty_mem(t);
    qtest_kill(t->to, SIGKILL);
    desc = wait_for_migration_fail(t->from, true);
    g_test_message("source error-desc: %s", desc);
    runstate = migrate_runstate(t->from);
    g_assert_cmpstr(runstate, ==, "running");
    {
        g_autofree char *text = NULL;
        gsize len = 0;
        gint64 deadline = qtest_deadline_ms(60000);

        g_file_get_contents(t->src_serial, &text, &len, NULL);
        before = len;
        do {
            g_autofree char *again = NULL;

            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(5000);
            g_file_get_contents(t->src_serial, &again, &len, NULL);
        } while (len <= before);
    }
    /* A consistent snapshot needs the guest stopped. */
    qtest_qmp_assert_success(t->from, "{'execute': 'stop'}");
    check_guests_ram(t, t->qfrom);
    migrate_end(t, false);
    migrate_test_free(t);
}

/*
 * The globalstate section's be32 size (then its 100-byte run-state name).
 * It is the last FULL section named so: search back from EOF.
 */
static size_t stream_find_globalstate(const StreamMap *m)
{
    static const char idstr[] = "\x0bglobalstate";
    size_t hdr = 1 + 4 + sizeof(idstr) - 1 + 4 + 4;

    for (size_t p = m->eof_end - hdr - 4 - 100; p > m->first_page; p--) {
        if (m->data[p] == VM_SECTION_FULL &&
            !memcmp(m->data + p + 5, idstr, sizeof(idstr) - 1)) {
            g_assert_cmpuint(be32_at(m->data + p + hdr - 4), ==, 1);
            return p + hdr;
        }
    }
    g_error("no globalstate section in the saved stream");
}

/*
 * A QEMU source may be in any run state: the destination ends in it where
 * QEMU enters it after inmigrate and tern models it, else paused; never
 * an abort.  The stream is tern's own with the run state's name replaced.
 * One name per rule here (each process start is slow under TSan); every
 * name goes through test-migration-incoming.
 */
static void test_stream_source_runstate(void)
{
    static const struct {
        const char *sent, *ends_in;
    } cases[] = {
        { "running", "running" },       /* autostart */
        { "io-error", "io-error" },     /* entered as sent */
        { "suspended", "paused" },      /* QEMU enters it, tern cannot */
        { "debug", "paused" },          /* QEMU cannot enter it either */
        { "inmigrate", "paused" },      /* not a state to end in */
    };
    StreamMap m = { 0 };
    MigTest *t = stream_save(&m);
    size_t gs = stream_find_globalstate(&m);

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        size_t len = strlen(cases[i].sent) + 1;
        char *desc = NULL;
        g_autofree char *status = NULL;
        g_autofree char *runstate = NULL;

        m.data[gs] = m.data[gs + 1] = m.data[gs + 2] = 0;
        m.data[gs + 3] = len;
        memset(m.data + gs + 4, 0, 100);
        memcpy(m.data + gs + 4, cases[i].sent, len);
        status = stream_load(t, m.data, m.len, 0, &desc);
        if (strcmp(status, "completed")) {
            g_error("source run state '%s': %s: %s", cases[i].sent, status,
                    desc);
        }
        runstate = migrate_runstate(t->to);
        g_test_message("source '%s' -> destination '%s'", cases[i].sent,
                       runstate);
        g_assert_cmpstr(runstate, ==, cases[i].ends_in);
    }
    stream_free(&m);
    migrate_test_free(t);
}

void migration_register_stream_tests(void)
{
    g_test_add_func("/migration/stream/source_runstate",
                    test_stream_source_runstate);
    g_test_add_func("/migration/bad_stream/truncated", test_stream_truncated);
    g_test_add_func("/migration/bad_stream/flipped", test_stream_flipped);
    g_test_add_func("/migration/bad_stream/length_mismatch",
                    test_stream_length_mismatch);
    g_test_add_func("/migration/bad_stream/dest_killed", test_dest_killed);
}
