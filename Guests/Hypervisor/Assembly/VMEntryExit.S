/*
 * Entering an L2 guest and coming back (SDM Vol. 3C ch. 27 and 28). VM entry loads only what
 * the VMCS holds; the guest's general-purpose registers (but RSP) and CR2 are the VMM's job, so
 * vmx_run loads them from a save area before VMLAUNCH/VMRESUME and vm_exit_entry (HOST_RIP)
 * stores them back.
 *
 * Save area (uint64 each, by register number): RAX 0, RCX 8, RDX 16, RBX 24, (RSP 32 unused),
 * RBP 40, RSI 48, RDI 56, R8 64 … R15 120, CR2 128.
 *
 * int vmx_run(uint64 *saveArea, int launched) → 0 after a VM exit; 1 or 2 if VMLAUNCH /
 * VMRESUME failed (VMfailInvalid / VMfailValid: nothing ran) or 3 if the HOST_RSP VMWRITE did.
 */
#include "Layout.h"
#define HOST_RSP 0x6C14

    .text
FUNCTION vmx_run
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                       /* the save area, found at (%rsp) after a VM exit */
    mov $HOST_RSP, %eax
    vmwrite %rsp, %rax
    jbe .Lhost_rsp_failed           /* CF = 1 or ZF = 1 */
    mov 128(%rdi), %rax
    mov %rax, %cr2
    cmp $0, %esi                    /* flags survive the MOVs below */
    mov 0(%rdi), %rax
    mov 8(%rdi), %rcx
    mov 16(%rdi), %rdx
    mov 24(%rdi), %rbx
    mov 40(%rdi), %rbp
    mov 48(%rdi), %rsi
    mov 64(%rdi), %r8
    mov 72(%rdi), %r9
    mov 80(%rdi), %r10
    mov 88(%rdi), %r11
    mov 96(%rdi), %r12
    mov 104(%rdi), %r13
    mov 112(%rdi), %r14
    mov 120(%rdi), %r15
    mov 56(%rdi), %rdi
    jne 1f
    vmlaunch
    jmp .Lentry_failed
1:  vmresume
.Lentry_failed:
    mov $1, %eax
    jc 2f
    mov $2, %eax
2:  pop %rdi
    jmp .Lreturn
.Lhost_rsp_failed:
    pop %rdi
    mov $3, %eax
    jmp .Lreturn

/* HOST_RIP: RSP = HOST_RSP, so (%rsp) is the save area. */
vm_exit_entry:
    push %rdi
    mov 8(%rsp), %rdi
    mov %rax, 0(%rdi)
    mov %rcx, 8(%rdi)
    mov %rdx, 16(%rdi)
    mov %rbx, 24(%rdi)
    mov %rbp, 40(%rdi)
    mov %rsi, 48(%rdi)
    mov %r8, 64(%rdi)
    mov %r9, 72(%rdi)
    mov %r10, 80(%rdi)
    mov %r11, 88(%rdi)
    mov %r12, 96(%rdi)
    mov %r13, 104(%rdi)
    mov %r14, 112(%rdi)
    mov %r15, 120(%rdi)
    pop %rax
    mov %rax, 56(%rdi)
    mov %cr2, %rax
    mov %rax, 128(%rdi)
    pop %rdi
    xor %eax, %eax
.Lreturn:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

FUNCTION vm_exit_entry_address
    lea vm_exit_entry(%rip), %rax
    ret
