/*
 * Runs a libFuzzer target without libFuzzer (any compiler): every input
 * file given, then, for the smoke run in `make check`, deterministic
 * mutants of each (truncations, and bytes set to 0x00 / 0xff / flipped at
 * a stride) so the suite exercises the target's error paths.  A crash or
 * a sanitizer report is the failure; the target's return value is not.
 *
 *   fuzz-replay [--mutate N] FILE...     (N: at most N mutants per file)
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Up to @budget mutants of @data, spread evenly over its length. */
static unsigned fuzz_replay_mutants(const uint8_t *data, size_t len, unsigned budget)
{
    g_autofree uint8_t *buf = g_memdup2(data, len);
    size_t stride = MAX(1, len / MAX(1, budget / 4));
    unsigned runs = 0;

    for (size_t cut = 0; cut < len; cut += stride) {
        LLVMFuzzerTestOneInput(data, cut);
        runs++;
    }
    for (size_t i = stride / 2; i < len; i += stride) {
        const uint8_t values[] = { 0x00, 0xff, (uint8_t)(data[i] ^ 0x01) };

        for (size_t v = 0; v < G_N_ELEMENTS(values); v++) {
            buf[i] = values[v];
            LLVMFuzzerTestOneInput(buf, len);
            runs++;
        }
        buf[i] = data[i];
    }
    return runs;
}

int main(int argc, char **argv)
{
    unsigned budget = 0;
    int first = 1;

    if (argc > 2 && !strcmp(argv[1], "--mutate")) {
        budget = (unsigned)atoi(argv[2]);
        first = 3;
    }
    printf("1..%d\n", argc - first);
    for (int i = first; i < argc; i++) {
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        gsize len;
        unsigned runs = 1;

        if (!g_file_get_contents(argv[i], &data, &len, &err)) {
            printf("not ok %d - %s\n", i - first + 1, err->message);
            return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        if (budget) {
            runs += fuzz_replay_mutants((const uint8_t *)data, len, budget);
        }
        printf("ok %d - %s: %u inputs\n", i - first + 1, argv[i], runs);
        fflush(stdout);
    }
    return 0;
}
