/*
 * The "cpu" VMState section (hw/cpu-vmstate.c) and the machine's section
 * list (hw/machine-vmstate.c) on the real tern-pc machine running the a-b
 * guest: round trips under interp and kvm, refusal while the VM runs,
 * states post_load or the accelerator rejects (the vCPU keeps its state),
 * and whole device-state streams moved between accelerators, after which
 * the guest goes on.  kvm cases skip, saying why, where /dev/kvm is unusable.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "chardev-stub.h"
#include "guest-blobs.h"
#include "cpu-vmstate.h"
#include "hw/machine.h"
#include "migration/savevm.h"
#include "qapi/qmp-event.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "test-accel.h"

#define RAM_SIZE   (4u << 20)
#define AB_START   (1u << 20)
#define AB_END     (2u << 20)

typedef struct Vm {
    VM *vm;
    Machine *m;
    Chardev *chr;
    char *kernel;
} Vm;

static void ignore_event(const char *event, JsonObject *data, void *opaque)
{
    if (data) {
        json_object_unref(data);
    }
}

/*
 * Boot a-b under @accel with @smp vCPUs, stopped, BQL held; FALSE (test
 * skipped) when the accelerator cannot run here.
 */
static bool vm_boot(Vm *v, const char *accel, int smp)
{
    g_autoptr(MachineConfig) cfg = machine_config_new();
    g_autoptr(GError) err = NULL;
    const GuestBlob *blob = guest_blob_find("a-b");
    int fd;

    if (!accel_find(accel)->available(&err)) {
        g_test_skip_printf("accelerator %s unusable here: %s", accel, err->message);
        return false;
    }
    fd = g_file_open_tmp("tern-guest-XXXXXX", &v->kernel, &err);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(v->kernel, (const char *)blob->data,
                                      blob->size, &err));
    v->chr = stub_chr_new();
    cfg->accels = g_strsplit(accel, ",", -1);
    cfg->ram_size = RAM_SIZE;
    cfg->smp = smp;
    cfg->kernel = g_strdup(v->kernel);
    cfg->append = g_strdup_printf("start=%u,end=%u", AB_START, AB_END);
    cfg->serial = v->chr;
    qapi_event_set_emitter(ignore_event, NULL);
    bql_lock();
    v->vm = vm_new();
    v->m = machine_create(cfg, v->vm, &err);
    g_assert_no_error(err);
    return true;
}

static void vm_destroy(Vm *v)
{
    if (runstate_is_running(v->vm)) {
        vm_stop(v->vm, RUN_STATE_PAUSED);
    }
    machine_free(v->m);
    vm_free(v->vm);
    bql_unlock();
    stub_chr_free(v->chr);
    g_unlink(v->kernel);
    g_free(v->kernel);
    qapi_event_set_emitter(NULL, NULL);
}

static guint count_bs(Vm *v)
{
    const GString *out = stub_chr_written(v->chr);
    guint n = 0;

    for (gsize i = 0; i < out->len; i++) {
        n += out->str[i] == 'B';
    }
    return n;
}

/* Run the guest (BQL released meanwhile) until the serial shows @bs 'B's. */
static void vm_run_until_bs(Vm *v, guint bs)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    vm_start(v->vm);
    while (count_bs(v) < bs) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        main_loop_iterate(false);
        bql_unlock();
        g_usleep(2000);
        bql_lock();
    }
    vm_stop(v->vm, RUN_STATE_PAUSED);
}

/* a-b's invariant: page bytes equal, except one step down somewhere. */
static void assert_ab_pattern(const Vm *v)
{
    const uint8_t *ram = v->m->ram->host;
    guint steps = 0;

    for (guint64 a = AB_START + TARGET_PAGE_SIZE; a < AB_END; a += TARGET_PAGE_SIZE) {
        if (ram[a] != ram[a - TARGET_PAGE_SIZE]) {
            g_assert_cmpint((uint8_t)(ram[a - TARGET_PAGE_SIZE] - 1), ==, ram[a]);
            steps++;
        }
    }
    g_assert_cmpuint(steps, <=, 1);
}

/* ---- encoding helpers ---- */

/* @env as a "cpu" section body, without asking any vCPU (no hooks). */
static GBytes *env_bytes(const X86CPUState *env)
{
    VMStateDescription raw = vmstate_cpu;
    CPUVMState s = { .env = *env };
    QEMUFile *out = qemu_file_new_output_buffer();
    g_autoptr(GError) err = NULL;
    GBytes *bytes;

    raw.pre_save = NULL;
    raw.post_load = NULL;
    g_assert_true(vmstate_save_state(out, &raw, &s, NULL, &err));
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    return bytes;
}

/* FXSAVE bytes 464..511 are for software, not CPU state; KVM fills them. */
#define FXSAVE_SOFTWARE_AREA 464

/*
 * Equal in every field but the TSC, which keeps counting under kvm even
 * while the vCPU is parked, and FXSAVE's software area.
 */
static void assert_env_equal(const X86CPUState *a, const X86CPUState *b)
{
    X86CPUState ca = *a, cb = *b;
    g_autoptr(GBytes) ba = NULL;
    g_autoptr(GBytes) bb = NULL;

    ca.tsc = cb.tsc = 0;
    memset(&ca.fxsave[FXSAVE_SOFTWARE_AREA], 0, X86_FXSAVE_SIZE - FXSAVE_SOFTWARE_AREA);
    memset(&cb.fxsave[FXSAVE_SOFTWARE_AREA], 0, X86_FXSAVE_SIZE - FXSAVE_SOFTWARE_AREA);
    ba = env_bytes(&ca);
    bb = env_bytes(&cb);
    g_assert_cmpmem(g_bytes_get_data(ba, NULL), g_bytes_get_size(ba),
                    g_bytes_get_data(bb, NULL), g_bytes_get_size(bb));
}

static X86CPUState vcpu_state(VM *vm, int index)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    g_assert_true(cpu_get_state(vm, index, &env, &err));
    return env;
}

static GBytes *cpu_save(CPUVMState *s, GError **errp)
{
    QEMUFile *out = qemu_file_new_output_buffer();
    GBytes *bytes = NULL;

    if (vmstate_save_state(out, &vmstate_cpu, s, NULL, errp)) {
        bytes = qemu_file_output_buffer_bytes(out);
    }
    qemu_fclose(out, NULL);
    return bytes;
}

static bool cpu_load(CPUVMState *s, GBytes *bytes, GError **errp)
{
    size_t len;
    const void *data = g_bytes_get_data(bytes, &len);
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    bool ok = vmstate_load_state(in, &vmstate_cpu, s, 1, errp);

    qemu_fclose(in, NULL);
    return ok;
}

static void assert_error_has(const GError *err, const char *what)
{
    g_assert_nonnull(err);
    if (!strstr(err->message, what)) {
        g_error("error '%s' does not mention '%s'", err->message, what);
    }
}

/* ---- the reset state passes the checks ---- */

static void test_reset_state_valid(void)
{
    g_autoptr(GError) err = NULL;
    X86CPUState env;

    x86_cpu_state_reset(&env, MACHINE_KERNEL_ADDR, MACHINE_STACK_TOP);
    g_assert_true(x86_cpu_state_check(&env, &err));
    g_assert_no_error(err);
}

/* ---- round trip on one machine ---- */

static void test_roundtrip(gconstpointer data)
{
    const char *accel = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) bytes = NULL;
    CPUVMState snap = { .index = 0 };
    X86CPUState saved, scrambled, loaded;
    Vm v = { 0 };

    if (!vm_boot(&v, accel, 1)) {
        return;
    }
    snap.vm = v.vm;
    vm_run_until_bs(&v, 1);
    bytes = cpu_save(&snap, &err);
    g_assert_no_error(err);
    saved = vcpu_state(v.vm, 0);
    assert_env_equal(&snap.env, &saved);
    g_assert_true(x86_cpu_state_check(&saved, &err));
    /* the guest's registers are not the reset state any more */
    x86_cpu_state_reset(&scrambled, MACHINE_KERNEL_ADDR, MACHINE_STACK_TOP);
    g_assert_cmphex(saved.eip, !=, scrambled.eip);
    g_assert_true(cpu_set_state(v.vm, 0, &scrambled, &err));

    memset(&snap.env, 0, sizeof(snap.env));
    g_assert_true(cpu_load(&snap, bytes, &err));
    g_assert_no_error(err);
    loaded = vcpu_state(v.vm, 0);
    assert_env_equal(&saved, &loaded);
    /* and the guest goes on from there */
    vm_run_until_bs(&v, count_bs(&v) + 1);
    assert_ab_pattern(&v);
    vm_destroy(&v);
}

static void test_running_refused(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) bytes = NULL;
    CPUVMState snap = { .index = 0 };
    X86CPUState env;
    Vm v = { 0 };

    if (!vm_boot(&v, "interp", 1)) {
        return;
    }
    env = vcpu_state(v.vm, 0);
    snap.vm = v.vm;
    vm_start(v.vm);
    g_assert_null(cpu_save(&snap, &err));
    assert_error_has(err, "the VM is running");
    g_clear_error(&err);
    bytes = env_bytes(&env);
    g_assert_false(cpu_load(&snap, bytes, &err));
    assert_error_has(err, "the VM is running");
    vm_stop(v.vm, RUN_STATE_PAUSED);
    vm_destroy(&v);
}

/* ---- states that must not load ---- */

typedef struct CpuBad {
    void (*mutate)(X86CPUState *env);
    const char *error;
} CpuBad;

static void bad_no_pe(X86CPUState *e) { e->cr0 &= ~1ull; }
static void bad_paging(X86CPUState *e) { e->cr0 |= 1ull << 31; }
static void bad_nw(X86CPUState *e) { e->cr0 = (e->cr0 | 1ull << 29) & ~(1ull << 30); }
static void bad_lma(X86CPUState *e) { e->efer |= 1ull << 10; }
static void bad_vm86(X86CPUState *e) { e->eflags |= 1u << 17; }
static void bad_eflags1(X86CPUState *e) { e->eflags &= ~2u; }
static void bad_cs_absent(X86CPUState *e) { e->segs[R_CS].flags &= ~(1u << 15); }
static void bad_ss_code(X86CPUState *e) { e->segs[R_SS].flags = e->segs[R_CS].flags; }
static void bad_ds_bits(X86CPUState *e) { e->segs[R_DS].flags |= 1u; }
static void bad_es_limit(X86CPUState *e) { e->segs[R_ES].limit = 0xfffff000u; }
static void bad_fs_long(X86CPUState *e) { e->segs[R_FS].flags |= 1u << 21; }
static void bad_gs_system(X86CPUState *e) { e->segs[R_GS].flags &= ~(1u << 12); }
static void bad_tr_type(X86CPUState *e) { e->tr.flags = (e->tr.flags & ~0xf00u) | 0x900u; }
static void bad_ldt_s(X86CPUState *e) { e->ldt.flags |= 1u << 12; }
static void bad_pat(X86CPUState *e) { e->pat = 0x0007040600070402ull; }
static void bad_mxcsr(X86CPUState *e) { e->fxsave[26] = 1; }
/* Passes the checks; the interpreter runs flat segments only. */
static void interp_refuses(X86CPUState *e) { e->segs[R_DS].base = 0x1000; }

static const CpuBad cpu_bad[] = {
    { bad_no_pe, "only protected mode without paging" },
    { bad_paging, "only protected mode without paging" },
    { bad_nw, "invalid CR0" },
    { bad_lma, "long mode is not supported" },
    { bad_vm86, "virtual-8086 mode" },
    { bad_eflags1, "invalid EFLAGS" },
    { bad_cs_absent, "segment CS: not present" },
    { bad_ss_code, "segment SS: descriptor type 0xb is not allowed" },
    { bad_ds_bits, "segment DS: invalid flags" },
    { bad_es_limit, "segment ES: limit 0xfffff000 does not fit" },
    { bad_fs_long, "segment FS: 64-bit" },
    { bad_gs_system, "segment GS: a system descriptor" },
    { bad_tr_type, "segment TR: not a busy TSS" },
    { bad_ldt_s, "segment LDT: not an LDT" },
    { bad_pat, "invalid PAT" },
    { bad_mxcsr, "invalid MXCSR 0x00011f80" },
    { interp_refuses, "interp: only flat segments" },
};

static void test_bad_values(void)
{
    Vm v = { 0 };
    X86CPUState live;

    if (!vm_boot(&v, "interp", 1)) {
        return;
    }
    vm_run_until_bs(&v, 1);
    live = vcpu_state(v.vm, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(cpu_bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(GBytes) bytes = NULL;
        X86CPUState bad = live, now;
        CPUVMState snap = { .vm = v.vm, .index = 0 };
        CPUVMState marker;

        cpu_bad[i].mutate(&bad);
        bytes = env_bytes(&bad);
        memset(&snap.env, 0x5a, sizeof(snap.env));
        marker = snap;
        g_assert_false(cpu_load(&snap, bytes, &err));
        assert_error_has(err, cpu_bad[i].error);
        g_test_message("rejected: %s", err->message);
        /* neither the vCPU nor the snapshot changed */
        now = vcpu_state(v.vm, 0);
        assert_env_equal(&live, &now);
        g_assert_cmpmem(&snap, sizeof(snap), &marker, sizeof(marker));
    }
    /* the vCPU still runs the guest */
    vm_run_until_bs(&v, count_bs(&v) + 1);
    assert_ab_pattern(&v);
    vm_destroy(&v);
}

/* ---- the machine's sections ---- */

static const SaveVMConfig stream_cfg = {
    .machine_name = MACHINE_TYPE_NAME,
    .send_configuration = true,
};

/* A device-state stream of @m (header, configuration, FULL sections, EOF, vmdesc). */
static GBytes *machine_stream(Machine *m)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    g_autoptr(GError) err = NULL;
    QEMUFile *out = qemu_file_new_output_buffer();
    GBytes *bytes;

    machine_register_vmstate(m, s);
    g_assert_true(savevm_state_header(s, out, &stream_cfg, &err));
    g_assert_true(savevm_state_complete(s, out, &err));
    g_assert_no_error(err);
    savevm_state_cleanup(s);
    bytes = qemu_file_output_buffer_bytes(out);
    qemu_fclose(out, NULL);
    return bytes;
}

static bool machine_stream_load(Machine *m, GBytes *bytes, GError **errp)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    size_t len;
    const void *data = g_bytes_get_data(bytes, &len);
    QEMUFile *in = qemu_file_new_input_buffer(data, len);
    bool ok;

    machine_register_vmstate(m, s);
    ok = savevm_state_load(s, in, &stream_cfg, errp);
    qemu_fclose(in, NULL);
    return ok;
}

/* The vmdesc trailer: 0x06, be32 length, JSON to the end of the stream. */
static JsonNode *stream_vmdesc(GBytes *bytes)
{
    size_t len;
    const uint8_t *p = g_bytes_get_data(bytes, &len);

    for (size_t i = 0; i + 5 <= len; i++) {
        uint32_t n = (uint32_t)p[i + 1] << 24 | p[i + 2] << 16 | p[i + 3] << 8 | p[i + 4];

        if (p[i] == QEMU_VM_VMDESCRIPTION && i + 5 + n == len && p[i + 5] == '{') {
            g_autofree char *json = g_strndup((const char *)p + i + 5, n);

            return json_from_string(json, NULL);
        }
    }
    g_assert_not_reached();
}

static void test_machine_sections(void)
{
    static const struct { const char *name; int instance; const char *vmsd; } expect[] = {
        { "cpu", 0, "cpu" }, { "cpu", 1, "cpu" }, { "cpu", 2, "cpu" },
        { "serial", 0, "serial" }, { "testdev", 0, "testdev" },
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(JsonNode) desc = NULL;
    JsonArray *devices;
    Vm v = { 0 };

    if (!vm_boot(&v, "interp", 3)) {
        return;
    }
    bytes = machine_stream(v.m);
    desc = stream_vmdesc(bytes);
    devices = json_object_get_array_member(json_node_get_object(desc), "devices");
    g_assert_cmpuint(json_array_get_length(devices), ==, G_N_ELEMENTS(expect));
    for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
        JsonObject *d = json_array_get_object_element(devices, i);

        g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, expect[i].name);
        g_assert_cmpint(json_object_get_int_member(d, "instance_id"), ==,
                        expect[i].instance);
        g_assert_cmpstr(json_object_get_string_member(d, "vmsd_name"), ==,
                        expect[i].vmsd);
    }
    /* the stream loads back into the machine it came from */
    g_assert_true(machine_stream_load(v.m, bytes, &err));
    g_assert_no_error(err);
    vm_destroy(&v);
}

/*
 * Migrate by hand from @from to @to: device state through a savevm
 * stream, RAM by copy.  The destination's vCPU gets the source's state,
 * the devices theirs, and the guest keeps running.
 */
static void migrate_between(const char *from, const char *to)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autofree uint8_t *ram = NULL;
    g_autoptr(GError) why = NULL;
    X86CPUState src_env, dst_env;
    SerialState src_serial;
    Vm v = { 0 };

    if (!accel_find(to)->available(&why)) {
        g_test_skip_printf("accelerator %s unusable here: %s", to, why->message);
        return;
    }
    if (!vm_boot(&v, from, 1)) {
        return;
    }
    vm_run_until_bs(&v, 2);
    testdev_class.pio_write(&v.m->testdev->parent, TESTDEV_COUNTER, 4, 0x600d);
    bytes = machine_stream(v.m);
    ram = g_memdup2(v.m->ram->host, RAM_SIZE);
    src_env = vcpu_state(v.vm, 0);
    src_serial = *v.m->serial;
    vm_destroy(&v);

    if (!vm_boot(&v, to, 1)) {
        return;
    }
    memcpy(v.m->ram->host, ram, RAM_SIZE);
    g_assert_true(machine_stream_load(v.m, bytes, &err));
    g_assert_no_error(err);
    dst_env = vcpu_state(v.vm, 0);
    assert_env_equal(&src_env, &dst_env);
    g_assert_cmpuint(v.m->testdev->counter, ==, 0x600d);
    g_assert_cmphex(v.m->serial->divider, ==, src_serial.divider);
    g_assert_cmphex(v.m->serial->lcr, ==, src_serial.lcr);
    g_assert_cmphex(v.m->serial->lsr, ==, src_serial.lsr);
    g_assert_cmphex(v.m->serial->iir, ==, src_serial.iir);
    assert_ab_pattern(&v);
    vm_run_until_bs(&v, 2);
    assert_ab_pattern(&v);
    vm_destroy(&v);
}

static void test_migrate(gconstpointer data)
{
    g_auto(GStrv) pair = g_strsplit(data, ">", 2);

    migrate_between(pair[0], pair[1]);
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "interp", "kvm" };
    static const char *const pairs[] = {
        "interp>interp", "interp>kvm", "kvm>interp", "kvm>kvm",
    };

    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    if (test_accel_selected(false)) {
        g_test_add_func("/cpu-vmstate/reset-state-valid", test_reset_state_valid);
        g_test_add_func("/cpu-vmstate/interp/running-refused", test_running_refused);
        g_test_add_func("/cpu-vmstate/interp/bad-values", test_bad_values);
        g_test_add_func("/cpu-vmstate/machine/sections", test_machine_sections);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-vmstate/%s/roundtrip", accels[i]);

        if (test_accel_selected(!strcmp(accels[i], "kvm"))) {
            g_test_add_data_func(path, accels[i], test_roundtrip);
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autofree char *name = g_strdelimit(g_strdup(pairs[i]), ">", '-');
        g_autofree char *path = g_strdup_printf("/cpu-vmstate/migrate/%s", name);

        if (test_accel_selected(strstr(pairs[i], "kvm") != NULL)) {
            g_test_add_data_func(path, pairs[i], test_migrate);
        }
    }
    return g_test_run();
}
