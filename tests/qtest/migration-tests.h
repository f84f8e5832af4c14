/*
 * The migration qtest suite is one executable made of several files, one
 * per group of tests (as QEMU's tests/qtest/migration/ is); each file
 * registers its tests through one of these.
 */
#ifndef MIGRATION_TESTS_H
#define MIGRATION_TESTS_H

#include "libqtest.h"

/* bad_dest, validate_uuid*, validate_uri*, cancel/src/after/STATUS */
void migration_register_misc_tests(void);

/* Bad input on the destination: truncated and corrupted streams, RAM size
 * mismatch, the destination dying mid-stream. */
void migration_register_stream_tests(void);

/* Arguments before a migration runs (fd: ownership, -incoming errors),
 * awkward cancels, and what is left after it (listener, run state). */
void migration_register_lifecycle_tests(void);

/* A migration blocked on its channel (pipe, socket, silent source) ends
 * on migrate_cancel and on quit. */
void migration_register_cancel_tests(void);

/* auto-converge (and, later, dirty rate and dirty limit). */
void migration_register_converge_tests(void);
void migration_register_converge_kvm_tests(void);

/* tern's own: query-migrate's x-prediction and MIGRATION_STALLED. */
void migration_register_predict_tests(void);

/* Multifd: live over tcp and unix, the channels form, zero-page modes,
 * cancel with 16 channels, a killed channel, a corrupt packet. */
void migration_register_multifd_tests(void);

/* mapped-ram to a file: stopped and live with the memory check, the
 * layout and size, refusals, a truncated or corrupt file. */
void migration_register_mapped_ram_tests(void);

/* add-fd / remove-fd / query-fdsets and file:/dev/fdset/N, bad input. */
void migration_register_fdset_tests(void);
/* Open @path with @flags and add it to fd set 1 of @who (our fd is closed). */
void migrate_fdset_add(QTestState *who, const char *path, int flags);
/* remove-fd set 1; query-fdsets is then empty. */
void migrate_fdset_remove_check_empty(QTestState *who);

/* The return path (precopy) and postcopy. */
void migration_register_postcopy_tests(void);

void migration_register_verify_tests(void);
/* Called by migration_register_verify_tests(). */
void migration_register_verify_file_tests(void);
void migration_register_postcopy_kvm_tests(void);

/* XBZRLE live over unix and tcp, and a cache resize while it runs. */
void migration_register_xbzrle_tests(void);

/* background-snapshot: the image is memory and devices as of the instant
 * while the guest runs on; cancel; refusals. */
void migration_register_snapshot_tests(void);
void migration_register_snapshot_kvm_tests(void);

/* The snapshot store: savevm / loadvm / delvm / info snapshots, the QMP
 * snapshot jobs, no store, a full disk. */
void migration_register_savevm_tests(void);
void migration_register_savevm_kvm_tests(void);
/* Capability compress live over unix (wait, nowait) and tcp, and a destination without it. */
void migration_register_compress_tests(void);
/* x-ignore-shared and the CPR modes (cpr-reboot, cpr-transfer). */
void migration_register_cpr_tests(void);

#endif
