/*
 * buffer_is_zero() implementations (see include/qemu/bufferiszero.h): a
 * scalar one and, on x86, SSE2 / AVX2 / AVX-512 ones compiled with per-function
 * target attributes, so one binary runs everywhere and uses what the CPU has.
 *
 * Every implementation has the same shape: check the first and last vector
 * with unaligned loads (a non-zero page is usually caught there, and they
 * cover the unaligned head and tail), then OR-accumulate aligned vectors in
 * unrolled blocks of 128-512 bytes, testing once per block.
 */
#include "qemu/bufferiszero.h"

#include "qemu/error.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BUFFER_ZERO_X86 1
#endif

/* Below this length every implementation uses buffer_zero_short(). */
#define BUFFER_ZERO_SHORT_MAX 64

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* @p rounded down to a multiple of @a (a power of two). */
#define ALIGN_PTR_DOWN(p, a) ((const void *)((uintptr_t)(p) & ~(uintptr_t)((a) - 1)))

/* Lengths below BUFFER_ZERO_SHORT_MAX: a few overlapping word loads. */
static inline bool buffer_zero_short(const char *p, size_t len)
{
    const char *end = p + len;

    if (len >= 8) {
        uint64_t t = load64(end - 8);

        for (; p < end - 8; p += 8) {
            t |= load64(p);
        }
        return t == 0;
    }
    if (len >= 4) {
        return (load32(p) | load32(end - 4)) == 0;
    }
    if (len >= 1) {
        /* Covers every byte for len 1..3. */
        return (p[0] | p[len / 2] | end[-1]) == 0;
    }
    return true;
}

static bool buffer_zero_scalar(const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    const uint64_t *w, *e;
    uint64_t t;

    if (len < BUFFER_ZERO_SHORT_MAX) {
        return buffer_zero_short(p, len);
    }
    if (load64(p) | load64(end - 8)) {
        return false;
    }
    w = ALIGN_PTR_DOWN(p + 8, 8);
    e = ALIGN_PTR_DOWN(end, 8);
    for (; e - w >= 8; w += 8) {
        t = (w[0] | w[1]) | (w[2] | w[3]) | (w[4] | w[5]) | (w[6] | w[7]);
        if (t) {
            return false;
        }
    }
    for (t = 0; w < e; w++) {
        t |= *w;
    }
    return t == 0;
}

#ifdef BUFFER_ZERO_X86

static inline __attribute__((target("sse2")))
bool sse2_is_zero(__m128i t)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(t, _mm_setzero_si128())) == 0xffff;
}

static __attribute__((target("sse2")))
bool buffer_zero_sse2(const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    const __m128i *v, *e;
    __m128i t;

    if (len < BUFFER_ZERO_SHORT_MAX) {
        return buffer_zero_short(p, len);
    }
    t = _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
                     _mm_loadu_si128((const __m128i *)(end - 16)));
    if (!sse2_is_zero(t)) {
        return false;
    }
    v = ALIGN_PTR_DOWN(p + 16, 16);
    e = ALIGN_PTR_DOWN(end, 16);
    for (; e - v >= 8; v += 8) {
        t = _mm_or_si128(_mm_or_si128(_mm_or_si128(v[0], v[1]),
                                      _mm_or_si128(v[2], v[3])),
                         _mm_or_si128(_mm_or_si128(v[4], v[5]),
                                      _mm_or_si128(v[6], v[7])));
        if (!sse2_is_zero(t)) {
            return false;
        }
    }
    for (; v < e; v++) {
        t = _mm_or_si128(t, *v);
    }
    return sse2_is_zero(t);
}

static __attribute__((target("avx2")))
bool buffer_zero_avx2(const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    const __m256i *v, *e;
    __m256i t;

    if (len < BUFFER_ZERO_SHORT_MAX) {
        return buffer_zero_short(p, len);
    }
    t = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p),
                        _mm256_loadu_si256((const __m256i *)(end - 32)));
    if (!_mm256_testz_si256(t, t)) {
        return false;
    }
    v = ALIGN_PTR_DOWN(p + 32, 32);
    e = ALIGN_PTR_DOWN(end, 32);
    for (; e - v >= 8; v += 8) {
        t = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(v[0], v[1]),
                                            _mm256_or_si256(v[2], v[3])),
                            _mm256_or_si256(_mm256_or_si256(v[4], v[5]),
                                            _mm256_or_si256(v[6], v[7])));
        if (!_mm256_testz_si256(t, t)) {
            return false;
        }
    }
    for (; v < e; v++) {
        t = _mm256_or_si256(t, *v);
    }
    return _mm256_testz_si256(t, t);
}

static __attribute__((target("avx512f")))
bool buffer_zero_avx512(const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    const __m512i *v, *e;
    __m512i t;

    if (len < BUFFER_ZERO_SHORT_MAX) {
        return buffer_zero_short(p, len);
    }
    t = _mm512_or_si512(_mm512_loadu_si512(p), _mm512_loadu_si512(end - 64));
    if (_mm512_test_epi64_mask(t, t)) {
        return false;
    }
    v = ALIGN_PTR_DOWN(p + 64, 64);
    e = ALIGN_PTR_DOWN(end, 64);
    /*
     * Blocks of 8 (512 bytes): with 4, page-sized calls on a Zen 4 ran at
     * 60% of memory bandwidth, as if the early tail load stalled the stream.
     */
    for (; e - v >= 8; v += 8) {
        t = _mm512_or_si512(_mm512_or_si512(_mm512_or_si512(v[0], v[1]),
                                            _mm512_or_si512(v[2], v[3])),
                            _mm512_or_si512(_mm512_or_si512(v[4], v[5]),
                                            _mm512_or_si512(v[6], v[7])));
        if (_mm512_test_epi64_mask(t, t)) {
            return false;
        }
    }
    for (; v < e; v++) {
        t = _mm512_or_si512(t, *v);
    }
    return !_mm512_test_epi64_mask(t, t);
}

/* __builtin_cpu_supports() wants a literal, hence one function per feature. */
static bool cpu_has_sse2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse2");
}

static bool cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

#endif /* BUFFER_ZERO_X86 */

typedef struct {
    const char *name;
    BufferIsZeroFn fn;
    bool (*cpu_has)(void);      /* NULL: runs on any CPU */
} BufferZeroVariant;

/* Narrowest first; the widest the CPU supports is the default. */
static const BufferZeroVariant buffer_zero_variants[] = {
    { "scalar", buffer_zero_scalar, NULL },
#ifdef BUFFER_ZERO_X86
    { "sse2", buffer_zero_sse2, cpu_has_sse2 },
    { "avx2", buffer_zero_avx2, cpu_has_avx2 },
    { "avx512", buffer_zero_avx512, cpu_has_avx512 },
#endif
};

static const char *const buffer_zero_names[] = {
    "scalar",
#ifdef BUFFER_ZERO_X86
    "sse2", "avx2", "avx512",
#endif
    NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(buffer_zero_names) ==
                G_N_ELEMENTS(buffer_zero_variants) + 1);

/*
 * The implementation buffer_is_zero() calls: chosen once from the CPU's
 * features by buffer_is_zero_init(), replaced only by buffer_is_zero_select().
 * Read and written atomically, so a switch is safe under concurrent callers.
 */
static const BufferZeroVariant *buffer_zero_current;

static bool variant_is_usable(const BufferZeroVariant *v)
{
    return !v->cpu_has || v->cpu_has();
}

static const BufferZeroVariant *variant_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(buffer_zero_variants); i++) {
        if (!strcmp(buffer_zero_variants[i].name, name)) {
            return &buffer_zero_variants[i];
        }
    }
    return NULL;
}

void buffer_is_zero_init(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        const BufferZeroVariant *best = &buffer_zero_variants[0];
        const BufferZeroVariant *expected = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(buffer_zero_variants); i++) {
            if (variant_is_usable(&buffer_zero_variants[i])) {
                best = &buffer_zero_variants[i];
            }
        }
        /* A buffer_is_zero_select() made before init wins. */
        __atomic_compare_exchange_n(&buffer_zero_current, &expected, best,
                                    false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
        g_once_init_leave(&done, 1);
    }
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const BufferZeroVariant *v =
        __atomic_load_n(&buffer_zero_current, __ATOMIC_ACQUIRE);

    if (G_UNLIKELY(!v)) {
        buffer_is_zero_init();
        v = __atomic_load_n(&buffer_zero_current, __ATOMIC_ACQUIRE);
    }
    return v->fn(buf, len);
}

const char *const *buffer_is_zero_variant_names(void)
{
    return buffer_zero_names;
}

BufferIsZeroFn buffer_is_zero_variant(const char *name)
{
    const BufferZeroVariant *v = variant_find(name);

    return v && variant_is_usable(v) ? v->fn : NULL;
}

bool buffer_is_zero_select(const char *name, GError **errp)
{
    const BufferZeroVariant *v = variant_find(name);

    if (!v) {
        error_setg(errp, "Unknown buffer_is_zero implementation '%s'", name);
        return false;
    }
    if (!variant_is_usable(v)) {
        error_setg(errp, "This CPU cannot run the '%s' buffer_is_zero "
                   "implementation", name);
        return false;
    }
    __atomic_store_n(&buffer_zero_current, v, __ATOMIC_RELEASE);
    return true;
}

const char *buffer_is_zero_selected(void)
{
    buffer_is_zero_init();
    return __atomic_load_n(&buffer_zero_current, __ATOMIC_ACQUIRE)->name;
}
