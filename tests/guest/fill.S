# fill: write xorshift32(seed) values (13, 17, 5), advanced before each store,
# to every 32-bit word of [start, end); then continue as a-b if flags bit 0
# is set, else halt.  A seed of 0 is replaced by 1.
    .include "common.inc"
main:
    call load_params
    testl %ebx, %ebx
    jnz 1f
    movl $1, %ebx
1:  movl %esi, %ecx
    cmpl %edi, %ecx
    jae 3f
2:  movl %ebx, %eax
    shll $13, %eax
    xorl %eax, %ebx
    movl %ebx, %eax
    shrl $17, %eax
    xorl %eax, %ebx
    movl %ebx, %eax
    shll $5, %eax
    xorl %eax, %ebx
    movl %ebx, (%ecx)
    addl $4, %ecx
    cmpl %edi, %ecx
    jb 2b
3:  testl $1, %ebp
    jz 4f
    AB_RUN
4:
    HALT_FOREVER
    .include "tail.inc"
