/*
 * Shared fixtures of the savevm tests (savevm-fixture.c).
 */
#ifndef TESTS_UNIT_SAVEVM_FIXTURE_H
#define TESTS_UNIT_SAVEVM_FIXTURE_H

#include "migration/savevm.h"

typedef struct FakeLive {
    int rounds;                 /* source: iterate calls until done */
    uint32_t next;
    int cleanups;
    uint32_t got[16];           /* destination: payload words received */
    int ngot;
    int load_setups, load_cleanups;
    int last_version;
} FakeLive;

typedef struct DevA {
    uint32_t reg;
    uint8_t mem[4];
    bool flag;
    const bool *locked;         /* destination: the device lock is held */
} DevA;

typedef struct DevB {
    uint16_t x;
} DevB;

typedef struct Machine {
    SaveVMState *s;
    FakeLive live;
    DevA a;
    DevB b;
    DevB c;
    SaveVMConfig cfg;
    bool locked;
    int locks;
} Machine;

extern const VMStateDescription vmstate_devb;
extern const uint8_t machine_uuid[16];

/* Append to a hand-written stream. */
void bb_u8(GByteArray *b, uint8_t v);
void bb_be16(GByteArray *b, uint16_t v);
void bb_be32(GByteArray *b, uint32_t v);
void bb_raw(GByteArray *b, const void *p, size_t len);
void bb_str(GByteArray *b, const char *s);      /* u8 length + bytes */
/* A section header; @idstr NULL for PART/END. */
void bb_header(GByteArray *b, uint8_t type, uint32_t id, const char *idstr,
               uint32_t instance, uint32_t version);
void bb_footer(GByteArray *b, uint32_t id);

/* A machine: fake live section "fake-live", devices dev-a, dev-b (APIC priority), dev-c (never needed). */
void machine_init(Machine *m);
void machine_cleanup(Machine *m);
/* Run the source side over @m and return the stream. */
GBytes *machine_save(Machine *m);
/* What a freshly initialised machine sends. */
GBytes *standard_stream(void);
/* The same, by hand; *eof_offset = offset of the EOF byte. */
GByteArray *expected_stream(size_t *eof_offset);
/* Load into @dst / into a fresh machine (after @tweak); the error or NULL. */
GError *load_into(Machine *dst, const void *data, size_t len);
GError *load_fresh(const void *data, size_t len, void (*tweak)(Machine *m));
/* Loading @stream into a fresh machine fails with an error containing @needle. */
void expect_load_error(const GByteArray *stream, void (*tweak)(Machine *m),
                       const char *needle);

#endif
