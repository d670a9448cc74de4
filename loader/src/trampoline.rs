//! Position-independent hand-off trampoline into the kernel (§10 step 14).
//!
//! No Rust runs once it starts: the UEFI target uses SSE, and the
//! trampoline clears CR4.OSFXSR. Machine state at the jump follows §8.

use core::arch::global_asm;

/// Inputs to the trampoline, read into registers before CR3 changes.
#[repr(C)]
pub struct HandoffArgs {
    /// Kernel entry (virtual).
    pub entry: u64,
    /// Top of the kernel stack (HHDM virtual, 16-byte aligned).
    pub stack_top: u64,
    /// Physical address of the new PML4.
    pub pml4: u64,
    /// HHDM offset (§7).
    pub hhdm: u64,
    /// Physical address of the 10-byte GDTR image (limit, HHDM base).
    pub gdtr: u64,
}

// Register use: r8 entry, r9 stack top, r10 PML4, r11 HHDM offset,
// r12 GDTR (physical), r13 EFER.NXE bit if the CPU has NX.
global_asm!(
    ".section .text",
    ".global ferrite_trampoline_start",
    ".global ferrite_trampoline_end",
    ".global ferrite_trampoline",
    ".balign 16",
    "ferrite_trampoline_start:",
    "ferrite_trampoline:",
    "cli",
    "mov r8, [rdi]",
    "mov r9, [rdi + 8]",
    "mov r10, [rdi + 16]",
    "mov r11, [rdi + 24]",
    "mov r12, [rdi + 32]",
    // PAT = 0x0000010500070406 if CPUID.1:EDX.PAT[16] (§7).
    "mov eax, 1",
    "cpuid",
    "bt edx, 16",
    "jnc 2f",
    "wbinvd",
    "mov ecx, 0x277",
    "mov eax, 0x00070406",
    "mov edx, 0x00000105",
    "wrmsr",
    "2:",
    // EFER.NXE if CPUID.80000001h:EDX.NX[20] (§8).
    "xor r13d, r13d",
    "mov eax, 0x80000000",
    "cpuid",
    "cmp eax, 0x80000001",
    "jb 3f",
    "mov eax, 0x80000001",
    "cpuid",
    "bt edx, 20",
    "jnc 3f",
    "mov r13d, 0x800",
    "mov ecx, 0xc0000080",
    "rdmsr",
    "or eax, r13d",
    "wrmsr",
    "3:",
    // New tables; this page is identity-mapped in them.
    "mov cr3, r10",
    // Continue at our HHDM alias so the lower half can go.
    "lea rax, [rip + 4f]",
    "add rax, r11",
    "jmp rax",
    "4:",
    "mov rsp, r9",
    "lea rax, [r12 + r11]",
    "lgdt [rax]",
    // CS = 0x28 via far return, data segments = 0x30 (§8).
    "push 0x28",
    "lea rax, [rip + 5f]",
    "push rax",
    "retfq",
    "5:",
    "mov eax, 0x30",
    "mov ds, ax",
    "mov es, ax",
    "mov fs, ax",
    "mov gs, ax",
    "mov ss, ax",
    "xor eax, eax",
    "lldt ax",
    // Zero-limit IDT, as Limine 8.2 leaves it (§8).
    "push 0",
    "push 0",
    "lidt [rsp]",
    "add rsp, 16",
    // DF = 0 for `rep stosq` (IF is already 0).
    "cld",
    // Unmap the lower half: PML4 slots 0-255, through the HHDM (§7).
    "lea rdi, [r10 + r11]",
    "mov ecx, 256",
    "xor eax, eax",
    "rep stosq",
    "mov cr3, r10",
    // CR0 = PG|WP|ET|PE, CR4 = PAE, EFER = LME|LMA(+NXE) (§8).
    "mov eax, 0x80010011",
    "mov cr0, rax",
    "mov eax, 0x20",
    "mov cr4, rax",
    "mov ecx, 0xc0000080",
    "rdmsr",
    "and eax, 0x500",
    "or eax, r13d",
    "xor edx, edx",
    "wrmsr",
    // Zero return address at top - 8, entry above it for `ret`.
    "mov rsp, r9",
    "push 0",
    "push r8",
    // RFLAGS = 0x2 (IF = DF = 0), popped after the GPRs are zeroed so the
    // `xor`s cannot leave flags behind.
    "push 2",
    "xor eax, eax",
    "xor ebx, ebx",
    "xor ecx, ecx",
    "xor edx, edx",
    "xor esi, esi",
    "xor edi, edi",
    "xor ebp, ebp",
    "xor r8d, r8d",
    "xor r9d, r9d",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xor r12d, r12d",
    "xor r13d, r13d",
    "xor r14d, r14d",
    "xor r15d, r15d",
    "popfq",
    "ret",
    "ferrite_trampoline_end:",
);

extern "sysv64" {
    fn ferrite_trampoline(args: *const HandoffArgs) -> !;
    static ferrite_trampoline_start: u8;
    static ferrite_trampoline_end: u8;
}

/// Physical (= identity) address range of the trampoline code.
pub fn code_range() -> (u64, u64) {
    let start = core::ptr::addr_of!(ferrite_trampoline_start);
    let end = core::ptr::addr_of!(ferrite_trampoline_end);
    (start as u64, end as u64)
}

/// Jumps into the kernel. Never returns.
///
/// # Safety
/// Boot services must be exited, interrupts disabled, and `args` must
/// describe a complete address space: the PML4 maps the kernel, the
/// HHDM (including the stack, the GDT page and the PML4 itself) and the
/// trampoline's identity pages.
pub unsafe fn enter_kernel(args: &HandoffArgs) -> ! {
    // SAFETY: guaranteed by the caller; the trampoline reads `args`
    // before switching CR3 and never returns.
    unsafe { ferrite_trampoline(args) }
}
