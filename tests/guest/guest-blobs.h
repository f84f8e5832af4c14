/*
 * The guest programs of tests/guest, built at build time and embedded as
 * byte arrays for unit tests and benchmarks (the machine loads the files in
 * meson's guest_bins instead).  Names: "a-b", "idle", "fill", "bad-opcode"
 * for the flat binaries, with ".bootsect" appended for the boot sectors.
 */
#ifndef TESTS_GUEST_BLOBS_H
#define TESTS_GUEST_BLOBS_H

#include <stddef.h>
#include <stdint.h>

typedef struct GuestBlob {
    const char *name;
    const uint8_t *data;
    size_t size;
} GuestBlob;

/* The blob called @name, or NULL. */
const GuestBlob *guest_blob_find(const char *name);

#endif
