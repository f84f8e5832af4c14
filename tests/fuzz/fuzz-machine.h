/*
 * The small machine the stream fuzz target loads into, and that the seed
 * generator saves from: two RAM blocks ("pc.ram", 1 MiB; "vga.vram",
 * 64 KiB), the "ram" section, "tern-verify-ram" (on) and "globalstate",
 * registered as tern's migration-init.c registers them.
 */
#ifndef TESTS_FUZZ_FUZZ_MACHINE_H
#define TESTS_FUZZ_FUZZ_MACHINE_H

#include "migration/global-state.h"
#include "migration/ram.h"
#include "migration/savevm.h"

typedef struct FuzzMachine {
    GPtrArray *blocks;              /* RAMBlock *, owned */
    RAMState *ram;
    GlobalState global_state;
    SaveVMState *s;
    SaveVMConfig cfg;
} FuzzMachine;

/* A machine whose RAM holds never-written (zero) pages. */
FuzzMachine *fuzz_machine_new(void);
void fuzz_machine_free(FuzzMachine *m);

/* Write a few patterns into @m's RAM (some pages stay zero). */
void fuzz_machine_fill(FuzzMachine *m);

/* Save @m as a migration would (with verification on when @verify); the stream. */
GBytes *fuzz_machine_save(FuzzMachine *m, bool verify);

/* Load @data into @m; the error (NULL on success). */
GError *fuzz_machine_load(FuzzMachine *m, const uint8_t *data, size_t size);

#endif
