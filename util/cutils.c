/*
 * Number parsing for untrusted text (see include/qemu/cutils.h).  Parsing is
 * done by hand rather than with strtoull() so that leading blanks, signs that
 * strtoull() would silently wrap, and locale effects cannot slip through.
 */
#include "qemu/cutils.h"

#include "qemu/error.h"

#include <errno.h>

/* Fraction digits kept when scaling "1.5G"; later digits must still be digits. */
#define FRACTION_DIGITS_MAX 9

static int digit_value(char c, unsigned base)
{
    int v;

    if (c >= '0' && c <= '9') {
        v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
    } else {
        return -1;
    }
    return (unsigned)v < base ? v : -1;
}

static bool has_hex_prefix(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/*
 * Consume one or more digits of @base at *@p.  Returns false if there is no
 * digit; sets *@overflow (and keeps consuming) if the value passes 2^64-1.
 */
static bool parse_digits(const char **p, unsigned base, uint64_t *val,
                         bool *overflow)
{
    const char *s = *p;
    uint64_t v = 0;
    int d;

    *overflow = false;
    while ((d = digit_value(*s, base)) >= 0) {
        if (v > (UINT64_MAX - (uint64_t)d) / base) {
            *overflow = true;
        } else {
            v = v * base + (uint64_t)d;
        }
        s++;
    }
    if (s == *p) {
        return false;
    }
    *p = s;
    *val = v;
    return true;
}

/*
 * Parse an unsigned decimal or 0x-hex magnitude filling the whole of @s.
 * Returns 0 on success, -EINVAL on junk, -ERANGE on overflow.
 */
static int parse_magnitude(const char *s, uint64_t *val)
{
    unsigned base = 10;
    bool overflow;

    if (has_hex_prefix(s)) {
        base = 16;
        s += 2;
    }
    if (!parse_digits(&s, base, val, &overflow) || *s != '\0') {
        return -EINVAL;
    }
    return overflow ? -ERANGE : 0;
}

bool qemu_strtou64(const char *str, uint64_t *out, GError **errp)
{
    uint64_t v;
    int ret;

    if (str[0] == '-') {
        error_setg(errp, "number '%s' must not be negative", str);
        return false;
    }
    ret = parse_magnitude(str, &v);
    if (ret == -EINVAL) {
        error_setg(errp, "invalid number '%s'", str);
        return false;
    }
    if (ret == -ERANGE) {
        error_setg(errp, "number '%s' is out of range", str);
        return false;
    }
    *out = v;
    return true;
}

bool qemu_strtoi64(const char *str, int64_t *out, GError **errp)
{
    bool negative = str[0] == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v;
    int ret;

    ret = parse_magnitude(str + negative, &v);
    if (ret == -EINVAL) {
        error_setg(errp, "invalid number '%s'", str);
        return false;
    }
    if (ret == -ERANGE || v > limit) {
        error_setg(errp, "number '%s' is out of range", str);
        return false;
    }
    /* -(2^63) has no positive int64_t; negate in unsigned arithmetic. */
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* The multiplier of a size suffix, or 0 if @c is not one. */
static uint64_t size_suffix_unit(char c)
{
    switch (g_ascii_tolower(c)) {
    case 'b': return 1;
    case 'k': return KiB;
    case 'm': return MiB;
    case 'g': return GiB;
    case 't': return TiB;
    case 'p': return PiB;
    case 'e': return EiB;
    default: return 0;
    }
}

/*
 * floor(0.@digits * unit) for up to FRACTION_DIGITS_MAX digits, exactly:
 * unit = q * den + r, so num * unit / den = q * num + r * num / den, and both
 * products stay below 2^64 because num < den <= 10^9.
 */
static uint64_t scale_fraction(uint64_t num, uint64_t den, uint64_t unit)
{
    return (unit / den) * num + (unit % den) * num / den;
}

bool qemu_strtosz(const char *str, uint64_t default_suffix_unit,
                  uint64_t *out, GError **errp)
{
    const char *s = str;
    uint64_t whole, unit, frac_num = 0, frac_den = 1, frac_bytes;
    bool overflow, has_fraction = false;

    g_assert(default_suffix_unit != 0);
    if (str[0] == '-') {
        error_setg(errp, "size '%s' must not be negative", str);
        return false;
    }
    if (has_hex_prefix(s)) {
        int ret = parse_magnitude(s, &whole);

        if (ret == -EINVAL) {
            error_setg(errp, "invalid size '%s' (a hex size takes no suffix "
                       "or fraction)", str);
            return false;
        }
        if (ret == -ERANGE || whole > UINT64_MAX / default_suffix_unit) {
            error_setg(errp, "size '%s' is too large", str);
            return false;
        }
        *out = whole * default_suffix_unit;
        return true;
    }

    if (!parse_digits(&s, 10, &whole, &overflow)) {
        goto invalid;
    }
    if (*s == '.') {
        int ndigits = 0;

        has_fraction = true;
        for (s++; g_ascii_isdigit(*s); s++) {
            if (ndigits++ < FRACTION_DIGITS_MAX) {
                frac_num = frac_num * 10 + (uint64_t)(*s - '0');
                frac_den *= 10;
            }
        }
    }
    unit = default_suffix_unit;
    if (*s != '\0') {
        unit = size_suffix_unit(*s);
        if (unit == 0 || s[1] != '\0') {
            goto invalid;
        }
    }
    if (has_fraction && unit == 1) {
        error_setg(errp, "invalid size '%s' (fractions of a byte are not "
                   "allowed)", str);
        return false;
    }
    frac_bytes = scale_fraction(frac_num, frac_den, unit);
    if (overflow || whole > UINT64_MAX / unit ||
        whole * unit > UINT64_MAX - frac_bytes) {
        error_setg(errp, "size '%s' is too large", str);
        return false;
    }
    *out = whole * unit + frac_bytes;
    return true;

invalid:
    error_setg(errp, "invalid size '%s'", str);
    return false;
}
