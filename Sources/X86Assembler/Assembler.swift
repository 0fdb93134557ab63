// x86 assembler DSL for test guests.
