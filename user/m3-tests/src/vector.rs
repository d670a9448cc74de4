//! Vector registers belong to their thread: a system call keeps them (the
//! kernel's large copies go through YMM registers, which it must put
//! back) and so does a switch to another thread that uses them too.
//!
//! All sixteen XMM registers are checked, and with AVX (where the kernel
//! enabled it: CPUID.1:ECX OSXSAVE and AVX, XCR0 with SSE and AVX state)
//! all 256 bits of the sixteen YMM registers.

use crate::sys;
use core::arch::asm;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use init::rt;
use testkit::{check, Report, Shown};

/// Bytes of YMM0-15 (XMM0-15 use the first 16 of each 32).
const BYTES: usize = 512;
/// Yields each of the two switching threads makes.
const ROUNDS: u32 = 200;

/// Sixteen registers' worth of bytes, aligned for either width.
#[repr(C, align(32))]
#[derive(Clone, Copy, PartialEq, Eq)]
struct Registers([u8; BYTES]);

impl Registers {
    /// A pattern no two seeds (or registers) share.
    fn pattern(seed: u8) -> Self {
        let mut r = [0u8; BYTES];
        for (i, b) in r.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7) ^ seed.wrapping_mul(29) ^ (i >> 5) as u8;
        }
        Registers(r)
    }

    /// The first register whose `width` bytes differ.
    fn differs(&self, other: &Self, width: usize) -> Option<usize> {
        (0..16).find(|&reg| {
            let at = reg * 32;
            self.0[at..at + width] != other.0[at..at + width]
        })
    }
}

/// Whether ring 3 may use AVX here.
fn avx_usable() -> bool {
    let leaf1 = core::arch::x86_64::__cpuid(1);
    if leaf1.ecx & (1 << 27) == 0 || leaf1.ecx & (1 << 28) == 0 {
        return false;
    }
    let xcr0: u32;
    // SAFETY: XGETBV with ECX 0 reads XCR0; CR4.OSXSAVE is on (CPUID bit 27).
    unsafe { asm!("xgetbv", in("ecx") 0, out("eax") xcr0, out("edx") _, options(nomem, nostack)) };
    xcr0 & 0b110 == 0b110
}

/// Loads sixteen registers from `$load`, makes system call `$nr` with
/// `$args` straight from them (no function call between may touch them),
/// then stores them into `$store`; evaluates to the call's RAX.
macro_rules! across_syscall {
    ($mov:literal, $r:literal, $load:expr, $store:expr, $nr:expr, $args:expr) => {{
        let ret: u64;
        let args: [u64; 3] = $args;
        asm!(
            concat!($mov, " ", $r, "0, [r12]"), concat!($mov, " ", $r, "1, [r12 + 32]"),
            concat!($mov, " ", $r, "2, [r12 + 64]"), concat!($mov, " ", $r, "3, [r12 + 96]"),
            concat!($mov, " ", $r, "4, [r12 + 128]"), concat!($mov, " ", $r, "5, [r12 + 160]"),
            concat!($mov, " ", $r, "6, [r12 + 192]"), concat!($mov, " ", $r, "7, [r12 + 224]"),
            concat!($mov, " ", $r, "8, [r12 + 256]"), concat!($mov, " ", $r, "9, [r12 + 288]"),
            concat!($mov, " ", $r, "10, [r12 + 320]"), concat!($mov, " ", $r, "11, [r12 + 352]"),
            concat!($mov, " ", $r, "12, [r12 + 384]"), concat!($mov, " ", $r, "13, [r12 + 416]"),
            concat!($mov, " ", $r, "14, [r12 + 448]"), concat!($mov, " ", $r, "15, [r12 + 480]"),
            "syscall",
            concat!($mov, " [r13], ", $r, "0"), concat!($mov, " [r13 + 32], ", $r, "1"),
            concat!($mov, " [r13 + 64], ", $r, "2"), concat!($mov, " [r13 + 96], ", $r, "3"),
            concat!($mov, " [r13 + 128], ", $r, "4"), concat!($mov, " [r13 + 160], ", $r, "5"),
            concat!($mov, " [r13 + 192], ", $r, "6"), concat!($mov, " [r13 + 224], ", $r, "7"),
            concat!($mov, " [r13 + 256], ", $r, "8"), concat!($mov, " [r13 + 288], ", $r, "9"),
            concat!($mov, " [r13 + 320], ", $r, "10"), concat!($mov, " [r13 + 352], ", $r, "11"),
            concat!($mov, " [r13 + 384], ", $r, "12"), concat!($mov, " [r13 + 416], ", $r, "13"),
            concat!($mov, " [r13 + 448], ", $r, "14"), concat!($mov, " [r13 + 480], ", $r, "15"),
            in("r12") $load.0.as_ptr(),
            in("r13") $store.0.as_mut_ptr(),
            inlateout("rax") $nr => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            lateout("rcx") _, lateout("r11") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nostack),
        );
        ret
    }};
}

/// [`across_syscall!`] on XMM0-15, or on YMM0-15 if `avx`.
///
/// # Safety
/// As for the system call made; `avx` only where [`avx_usable`].
unsafe fn across(
    avx: bool,
    load: &Registers,
    store: &mut Registers,
    nr: u64,
    args: [u64; 3],
) -> u64 {
    // The XMM clobbers below cover the YMM registers (nothing here keeps
    // values in their upper halves), and VZEROUPPER ends the AVX use.
    // SAFETY: per the contract; R12/R13 point at 512-byte, 32-byte-aligned
    // buffers; the kernel preserves every register but RAX, RCX and R11.
    unsafe {
        if avx {
            let ret = across_syscall!("vmovdqu", "ymm", load, store, nr, args);
            asm!("vzeroupper", options(nomem, nostack));
            ret
        } else {
            across_syscall!("movdqu", "xmm", load, store, nr, args)
        }
    }
}

/// Whether the upper halves of YMM0-15 are all zero, as a new thread's
/// must be whatever the thread before it left there.
///
/// # Safety
/// Only where [`avx_usable`].
unsafe fn uppers_clean() -> bool {
    let mut regs = Registers([0xff; BYTES]);
    // SAFETY: AVX is usable (the contract); R13 points at 512 bytes,
    // 32-byte aligned. Reading registers changes none.
    unsafe {
        asm!(
            "vmovdqu [r13], ymm0", "vmovdqu [r13 + 32], ymm1",
            "vmovdqu [r13 + 64], ymm2", "vmovdqu [r13 + 96], ymm3",
            "vmovdqu [r13 + 128], ymm4", "vmovdqu [r13 + 160], ymm5",
            "vmovdqu [r13 + 192], ymm6", "vmovdqu [r13 + 224], ymm7",
            "vmovdqu [r13 + 256], ymm8", "vmovdqu [r13 + 288], ymm9",
            "vmovdqu [r13 + 320], ymm10", "vmovdqu [r13 + 352], ymm11",
            "vmovdqu [r13 + 384], ymm12", "vmovdqu [r13 + 416], ymm13",
            "vmovdqu [r13 + 448], ymm14", "vmovdqu [r13 + 480], ymm15",
            in("r13") regs.0.as_mut_ptr(),
            options(nostack),
        )
    };
    (0..16).all(|r| regs.0[r * 32 + 16..r * 32 + 32].iter().all(|&b| b == 0))
}

/// The first change each switching thread saw: 0 none, else
/// `1 + round * 16 + register`.
static SWITCH_FAULT: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
static AVX: AtomicBool = AtomicBool::new(false);

extern "C" fn switcher(arg: *mut c_void) -> u32 {
    let me = arg as usize;
    let avx = AVX.load(Ordering::Relaxed);
    let width = if avx { 32 } else { 16 };
    let mine = Registers::pattern(0x40 + me as u8);
    let mut seen = Registers([0; BYTES]);
    // SAFETY: only with AVX.
    if avx && !unsafe { uppers_clean() } {
        return 2;
    }
    for round in 0..ROUNDS {
        // SAFETY: YIELD takes no pointers; `avx` is what `avx_usable` said.
        unsafe { across(avx, &mine, &mut seen, abi::nr::YIELD, [0; 3]) };
        if let Some(reg) = mine.differs(&seen, width) {
            SWITCH_FAULT[me].store(1 + round * 16 + reg as u32, Ordering::SeqCst);
            return 1;
        }
    }
    0
}

/// A large READ_FILE (the kernel copies it with its widest registers)
/// leaves the caller's vector registers as they were; so do two threads
/// that fill them with their own patterns and yield to each other, each
/// of which starts with the upper halves clear (exit code 2 if not).
pub fn survive_calls_and_switches(r: &mut Report) {
    let avx = avx_usable();
    let width = if avx { 32 } else { 16 };
    let name = b"runtime.dll";
    // SAFETY: the name is a live byte string.
    let file = unsafe {
        rt::syscall(
            abi::nr::OPEN_FILE,
            [name.as_ptr() as u64, name.len() as u64, 0, 0, 0],
        )
    };
    let Ok(file) = file else {
        check!(
            r,
            "vector_registers_survive",
            false,
            "OPEN_FILE runtime.dll: {}",
            Shown(file)
        );
        return;
    };
    let mut data = [0u8; 4096];
    let mine = Registers::pattern(0x11);
    let mut seen = Registers([0; BYTES]);
    // SAFETY: READ_FILE writes at most `data.len()` bytes into `data`;
    // `avx` is what `avx_usable` said.
    let read = abi::decode(unsafe {
        across(
            avx,
            &mine,
            &mut seen,
            abi::nr::READ_FILE,
            [file, data.as_mut_ptr() as u64, data.len() as u64],
        )
    });
    let call = mine.differs(&seen, width);
    let read_ok = read == Ok(data.len() as u64) && data[..2] == *b"MZ";
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(file) };

    AVX.store(avx, Ordering::Relaxed);
    for f in &SWITCH_FAULT {
        f.store(0, Ordering::SeqCst);
    }
    let threads = [sys::thread(switcher, 0), sys::thread(switcher, 1)];
    let mut codes = [None; 2];
    for (i, &h) in threads.iter().enumerate() {
        if h != 0 {
            // SAFETY: WaitForSingleObject and CloseHandle take no pointers.
            unsafe { rt::WaitForSingleObject(h, 10_000) };
            codes[i] = sys::exit_code_thread(h);
            // SAFETY: as above.
            unsafe { rt::CloseHandle(h) };
        }
    }
    let faults = [
        SWITCH_FAULT[0].load(Ordering::SeqCst),
        SWITCH_FAULT[1].load(Ordering::SeqCst),
    ];
    check!(
        r,
        "vector_registers_survive",
        read_ok && call.is_none() && codes == [Some(0), Some(0)] && faults == [0, 0],
        "{} bits of 16 registers: 4096-byte READ_FILE {} {}, changed {:?}; 2 threads x {ROUNDS} yields: exits {codes:?}, changes {faults:?}",
        width * 8,
        Shown(read),
        if read_ok { "MZ" } else { "not runtime.dll" },
        call
    );
}
