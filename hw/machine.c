/*
 * The tern-pc board: it assembles memory, accelerator, devices, boot image
 * and vCPUs in that order, and tears them down in reverse.
 */
#include "hw/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug-exit.h"
#include "hw/display-vga.h"
#include "hw/guest-params.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "qemu/option.h"
#include "sysemu/cpus.h"

/* Every accelerator this build has, in no particular order; read-only. */
static const AccelOps *const accel_table[] = {
    &accel_kvm_ops,
    &accel_interp_ops,
    &accel_qtest_ops,
};

const AccelOps *accel_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(accel_table); i++) {
        if (strcmp(accel_table[i]->name, name) == 0) {
            return accel_table[i];
        }
    }
    return NULL;
}

MachineConfig *machine_config_new(void)
{
    MachineConfig *cfg = g_new0(MachineConfig, 1);

    cfg->backends = g_ptr_array_new_with_free_func(
        (GDestroyNotify)memory_backend_config_free);
    cfg->smp = 1;
    return cfg;
}

void machine_config_free(MachineConfig *cfg)
{
    if (!cfg) {
        return;
    }
    g_ptr_array_free(cfg->backends, TRUE);
    g_free(cfg->memory_backend);
    g_strfreev(cfg->accels);
    g_free(cfg->kernel);
    g_free(cfg->append);
    g_free(cfg);
}

uint32_t machine_pio_read(Machine *m, uint16_t port, unsigned size)
{
    uint32_t val;

    bql_lock();
    val = ioport_read(m->ioports, port, size);
    bql_unlock();
    return val;
}

void machine_pio_write(Machine *m, uint16_t port, unsigned size,
                       uint32_t value)
{
    bql_lock();
    ioport_write(m->ioports, port, size, value);
    bql_unlock();
}

static uint32_t machine_io_read(void *opaque, uint16_t port, unsigned size)
{
    return machine_pio_read(opaque, port, size);
}

static void machine_io_write(void *opaque, uint16_t port, unsigned size,
                             uint32_t value)
{
    machine_pio_write(opaque, port, size, value);
}

static bool machine_init_memory(Machine *m, const MachineConfig *cfg,
                                GError **errp)
{
    uint64_t ram_size = cfg->ram_size;

    m->memory = guest_memory_new();
    guest_memory_set_fd_source(m->memory, cfg->ram_fds);
    for (guint i = 0; i < cfg->backends->len; i++) {
        if (!memory_add_backend(m->memory, g_ptr_array_index(cfg->backends, i),
                                errp)) {
            return false;
        }
    }
    if (cfg->memory_backend) {
        m->ram = ram_block_by_id(m->memory, cfg->memory_backend);
        if (!m->ram) {
            error_setg(errp, "Memory backend '%s' not found",
                       cfg->memory_backend);
            return false;
        }
        if (ram_size && ram_size != m->ram->used_length) {
            error_setg(errp, "Machine memory size does not match the size of "
                       "the memory backend");
            return false;
        }
    } else {
        m->ram = memory_add_main_ram(m->memory,
                                     ram_size ? ram_size : MAIN_RAM_DEFAULT_SIZE,
                                     errp);
        if (!m->ram) {
            return false;
        }
    }
    if (m->ram->used_length > MACHINE_MAX_RAM) {
        error_setg(errp, "ram size too large: a 32-bit tern guest addresses "
                   "at most 4 GiB");
        return false;
    }
    return memory_map_block(m->memory, m->ram, 0, errp) &&
           (!cfg->vga_vram_mb ||
            vga_vram_init(m->memory, cfg->vga_vram_mb, errp));
}

/* Try each accelerator in turn; report each failure before a fallback. */
static bool machine_init_accel(Machine *m, const MachineConfig *cfg,
                               GError **errp)
{
    static const char *const default_accels[] = { "kvm", "interp", NULL };
    const char *const *names = cfg->accels ? (const char *const *)cfg->accels
                                           : default_accels;
    g_autoptr(GString) failures = g_string_new(NULL);

    for (int i = 0; names[i]; i++) {
        const AccelOps *ops = accel_find(names[i]);
        GError *err = NULL;

        if (!ops) {
            g_string_append_printf(failures, "%saccelerator '%s' is not built "
                                   "into this tern", failures->len ? "; " : "",
                                   names[i]);
            continue;
        }
        if (ops->available(&err)) {
            m->accel = ops->vm_new(ram_block_list_mapped(m->memory), &err);
        }
        if (m->accel) {
            m->accel_ops = ops;
            if (failures->len) {
                error_report("%s; using accelerator %s", failures->str,
                             ops->name);
            }
            memory_set_accel(m->memory, ops, m->accel, m->vm);
            return true;
        }
        g_string_append_printf(failures, "%s%s: %s", failures->len ? "; " : "",
                               ops->name, err->message);
        g_error_free(err);
    }
    error_setg(errp, "no usable accelerator: %s", failures->str);
    return false;
}

static DeviceState *machine_add_device(Machine *m, const char *type,
                                       GError **errp)
{
    const DeviceClass *klass = device_class_find(type);
    DeviceState *dev;

    g_assert(klass);
    dev = device_new(klass, NULL);
    g_ptr_array_add(m->devices, dev);
    if (!ioport_map_add(m->ioports, dev, errp)) {
        return NULL;
    }
    return dev;
}

static bool machine_init_devices(Machine *m, const MachineConfig *cfg,
                                 GError **errp)
{
    static const char *const types[] = { "serial", "debug-exit", "testdev" };

    m->ioports = ioport_map_new();
    m->devices = g_ptr_array_new_with_free_func((GDestroyNotify)device_free);
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        DeviceState *dev = machine_add_device(m, types[i], errp);

        if (!dev) {
            return false;
        }
        if (dev->klass == &serial_class) {
            m->serial = (SerialState *)dev;
            serial_set_chardev(m->serial, cfg->serial);
        } else if (dev->klass == &testdev_class) {
            m->testdev = (TestDevState *)dev;
            testdev_set_blocker(m->testdev, &cfg->blocker);
        }
        if (!device_realize(dev, errp)) {
            return false;
        }
    }
    return !cfg->vga_vram_mb || vga_machine_add(m, errp);
}

bool machine_load_kernel(Machine *m, const char *path, GError **errp)
{
    g_autofree uint8_t *buf = NULL;
    struct stat st;
    uint64_t ram = memory_main_ram_size(m->memory);
    ssize_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        error_setg(errp, "could not load kernel '%s': %s", path,
                   g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
        (uint64_t)st.st_size > ram - MIN(ram, MACHINE_KERNEL_ADDR)) {
        error_setg(errp, "could not load kernel '%s': %s", path,
                   !S_ISREG(st.st_mode) ? "not a regular file" :
                   st.st_size == 0 ? "empty file" : "does not fit in RAM");
        close(fd);
        return false;
    }
    buf = g_malloc(st.st_size);
    while (got < st.st_size) {
        ssize_t n = read(fd, buf + got, st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg(errp, "could not load kernel '%s': %s", path,
                       n < 0 ? g_strerror(errno) : "file shrank while read");
            close(fd);
            return false;
        }
        got += n;
    }
    close(fd);
    return guest_memory_write(m->memory, MACHINE_KERNEL_ADDR, buf, got, errp);
}

bool machine_parse_append(const char *append, uint64_t ram_size,
                          GuestParams *p, GError **errp)
{
    static const char *const keys[] = { "start", "end", "seed", "flags", NULL };
    g_autoptr(GHashTable) kv = NULL;
    uint64_t start, end, seed, flags;

    *p = (GuestParams){
        .magic = GUEST_PARAMS_MAGIC,
        .ram_size_lo = (uint32_t)ram_size,
        .ram_size_hi = (uint32_t)(ram_size >> 32),
    };
    kv = append && *append ? qemu_opts_parse(append, NULL, errp)
                           : g_hash_table_new(g_str_hash, g_str_equal);
    if (!kv || !qemu_opts_check_keys(kv, keys, errp) ||
        !qemu_opt_get_size(kv, "start", GUEST_DEFAULT_START, &start, errp) ||
        !qemu_opt_get_size(kv, "end", MIN(GUEST_DEFAULT_END, ram_size), &end,
                           errp) ||
        !qemu_opt_get_u64(kv, "seed", GUEST_DEFAULT_SEED, &seed, errp) ||
        !qemu_opt_get_u64(kv, "flags", 0, &flags, errp)) {
        goto bad;
    }
    if (start % TARGET_PAGE_SIZE || start >= end || end > ram_size) {
        error_setg(errp, "start=0x%" G_GINT64_MODIFIER "x end=0x%"
                   G_GINT64_MODIFIER "x: need a page-aligned start below end, "
                   "and end within the %" G_GUINT64_FORMAT "-byte RAM",
                   start, end, ram_size);
        goto bad;
    }
    if (seed > UINT32_MAX || flags & ~(uint64_t)GUEST_FLAG_FILL_THEN_AB) {
        error_setg(errp, "%s out of range", seed > UINT32_MAX ? "seed" : "flags");
        goto bad;
    }
    p->start = start;
    p->end = end;
    p->seed = seed;
    p->flags = flags;
    return true;

bad:
    error_prepend(errp, "-append '%s': ", append ? append : "");
    return false;
}

static bool machine_init_boot(Machine *m, const MachineConfig *cfg,
                              GError **errp)
{
    uint8_t block[GUEST_PARAMS_SIZE];
    GuestParams params;

    if (!cfg->kernel) {
        if (cfg->append) {
            error_setg(errp, "-append only allowed with -kernel option");
            return false;
        }
        return true;
    }
    if (cfg->incoming && m->ram->shared) {
        return true;    /* the memory may hold a running guest: never overwrite it */
    }
    if (!machine_load_kernel(m, cfg->kernel, errp) ||
        !machine_parse_append(cfg->append, memory_main_ram_size(m->memory),
                              &params, errp)) {
        return false;
    }
    guest_params_write(block, &params);
    return guest_memory_write(m->memory, GUEST_PARAMS_ADDR, block,
                              sizeof(block), errp);
}

Machine *machine_create(const MachineConfig *cfg, VM *vm, GError **errp)
{
    Machine *m = g_new0(Machine, 1);

    g_assert(bql_locked());
    m->vm = vm;
    m->smp = cfg->smp;
    m->io = (CPUIOHandler){ .pio_read = machine_io_read,
                            .pio_write = machine_io_write, .opaque = m };
    if (!machine_init_memory(m, cfg, errp) ||
        !machine_init_accel(m, cfg, errp) ||
        !machine_init_devices(m, cfg, errp) ||
        !machine_init_boot(m, cfg, errp) ||
        !cpus_create(vm, m->accel_ops, m->accel, cfg->smp, &m->io,
                     MACHINE_KERNEL_ADDR, MACHINE_STACK_TOP, errp)) {
        machine_free(m);
        return NULL;
    }
    return m;
}

void machine_free(Machine *m)
{
    if (!m) {
        return;
    }
    cpus_destroy(m->vm);
    if (m->devices) {
        g_ptr_array_free(m->devices, TRUE);
    }
    ioport_map_free(m->ioports);
    if (m->memory) {
        memory_set_accel(m->memory, NULL, NULL, NULL);
    }
    if (m->accel) {
        m->accel_ops->vm_free(m->accel);
    }
    guest_memory_free(m->memory);
    g_free(m->cpu_vmstate);
    g_free(m);
}
