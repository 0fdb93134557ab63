/*
 * Boot: the Multiboot 1 header and entry, and the way every processor reaches 64-bit mode.
 *
 * The bootstrap processor arrives from the boot loader in 32-bit protected mode (Multiboot
 * Specification 0.6.96 §3.2: EAX = 2BADB002H, EBX = boot information, paging off). An
 * application processor arrives in real mode at AP_TRAMPOLINE (SDM Vol. 3A §8.4.4, start-up
 * IPI vector 08H). Both load this GDT, enable PAE paging on identity-mapped page tables covering
 * the first 4 GiB with 2-MByte pages, set IA32_EFER.LME and CR0.PG (SDM Vol. 3A §9.8.5,
 * "Initializing IA-32e Mode") and far-jump to the 64-bit code segment.
 */
#include "Layout.h"

#define MULTIBOOT_MAGIC  0x1BADB002
/* page-align modules, memory information, the header's address fields are valid (a.out kludge,
   so loaders need not understand ELF64) */
#define MULTIBOOT_FLAGS  ((1 << 0) | (1 << 1) | (1 << 16))

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)
    .long multiboot_header          /* header_addr */
    .long __image_start             /* load_addr */
    .long __load_end                /* load_end_addr */
    .long __bss_end                 /* bss_end_addr */
    .long multiboot_entry           /* entry_addr */

    .section .text.boot, "ax"
    .code32
    .globl multiboot_entry
multiboot_entry:
    cli
    cld
    mov %eax, boot_magic
    mov %ebx, boot_information
    lgdt gdt_pointer
    ljmp $KERNEL_CS32, $1f
1:  mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    /* The loader zeroes the BSS (bss_end_addr); do it again rather than rely on it. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    /* PML4[0] → PDPT; PDPT[0..3] → four page directories; PD entries map 2-MByte pages
       (P, R/W, PS). The top gigabyte (APIC, I/O APIC) is uncached: PCD | PWT. */
    mov $boot_pdpt + 3, %eax
    mov %eax, boot_pml4
    mov $boot_pd + 3, %eax
    xor %ecx, %ecx
2:  mov %eax, boot_pdpt(,%ecx,8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jb 2b
    xor %ecx, %ecx
3:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    cmp $1536, %ecx
    jb 4f
    or $0x18, %eax
4:  mov %eax, boot_pd(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 3b
    xor %ebp, %ebp                  /* 0: bootstrap processor */
    jmp enter_long_mode

/* An application processor, in protected mode (from the trampoline) with CS = KERNEL_CS32. */
ap_protected_mode:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $1, %ebp                    /* 1: application processor */
    /* fall through */

/* CR4.PAE, OSFXSR, OSXMMEXCPT (SSE for compiled code); CR3; EFER.LME; CR0.PG, NE, MP, WP
   and EM cleared. */
enter_long_mode:
    mov %cr4, %eax
    or $(0x20 | 0x200 | 0x400), %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    and $~0x4, %eax
    or $(0x80000000 | 0x10000 | 0x20 | 0x2), %eax
    mov %eax, %cr0
    ljmp $KERNEL_CS64, $long_mode

    .code64
long_mode:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    test %ebp, %ebp
    jnz 1f
    lea cpu_stacks + STACK_SIZE(%rip), %rsp
    mov boot_magic(%rip), %edi
    mov boot_information(%rip), %esi
    call l1_main
    jmp halt_forever
1:  /* cpu index = next_cpu_index++ (1, 2, ...) */
    mov $1, %eax
    lock xadd %eax, next_cpu_index(%rip)
    cmp $MAX_CPUS, %eax
    jae halt_forever
    mov %eax, %edi
    lea 1(%rax), %rcx
    imul $STACK_SIZE, %rcx
    lea cpu_stacks(%rip), %rsp
    add %rcx, %rsp
    call ap_main
    jmp halt_forever

    .globl halt_forever
halt_forever:
    cli
1:  hlt
    jmp 1b

/*
 * The application-processor start-up code, copied to AP_TRAMPOLINE by the BSP before the
 * start-up IPIs. It runs in real mode at CS:IP = 0800H:0000H: load the kernel GDT (a 32-bit
 * base through the operand-size prefix), set CR0.PE, far-jump to 32-bit code in the image.
 */
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl AP_TRAMPOLINE + (ap_gdt_pointer - ap_trampoline_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $KERNEL_CS32, $ap_protected_mode
    .balign 8
ap_gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt
ap_trampoline_end:

    .code64
    .globl ap_trampoline_code, ap_trampoline_size
ap_trampoline_code:
    lea ap_trampoline_start(%rip), %rax
    ret
ap_trampoline_size:
    mov $(ap_trampoline_end - ap_trampoline_start), %eax
    ret

    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF        /* 08H: 32-bit code, base 0, limit 4 GiB */
    .quad 0x00CF92000000FFFF        /* 10H: data, base 0, limit 4 GiB */
    .quad 0x00AF9A000000FFFF        /* 18H: 64-bit code */
    .fill MAX_CPUS * 2, 8, 0        /* 20H: one 64-bit TSS descriptor per CPU (Swift fills them) */
gdt_end:
    .balign 8
    .word 0
    .word 0
    .word 0
gdt_pointer:
    .word gdt_end - gdt - 1
    .quad gdt

boot_magic:         .long 0
boot_information:   .long 0
next_cpu_index:     .long 1

    .bss
    .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
    .balign 16
    .globl cpu_stacks
cpu_stacks: .skip MAX_CPUS * STACK_SIZE
