/*
 * The device type table, instance life cycle and the port-I/O map.
 */
#include "hw/device.h"

#include <string.h>

#include "debug-exit.h"
#include "hw/display-vga.h"
#include "hw/serial.h"
#include "hw/testdev.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"

/* Every device type tern has; read-only. */
static const DeviceClass *const device_classes[] = {
    &serial_class,
    &debug_exit_class,
    &testdev_class,
    &vga_class,
    &vga_dac_class,
};

const DeviceClass *device_class_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(device_classes); i++) {
        if (strcmp(device_classes[i]->name, name) == 0) {
            return device_classes[i];
        }
    }
    return NULL;
}

DeviceState *device_new(const DeviceClass *klass, const char *id)
{
    DeviceState *dev;

    g_assert(klass->instance_size >= sizeof(DeviceState));
    dev = g_malloc0(klass->instance_size);
    dev->klass = klass;
    dev->id = g_strdup(id ? id : klass->name);
    dev->pio_base = klass->pio_base;
    dev->pio_len = klass->pio_len;
    return dev;
}

bool device_realize(DeviceState *dev, GError **errp)
{
    g_assert(!dev->realized);
    if (dev->klass->realize && !dev->klass->realize(dev, errp)) {
        error_prepend(errp, "device '%s': ", dev->id);
        return false;
    }
    dev->realized = true;
    device_reset(dev);
    return true;
}

void device_reset(DeviceState *dev)
{
    if (dev->klass->reset) {
        dev->klass->reset(dev);
    }
}

void device_free(DeviceState *dev)
{
    if (!dev) {
        return;
    }
    if (dev->realized && dev->klass->unrealize) {
        dev->klass->unrealize(dev);
    }
    g_free(dev->id);
    g_free(dev);
}

struct IOPortMap {
    GPtrArray *devices;     /* DeviceState*, not owned; ranges disjoint */
};

IOPortMap *ioport_map_new(void)
{
    IOPortMap *map = g_new0(IOPortMap, 1);

    map->devices = g_ptr_array_new();
    return map;
}

void ioport_map_free(IOPortMap *map)
{
    if (!map) {
        return;
    }
    g_ptr_array_free(map->devices, TRUE);
    g_free(map);
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

bool ioport_map_add(IOPortMap *map, DeviceState *dev, GError **errp)
{
    if (dev->pio_len == 0 || (uint32_t)dev->pio_base + dev->pio_len > 0x10000) {
        error_setg(errp, "device '%s': bad port range 0x%x+0x%x", dev->id,
                   dev->pio_base, dev->pio_len);
        return false;
    }
    for (guint i = 0; i < map->devices->len; i++) {
        DeviceState *other = g_ptr_array_index(map->devices, i);

        if (ranges_overlap(dev->pio_base, dev->pio_len,
                           other->pio_base, other->pio_len)) {
            error_setg(errp, "device '%s': ports 0x%x-0x%x overlap device '%s'",
                       dev->id, dev->pio_base, dev->pio_base + dev->pio_len - 1,
                       other->id);
            return false;
        }
    }
    g_ptr_array_add(map->devices, dev);
    return true;
}

/* The device whose range holds every byte of the access, or NULL. */
static DeviceState *ioport_find(IOPortMap *map, uint16_t port, unsigned size)
{
    for (guint i = 0; i < map->devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(map->devices, i);

        if (port >= dev->pio_base &&
            (uint32_t)port + size <= (uint32_t)dev->pio_base + dev->pio_len) {
            return dev;
        }
    }
    return NULL;
}

static uint32_t size_mask(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

uint32_t ioport_read(IOPortMap *map, uint16_t port, unsigned size)
{
    DeviceState *dev = ioport_find(map, port, size);

    g_assert(bql_locked());
    if (!dev || !dev->klass->pio_read) {
        return size_mask(size);
    }
    return dev->klass->pio_read(dev, port - dev->pio_base, size) &
           size_mask(size);
}

void ioport_write(IOPortMap *map, uint16_t port, unsigned size, uint32_t value)
{
    DeviceState *dev = ioport_find(map, port, size);

    g_assert(bql_locked());
    if (dev && dev->klass->pio_write) {
        dev->klass->pio_write(dev, port - dev->pio_base, size,
                              value & size_mask(size));
    }
}
