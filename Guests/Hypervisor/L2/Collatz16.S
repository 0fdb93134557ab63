/*
 * L2 guest "collatz16": a real-mode program (run through "unrestricted guest", SDM Vol. 3C
 * §26.6.2) that finds the longest Collatz chains below 10, 100, …, 100000 with 32-bit registers
 * and prints them on COM1, whose ports L1 emulates (every IN/OUT there is a VM exit to L1).
 * Port 80H is the one port L1's I/O bitmap lets through. It ends by writing its status to port
 * F4H (an isa-debug-exit that L1 emulates).
 *
 * Loaded by L1 at guest-physical BASE with CS = DS = ES = BASE >> 4, IP = entry - BASE,
 * SS = 0, SP = STACK.
 */
#define BASE   0x1000
#define STACK  0xFFF0
#define OFF(x) ((x) - l2_collatz16_image)

    .section .rodata.l2_collatz16, "a"
    .balign 4096
    .globl l2_collatz16_image, l2_collatz16_image_end
l2_collatz16_image:
    /* Image header (read by L1, see Swift/L2Image.swift). */
    .quad BASE                      /* load address */
    .quad BASE + OFF(start)         /* entry */
    .quad STACK                     /* stack pointer */
    .quad 0                         /* CR3 (no paging) */
    .quad 0, 0xFFFF                 /* GDTR base, limit */
    .quad 0, 0x3FF                  /* IDTR: the real-mode interrupt vector table */
    .quad 0                         /* TR base */

    .code16
start:
    mov $OFF(hello), %si
    call puts
    movl $1, %ebx                   /* n */
next_n:
    mov %ebx, %eax                  /* x = n; count steps until x = 1 */
    xor %ecx, %ecx
1:  cmp $1, %eax
    je 3f
    inc %ecx
    test $1, %al
    jnz 2f
    shr $1, %eax
    jmp 1b
2:  lea 1(%eax,%eax,2), %eax        /* 3x + 1 */
    jmp 1b
3:  cmp OFF(best_steps), %ecx
    jbe 4f
    mov %ecx, OFF(best_steps)
    mov %ebx, OFF(best_n)
4:  inc %ebx
    cmp OFF(limit), %ebx
    jne next_n
    call report
    mov OFF(limit), %eax
    imul $10, %eax, %eax
    mov %eax, OFF(limit)
    cmp $100000, %eax
    jbe next_n
    mov $OFF(done), %si
    call puts
    mov $0, %al
    out %al, $0xF4
5:  hlt
    jmp 5b

/* "longest Collatz chain below <limit>: <n> (<steps> steps)" */
report:
    mov $0x01, %al
    out %al, $0x80                  /* passes through L1's I/O bitmap */
    mov $OFF(line1), %si
    call puts
    mov OFF(limit), %eax
    call put_decimal
    mov $OFF(line2), %si
    call puts
    mov OFF(best_n), %eax
    call put_decimal
    mov $OFF(line3), %si
    call puts
    mov OFF(best_steps), %eax
    call put_decimal
    mov $OFF(line4), %si
    call puts
    ret

/* AL → COM1 once the transmitter holding register is empty (LSR bit 5). */
putc:
    push %dx
    push %ax
1:  mov $0x3FD, %dx
    in %dx, %al
    test $0x20, %al
    jz 1b
    pop %ax
    mov $0x3F8, %dx
    out %al, %dx
    pop %dx
    ret

/* The NUL-terminated string at DS:SI. */
puts:
    lodsb
    test %al, %al
    jz 1f
    call putc
    jmp puts
1:  ret

/* EAX in decimal. */
put_decimal:
    push %ecx
    push %edx
    push %di
    mov $10, %ecx
    xor %di, %di
1:  xor %edx, %edx
    div %ecx
    push %dx
    inc %di
    test %eax, %eax
    jnz 1b
2:  pop %ax
    add $'0', %al
    call putc
    dec %di
    jnz 2b
    pop %di
    pop %edx
    pop %ecx
    ret

    .balign 4
limit:      .long 10
best_n:     .long 0
best_steps: .long 0
hello:      .asciz "real mode, CS=0100h: longest Collatz chains, 32-bit arithmetic\n"
line1:      .asciz "longest Collatz chain below "
line2:      .asciz ": "
line3:      .asciz " ("
line4:      .asciz " steps)\n"
done:       .asciz "done\n"
l2_collatz16_image_end:
