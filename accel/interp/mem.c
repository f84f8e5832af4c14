/*
 * The out-of-line half of guest memory access: RAM blocks other than the
 * main one, and accesses that fall outside every block (which stop the vCPU
 * with the address recorded for the error message).
 */
#include "mem.h"

uint8_t *interp_mem_slow(AccelVCPU *cpu, uint32_t addr, unsigned size,
                         InterpRAM **blk)
{
    const AccelState *vm = cpu->vm;

    for (unsigned i = 0; i < vm->n_blocks; i++) {
        InterpRAM *b = &vm->blocks[i];

        if (addr >= b->base && (uint64_t)addr + size <= b->base + b->size) {
            *blk = b;
            return b->host + (addr - b->base);
        }
    }
    cpu->fault_addr = addr;
    cpu->fault_size = size;
    cpu->fault_is_fetch = false;
    return NULL;
}

void interp_dirty_charge(AccelVCPU *cpu, uint64_t page)
{
    if (test_and_set_bit(page, cpu->dl_seen)) {
        return;     /* already counted in this period */
    }
    if (++cpu->dl_pages >= cpu->dl_budget) {
        /* Spent: end the run as a kick does; the vCPU loop makes it wait. */
        __atomic_store_n(&cpu->kicked, 1, __ATOMIC_RELAXED);
    }
}

void interp_mark_dirty_slow(InterpRAM *blk, uint32_t addr, unsigned size)
{
    uint64_t first = (addr - blk->base) >> TARGET_PAGE_BITS;
    uint64_t last = (addr + size - 1 - blk->base) >> TARGET_PAGE_BITS;

    for (uint64_t page = first; page <= last; page++) {
        interp_mark_dirty(blk->dirty, page);
    }
}
