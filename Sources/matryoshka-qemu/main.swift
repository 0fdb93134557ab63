print("matryoshka-qemu: not yet built")
