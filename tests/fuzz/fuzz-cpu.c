/*
 * libFuzzer target: the "cpu" section (hw/cpu-vmstate.c) loaded by the
 * VMState engine into vCPU 0 of a real tern-pc machine (interp, the a-b
 * guest, stopped, BQL held): the fields, the segment and descriptor
 * table structs, then post_load's x86_cpu_state_check() and the
 * accelerator's cpu_set_state().  The input is the section's payload at
 * version 1.  The contract is checked: a load that fails leaves the vCPU
 * as it was (its state read back before and after must match); one that
 * succeeds is undone before the next input.
 *
 * The seed (corpus/cpu/reset.bin, the section of the vCPU after reset) is
 * written by running the replay driver with TERN_FUZZ_CPU_SEED=FILE.
 */
#include "unit/chardev-stub.h"
#include "cpu-vmstate.h"
#include "guest-blobs.h"
#include "hw/machine.h"
#include "migration/qemu-file.h"
#include "qapi/qmp-event.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cpu_ignore_event(const char *event, JsonObject *data, void *opaque)
{
    if (data) {
        json_object_unref(data);
    }
}

/* TERN_FUZZ_CPU_SEED=FILE: write vCPU 0's section there, as a migration would save it. */
static void fuzz_cpu_write_seed(VM *vm)
{
    const char *path = getenv("TERN_FUZZ_CPU_SEED");
    CPUVMState s = { .vm = vm, .index = 0 };
    QEMUFile *out;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) err = NULL;

    if (!path) {
        return;
    }
    out = qemu_file_new_output_buffer();
    if (!vmstate_save_state(out, &vmstate_cpu, &s, NULL, &err)) {
        fprintf(stderr, "fuzz-cpu: %s\n", err->message);
        abort();
    }
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    if (!g_file_set_contents(path, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
                             &err)) {
        fprintf(stderr, "fuzz-cpu: %s\n", err->message);
        abort();
    }
    exit(0);
}

/* The a-b guest on interp, 4 MiB, one vCPU, stopped before it ran; BQL held from here on. */
static VM *fuzz_cpu_vm(void)
{
    static VM *vm;
    g_autoptr(MachineConfig) cfg = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *kernel = NULL;
    const GuestBlob *blob = guest_blob_find("a-b");
    int fd;

    if (vm) {
        return vm;
    }
    fd = g_file_open_tmp("tern-fuzz-cpu-XXXXXX", &kernel, &err);
    if (fd < 0 || !g_file_set_contents(kernel, (const char *)blob->data, blob->size, &err)) {
        fprintf(stderr, "fuzz-cpu: %s\n", err->message);
        abort();
    }
    close(fd);
    cfg = machine_config_new();
    cfg->accels = g_strsplit("interp", ",", -1);
    cfg->ram_size = 4u << 20;
    cfg->smp = 1;
    cfg->kernel = g_strdup(kernel);
    cfg->append = g_strdup("start=1048576,end=2097152");
    cfg->serial = stub_chr_new();
    qapi_event_set_emitter(fuzz_cpu_ignore_event, NULL);
    bql_lock();
    vm = vm_new();
    if (!machine_create(cfg, vm, &err)) {
        fprintf(stderr, "fuzz-cpu: %s\n", err->message);
        abort();
    }
    g_unlink(kernel);       /* loaded: the file is not needed any more */
    fuzz_cpu_write_seed(vm);
    return vm;
}

static X86CPUState fuzz_cpu_state(VM *vm)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    memset(&env, 0, sizeof(env));
    if (!cpu_get_state(vm, 0, &env, &err)) {
        fprintf(stderr, "fuzz-cpu: %s\n", err->message);
        abort();
    }
    return env;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VM *vm = fuzz_cpu_vm();
    CPUVMState s = { .vm = vm, .index = 0 };
    X86CPUState before = fuzz_cpu_state(vm), after;
    g_autoptr(GError) err = NULL;
    QEMUFile *in = qemu_file_new_input_buffer(data, size);
    bool ok = vmstate_load_state(in, &vmstate_cpu, &s, vmstate_cpu.version_id, &err);

    qemu_fclose(in, NULL);
    after = fuzz_cpu_state(vm);
    if (!ok && memcmp(&before, &after, sizeof(before))) {
        fprintf(stderr, "fuzz-cpu: a failed load (%s) changed the vCPU\n", err->message);
        abort();
    }
    if (ok && !cpu_set_state(vm, 0, &before, NULL)) {
        abort();
    }
    return 0;
}
