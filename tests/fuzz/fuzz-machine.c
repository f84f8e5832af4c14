/*
 * The fuzz targets' small machine (fuzz-machine.h).
 */
#include "fuzz-machine.h"

#include "migration-fakes.h"
#include "migration/qemu-file.h"
#include "migration/ram-verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const fuzz_caps[] = { "x-verify-ram", NULL };

static RAMBlock *fuzz_block_new(const char *id, uint64_t size)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->idstr = g_strdup(id);
    rb->used_length = size;
    rb->page_size = TARGET_PAGE_SIZE;
    rb->fd = -1;
    rb->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rb->host == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    return rb;
}

/* The fuzzed machine has no guest: nothing is written between syncs. */
static bool fuzz_no_dirty(void *opaque, RAMBlock *rb, unsigned long *dest, GError **errp)
{
    return true;
}

FuzzMachine *fuzz_machine_new(void)
{
    FuzzMachine *m = g_new0(FuzzMachine, 1);
    RAMDirtySource dirty = { .sync = fuzz_no_dirty };

    m->blocks = g_ptr_array_new_with_free_func(fake_ram_block_free);
    g_ptr_array_add(m->blocks, fuzz_block_new("pc.ram", 1 << 20));
    g_ptr_array_add(m->blocks, fuzz_block_new("vga.vram", 64 << 10));
    m->ram = ram_state_new(m->blocks, &dirty, NULL);
    /* The loader is single-threaded here: plain faults, no populate calls. */
    ram_state_set_load_fault_policy(m->ram, RAM_LOAD_FAULT_PLAIN);
    /* One digest thread for all the inputs: creating one per load was a tenth of a run. */
    ram_verify_set_keep_worker(ram_state_verify(m->ram), true);
    m->s = savevm_state_new();
    savevm_register_live(m->s, "ram", 0, RAM_SECTION_VERSION, &ram_save_handlers, m->ram);
    savevm_register_live(m->s, RAM_VERIFY_SECTION_IDSTR, 0, RAM_VERIFY_SECTION_VERSION,
                         &ram_verify_handlers, ram_state_verify(m->ram));
    savevm_register_vmsd(m->s, "globalstate", 0, &vmstate_globalstate, &m->global_state);
    global_state_store(&m->global_state, RUN_STATE_RUNNING);
    m->cfg = (SaveVMConfig) {
        .machine_name = "pc-tern-1.0",
        .send_configuration = true,
        .capabilities = fuzz_caps,
    };
    return m;
}

void fuzz_machine_free(FuzzMachine *m)
{
    if (!m) {
        return;
    }
    savevm_state_free(m->s);
    ram_state_free(m->ram);
    g_ptr_array_unref(m->blocks);
    g_free(m);
}

void fuzz_machine_fill(FuzzMachine *m)
{
    for (guint i = 0; i < m->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(m->blocks, i);

        /* Every third page holds data: zero and normal records both appear. */
        for (uint64_t p = 0; p < ramblock_pages(rb); p += 3) {
            memset(rb->host + (p << TARGET_PAGE_BITS), (int)(p * 7 + i + 1), TARGET_PAGE_SIZE);
        }
    }
}

GBytes *fuzz_machine_save(FuzzMachine *m, bool verify)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    SaveVMIterateResult ret;
    GBytes *bytes;
    bool ok;

    ram_verify_start(ram_state_verify(m->ram), verify);
    ok = savevm_state_header(m->s, out, &m->cfg, &err) &&
         savevm_state_setup(m->s, out, &err);
    do {
        ret = ok ? savevm_state_iterate(m->s, out, &err) : SAVEVM_ITERATE_ERROR;
    } while (ret == SAVEVM_ITERATE_MORE);
    ok = ret == SAVEVM_ITERATE_DONE && savevm_state_complete(m->s, out, &err);
    savevm_state_cleanup(m->s);
    if (!ok) {
        fprintf(stderr, "fuzz machine: saving failed: %s\n", err->message);
        abort();
    }
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    return bytes;
}

/*
 * Back to what fuzz_machine_new() made, so that no input's outcome depends
 * on the one before (an XBZRLE record patches the page it finds, a zero
 * record reads the page only where it is resident): RAM never written,
 * globalstate as registered.  MADV_DONTNEED on private anonymous memory
 * gives zero pages that are not resident, as after mmap(), and costs only
 * the pages an input touched (zeroing in place cost as much, and with
 * buffer_is_zero() to find the pages twice as much, under ASan).  RAM's
 * load state is reset by its load_setup, verification's by
 * ram_verify_start().
 */
static void fuzz_machine_reset(FuzzMachine *m)
{
    for (guint i = 0; i < m->blocks->len; i++) {
        RAMBlock *rb = g_ptr_array_index(m->blocks, i);

        if (madvise(rb->host, rb->used_length, MADV_DONTNEED)) {
            perror("madvise");
            abort();
        }
    }
    global_state_store(&m->global_state, RUN_STATE_RUNNING);
}

GError *fuzz_machine_load(FuzzMachine *m, const uint8_t *data, size_t size)
{
    /* Read in place: no copy per input, and a read past @size is one past libFuzzer's buffer. */
    QEMUFile *in = qemu_file_new_input_borrowed(data, size);
    GError *err = NULL;

    fuzz_machine_reset(m);
    ram_verify_start(ram_state_verify(m->ram), true);
    savevm_state_load(m->s, in, &m->cfg, &err);
    /* This machine hooks no postcopy command: a load never stops half-way. */
    g_assert(!savevm_state_load_quit(m->s));
    if (!err) {
        ram_verify_load_done(ram_state_verify(m->ram), &err);
    }
    qemu_fclose(in, NULL);
    return err;
}
