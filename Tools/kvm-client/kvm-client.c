/*
 * kvm-client: a minimal KVM user (Linux Documentation/virt/kvm/api.rst) that the Linux
 * end-to-end test runs inside L1. Per VM thread it runs two L2 guests and checks every exit
 * KVM returns to user space:
 *   1. real mode: OUT, IN, an MMIO write and an MMIO read (no memory slot there), CPUID
 *      (handled inside KVM; its vendor is sent out and compared), HLT;
 *   2. 64-bit mode with the guest's own 4-level page tables (an identity map and a
 *      higher-half alias): a xorshift compute loop whose sum is stored through the alias,
 *      read back through the identity map, written to MMIO through the alias, then HLT;
 *      the client checks the sum against the same loop run natively and the final registers.
 * With -j N, N threads (each pinned to CPU k) run their guests at the same time, so every
 * L1 vCPU runs an L2. Prints "L2 OK" when every check passed, "L2 FAILED: ..." otherwise
 * (exit status 1). Build: gcc -static -O2 -pthread -o kvm-client kvm-client.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Guest code, assembled by gcc with the client and copied into guest memory. Only relative
 * jumps and absolute guest addresses are used, so the bytes run wherever they are placed. */
extern const unsigned char real_mode_code[], real_mode_code_end[];
extern const unsigned char long_mode_code[], long_mode_halted[], long_mode_code_end[];
__asm__(
    ".pushsection .rodata\n"
    ".globl real_mode_code, real_mode_code_end, long_mode_code, long_mode_halted, long_mode_code_end\n"
    "real_mode_code:\n"
    ".code16\n"
    "    mov $0x42, %al\n"
    "    out %al, $0x10\n"          /* exit: I/O out, port 10H, 1 byte, 42H          */
    "    in $0x11, %al\n"           /* exit: I/O in, port 11H, 1 byte (client: 5AH)   */
    "    mov %al, %bl\n"
    "    mov $0x1000, %ax\n"
    "    mov %ax, %ds\n"
    "    movb %bl, 0x0\n"           /* exit: MMIO write 10000H, 1 byte, 5AH           */
    "    movw 0x4, %cx\n"           /* exit: MMIO read 10004H, 2 bytes (client: BEEFH) */
    "    mov %cx, %ax\n"
    "    out %ax, $0x12\n"          /* exit: I/O out, port 12H, 2 bytes, BEEFH        */
    "    xor %eax, %eax\n"
    "    cpuid\n"                   /* handled by KVM from KVM_SET_CPUID2             */
    "    mov %ebx, %eax\n"
    "    out %eax, $0x13\n"         /* exits: the vendor string, 4 bytes at a time    */
    "    mov %edx, %eax\n"
    "    out %eax, $0x13\n"
    "    mov %ecx, %eax\n"
    "    out %eax, $0x13\n"
    "    hlt\n"                     /* exit: HLT                                      */
    "real_mode_code_end:\n"
    ".code64\n"
    "long_mode_code:\n"             /* RAX = seed, RCX = iterations, RBX = 0          */
    "1:  mov %rax, %rdx\n"
    "    shl $13, %rdx\n"
    "    xor %rdx, %rax\n"
    "    mov %rax, %rdx\n"
    "    shr $7, %rdx\n"
    "    xor %rdx, %rax\n"
    "    mov %rax, %rdx\n"
    "    shl $17, %rdx\n"
    "    xor %rdx, %rax\n"
    "    add %rax, %rbx\n"
    "    dec %rcx\n"
    "    jnz 1b\n"
    "    movabs $0xffff800000008000, %rsi\n"
    "    mov %rbx, (%rsi)\n"        /* store through the higher-half alias            */
    "    mov 0x8000, %rdx\n"        /* read back through the identity map             */
    "    cmp %rdx, %rbx\n"
    "    jne 2f\n"
    "    movabs $0xffff800000200000, %rdi\n"
    "    mov %rbx, (%rdi)\n"        /* exit: MMIO write 200000H, 8 bytes, the sum     */
    "    hlt\n"                     /* exit: HLT                                      */
    "long_mode_halted:\n"
    "2:  mov $0xbad, %eax\n"
    "    out %eax, $0x14\n"
    "    hlt\n"
    "long_mode_code_end:\n"
    ".popsection\n");

enum { REAL_MODE_RAM = 0x10000, REAL_MODE_MMIO = 0x10000, REAL_MODE_CODE = 0x1000 };
enum { LONG_MODE_RAM = 0x200000, LONG_MODE_MMIO = 0x200000, PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000,
       GDT = 0x4000, RESULT = 0x8000, LONG_MODE_CODE = 0x10000, STACK_TOP = 0x1ff000 };
static const uint64_t SEED = 0x9e3779b97f4a7c15ull;
static uint64_t iterations = 2000000;

static int kvm_fd;
static struct kvm_cpuid2 *supported_cpuid;
static char vendor[13];
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_barrier;

struct vm {
    int index, fd, vcpu;
    struct kvm_run *run;
    uint8_t *ram;
    size_t ram_size;
    int exits;
    const char *test;
    char failure[256];
};

static void say(struct vm *vm, const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&print_lock);
    printf("kvm-client: vm%d %s: ", vm->index, vm->test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
}

/* Records the first failure; every later check is skipped by the callers. */
static int fail(struct vm *vm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(vm->failure, sizeof vm->failure, "vm%d %s: ", vm->index, vm->test);
    vsnprintf(vm->failure + n, sizeof vm->failure - n, fmt, ap);
    va_end(ap);
    return -1;
}

static int ioctl_checked(struct vm *vm, int fd, unsigned long request, void *arg, const char *name) {
    int r = ioctl(fd, request, arg);
    if (r < 0) return fail(vm, "%s: %s", name, strerror(errno));
    return r;
}

/* A VM with `ram_size` bytes at GPA 0 and one vCPU with the supported CPUID. */
static int create_vm(struct vm *vm, size_t ram_size) {
    vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm->fd < 0) return fail(vm, "KVM_CREATE_VM: %s", strerror(errno));
    /* Intel hosts need a TSS region for real mode without unrestricted guest. */
    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
        ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
        return fail(vm, "KVM_SET_TSS_ADDR: %s", strerror(errno));
    vm->ram_size = ram_size;
    vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->ram == MAP_FAILED) return fail(vm, "mmap guest RAM: %s", strerror(errno));
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = ram_size, .userspace_addr = (uint64_t)(uintptr_t)vm->ram,
    };
    if (ioctl_checked(vm, vm->fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION") < 0) return -1;
    vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu < 0) return fail(vm, "KVM_CREATE_VCPU: %s", strerror(errno));
    int size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run)) return fail(vm, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
    if (vm->run == MAP_FAILED) return fail(vm, "mmap kvm_run: %s", strerror(errno));
    if (ioctl_checked(vm, vm->vcpu, KVM_SET_CPUID2, supported_cpuid, "KVM_SET_CPUID2") < 0) return -1;
    vm->exits = 0;
    return 0;
}

static void destroy_vm(struct vm *vm) {
    if (vm->run && vm->run != MAP_FAILED) munmap(vm->run, ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
    if (vm->ram && vm->ram != MAP_FAILED) munmap(vm->ram, vm->ram_size);
    if (vm->vcpu > 0) close(vm->vcpu);
    if (vm->fd > 0) close(vm->fd);
    vm->run = NULL; vm->ram = NULL; vm->vcpu = vm->fd = -1;
}

static const char *exit_name(uint32_t reason) {
    switch (reason) {
    case KVM_EXIT_IO: return "KVM_EXIT_IO";
    case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
    case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
    case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
    default: return "another exit";
    }
}

/* Runs the vCPU to its next exit to user space and checks it is `reason`. */
static int run_to(struct vm *vm, uint32_t reason) {
    if (ioctl_checked(vm, vm->vcpu, KVM_RUN, NULL, "KVM_RUN") < 0) return -1;
    vm->exits++;
    struct kvm_run *r = vm->run;
    if (r->exit_reason != reason) {
        struct kvm_regs regs = { 0 };
        ioctl(vm->vcpu, KVM_GET_REGS, &regs);
        if (r->exit_reason == KVM_EXIT_FAIL_ENTRY)
            return fail(vm, "exit %d: KVM_EXIT_FAIL_ENTRY (hardware reason 0x%llx), expected %s", vm->exits,
                        (unsigned long long)r->fail_entry.hardware_entry_failure_reason, exit_name(reason));
        if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR)
            return fail(vm, "exit %d: KVM_EXIT_INTERNAL_ERROR (suberror %u), expected %s", vm->exits,
                        r->internal.suberror, exit_name(reason));
        return fail(vm, "exit %d: %s (%u) at RIP 0x%llx, expected %s", vm->exits, exit_name(r->exit_reason),
                    r->exit_reason, (unsigned long long)regs.rip, exit_name(reason));
    }
    return 0;
}

/* The next exit is port I/O in `direction` at `port` of `size` bytes; returns its data. */
static uint8_t *expect_io(struct vm *vm, uint8_t direction, uint16_t port, uint8_t size) {
    if (run_to(vm, KVM_EXIT_IO) < 0) return NULL;
    struct kvm_run *r = vm->run;
    if (r->io.direction != direction || r->io.port != port || r->io.size != size || r->io.count != 1) {
        fail(vm, "exit %d: I/O %s port 0x%x size %u count %u, expected %s port 0x%x size %u", vm->exits,
             r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.port, r->io.size, r->io.count,
             direction == KVM_EXIT_IO_OUT ? "out" : "in", port, size);
        return NULL;
    }
    return (uint8_t *)r + r->io.data_offset;
}

static uint64_t little_endian(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

static int expect_out(struct vm *vm, uint16_t port, uint8_t size, uint64_t value) {
    uint8_t *d = expect_io(vm, KVM_EXIT_IO_OUT, port, size);
    if (!d) return -1;
    uint64_t v = little_endian(d, size);
    if (v != value)
        return fail(vm, "exit %d: OUT to port 0x%x wrote 0x%llx, expected 0x%llx", vm->exits, port,
                    (unsigned long long)v, (unsigned long long)value);
    say(vm, "exit %d: KVM_EXIT_IO out port 0x%x size %u value 0x%llx: ok", vm->exits, port, size, (unsigned long long)v);
    return 0;
}

static int expect_in(struct vm *vm, uint16_t port, uint8_t size, uint64_t value) {
    uint8_t *d = expect_io(vm, KVM_EXIT_IO_IN, port, size);
    if (!d) return -1;
    for (int k = 0; k < size; k++) d[k] = (uint8_t)(value >> (8 * k));
    say(vm, "exit %d: KVM_EXIT_IO in port 0x%x size %u, answered 0x%llx: ok", vm->exits, port, size, (unsigned long long)value);
    return 0;
}

/* The next exit is an MMIO access at `gpa` of `len` bytes: a write of `value`, or a read
 * answered with `value`. */
static int expect_mmio(struct vm *vm, int is_write, uint64_t gpa, uint32_t len, uint64_t value) {
    if (run_to(vm, KVM_EXIT_MMIO) < 0) return -1;
    struct kvm_run *r = vm->run;
    if (r->mmio.is_write != is_write || r->mmio.phys_addr != gpa || r->mmio.len != len)
        return fail(vm, "exit %d: MMIO %s at 0x%llx len %u, expected %s at 0x%llx len %u", vm->exits,
                    r->mmio.is_write ? "write" : "read", (unsigned long long)r->mmio.phys_addr, r->mmio.len,
                    is_write ? "write" : "read", (unsigned long long)gpa, len);
    if (is_write) {
        uint64_t v = little_endian(r->mmio.data, len);
        if (v != value)
            return fail(vm, "exit %d: MMIO write of 0x%llx, expected 0x%llx", vm->exits,
                        (unsigned long long)v, (unsigned long long)value);
    } else {
        for (uint32_t k = 0; k < len; k++) r->mmio.data[k] = (uint8_t)(value >> (8 * k));
    }
    say(vm, "exit %d: KVM_EXIT_MMIO %s 0x%llx len %u value 0x%llx: ok", vm->exits, is_write ? "write" : "read",
        (unsigned long long)gpa, len, (unsigned long long)value);
    return 0;
}

static int expect_hlt(struct vm *vm) {
    if (run_to(vm, KVM_EXIT_HLT) < 0) return -1;
    say(vm, "exit %d: KVM_EXIT_HLT: ok", vm->exits);
    return 0;
}

static int real_mode_test(struct vm *vm) {
    vm->test = "real mode";
    if (create_vm(vm, REAL_MODE_RAM) < 0) return -1;
    size_t n = real_mode_code_end - real_mode_code;
    memcpy(vm->ram + REAL_MODE_CODE, real_mode_code, n);
    struct kvm_sregs s;
    if (ioctl_checked(vm, vm->vcpu, KVM_GET_SREGS, &s, "KVM_GET_SREGS") < 0) return -1;
    s.cs.base = 0; s.cs.selector = 0;
    s.ds.base = 0; s.ds.selector = 0;
    s.ss.base = 0; s.ss.selector = 0;
    if (ioctl_checked(vm, vm->vcpu, KVM_SET_SREGS, &s, "KVM_SET_SREGS") < 0) return -1;
    struct kvm_regs regs = { .rip = REAL_MODE_CODE, .rsp = 0x8000, .rflags = 2 };
    if (ioctl_checked(vm, vm->vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS") < 0) return -1;
    uint32_t v[3];
    memcpy(v, vendor, 12);
    if (expect_out(vm, 0x10, 1, 0x42) < 0 || expect_in(vm, 0x11, 1, 0x5a) < 0 ||
        expect_mmio(vm, 1, REAL_MODE_MMIO, 1, 0x5a) < 0 || expect_mmio(vm, 0, REAL_MODE_MMIO + 4, 2, 0xbeef) < 0 ||
        expect_out(vm, 0x12, 2, 0xbeef) < 0 ||
        expect_out(vm, 0x13, 4, v[0]) < 0 || expect_out(vm, 0x13, 4, v[1]) < 0 || expect_out(vm, 0x13, 4, v[2]) < 0 ||
        expect_hlt(vm) < 0)
        return -1;
    if (ioctl_checked(vm, vm->vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS") < 0) return -1;
    if (regs.rip != REAL_MODE_CODE + n)
        return fail(vm, "RIP 0x%llx after HLT, expected 0x%llx", (unsigned long long)regs.rip,
                    (unsigned long long)(REAL_MODE_CODE + n));
    say(vm, "CPUID vendor \"%s\" through port 0x13, %d exits checked", vendor, vm->exits);
    return 0;
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t xorshift_sum(uint64_t x, uint64_t n) {
    uint64_t sum = 0;
    while (n--) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; sum += x; }
    return sum;
}

static int long_mode_test(struct vm *vm) {
    vm->test = "64-bit";
    if (create_vm(vm, LONG_MODE_RAM) < 0) return -1;
    uint8_t *m = vm->ram;
    /* PML4[0] and PML4[256] (the 0xFFFF8000'00000000 alias) → one PDPT → one PD of 2-MiB pages. */
    put64(m + PML4, PDPT | 3);
    put64(m + PML4 + 256 * 8, PDPT | 3);
    put64(m + PDPT, PD | 3);
    for (uint64_t k = 0; k < 512; k++) put64(m + PD + k * 8, (k << 21) | 0x83);
    put64(m + GDT + 8, 0x00af9b000000ffffull);       /* 64-bit code */
    put64(m + GDT + 16, 0x00cf93000000ffffull);      /* data        */
    size_t n = long_mode_code_end - long_mode_code;
    memcpy(m + LONG_MODE_CODE, long_mode_code, n);

    struct kvm_sregs s;
    if (ioctl_checked(vm, vm->vcpu, KVM_GET_SREGS, &s, "KVM_GET_SREGS") < 0) return -1;
    struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
                                .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1 };
    struct kvm_segment data = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1,
                                .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.gdt.base = GDT; s.gdt.limit = 23;
    s.cr3 = PML4;
    s.cr4 = 1u << 5;                                  /* PAE */
    s.cr0 = 0x80050033;                               /* PG WP NE ET MP PE */
    s.efer = 0x500;                                   /* LMA LME */
    if (ioctl_checked(vm, vm->vcpu, KVM_SET_SREGS, &s, "KVM_SET_SREGS") < 0) return -1;
    struct kvm_regs regs = { .rip = LONG_MODE_CODE, .rsp = STACK_TOP, .rflags = 2, .rax = SEED, .rcx = iterations };
    if (ioctl_checked(vm, vm->vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS") < 0) return -1;
    uint64_t expected = xorshift_sum(SEED, iterations);
    if (expect_mmio(vm, 1, LONG_MODE_MMIO, 8, expected) < 0 || expect_hlt(vm) < 0) return -1;
    if (ioctl_checked(vm, vm->vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS") < 0) return -1;
    uint64_t stored;
    memcpy(&stored, m + RESULT, 8);
    if (regs.rbx != expected || regs.rcx != 0 || stored != expected || regs.rip != LONG_MODE_CODE + (uint64_t)(long_mode_halted - long_mode_code))
        return fail(vm, "after HLT: RBX 0x%llx RCX %llu RIP 0x%llx, memory 0x%llx; expected RBX = memory = 0x%llx, RCX 0",
                    (unsigned long long)regs.rbx, (unsigned long long)regs.rcx, (unsigned long long)regs.rip,
                    (unsigned long long)stored, (unsigned long long)expected);
    say(vm, "%llu xorshift iterations under the guest's page tables: sum 0x%llx as computed natively",
        (unsigned long long)iterations, (unsigned long long)expected);
    return 0;
}

static void *vm_thread(void *arg) {
    struct vm *vm = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(vm->index, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) {
        fail(vm, "sched_setaffinity to CPU %d: %s", vm->index, strerror(errno));
        pthread_barrier_wait(&start_barrier);
        return NULL;
    }
    pthread_barrier_wait(&start_barrier);
    if (real_mode_test(vm) == 0) {
        destroy_vm(vm);
        long_mode_test(vm);
    }
    destroy_vm(vm);
    return NULL;
}

static int load_supported_cpuid(void) {
    for (int n = 64; n <= 4096; n *= 2) {
        supported_cpuid = calloc(1, sizeof *supported_cpuid + n * sizeof(struct kvm_cpuid_entry2));
        supported_cpuid->nent = n;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, supported_cpuid) == 0) break;
        int e = errno;
        free(supported_cpuid);
        supported_cpuid = NULL;
        if (e != E2BIG) { fprintf(stderr, "kvm-client: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(e)); return -1; }
    }
    if (!supported_cpuid) return -1;
    for (uint32_t k = 0; k < supported_cpuid->nent; k++) {
        struct kvm_cpuid_entry2 *e = &supported_cpuid->entries[k];
        if (e->function == 0) {
            memcpy(vendor, &e->ebx, 4); memcpy(vendor + 4, &e->edx, 4); memcpy(vendor + 8, &e->ecx, 4);
            return 0;
        }
    }
    fprintf(stderr, "kvm-client: KVM_GET_SUPPORTED_CPUID has no leaf 0\n");
    return -1;
}

int main(int argc, char **argv) {
    int vms = 1;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "-j") && k + 1 < argc) vms = atoi(argv[++k]);
        else if (!strcmp(argv[k], "-n") && k + 1 < argc) iterations = strtoull(argv[++k], NULL, 0);
        else { fprintf(stderr, "usage: kvm-client [-j VMS] [-n ITERATIONS]\n"); return 2; }
    }
    if (vms < 1 || vms > 64 || iterations == 0) { fprintf(stderr, "kvm-client: -j 1..64, -n > 0\n"); return 2; }
    kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd < 0) { printf("L2 FAILED: open /dev/kvm: %s\n", strerror(errno)); return 1; }
    int api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) { printf("L2 FAILED: KVM API version %d, expected %d\n", api, KVM_API_VERSION); return 1; }
    if (load_supported_cpuid() < 0) { printf("L2 FAILED: no supported CPUID\n"); return 1; }
    printf("kvm-client: KVM API %d, vendor %s, %d VM%s at once\n", api, vendor, vms, vms > 1 ? "s" : "");
    fflush(stdout);

    struct vm *all = calloc(vms, sizeof *all);
    pthread_t *threads = calloc(vms, sizeof *threads);
    pthread_barrier_init(&start_barrier, NULL, vms);
    for (int k = 0; k < vms; k++) {
        all[k].index = k;
        all[k].vcpu = all[k].fd = -1;
        all[k].test = "setup";
        if (pthread_create(&threads[k], NULL, vm_thread, &all[k]) != 0) {
            printf("L2 FAILED: pthread_create\n");
            return 1;
        }
    }
    int failed = 0;
    for (int k = 0; k < vms; k++) {
        pthread_join(threads[k], NULL);
        if (all[k].failure[0]) { printf("L2 FAILED: %s\n", all[k].failure); failed = 1; }
    }
    if (failed) return 1;
    printf("L2 OK (%d VM%s, real mode and 64-bit guests, every exit checked)\n", vms, vms > 1 ? "s" : "");
    return 0;
}
