// Hypervisor: L0 — the virtual machine, vCPU run loop and L1 exit handlers.
