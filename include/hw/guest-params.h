/*
 * The boot protocol between tern (or a benchmark driver) and the guest
 * programs in tests/guest/: where a flat binary is loaded, where it starts,
 * and the parameter block the machine writes for it.  docs/guests.md has the
 * prose; this header is the one place the numbers live.
 */
#ifndef HW_GUEST_PARAMS_H
#define HW_GUEST_PARAMS_H

#include <stdint.h>

/* A flat binary (-kernel FILE) is copied here; execution starts at its first byte. */
#define GUEST_LOAD_ADDR     0x10000u
#define GUEST_ENTRY         GUEST_LOAD_ADDR
/* Initial ESP: the stack grows down from the image start. */
#define GUEST_STACK_TOP     GUEST_LOAD_ADDR

/* Guest-physical address of the parameter block (below the image). */
#define GUEST_PARAMS_ADDR   0x500u
#define GUEST_PARAMS_MAGIC  0x4e524554u     /* "TERN" little-endian */

/*
 * The parameter block, little-endian.  A guest that does not find the magic
 * uses its built-in defaults (start 1 MiB, end 100 MiB, seed 1, flags 0).
 * start/end bound the pages the workload touches: [start, end), start page
 * aligned; a guest that sees the magic clamps end to ram_size when
 * ram_size_hi is 0.
 */
typedef struct GuestParams {
    uint32_t magic;
    uint32_t ram_size_lo;
    uint32_t ram_size_hi;
    uint32_t start;
    uint32_t end;
    uint32_t seed;      /* fill: xorshift32 seed (0 is replaced by 1) */
    uint32_t flags;     /* GUEST_FLAG_* */
} GuestParams;

#define GUEST_PARAMS_OFF_MAGIC        0
#define GUEST_PARAMS_OFF_RAM_SIZE_LO  4
#define GUEST_PARAMS_OFF_RAM_SIZE_HI  8
#define GUEST_PARAMS_OFF_START        12
#define GUEST_PARAMS_OFF_END          16
#define GUEST_PARAMS_OFF_SEED         20
#define GUEST_PARAMS_OFF_FLAGS        24
#define GUEST_PARAMS_SIZE             28

/* fill: after filling, continue as a-b instead of halting. */
#define GUEST_FLAG_FILL_THEN_AB       (1u << 0)

#define GUEST_DEFAULT_START   0x00100000u    /* 1 MiB */
#define GUEST_DEFAULT_END     0x06400000u    /* 100 MiB */
#define GUEST_DEFAULT_SEED    1u

/* Serial port the guests print to, and what they print. */
#define GUEST_SERIAL_PORT     0x3f8
#define GUEST_AB_SWEEPS_PER_B 64

/*
 * The 512-byte boot-sector variant (for QEMU) carries its defaults in a
 * table right before the 0x55aa signature: u32 start, end, seed, flags at
 * these byte offsets, so a benchmark driver can patch them.  It still
 * prefers a parameter block at GUEST_PARAMS_ADDR when the magic is there.
 */
#define GUEST_BOOTSECT_SIZE           512
#define GUEST_BOOTSECT_OFF_START      494
#define GUEST_BOOTSECT_OFF_END        498
#define GUEST_BOOTSECT_OFF_SEED       502
#define GUEST_BOOTSECT_OFF_FLAGS      506
#define GUEST_BOOTSECT_LOAD_ADDR      0x7c00u

/* Fill a parameter block in little-endian byte order at @dest (GUEST_PARAMS_SIZE bytes). */
static inline void guest_params_write(uint8_t *dest, const GuestParams *p)
{
    const uint32_t words[GUEST_PARAMS_SIZE / 4] = {
        p->magic, p->ram_size_lo, p->ram_size_hi, p->start, p->end, p->seed, p->flags,
    };
    for (unsigned i = 0; i < GUEST_PARAMS_SIZE / 4; i++) {
        for (unsigned b = 0; b < 4; b++) {
            dest[i * 4 + b] = (uint8_t)(words[i] >> (8 * b));
        }
    }
}

#endif
