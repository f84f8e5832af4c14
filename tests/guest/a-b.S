# a-b: the workload of QEMU's migration tests (see AB_RUN in common.inc).
    .include "common.inc"
main:
    call load_params
    AB_RUN
    .include "tail.inc"
