/*
 * The x86 instructions Swift cannot express, as System V AMD64 functions: port I/O, MSRs,
 * CPUID, control and descriptor-table registers, the TSC, atomics, and the memory functions the
 * compiler calls.
 */
#include "Layout.h"

    .text

FUNCTION port_in8
    mov %edi, %edx
    xor %eax, %eax
    in %dx, %al
    ret
FUNCTION port_in16
    mov %edi, %edx
    xor %eax, %eax
    in %dx, %ax
    ret
FUNCTION port_in32
    mov %edi, %edx
    in %dx, %eax
    ret
FUNCTION port_out8
    mov %edi, %edx
    mov %esi, %eax
    out %al, %dx
    ret
FUNCTION port_out16
    mov %edi, %edx
    mov %esi, %eax
    out %ax, %dx
    ret
FUNCTION port_out32
    mov %edi, %edx
    mov %esi, %eax
    out %eax, %dx
    ret

/* uint64 read_msr(uint32 index) */
FUNCTION read_msr
    mov %edi, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    ret
/* void write_msr(uint32 index, uint64 value) */
FUNCTION write_msr
    mov %edi, %ecx
    mov %rsi, %rax
    mov %rsi, %rdx
    shr $32, %rdx
    wrmsr
    ret

/* void cpuid_query(uint32 leaf, uint32 subleaf, uint32 out[4]) — EAX, EBX, ECX, EDX */
FUNCTION cpuid_query
    push %rbx
    mov %edi, %eax
    mov %esi, %ecx
    mov %rdx, %r8
    cpuid
    mov %eax, (%r8)
    mov %ebx, 4(%r8)
    mov %ecx, 8(%r8)
    mov %edx, 12(%r8)
    pop %rbx
    ret

FUNCTION read_cr0
    mov %cr0, %rax
    ret
FUNCTION write_cr0
    mov %rdi, %cr0
    ret
FUNCTION read_cr3
    mov %cr3, %rax
    ret
FUNCTION read_cr4
    mov %cr4, %rax
    ret
FUNCTION write_cr4
    mov %rdi, %cr4
    ret

/* Descriptor-table registers: base of GDTR / IDTR, the selectors in use, LTR. */
FUNCTION gdtr_base
    sub $16, %rsp
    sgdt 6(%rsp)
    mov 8(%rsp), %rax
    add $16, %rsp
    ret
FUNCTION idtr_base
    sub $16, %rsp
    sidt 6(%rsp)
    mov 8(%rsp), %rax
    add $16, %rsp
    ret
FUNCTION load_task_register
    ltr %di
    ret
FUNCTION read_cs
    xor %eax, %eax
    mov %cs, %ax
    ret
FUNCTION read_ss
    xor %eax, %eax
    mov %ss, %ax
    ret
FUNCTION read_ds
    xor %eax, %eax
    mov %ds, %ax
    ret
FUNCTION read_tr
    xor %eax, %eax
    str %ax
    ret

FUNCTION read_tsc
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    ret
FUNCTION cpu_pause
    pause
    ret

/* Spin locks on a 32-bit word: 0 free, 1 held. */
FUNCTION spin_lock
1:  mov $1, %eax
    xchg %eax, (%rdi)
    test %eax, %eax
    jz 2f
3:  pause
    cmpl $0, (%rdi)
    jne 3b
    jmp 1b
2:  ret
FUNCTION spin_unlock
    movl $0, (%rdi)
    ret
/* uint32 atomic_increment(uint32 *) → the new value */
FUNCTION atomic_increment
    mov $1, %eax
    lock xadd %eax, (%rdi)
    inc %eax
    ret
/* uint32 atomic_load(uint32 *) */
FUNCTION atomic_load
    mov (%rdi), %eax
    ret

/* Where the linker put things (see linker.ld). */
FUNCTION image_end_address
    lea __image_end(%rip), %rax
    ret

/* The C library functions the compiler emits calls to. */
FUNCTION memset
    mov %rdi, %r9
    mov %esi, %eax
    mov %rdx, %rcx
    rep stosb
    mov %r9, %rax
    ret
FUNCTION memcpy
    mov %rdi, %rax
    mov %rdx, %rcx
    rep movsb
    ret
FUNCTION memmove
    mov %rdi, %rax
    mov %rdx, %rcx
    cmp %rsi, %rdi
    jbe 1f
    lea -1(%rsi,%rdx), %rsi
    lea -1(%rdi,%rdx), %rdi
    std
    rep movsb
    cld
    ret
1:  rep movsb
    ret
