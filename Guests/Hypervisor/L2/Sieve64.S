/*
 * L2 guest "sieve64": a 64-bit program with its own page tables and IDT. It
 *   - asks CPUID for the hypervisor leaf 40000000H, which L1 answers;
 *   - touches linear 40000000H, which its page tables do not map: its own #PF handler maps it
 *     (2-MByte page → guest-physical 800000H) and returns;
 *   - executes RDMSR 1BH, which L1 intercepts (MSR bitmap) and answers with an injected #GP;
 *   - sets IA32_FS_BASE with WRMSR, which L1's MSR bitmap lets through without an exit;
 *   - sieves the primes below 2,000,000 in a byte array at 400000H, memory L1 maps page by
 *     page on EPT violations, and prints their count and sum.
 * It prints through COM1 (emulated by L1) and ends by writing its status to port F4H.
 *
 * Guest-physical layout (the image is loaded at BASE): header, GDT, TSS at BASE; page tables at
 * BASE + 1000H…4FFFH; IDT at BASE + 5000H; code after it; stack below 100000H.
 */
#define BASE        0x10000
#define STACK       0x100000
#define SIEVE       0x400000
#define LIMIT       2000000
#define DEMAND_VA   0x40000000
#define DEMAND_PA   0x800000

    .section .rodata.l2_sieve64, "a"
    .balign 4096
    .globl l2_sieve64_image, l2_sieve64_image_end
l2_sieve64_image:
    .quad BASE                      /* load address */
    .quad BASE + (start - l2_sieve64_image)   /* entry */
    .quad STACK                     /* stack pointer */
    .quad BASE + 0x1000             /* CR3: the PML4 */
    .quad BASE + 0x80, 5 * 8 - 1    /* GDTR base, limit */
    .quad BASE + 0x5000, 32 * 16 - 1 /* IDTR base, limit */
    .quad BASE + 0x100              /* TR base */

    .org 0x80
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 08H: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 10H: data */
    /* 18H: 64-bit TSS (busy), base BASE + 100H, limit 67H */
    .quad 0x0000000000000067 | (((BASE + 0x100) & 0xFFFFFF) << 16) | (0x8B << 40) | ((((BASE + 0x100) >> 24) & 0xFF) << 56)
    .quad (BASE + 0x100) >> 32

    .org 0x100
tss:
    .fill 104, 1, 0

    .org 0x200
signature:  .fill 16, 1, 0
cr2_seen:   .quad 0
pf_count:   .quad 0
gp_count:   .quad 0

    /* Identity map of the first 16 MiB with 2-MByte pages; PDPT[1] (linear 1–2 GiB) is left
       not present for the #PF demonstration. */
    .org 0x1000
pml4:
    .quad BASE + 0x2000 + 3
    .fill 511, 8, 0
pdpt:
    .quad BASE + 0x3000 + 3
    .fill 511, 8, 0
pd0:
    .set page, 0
    .rept 8
    .quad (page << 21) | 0x83
    .set page, page + 1
    .endr
    .fill 504, 8, 0
pd1:
    .fill 512, 8, 0
idt:
    .fill 32 * 16, 1, 0

    .code64
start:
    /* IDT: gate i → stub i, #GP and #PF → their handlers (64-bit interrupt gates, CS 08H). */
    lea idt(%rip), %rdi
    xor %ecx, %ecx
1:  lea exception_stubs(%rip), %rax
    mov %rcx, %rdx
    shl $4, %rdx
    add %rdx, %rax
    cmp $13, %ecx
    jne 2f
    lea general_protection(%rip), %rax
2:  cmp $14, %ecx
    jne 3f
    lea page_fault(%rip), %rax
3:  mov %ax, (%rdi)
    movw $0x08, 2(%rdi)
    movw $0x8E00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    inc %ecx
    cmp $32, %ecx
    jb 1b

    lea hello(%rip), %rsi
    call puts

    /* CPUID: the hypervisor leaf and the hypervisor-present bit (CPUID.1:ECX[31]). */
    mov $0x40000000, %eax
    xor %ecx, %ecx
    cpuid
    mov %ebx, signature(%rip)
    mov %ecx, signature+4(%rip)
    mov %edx, signature+8(%rip)
    mov $1, %eax
    cpuid
    shr $31, %ecx
    mov %ecx, %r12d
    lea cpuid_text(%rip), %rsi
    call puts
    lea signature(%rip), %rsi
    call puts
    lea cpuid_text2(%rip), %rsi
    call puts
    mov %r12, %rax
    call put_decimal
    call newline

    /* A store to an unmapped linear address: #PF, handled below; then the 2-MByte page's
       first 4 KiB are read back through the identity map. */
    movabs $DEMAND_VA, %rdi
    movabs $0x0123456789ABCDEF, %rax
    mov %rax, (%rdi)
    mov DEMAND_PA, %rdx
    lea pf_text(%rip), %rsi
    call puts
    mov cr2_seen(%rip), %rax
    call put_hex
    movabs $0x0123456789ABCDEF, %rax
    cmp %rdx, %rax
    lea pf_text_ok(%rip), %rsi
    je 4f
    lea pf_text_bad(%rip), %rsi
4:  call puts

    /* RDMSR of an MSR L1 intercepts and refuses. */
    mov $0x1B, %ecx
    rdmsr
    lea gp_text(%rip), %rsi
    cmpq $1, gp_count(%rip)
    je 5f
    lea gp_text_none(%rip), %rsi
5:  call puts

    /* FS base = the sieve, by a WRMSR the MSR bitmap passes through. */
    mov $0xC0000100, %ecx
    mov $SIEVE, %eax
    xor %edx, %edx
    wrmsr

    /* Sieve of Eratosthenes over bytes: 0 = prime candidate, 1 = composite. */
    mov $SIEVE, %edi
    mov $LIMIT, %ecx
    xor %eax, %eax
    cld
    rep stosb
    mov $2, %ebx
outer:
    mov %rbx, %rax
    imul %rbx, %rax
    cmp $LIMIT, %rax
    jae count
    cmpb $0, %fs:(%rbx)
    jne next
inner:
    movb $1, %fs:(%rax)
    add %rbx, %rax
    cmp $LIMIT, %rax
    jb inner
next:
    inc %rbx
    jmp outer
count:
    xor %r12d, %r12d
    xor %r13d, %r13d
    mov $2, %ebx
6:  cmpb $0, %fs:(%rbx)
    jne 7f
    inc %r12
    add %rbx, %r13
7:  inc %rbx
    cmp $LIMIT, %rbx
    jb 6b
    lea sieve_text(%rip), %rsi
    call puts
    mov %r12, %rax
    call put_decimal
    lea sieve_text2(%rip), %rsi
    call puts
    mov %r13, %rax
    call put_decimal
    call newline
    lea done_text(%rip), %rsi
    call puts
    xor %eax, %eax
    out %al, $0xF4
8:  hlt
    jmp 8b

/* #PF: map DEMAND_VA's 2-MByte page to DEMAND_PA (PDPT[1] → PD1, PD1[0] → page), once. */
page_fault:
    push %rax
    push %rbx
    mov %cr2, %rax
    mov %rax, cr2_seen(%rip)
    movabs $DEMAND_VA, %rbx
    cmp %rbx, %rax
    jne unexpected_page_fault
    cmpq $0, pf_count(%rip)
    jne unexpected_page_fault
    incq pf_count(%rip)
    movq $(BASE + 0x4000 + 3), pdpt+8(%rip)
    movq $(DEMAND_PA | 0x83), pd1(%rip)
    invlpg (%rax)
    pop %rbx
    pop %rax
    add $8, %rsp
    iretq
unexpected_page_fault:
    pop %rbx
    pop %rax
    push $14
    jmp unexpected_exception

/* #GP: expected only from the RDMSR above (0F 32); skip it. */
general_protection:
    push %rax
    mov 16(%rsp), %rax
    cmpw $0x320F, (%rax)
    jne 1f
    incq gp_count(%rip)
    addq $2, 16(%rsp)
    pop %rax
    add $8, %rsp
    iretq
1:  pop %rax
    push $13
    jmp unexpected_exception

    .balign 16
exception_stubs:
    .set vector, 0
    .rept 32
    .balign 16
    .if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    push $vector
    .else
    push $0
    push $vector
    .endif
    jmp unexpected_exception
    .set vector, vector + 1
    .endr

/* Stack: vector, error code, RIP… Report and stop with status 1. */
unexpected_exception:
    lea exception_text(%rip), %rsi
    call puts
    mov (%rsp), %rax
    call put_decimal
    lea exception_text2(%rip), %rsi
    call puts
    mov 16(%rsp), %rax
    call put_hex
    call newline
    mov $1, %al
    out %al, $0xF4
1:  hlt
    jmp 1b

putc:
    push %rdx
    push %rax
1:  mov $0x3FD, %edx
    in %dx, %al
    test $0x20, %al
    jz 1b
    pop %rax
    mov $0x3F8, %edx
    out %al, %dx
    pop %rdx
    ret
puts:
    push %rax
1:  lodsb
    test %al, %al
    jz 2f
    call putc
    jmp 1b
2:  pop %rax
    ret
newline:
    push %rax
    mov $10, %al
    call putc
    pop %rax
    ret
put_decimal:
    push %rax
    push %rcx
    push %rdx
    push %rdi
    mov $10, %ecx
    xor %edi, %edi
1:  xor %edx, %edx
    div %rcx
    push %rdx
    inc %edi
    test %rax, %rax
    jnz 1b
2:  pop %rax
    add $'0', %al
    call putc
    dec %edi
    jnz 2b
    pop %rdi
    pop %rdx
    pop %rcx
    pop %rax
    ret
/* RAX in hexadecimal, no leading zeros, with an "h" suffix. */
put_hex:
    push %rax
    push %rcx
    push %rdx
    push %rdi
    mov %rax, %rdx
    xor %edi, %edi
    mov $60, %ecx
1:  mov %rdx, %rax
    shr %cl, %rax
    and $0xF, %eax
    jnz 2f
    test %edi, %edi
    jnz 2f
    test %ecx, %ecx
    jnz 4f
2:  mov $1, %edi
    cmp $10, %al
    jb 3f
    add $('A' - '0' - 10), %al
3:  add $'0', %al
    call putc
4:  sub $4, %ecx
    jns 1b
    mov $'h', %al
    call putc
    pop %rdi
    pop %rdx
    pop %rcx
    pop %rax
    ret

hello:          .asciz "64-bit mode, paging on; CPUID, #PF, #GP and an EPT-backed sieve\n"
cpuid_text:     .asciz "CPUID.40000000h: \""
cpuid_text2:    .asciz "\", hypervisor bit "
pf_text:        .asciz "#PF at "
pf_text_ok:     .asciz " handled by the guest: mapped to 800000h, value read back intact\n"
pf_text_bad:    .asciz " handled by the guest, but the value read back differs\n"
gp_text:        .asciz "RDMSR 1Bh: #GP injected by L1, handled by the guest\n"
gp_text_none:   .asciz "RDMSR 1Bh: no #GP (expected L1 to inject one)\n"
sieve_text:     .asciz "primes below 2000000: "
sieve_text2:    .asciz ", their sum: "
done_text:      .asciz "done\n"
exception_text: .asciz "unexpected exception "
exception_text2: .asciz " at RIP "
l2_sieve64_image_end:
