//! AP start-up code: real mode → long mode → parked at an HHDM address.
//!
//! The BSP copies `ferrite_ap_start..ferrite_ap_end` to the start of a
//! page below 1 MiB and fills an [`ApParams`] block at [`PARAMS_OFFSET`]
//! in the same page; a SIPI with that page's number starts an AP at its
//! first byte in real mode (Intel SDM Vol. 3A §9.4.4.1, §10.8.5). The code
//! is position-independent: 16- and 32-bit parts address the block
//! through the page base in EBX (CS × 16), the far jumps go through
//! pointers the BSP wrote, and the 64-bit part adds the HHDM offset.
//!
//! The AP leaves with the BSP's state at kernel entry (§8): same CR3,
//! CR0 = 0x80010011, CR4 = 0x20, EFER = LME|LMA(+NXE), the §8 GDT from
//! its HHDM address, CS = 0x28, data segments 0x30, LDTR 0, a zero-limit
//! IDT, the same PAT and MTRRs, RFLAGS = 0x2. It then stores 1 in
//! `booted`, and polls `goto_address` of its `limine_smp_info`; when that
//! turns non-zero it reloads CR3 (the BSP removed the lower half since)
//! and jumps there with RDI = the info's HHDM address, RSP = stack top −
//! 8 holding a zero return address, every other GPR zero.

use core::arch::global_asm;
use core::mem::offset_of;
use handoff::mp::{ApParams, AP_MTRRS, AP_PAT, AP_X2APIC};

/// Where the parameter block sits in the real-mode page; the code must
/// end before it.
pub const PARAMS_OFFSET: u64 = 0x800;

// The block must fit in the rest of the page.
const _: () = assert!(PARAMS_OFFSET as usize + core::mem::size_of::<ApParams>() <= 4096);

global_asm!(
    ".section .text",
    ".global ferrite_ap_start",
    ".global ferrite_ap_protected",
    ".global ferrite_ap_long",
    ".global ferrite_ap_end",
    ".balign 16",
    "ferrite_ap_start:",
    // Real mode, CS:IP = page number << 8 : 0.
    ".code16",
    "cli",
    "cld",
    "mov ax, cs",
    "mov ds, ax",
    "xor ebx, ebx",
    "mov bx, ax",
    "shl ebx, 4",
    // The GDT copy in the block; its base is below 1 MiB, so the 24-bit
    // base of a 16-bit `lgdt` is enough.
    "lgdt [{p} + {gdtr_low}]",
    "mov eax, cr0",
    "or eax, 1",
    "mov cr0, eax",
    // jmp far m16:32 (0x66 0xff /5, disp16): selector 0x18, 32-bit code.
    ".byte 0x66, 0xff, 0x2e",
    ".word {p} + {protected_entry}",
    ".code32",
    "ferrite_ap_protected:",
    "mov eax, 0x20",
    "mov ds, eax",
    "mov es, eax",
    "mov fs, eax",
    "mov gs, eax",
    "mov ss, eax",
    // CR4.PAE, the kernel's PML4, EFER.LME (+NXE), then paging: the page
    // is identity-mapped in that PML4.
    "mov eax, 0x20",
    "mov cr4, eax",
    "mov eax, [ebx + {p} + {cr3}]",
    "mov cr3, eax",
    "mov ecx, 0xc0000080",
    "mov eax, [ebx + {p} + {efer}]",
    "xor edx, edx",
    "wrmsr",
    "mov eax, 0x80010011",
    "mov cr0, eax",
    // jmp far m16:32 to selector 0x28, the 64-bit code (low address).
    "jmp fword ptr [ebx + {p} + {long_entry}]",
    ".code64",
    "ferrite_ap_long:",
    // The upper halves of the GPRs are undefined after the switch.
    "mov ebx, ebx",
    "mov rax, [rbx + {p} + {hhdm}]",
    "add rbx, rax",
    "lea rcx, [rip + 2f]",
    "add rcx, rax",
    "jmp rcx",
    // From here on at the HHDM alias of the page; RBX = its HHDM base.
    "2:",
    "mov rsp, [rbx + {p} + {stack_top}]",
    "mov rax, [rbx + {p} + {gdtr_hhdm}]",
    "lgdt [rax]",
    "push 0x28",
    "lea rax, [rip + 3f]",
    "push rax",
    "retfq",
    "3:",
    "mov eax, 0x30",
    "mov ds, eax",
    "mov es, eax",
    "mov fs, eax",
    "mov gs, eax",
    "mov ss, eax",
    "xor eax, eax",
    "lldt ax",
    "push rax",
    "push rax",
    "lidt [rsp]",
    "add rsp, 16",
    "mov r12, [rbx + {p} + {flags}]",
    // IA32_PAT as the BSP's trampoline writes it (§7).
    "test r12, {ap_pat}",
    "jz 4f",
    "wbinvd",
    "mov ecx, 0x277",
    "mov eax, 0x00070406",
    "mov edx, 0x00000105",
    "wrmsr",
    "4:",
    // The BSP's MTRRs (SDM Vol. 3A §12.11.8): caches off (CR0.CD) and
    // flushed, TLB flushed, MTRRs off, the list written (the default
    // type last, which turns them back on), flush again, caches on.
    "test r12, {ap_mtrrs}",
    "jz 6f",
    "mov eax, 0xc0010011",
    "mov cr0, rax",
    "wbinvd",
    "mov rax, cr3",
    "mov cr3, rax",
    "mov ecx, 0x2ff",
    "rdmsr",
    "and eax, 0xfffff3ff",
    "wrmsr",
    "lea rsi, [rbx + {p} + {mtrrs}]",
    "mov r13, [rbx + {p} + {mtrr_count}]",
    "5:",
    "test r13, r13",
    "jz 7f",
    "mov ecx, [rsi]",
    "mov eax, [rsi + 8]",
    "mov edx, [rsi + 12]",
    "wrmsr",
    "add rsi, 16",
    "dec r13",
    "jmp 5b",
    "7:",
    "wbinvd",
    "mov rax, cr3",
    "mov cr3, rax",
    "mov eax, 0x80010011",
    "mov cr0, rax",
    "6:",
    // x2APIC mode (IA32_APIC_BASE bits 11 and 10), as on the BSP.
    "test r12, {ap_x2apic}",
    "jz 8f",
    "mov ecx, 0x1b",
    "rdmsr",
    "or eax, 0xc00",
    "wrmsr",
    "8:",
    // Own info and stack, zero return address at top − 8; then report.
    "mov rdi, [rbx + {p} + {info}]",
    "mov rsp, [rbx + {p} + {stack_top}]",
    "push 0",
    "mov qword ptr [rbx + {p} + {booted}], 1",
    // Park: an aligned 8-byte load is atomic (SDM Vol. 3A §9.1.1).
    "9:",
    "pause",
    "mov rax, [rdi + 16]",
    "test rax, rax",
    "jz 9b",
    "mov rcx, cr3",
    "mov cr3, rcx",
    // `ret` takes the target from top − 16 and leaves RSP = top − 8.
    "push rax",
    "push 2",
    "xor eax, eax",
    "xor ebx, ebx",
    "xor ecx, ecx",
    "xor edx, edx",
    "xor esi, esi",
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
    "ferrite_ap_end:",
    p = const PARAMS_OFFSET,
    gdtr_low = const offset_of!(ApParams, gdtr_low),
    protected_entry = const offset_of!(ApParams, protected_entry),
    long_entry = const offset_of!(ApParams, long_entry),
    cr3 = const offset_of!(ApParams, cr3),
    efer = const offset_of!(ApParams, efer),
    hhdm = const offset_of!(ApParams, hhdm),
    gdtr_hhdm = const offset_of!(ApParams, gdtr_hhdm),
    stack_top = const offset_of!(ApParams, stack_top),
    info = const offset_of!(ApParams, info),
    flags = const offset_of!(ApParams, flags),
    booted = const offset_of!(ApParams, booted),
    mtrr_count = const offset_of!(ApParams, mtrr_count),
    mtrrs = const offset_of!(ApParams, mtrrs),
    ap_pat = const AP_PAT,
    ap_mtrrs = const AP_MTRRS,
    ap_x2apic = const AP_X2APIC,
);

extern "C" {
    static ferrite_ap_start: u8;
    static ferrite_ap_protected: u8;
    static ferrite_ap_long: u8;
    static ferrite_ap_end: u8;
}

/// The code to copy and the offsets of its 32- and 64-bit entries.
pub struct Code {
    /// The bytes, to be placed at the start of the real-mode page.
    pub bytes: &'static [u8],
    /// Offset of the 32-bit entry.
    pub protected: u64,
    /// Offset of the 64-bit entry.
    pub long: u64,
}

/// The trampoline as linked into the loader.
pub fn code() -> Code {
    let start = core::ptr::addr_of!(ferrite_ap_start);
    let at = |p: *const u8| p as u64 - start as u64;
    let len = at(core::ptr::addr_of!(ferrite_ap_end));
    // SAFETY: `ferrite_ap_start..ferrite_ap_end` is one contiguous run of
    // bytes in our own (read-only, never unloaded) code section.
    let bytes = unsafe { core::slice::from_raw_parts(start, len as usize) };
    Code {
        bytes,
        protected: at(core::ptr::addr_of!(ferrite_ap_protected)),
        long: at(core::ptr::addr_of!(ferrite_ap_long)),
    }
}
