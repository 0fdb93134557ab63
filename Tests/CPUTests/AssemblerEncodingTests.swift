import XCTest
import X86Assembler

/// The test-guest assembler's encodings, checked against GNU as (the expected bytes were produced
/// by `as` in Intel syntax for the instruction quoted in each case).
final class AssemblerEncodingTests: XCTestCase {
    private func check(_ mode: Assembler.Mode, _ text: String, _ hex: String, _ build: (Assembler) -> Void,
                       file: StaticString = #filePath, line: UInt = #line) {
        let a = Assembler(mode: mode, origin: 0x1000)
        build(a)
        let got = a.assemble().map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(got, hex, text, file: file, line: line)
    }

    func testLongModeEncodings() {
        let m = Assembler.Mode.bits64
        check(m, "mov rax, rbx", "4889d8") { $0.mov(rax, rbx) }
        check(m, "mov eax, 5", "b805000000") { $0.mov(eax, 5) }
        check(m, "mov rax, 0x123456789", "48b88967452301000000") { $0.mov(rax, 0x1_2345_6789) }
        check(m, "mov rax, -1", "48c7c0ffffffff") { $0.mov(rax, -1) }
        check(m, "mov [rax+8], rbx", "48895808") { $0.mov(qword[rax + 8], rbx) }
        check(m, "mov r9d, [rsp]", "448b0c24") { $0.mov(r9d, dword[rsp]) }
        check(m, "mov rbx, [rbp]", "488b5d00") { $0.mov(rbx, qword[rbp]) }
        check(m, "mov [r12+rcx*4+0x100], r15", "4d89bc8c00010000") { $0.mov(qword[r12 + rcx * 4 + 0x100], r15) }
        check(m, "mov byte [rdi], 7", "c60707") { $0.mov(byte[rdi], 7) }
        check(m, "mov sil, al", "4088c6") { $0.mov(sil, al) }
        check(m, "mov ah, bl", "88dc") { $0.mov(ah, bl) }
        check(m, "add rax, 1", "4883c001") { $0.add(rax, 1) }
        check(m, "add eax, 0x1000", "81c000100000") { $0.add(eax, 0x1000) }
        check(m, "sub [rbx], rcx", "48290b") { $0.sub(qword[rbx], rcx) }
        check(m, "cmp al, 0x7f", "80f87f") { $0.cmp(al, 0x7F) }
        check(m, "xor r8, r8", "4d31c0") { $0.xor(r8, r8) }
        check(m, "test rax, rax", "4885c0") { $0.test(rax, rax) }
        check(m, "shl rax, 1", "48d1e0") { $0.shl(rax, 1) }
        check(m, "shr edx, 5", "c1ea05") { $0.shr(edx, 5) }
        check(m, "sar rbx, cl", "48d3fb") { $0.shiftByCL(.sar, rbx) }
        check(m, "imul rax, rbx", "480fafc3") { $0.imul(rax, rbx) }
        check(m, "imul rcx, rdx, 1000", "4869cae8030000") { $0.imul(rcx, rdx, 1000) }
        check(m, "div rcx", "48f7f1") { $0.div(rcx) }
        check(m, "inc dword [rax]", "ff00") { $0.inc(dword[rax]) }
        check(m, "dec r10", "49ffca") { $0.dec(r10) }
        check(m, "lea rax, [rip+0x10]", "488d0510000000") { $0.lea(rax, mem[.rip(0x10)]) }
        check(m, "lea rsi, [rax+rbx*2-8]", "488d7458f8") { $0.lea(rsi, mem[rax + rbx * 2 - 8]) }
        check(m, "mov eax, [0x1000]", "8b042500100000") { $0.mov(eax, dword[0x1000]) }
        check(m, "push rbp", "55") { $0.push(rbp) }
        check(m, "push r12", "4154") { $0.push(r12) }
        check(m, "pop r15", "415f") { $0.pop(r15) }
        check(m, "push 0x1234", "6834120000") { $0.push(0x1234) }
        check(m, "movzx eax, byte [rsi]", "0fb606") { $0.movzx(eax, byte[rsi]) }
        check(m, "movzx rax, word [rdi]", "480fb707") { $0.movzx(rax, word[rdi]) }
        check(m, "movsxd rax, eax", "4863c0") { $0.movsx(rax, eax) }
        check(m, "movsx ecx, bl", "0fbecb") { $0.movsx(ecx, bl) }
        check(m, "cmovne rax, rdx", "480f45c2") { $0.cmov(.ne, rax, rdx) }
        check(m, "sete al", "0f94c0") { $0.set(.e, al) }
        check(m, "bswap r11", "490fcb") { $0.bswap(r11) }
        check(m, "bts [rax], rcx", "480fab08") { $0.bitTest(.bts, qword[rax], rcx) }
        check(m, "bt eax, 3", "0fbae003") { $0.bitTest(.bt, eax, 3) }
        check(m, "cmpxchg [rdi], rsi", "480fb137") { $0.cmpxchg(qword[rdi], rsi) }
        check(m, "lock xadd [rbx], eax", "f00fc103") { $0.lock(); $0.xadd(dword[rbx], eax) }
        check(m, "cmpxchg16b [rdi]", "480fc70f") { $0.cmpxchg16b(oword[rdi]) }
        check(m, "mov cr3, rax", "0f22d8") { $0.mov(cr3, rax) }
        check(m, "mov rax, cr0", "0f20c0") { $0.mov(rax, cr0) }
        check(m, "mov cr8, rcx", "440f22c1") { $0.mov(cr8, rcx) }
        check(m, "mov dr7, rax", "0f23f8") { $0.mov(dr7, rax) }
        check(m, "lgdt [rax]", "0f0110") { $0.lgdt(mem[rax]) }
        check(m, "lidt [0x2000]", "0f011c2500200000") { $0.lidt(mem[0x2000]) }
        check(m, "invlpg [rbx]", "0f013b") { $0.invlpg(mem[rbx]) }
        check(m, "ltr ax", "0f00d8") { $0.ltr(ax) }
        check(m, "lldt [rax]", "0f0010") { $0.lldt(word[rax]) }
        check(m, "jmp [rax]", "ff20") { $0.jmp(qword[rax]) }
        check(m, "call rax", "ffd0") { $0.call(rax) }
        check(m, "iretq", "48cf") { $0.iretq() }
        check(m, "sysretq", "480f07") { $0.sysret() }
        check(m, "rep movsq", "f348a5") { $0.rep(); $0.movs(8) }
        check(m, "rep stosb", "f3aa") { $0.rep(); $0.stosb() }
        check(m, "in al, dx", "ec") { $0.in(al, dx) }
        check(m, "out 0xf4, al", "e6f4") { $0.out(port: 0xF4, al) }
        check(m, "out dx, eax", "ef") { $0.out(dx, eax) }
        check(m, "vmxon [rax]", "f30fc730") { $0.vmxon(qword[rax]) }
        check(m, "vmclear [rbx]", "660fc733") { $0.vmclear(qword[rbx]) }
        check(m, "vmptrld [rcx]", "0fc731") { $0.vmptrld(qword[rcx]) }
        check(m, "vmread rax, rbx", "0f78d8") { $0.vmread(rax, rbx) }
        check(m, "vmwrite rdx, [rsi]", "0f7916") { $0.vmwrite(rdx, qword[rsi]) }
        check(m, "invept rax, [rbx]", "660f388003") { $0.invept(rax, oword[rbx]) }
        check(m, "mov ds, ax", "8ed8") { $0.mov(SegmentRegister.ds, ax) }
        check(m, "mov ax, ss", "668cd0") { $0.mov(ax, SegmentRegister.ss) }
        check(m, "jmp fword [rax]", "ff28") { $0.jmpFar(mem[rax]) }
        check(m, "retfq", "48cb") { $0.retf(size: 8) }
        check(m, "invpcid rax, [rcx]", "660f388201") { $0.invpcid(rax, oword[rcx]) }
        check(m, "mov gs:[rax], ecx", "658908") { $0.mov(dword[rax].on(.gs), ecx) }
    }

    func testProtectedAndRealModeEncodings() {
        let p = Assembler.Mode.bits32
        check(p, "mov eax, cr0", "0f20c0") { $0.mov(eax, cr0) }
        check(p, "or eax, 1", "83c801") { $0.or(eax, 1) }
        check(p, "mov ax, 0x10", "66b81000") { $0.mov(ax, 0x10) }
        check(p, "mov esp, 0x7000", "bc00700000") { $0.mov(esp, 0x7000) }
        check(p, "mov dword [ebx+ecx*4+8], 0x12345678", "c7448b0878563412") { $0.mov(dword[ebx + ecx * 4 + 8], 0x1234_5678) }
        check(p, "push eax", "50") { $0.push(eax) }
        check(p, "mov word [eax], 5", "66c7000500") { $0.mov(word[eax], 5) }
        check(p, "lgdt [esi]", "0f0116") { $0.lgdt(mem[esi]) }
        check(p, "mov eax, [bx+si+4]", "678b4004") { $0.mov(eax, dword[bx + si + 4]) }
        check(p, "iretd", "cf") { $0.iret() }
        check(p, "jmp 0x08:0x1000", "ea001000000800") { $0.jmpFar(selector: 8, offset: 0x1000) }

        let r = Assembler.Mode.bits16
        check(r, "mov ax, 0x1234", "b83412") { $0.mov(ax, 0x1234) }
        check(r, "mov eax, 0x12345678", "66b878563412") { $0.mov(eax, 0x1234_5678) }
        check(r, "mov [bx+si], ax", "8900") { $0.mov(word[bx + si], ax) }
        check(r, "mov ax, [bp+6]", "8b4606") { $0.mov(ax, word[bp + 6]) }
        check(r, "mov al, [0x500] (ModRM form)", "8a060005") { $0.mov(al, byte[0x500]) }
        check(r, "lgdt [0x600]", "0f01160006") { $0.lgdt(mem[0x600]) }
        check(r, "push ax", "50") { $0.push(ax) }
        check(r, "iret", "cf") { $0.iret() }
        check(r, "mov eax, [esi+4]", "67668b4604") { $0.mov(eax, dword[esi + 4]) }
        check(r, "jmp 0x08:0x1000", "ea00100800") { $0.jmpFar(selector: 8, offset: 0x1000) }
    }

    func testLabelsResolveForwardAndBackward() {
        let a = Assembler(mode: .bits64, origin: 0x2000)
        let top = a.boundLabel()
        let out = a.label()
        a.dec(rcx)          // 48 ff c9
        a.jnz(top)          // 0f 85 rel32 → back to 0x2000
        a.jmp(out, short: true)
        a.nop()
        a.bind(out)
        a.mov(rax, out)     // movabs with the label's address
        let b = a.assemble()
        XCTAssertEqual(Array(b[0..<3]), [0x48, 0xFF, 0xC9])
        XCTAssertEqual(Array(b[3..<9]), [0x0F, 0x85, 0xF7, 0xFF, 0xFF, 0xFF])   // 0x2000 - 0x2009
        XCTAssertEqual(Array(b[9..<11]), [0xEB, 0x01])
        XCTAssertEqual(Array(b[12..<22]), [0x48, 0xB8, 0x0C, 0x20, 0, 0, 0, 0, 0, 0])
    }
}
