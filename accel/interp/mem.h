/*
 * Guest memory access for the interpreter: loads and stores go straight to
 * the host mapping of the RAMBlock, and every store marks the block's dirty
 * log.  The main RAM block (guest-physical 0) is checked inline; other
 * blocks and faults take the out-of-line path in mem.c.
 */
#ifndef ACCEL_INTERP_MEM_H
#define ACCEL_INTERP_MEM_H

#include <string.h>

#include "exec/ramblock.h"
#include "qemu/bitmap.h"
#include "interp-internal.h"

/*
 * Mark page @page dirty.  set_bit_atomic() skips the locked operation when
 * the bit is already set, the common case for a guest rewriting the same
 * pages.  Ordering: callers store to guest memory *before* marking, so a
 * collector that clears the bit then reads the page sees either the new
 * data or the bit set again (see set_bit_atomic() for the fine print).
 */
static inline void interp_mark_dirty(unsigned long *map, uint64_t page)
{
    set_bit_atomic(page, map);
}

/*
 * Host pointer for [@addr, @addr + @size) when it lies in one RAM block, or
 * NULL with cpu->fault_* set.  *@blk receives the block (for dirty marking).
 */
uint8_t *interp_mem_slow(AccelVCPU *cpu, uint32_t addr, unsigned size,
                         InterpRAM **blk);

/* Count a store to main RAM page @page against the dirty limit's budget. */
void interp_dirty_charge(AccelVCPU *cpu, uint64_t page);

/* Mark the page(s) of a store to a block found by interp_mem_slow. */
void interp_mark_dirty_slow(InterpRAM *blk, uint32_t addr, unsigned size);

static inline uint32_t ld_le(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1:
        return p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return GUINT16_FROM_LE(v);
    }
    default: {
        uint32_t v;
        memcpy(&v, p, 4);
        return GUINT32_FROM_LE(v);
    }
    }
}

static inline void st_le(uint8_t *p, unsigned size, uint32_t val)
{
    switch (size) {
    case 1:
        p[0] = (uint8_t)val;
        break;
    case 2: {
        uint16_t v = GUINT16_TO_LE((uint16_t)val);
        memcpy(p, &v, 2);
        break;
    }
    default: {
        uint32_t v = GUINT32_TO_LE(val);
        memcpy(p, &v, 4);
        break;
    }
    }
}

/* Load @size bytes (1, 2, 4) at guest-physical @addr. */
static inline bool mem_read(AccelVCPU *cpu, uint32_t addr, unsigned size,
                            uint32_t *val)
{
    const AccelState *vm = cpu->vm;
    InterpRAM *blk;
    uint8_t *p;

    if (likely((uint64_t)addr + size <= vm->ram_size)) {
        *val = ld_le(vm->ram_host + addr, size);
        return true;
    }
    p = interp_mem_slow(cpu, addr, size, &blk);
    if (!p) {
        return false;
    }
    *val = ld_le(p, size);
    return true;
}

/* Store @size bytes (1, 2, 4) at guest-physical @addr and mark the page dirty. */
static inline bool mem_write(AccelVCPU *cpu, uint32_t addr, unsigned size,
                             uint32_t val)
{
    const AccelState *vm = cpu->vm;
    InterpRAM *blk;
    uint8_t *p;

    if (likely((uint64_t)addr + size <= vm->ram_size)) {
        uint32_t last = addr + size - 1;

        st_le(vm->ram_host + addr, size, val);
        interp_mark_dirty(vm->ram_dirty, addr >> TARGET_PAGE_BITS);
        if (unlikely((addr ^ last) >> TARGET_PAGE_BITS)) {
            interp_mark_dirty(vm->ram_dirty, last >> TARGET_PAGE_BITS);
        }
        if (unlikely(cpu->dl_budget)) {
            interp_dirty_charge(cpu, addr >> TARGET_PAGE_BITS);
        }
        return true;
    }
    p = interp_mem_slow(cpu, addr, size, &blk);
    if (!p) {
        return false;
    }
    st_le(p, size, val);
    interp_mark_dirty_slow(blk, addr, size);
    return true;
}

#endif
