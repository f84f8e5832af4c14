/*
 * Writes the stream target's seed corpus: real streams of the fuzz
 * machine (fuzz-machine.h), with and without RAM data, so that the
 * corpus is generated at build time rather than committed.
 *
 *   fuzz-stream-seed OUT-FILLED OUT-EMPTY
 *
 * A seed that a fresh machine does not load is no seed: each is loaded
 * back (verification included) before it is written.
 */
#include "fuzz-machine.h"

#include <stdio.h>

static int fuzz_seed_write(const char *path, bool fill)
{
    FuzzMachine *m = fuzz_machine_new();
    g_autoptr(GBytes) stream = NULL;
    g_autoptr(GError) err = NULL;
    gsize len;
    const char *data;

    if (fill) {
        fuzz_machine_fill(m);
    }
    stream = fuzz_machine_save(m, true);
    data = g_bytes_get_data(stream, &len);
    fuzz_machine_free(m);
    m = fuzz_machine_new();
    err = fuzz_machine_load(m, (const uint8_t *)data, len);
    fuzz_machine_free(m);
    if (err) {
        fprintf(stderr, "fuzz-stream-seed: the seed does not load: %s\n", err->message);
        return 1;
    }
    if (!g_file_set_contents(path, data, len, &err)) {
        fprintf(stderr, "fuzz-stream-seed: %s\n", err->message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT-FILLED OUT-EMPTY\n", argv[0]);
        return 2;
    }
    return fuzz_seed_write(argv[1], true) || fuzz_seed_write(argv[2], false);
}
