/* Constants shared by the assembly files (mirrored in Swift/Machine/Layout.swift), and the macro
   that declares a global function. */
#define KERNEL_CS32      0x08    /* flat 32-bit code */
#define KERNEL_DS        0x10    /* flat data */
#define KERNEL_CS64      0x18    /* 64-bit code (L = 1) */
#define KERNEL_TSS0      0x20    /* first 16-byte TSS descriptor; one per CPU */
#define MAX_CPUS         8
#define STACK_SIZE       0x8000  /* per CPU */
#define AP_TRAMPOLINE    0x8000  /* physical address of the AP start-up code (SIPI vector 08H) */

#ifdef __ASSEMBLER__
    .macro FUNCTION name
    .globl \name
    .type \name, @function
\name:
    .endm
#endif
