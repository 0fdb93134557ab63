/*
 * L1's interrupt descriptor table: the 32 exception vectors, each an interrupt gate (SDM
 * Vol. 3A §6.14.1, "64-Bit Mode IDT") to a stub that hands the vector, error code,
 * RIP and CR2 to Swift (l1_exception), which reports and powers off. L1 runs with interrupts
 * disabled, so only exceptions — a bug in L1 — ever arrive here.
 */
#include "Layout.h"

    .text
    .macro EXCEPTION_NO_CODE vector
    .balign 16
    push $0
    push $\vector
    jmp exception_common
    .endm
    .macro EXCEPTION_WITH_CODE vector
    .balign 16
    push $\vector
    jmp exception_common
    .endm

    .balign 16
exception_stubs:
    EXCEPTION_NO_CODE 0
    EXCEPTION_NO_CODE 1
    EXCEPTION_NO_CODE 2
    EXCEPTION_NO_CODE 3
    EXCEPTION_NO_CODE 4
    EXCEPTION_NO_CODE 5
    EXCEPTION_NO_CODE 6
    EXCEPTION_NO_CODE 7
    EXCEPTION_WITH_CODE 8
    EXCEPTION_NO_CODE 9
    EXCEPTION_WITH_CODE 10
    EXCEPTION_WITH_CODE 11
    EXCEPTION_WITH_CODE 12
    EXCEPTION_WITH_CODE 13
    EXCEPTION_WITH_CODE 14
    EXCEPTION_NO_CODE 15
    EXCEPTION_NO_CODE 16
    EXCEPTION_WITH_CODE 17
    EXCEPTION_NO_CODE 18
    EXCEPTION_NO_CODE 19
    EXCEPTION_NO_CODE 20
    EXCEPTION_WITH_CODE 21
    EXCEPTION_NO_CODE 22
    EXCEPTION_NO_CODE 23
    EXCEPTION_NO_CODE 24
    EXCEPTION_NO_CODE 25
    EXCEPTION_NO_CODE 26
    EXCEPTION_NO_CODE 27
    EXCEPTION_NO_CODE 28
    EXCEPTION_WITH_CODE 29
    EXCEPTION_WITH_CODE 30
    EXCEPTION_NO_CODE 31

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
exception_common:
    mov (%rsp), %rdi
    mov 8(%rsp), %rsi
    mov 16(%rsp), %rdx
    mov %cr2, %rcx
    and $-16, %rsp
    call l1_exception
    jmp halt_forever

/* Fills the IDT (once, on the BSP): gate i → exception_stubs + 16 i, selector KERNEL_CS64,
   type 0EH (64-bit interrupt gate), present. */
FUNCTION idt_build
    lea idt(%rip), %rdi
    lea exception_stubs(%rip), %rax
    xor %ecx, %ecx
1:  mov %ax, (%rdi)
    movw $KERNEL_CS64, 2(%rdi)
    movw $0x8E00, 4(%rdi)
    mov %rax, %rdx
    shr $16, %rdx
    mov %dx, 6(%rdi)
    shr $16, %rdx
    mov %edx, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    add $16, %rax
    inc %ecx
    cmp $32, %ecx
    jb 1b
    ret

FUNCTION idt_load
    lidt idt_pointer(%rip)
    ret

    .data
    .balign 8
    .word 0, 0, 0
idt_pointer:
    .word 32 * 16 - 1
    .quad idt

    .bss
    .balign 16
idt:
    .skip 32 * 16
