//! Checks of the plain system calls: nop, debug text, information, sleep.

use crate::report::{Report, Shown};
use abi::{nr, Error, ProcessInfo, SystemInfo};
use init::rt;
use testkit::check;

/// A system call through runtime.dll's `FerriteSyscall`, decoded.
pub fn sys(nr: u64, args: [u64; 5]) -> abi::SysResult {
    // SAFETY: the checks only pass pointers to memory this program owns, or
    // pointers the kernel must refuse without touching them.
    unsafe { rt::syscall(nr, args) }
}

pub fn nop(r: &mut Report) {
    let got = sys(nr::NOP, [0; 5]);
    check!(r, "nop", got == Ok(0), "NOP returned {}", Shown(got));
}

pub fn debug_write(r: &mut Report) {
    let text = b"m2-tests: DEBUG_WRITE says hello\n";
    let got = sys(
        nr::DEBUG_WRITE,
        [text.as_ptr() as u64, text.len() as u64, 0, 0, 0],
    );
    let ok = got == Ok(text.len() as u64);
    check!(
        r,
        "debug_write",
        ok,
        "{} bytes written, returned {}",
        text.len(),
        Shown(got)
    );
}

/// The kernel's answer to GET_SYSTEM_INFO (`None` if the call failed).
fn query_system_info() -> Option<SystemInfo> {
    let mut s = SystemInfo::default();
    // SAFETY: `s` is a writable SystemInfo.
    (unsafe { rt::GetSystemInfo(&mut s) } == 0).then_some(s)
}

/// Pages allocated to see free memory follow an allocation.
const PROBE_PAGES: u64 = 5;

/// Whether free memory drops by exactly [`PROBE_PAGES`] pages across an
/// ALLOCATE_PAGES of that many (eager: every page committed now) and is
/// back where it was after FREE_PAGES. An anchor page allocated first
/// holds the page tables the probe pages share, so the allocation needs
/// no table frames of its own. Up to three tries, in case the kernel heap
/// grows during one (it does not shrink). Returns the try that matched
/// (0: none) and the last (before - during, after - before) in bytes.
fn free_memory_tracks_allocation() -> (u32, i64, i64) {
    let rw = abi::protection::READ | abi::protection::WRITE;
    let free_now = || query_system_info().map_or(0, |s| s.free_memory as i64);
    let Ok(anchor) = sys(nr::ALLOCATE_PAGES, [4096, rw, 0, 0, 0]) else {
        return (0, 0, 0);
    };
    let mut last = (0, 0);
    let mut matched = 0;
    for attempt in 1..=3 {
        let before = free_now();
        let Ok(at) = sys(nr::ALLOCATE_PAGES, [PROBE_PAGES * 4096, rw, 0, 0, 0]) else {
            break;
        };
        let during = free_now();
        let freed = sys(nr::FREE_PAGES, [at, PROBE_PAGES * 4096, 0, 0, 0]);
        let after = free_now();
        last = (before - during, after - before);
        if freed.is_ok() && last == (PROBE_PAGES as i64 * 4096, 0) {
            matched = attempt;
            break;
        }
    }
    let _ = sys(nr::FREE_PAGES, [anchor, 4096, 0, 0, 0]);
    (matched, last.0, last.1)
}

pub fn system_info(r: &mut Report) -> SystemInfo {
    let got = query_system_info();
    let s = got.unwrap_or_default();
    // The suite's machines: QEMU -m 512M with -smp 1 or 4 (tests/src/qemu.rs,
    // M8 checks the count itself); the kernel manages its RAM less
    // firmware and loader reservations.
    const MIB: u64 = 1 << 20;
    let (matched, taken, back) = free_memory_tracks_allocation();
    let ok = got.is_some()
        && s.abi_version == abi::ABI_VERSION
        && s.page_size == 4096
        && (1..=64).contains(&s.processor_count)
        && s.tsc_frequency > 0
        && s.user_min == abi::USER_MIN
        && s.user_end == abi::USER_END
        && (400 * MIB..=520 * MIB).contains(&s.total_memory)
        && s.free_memory < s.total_memory
        && matched > 0;
    check!(
        r,
        "system_info",
        ok,
        "cpus {} mem {}/{} KiB free, tsc {} Hz; {PROBE_PAGES} pages took {taken} B of free memory, FREE_PAGES left it {back} B off (try {matched})",
        s.processor_count,
        s.free_memory / 1024,
        s.total_memory / 1024,
        s.tsc_frequency
    );
    s
}

/// The module name: the bytes before the first NUL.
pub fn name_of(p: &ProcessInfo) -> &[u8] {
    let end = p.name.iter().position(|&b| b == 0).unwrap_or(p.name.len());
    &p.name[..end]
}

fn current_rsp() -> u64 {
    let rsp: u64;
    // SAFETY: reads RSP only.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags))
    };
    rsp
}

unsafe extern "C" {
    /// The linker's symbol for this image's first byte (its DOS header).
    static __ImageBase: u8;
}

/// Where this image's headers are, as the code sees it (RIP-relative).
pub fn own_image_base() -> u64 {
    (&raw const __ImageBase) as u64
}

pub fn process_info(r: &mut Report) -> ProcessInfo {
    let mut p = ProcessInfo::default();
    // SAFETY: `p` is a writable ProcessInfo.
    let status = unsafe { rt::GetProcessInfo(&mut p) };
    let name = name_of(&p);
    let shown = core::str::from_utf8(name).unwrap_or("<not UTF-8>");
    let ok = status == 0 && p.process_id > 0 && p.thread_id > 0 && name == b"m2-tests.exe";
    check!(
        r,
        "process_info",
        ok,
        "status {status} pid {} tid {} name {shown:?}",
        p.process_id,
        p.thread_id
    );

    let rsp = current_rsp();
    let bottom = p.stack_top.wrapping_sub(p.stack_size);
    let ok = p.stack_size >= 4096 && p.stack_size % 4096 == 0 && bottom < rsp && rsp < p.stack_top;
    check!(
        r,
        "process_stack",
        ok,
        "rsp {rsp:#x} in stack {bottom:#x}..{:#x} ({} KiB)",
        p.stack_top,
        p.stack_size / 1024
    );

    let own = own_image_base();
    let ok =
        p.image_base == own && p.image_size > 0 && p.runtime_base != 0 && p.runtime_base != own;
    check!(
        r,
        "process_image",
        ok,
        "image_base {:#x} (__ImageBase {own:#x}) size {:#x} runtime.dll at {:#x}",
        p.image_base,
        p.image_size,
        p.runtime_base
    );
    p
}

fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc reads the time-stamp counter (allowed in ring 3 unless
    // CR4.TSD is set, which Ferrite does not).
    unsafe {
        core::arch::asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

pub fn sleep(r: &mut Report, s: &SystemInfo) {
    let t0 = rdtsc();
    rt_sleep(20);
    let ticks = rdtsc() - t0;
    let us = (u128::from(ticks) * 1_000_000 / u128::from(s.tsc_frequency.max(1))) as u64;
    check!(
        r,
        "sleep",
        us >= 20_000,
        "Sleep(20) took {} us ({ticks} TSC ticks)",
        us
    );
}

fn rt_sleep(ms: u32) {
    // SAFETY: Sleep takes no pointers.
    unsafe { rt::Sleep(ms) }
}

pub fn unknown_number(r: &mut Report) {
    let a = sys(nr::COUNT, [0; 5]);
    let b = sys(0xdead_beef, [0; 5]);
    let ok = a == Err(Error::BadSyscall) && b == Err(Error::BadSyscall);
    check!(
        r,
        "bad_syscall",
        ok,
        "nr {} -> {}, nr 0xdeadbeef -> {}",
        nr::COUNT,
        Shown(a),
        Shown(b)
    );
}
