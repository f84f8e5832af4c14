/*
 * The tern-pc machine: main RAM (or a memory backend) at guest address 0,
 * the devices (serial at 0x3f8, debug-exit at 0xf4, testdev at 0xe0), the
 * accelerator, the vCPUs, and the boot image (-kernel, loaded at 0x10000
 * and entered in 32-bit flat protected mode).  One machine per process.
 */
#ifndef HW_MACHINE_H
#define HW_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "chardev/char.h"
#include "hw/device.h"
#include "hw/guest-params.h"
#include "hw/serial.h"
#include "hw/testdev.h"
#include "sysemu/accel-ops.h"
#include "sysemu/memory.h"
#include "sysemu/vm.h"

typedef struct SaveVMState SaveVMState;        /* migration/savevm.h */
typedef struct CPUVMState CPUVMState;          /* hw/cpu-vmstate.h */

#define MACHINE_TYPE_NAME "tern-pc"     /* carried by the migration stream */
#define MACHINE_KERNEL_ADDR GUEST_LOAD_ADDR  /* -kernel load address, entry */
#define MACHINE_STACK_TOP   GUEST_STACK_TOP  /* initial ESP, grows down */
#define MACHINE_MAX_RAM     (UINT64_C(4) << 30)

/* Everything the command line decides about the machine. */
typedef struct MachineConfig {
    uint64_t ram_size;          /* 0: from the backend, or the default */
    char *memory_backend;       /* -machine memory-backend=ID, or NULL */
    GPtrArray *backends;        /* MemoryBackendConfig*, owned */
    int smp;                    /* vCPUs, >= 1 */
    char **accels;              /* fallback list, e.g. { "kvm", "interp" } */
    char *kernel;               /* -kernel FILE, or NULL */
    char *append;               /* -append, or NULL */
    Chardev *serial;            /* -serial, or NULL */
    uint64_t vga_vram_mb;       /* -device VGA: video memory; 0: no display */
    /* Not from the command line: set by the assembly (system/assembly.c). */
    DeviceBlocker blocker;      /* how devices ask for migration blockers */
    /*
     * -incoming: the guest will arrive.  When main RAM is shared memory it
     * may hold the guest already (x-ignore-shared, CPR), so -kernel and its
     * parameters are not written into it.
     */
    bool incoming;
    const MemoryFdSource *ram_fds;  /* CPR: the old process's memfds, or NULL */
} MachineConfig;

MachineConfig *machine_config_new(void);
void machine_config_free(MachineConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MachineConfig, machine_config_free)

typedef struct Machine {
    VM *vm;                     /* run state and vCPUs; borrowed */
    const AccelOps *accel_ops;
    AccelState *accel;
    GuestMemory *memory;        /* every RAM block, owned */
    RAMBlock *ram;              /* main RAM at guest address 0, in memory */
    IOPortMap *ioports;
    GPtrArray *devices;         /* DeviceState*, owned, realize order */
    SerialState *serial;
    TestDevState *testdev;
    CPUIOHandler io;
    int smp;
    CPUVMState *cpu_vmstate;    /* [smp], the "cpu" sections' snapshots, or NULL */
} Machine;

/*
 * Build the machine from @cfg: memory, accelerator (the first usable in
 * cfg->accels; a fallback is reported on stderr with the reason), devices,
 * the kernel and its parameter block, and @vm's vCPUs (parked).  BQL held.
 * The caller owns it (tern's is the context's, system/assembly.c) and
 * @vm, which must outlive it.
 */
Machine *machine_create(const MachineConfig *cfg, VM *vm, GError **errp);

/* Destroy the vCPUs and free everything but the VM; NULL-safe.  BQL held. */
void machine_free(Machine *m);

/*
 * Register the machine's migratable state in @s: a "cpu" section per vCPU
 * (instance id = vCPU index), then "serial" and "testdev" (instance 0);
 * debug-exit has no state.  @m must outlive @s's use.  Called once at
 * start-up by the process assembly; see docs/devel/vmstate.md.
 */
void machine_register_vmstate(Machine *m, SaveVMState *s);

/* The accelerator named @name, or NULL. */
const AccelOps *accel_find(const char *name);

/* Port I/O as the vCPUs do it (takes the BQL itself). */
uint32_t machine_pio_read(Machine *m, uint16_t port, unsigned size);
void machine_pio_write(Machine *m, uint16_t port, unsigned size,
                       uint32_t value);

/*
 * The guest parameter block for -append "start=1M,end=100M,seed=N,flags=N"
 * (every key optional; defaults from hw/guest-params.h, end clamped to
 * @ram_size).  With -kernel, machine_create() writes it at
 * GUEST_PARAMS_ADDR.
 */
bool machine_parse_append(const char *append, uint64_t ram_size,
                          GuestParams *p, GError **errp);

/* Load @path into @m's RAM at MACHINE_KERNEL_ADDR;
 * "could not load kernel '...': ..." */
bool machine_load_kernel(Machine *m, const char *path, GError **errp);

#endif
