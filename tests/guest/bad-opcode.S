# bad-opcode: prints 'A', then executes UD2, which no accelerator of tern
# runs: the interpreter must stop with an error naming "0f 0b" and the EIP.
    .include "common.inc"
main:
    movw $SERIAL_PORT, %dx
    movb $'A', %al
    outb %al, %dx
    ud2
    HALT_FOREVER
    .include "tail.inc"
