/*
 * Temporary stand-in for util's include/qemu/bufferiszero.h until it lands
 * on main.  Removed when main has the real header.
 */
#ifndef TERN_BUFFERISZERO_H
#define TERN_BUFFERISZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool buffer_is_zero(const void *buf, size_t len)
{
    const uint64_t *p = buf;
    uint64_t acc = 0;

    for (size_t i = 0; i < len / 8; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

#endif
