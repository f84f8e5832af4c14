/*
 * buffer_is_zero(): is a memory range all zero bytes?  Migration asks this of
 * every guest page it sends (zero pages travel as a flag, not 4 KiB of data),
 * so it uses the widest vector unit the CPU has, chosen at run time.
 */
#ifndef TERN_BUFFERISZERO_H
#define TERN_BUFFERISZERO_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* One implementation: true if the @len bytes at @buf are all zero. */
typedef bool (*BufferIsZeroFn)(const void *buf, size_t len);

/*
 * True if the @len bytes at @buf (any alignment; @len may be 0) are all zero.
 * The first call chooses the implementation if buffer_is_zero_init() has not.
 */
bool buffer_is_zero(const void *buf, size_t len);

/*
 * Choose the widest implementation the CPU supports (AVX-512, AVX2, SSE2,
 * else scalar).  Thread-safe and idempotent; the choice is made only once.
 */
void buffer_is_zero_init(void);

/* Names of all implementations, narrowest first, NULL-terminated. */
const char *const *buffer_is_zero_variant_names(void);

/* Implementation @name, or NULL if unknown or this CPU cannot run it. */
BufferIsZeroFn buffer_is_zero_variant(const char *name);

/*
 * Make buffer_is_zero() use implementation @name from now on (for tests and
 * benchmarks).  Fails if @name is unknown or this CPU cannot run it.
 */
bool buffer_is_zero_select(const char *name, GError **errp);

/* Name of the implementation buffer_is_zero() currently uses. */
const char *buffer_is_zero_selected(void);

#endif
