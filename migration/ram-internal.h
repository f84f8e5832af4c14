/*
 * The RAM section's internals in one include, for the core (ram.c: the
 * state and the source's page walk; ram-load.c: the destination's parser)
 * and the unit tests.  The layering, top down:
 *
 *   ram.c, ram-load.c                     the core
 *   ram-xbzrle.h, ram-compress.h,         the parts the core calls, each
 *   ram-compress-load.h, ram-postcopy.h,  taking the state (ram-state.h)
 *   ram-write-tracking.h                  and never calling the core
 *   ram-send.h                            the source's page records
 *   ram-state.h, ram-residency.h          the state's layout, the probe
 *
 * A part includes the headers below it, never this one.  Not for other
 * subsystems: they use include/migration/ram.h.
 */
#ifndef MIGRATION_RAM_INTERNAL_H
#define MIGRATION_RAM_INTERNAL_H

#include "ram-state.h"
#include "ram-send.h"
#include "ram-xbzrle.h"
#include "ram-compress.h"
#include "ram-compress-load.h"
#include "ram-postcopy.h"
#include "ram-write-tracking.h"
#include "ram-load.h"

#endif
