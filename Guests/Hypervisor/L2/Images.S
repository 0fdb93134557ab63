/* void l2_image_bounds(int index, uint64 out[2]): start and end of L2 image `index` in L1's
   memory (0: collatz16, 1: sieve64). */
#include "../Assembly/Layout.h"

    .text
FUNCTION l2_image_bounds
    cmp $0, %edi
    jne 1f
    lea l2_collatz16_image(%rip), %rax
    lea l2_collatz16_image_end(%rip), %rdx
    jmp 2f
1:  lea l2_sieve64_image(%rip), %rax
    lea l2_sieve64_image_end(%rip), %rdx
2:  mov %rax, (%rsi)
    mov %rdx, 8(%rsi)
    ret
