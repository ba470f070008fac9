/*
 * fuzz.h — what every libFuzzer target in tests/fuzz shares: the entry point's prototype and FUZZ_CHECK, which
 * turns a broken property into an abort() so libFuzzer saves the input as a crash like any sanitizer report.
 *
 * Targets are deterministic (no clock, no randomness that changes a result), free everything they allocate
 * before returning (LeakSanitizer runs at exit and on -detect_leaks), and write nowhere but memory or a temp dir.
 */
#ifndef MIHUA_FUZZ_H
#define MIHUA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
    abort();
}

#define FUZZ_CHECK(cond)                          \
    do {                                          \
        if (!(cond))                              \
            fuzz_fail(__FILE__, __LINE__, #cond); \
    } while (0)

#endif
