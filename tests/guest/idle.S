# idle: halts forever with interrupts off.
    .include "common.inc"
main:
    HALT_FOREVER
    .include "tail.inc"
