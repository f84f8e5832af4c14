/*
 * libFuzzer target: the incoming stream, from the file header on, loaded
 * into a small machine (fuzz-machine.h): configuration, RAM records of two
 * blocks, the verification section, globalstate, commands, EOF, vmdesc.
 * Every input must load or fail with an error, never crash or write
 * outside the blocks (AddressSanitizer watches).
 */
#include "fuzz-machine.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /*
     * One machine for the whole run, built on the first input and never
     * freed (libFuzzer has no teardown hook): fresh RAMBlocks per input
     * would cost mmap/munmap for each of millions of runs.  The load
     * resets the RAM and verification state it uses.
     */
    static FuzzMachine *m;
    GError *err;

    if (!m) {
        m = fuzz_machine_new();
    }
    err = fuzz_machine_load(m, data, size);
    if (err) {
        g_error_free(err);
    }
    return 0;
}
