/*
 * tern's device model: a static table of device types, instances that embed
 * DeviceState, realize/reset hooks, and a port-I/O map that routes the
 * vCPUs' IN/OUT to the device owning the port.  Device state lives in the
 * instance; each type names its VMState description (docs/devel/vmstate.md)
 * so its state is data, never ad-hoc serialisation.
 */
#ifndef HW_DEVICE_H
#define HW_DEVICE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct DeviceState DeviceState;
typedef struct VMStateDescription VMStateDescription;  /* migration/vmstate */

/*
 * One device type.  All hooks run with the BQL held (pio_read/pio_write on
 * the vCPU thread that did the access, or on the main thread for qtest).
 * @offset is relative to the instance's pio_base; accesses never cross the
 * end of the range (the map checks).
 */
typedef struct DeviceClass {
    const char *name;                   /* "serial", "debug-exit", "testdev" */
    size_t instance_size;               /* >= sizeof(DeviceState), embeds it first */
    uint16_t pio_base;                  /* default port range */
    uint16_t pio_len;

    bool (*realize)(DeviceState *dev, GError **errp);
    void (*unrealize)(DeviceState *dev);
    void (*reset)(DeviceState *dev);
    uint32_t (*pio_read)(DeviceState *dev, uint16_t offset, unsigned size);
    void (*pio_write)(DeviceState *dev, uint16_t offset, unsigned size,
                      uint32_t value);

    /* The device's migratable state (its section); NULL: it has none. */
    const VMStateDescription *vmsd;
} DeviceClass;

/*
 * How a device that cannot always migrate asks for a migration blocker:
 * whoever assembles the machine gives one to machine_create() (through
 * MachineConfig), and the device calls @set (BQL held) with a reason that
 * says why, when it starts and stops blocking.  hw/ knows no migration
 * code: what a blocker does is the assembler's business.
 */
typedef struct DeviceBlocker {
    void (*set)(void *opaque, const char *reason, bool blocked);
    void *opaque;
} DeviceBlocker;

struct DeviceState {
    const DeviceClass *klass;
    char *id;                           /* instance id, e.g. "serial0" */
    uint16_t pio_base;
    uint16_t pio_len;
    bool realized;
};

/* The type named @name from the built-in table, or NULL. */
const DeviceClass *device_class_find(const char *name);

/* Call @fn for every type in the table (in table order). */
void device_class_foreach(void (*fn)(const DeviceClass *klass, void *opaque),
                          void *opaque);

/* Allocate an instance of @klass (zeroed, ports from the class defaults). */
DeviceState *device_new(const DeviceClass *klass, const char *id);
bool device_realize(DeviceState *dev, GError **errp);
void device_reset(DeviceState *dev);
/* Unrealize (if realized) and free; NULL-safe. */
void device_free(DeviceState *dev);

/* Port I/O map: which device answers which port.  Built at start-up. */
typedef struct IOPortMap IOPortMap;

IOPortMap *ioport_map_new(void);
void ioport_map_free(IOPortMap *map);
/* Claim dev->pio_base .. +pio_len; fails on overlap. */
bool ioport_map_add(IOPortMap *map, DeviceState *dev, GError **errp);
/*
 * Dispatch one access of @size (1, 2 or 4) bytes; BQL held.  Unclaimed
 * ports read as all ones and ignore writes, as on a PC.
 */
uint32_t ioport_read(IOPortMap *map, uint16_t port, unsigned size);
void ioport_write(IOPortMap *map, uint16_t port, unsigned size,
                  uint32_t value);

#endif
