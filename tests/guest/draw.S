# draw: the display's workload.  Sets the VBE mode 256x192x32 on the VGA
# (docs/machine.md), paints eight vertical colour bands over the top 160
# lines once, then forever increments a frame counter (u32 at 0x600) and
# draws it, Gray-coded, in the bottom 32 lines: 32 cells of 8x32 pixels,
# bit 31 on the left, white for 1 and black for 0.  Consecutive Gray codes
# differ in one bit, so a picture caught halfway through a frame still
# reads as one of the two frames.  Nothing goes to the serial port.
    .include "common.inc"
    .set VBE_INDEX,    0x1ce
    .set VBE_DATA,     0x1cf
    .set LFB,          0xe0000000
    .set WIDTH,        256
    .set HEIGHT,       192
    .set BAND_ROWS,    160
    .set COUNTER_ROWS, HEIGHT - BAND_ROWS
    .set COUNTER_ADDR, 0x600
    .set LFB_PTR,      0x604

    .macro VBE_SET idx, val
    movw $VBE_INDEX, %dx
    movw $\idx, %ax
    outw %ax, %dx
    movw $VBE_DATA, %dx
    movw $\val, %ax
    outw %ax, %dx
    .endm

main:
    cld
.ifdef BOOTSECT
    # Under QEMU the framebuffer is BAR 0 of the VGA at PCI 00:02.0.
    movl $0x80001010, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movw $0xcfc, %dx
    inl %dx, %eax
    andl $0xfffffff0, %eax
.else
    movl $LFB, %eax
.endif
    movl %eax, LFB_PTR
    VBE_SET 4, 0                    # ENABLE off while the mode changes
    VBE_SET 1, WIDTH
    VBE_SET 2, HEIGHT
    VBE_SET 3, 32
    VBE_SET 4, 0x41                 # ENABLED | LFB_ENABLED (clears the frame)
    movl $0, COUNTER_ADDR

    # Bands: pixel i of the top part gets colour (i mod 256) / 32.
    movl LFB_PTR, %edi
    xorl %ecx, %ecx
band_px:
    movl %ecx, %eax
    andl $WIDTH - 1, %eax
    shrl $5, %eax
    movl colours(,%eax,4), %eax
    movl %eax, (%edi,%ecx,4)
    incl %ecx
    cmpl $WIDTH * BAND_ROWS, %ecx
    jb band_px

frame:
    incl COUNTER_ADDR
    movl COUNTER_ADDR, %ebx
    movl %ebx, %eax
    shrl $1, %eax
    xorl %eax, %ebx                 # EBX = Gray code of the counter
    movl LFB_PTR, %edi
    addl $WIDTH * BAND_ROWS * 4, %edi
    movl $COUNTER_ROWS, %ebp
counter_row:
    movl %ebx, %edx
    movl $32, %esi
counter_cell:
    xorl %eax, %eax
    shll $1, %edx
    jnc 1f
    movl $0x00ffffff, %eax
1:  movl $WIDTH / 32, %ecx
    rep stosl
    decl %esi
    jnz counter_cell
    decl %ebp
    jnz counter_row
    jmp frame

    .p2align 2
colours:
    .long 0x00ff0000, 0x0000ff00, 0x000000ff, 0x00ffff00
    .long 0x00ff00ff, 0x0000ffff, 0x00808080, 0x00ff8000
    .include "tail.inc"
