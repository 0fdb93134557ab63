/*
 * The VMX instructions (SDM Vol. 3C §31.3), each returning how it completed (§31.2,
 * "Conventions"): 0 VMsucceed (CF = ZF = 0), 1 VMfailInvalid (CF = 1), 2 VMfailValid (ZF = 1;
 * the VM-instruction error field of the current VMCS says why).
 */
#include "Layout.h"

    .text

/* The status of the VMX instruction just executed, from CF and ZF. */
    .macro VMX_STATUS
    jc 1f
    jz 2f
    xor %eax, %eax
    ret
1:  mov $1, %eax
    ret
2:  mov $2, %eax
    ret
    .endm

/* Instructions with an m64 operand holding a physical address: push it, point at it. */
FUNCTION vmx_on
    push %rdi
    vmxon (%rsp)
    lea 8(%rsp), %rsp
    VMX_STATUS
FUNCTION vmx_clear
    push %rdi
    vmclear (%rsp)
    lea 8(%rsp), %rsp
    VMX_STATUS
FUNCTION vmx_pointer_load
    push %rdi
    vmptrld (%rsp)
    lea 8(%rsp), %rsp
    VMX_STATUS
FUNCTION vmx_off
    vmxoff
    VMX_STATUS

/* int vmx_write(uint64 field, uint64 value) */
FUNCTION vmx_write
    vmwrite %rsi, %rdi
    VMX_STATUS
/* int vmx_read(uint64 field, uint64 *value) */
FUNCTION vmx_read
    vmread %rdi, %rax
    mov %rax, (%rsi)
    VMX_STATUS
/* int vmx_invept(uint64 type, const uint64 descriptor[2]) */
FUNCTION vmx_invept
    invept (%rsi), %rdi
    VMX_STATUS
/* int vmx_invvpid(uint64 type, const uint64 descriptor[2]) */
FUNCTION vmx_invvpid
    invvpid (%rsi), %rdi
    VMX_STATUS
