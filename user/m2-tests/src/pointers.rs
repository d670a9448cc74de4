//! The bad-pointer matrix: calls that read and write user memory must
//! refuse every pointer the process may not use, and the process goes on.

use crate::memory::unmapped_page;
use crate::report::{Detail, Report, Shown};
use crate::syscalls::sys;
use abi::{nr, Error};
use core::fmt::Write;

/// Read-only data of this image (`.rdata`): a target the writing calls must
/// refuse. Its contents are checked to be unchanged afterwards.
static RDATA: [u64; 16] = [0x5a5a_5a5a_5a5a_5a5a; 16];

/// Pointers no call may accept: (case name, address).
fn common(unmapped: u64) -> [(&'static str, u64); 8] {
    [
        ("null", 0),
        ("below_user_min", abi::USER_MIN - 0x1000),
        ("kernel_half", 0xffff_8000_0000_0000),
        ("kernel_image", 0xffff_ffff_8000_0000),
        ("noncanonical_low", 0x0000_8000_0000_0000),
        ("noncanonical_high", 0x8000_0000_0000_0000),
        ("unmapped", unmapped),
        // 16 bytes below the end of user space: every call's range
        // (32 bytes written out, 56 or 88 filled in) crosses it.
        ("straddles_user_end", abi::USER_END - 16),
    ]
}

/// Runs `call` on every case; reports one check with the failures seen.
fn run(
    r: &mut Report,
    name: &str,
    cases: &[(&'static str, u64)],
    call: impl Fn(u64) -> abi::SysResult,
) {
    let mut failures = Detail::new();
    let mut bad = 0;
    for &(case, addr) in cases {
        let got = call(addr);
        if got != Err(Error::BadPointer) {
            bad += 1;
            let _ = write!(failures, " {case}={}", Shown(got));
        }
    }
    let detail = core::str::from_utf8(failures.as_bytes()).unwrap_or("");
    let n = cases.len();
    r.check(
        name,
        bad == 0,
        format_args!("{}/{n} refused with BadPointer{detail}", n - bad),
    );
}

pub fn matrix(r: &mut Report, ro_page: u64) {
    let unmapped = unmapped_page();
    let base = common(unmapped);

    // DEBUG_WRITE reads `len` bytes at the pointer.
    let text = *b"must never be printed: the range is bad\n";
    let mut reads = [("", 0u64); 9];
    reads[..8].copy_from_slice(&base);
    // A valid start whose length runs past the end of the address space.
    reads[8] = ("length_wraps", text.as_ptr() as u64);
    run(r, "bad_pointers_debug_write", &reads, |addr| {
        let len = if addr == text.as_ptr() as u64 {
            u64::MAX
        } else {
            32
        };
        sys(nr::DEBUG_WRITE, [addr, len, 0, 0, 0])
    });

    // The calls that write a structure: also read-only memory of every kind.
    let mut writes = [("", 0u64); 11];
    writes[..8].copy_from_slice(&base);
    writes[8] = ("own_rdata", RDATA.as_ptr() as u64);
    writes[9] = ("readonly_page", ro_page);
    writes[10] = ("own_text", matrix as *const () as u64);
    run(r, "bad_pointers_system_info", &writes, |addr| {
        sys(nr::GET_SYSTEM_INFO, [addr, 0, 0, 0, 0])
    });
    run(r, "bad_pointers_process_info", &writes, |addr| {
        sys(nr::GET_PROCESS_INFO, [addr, 0, 0, 0, 0])
    });

    // Volatile, so the compiler cannot assume the contents from the
    // initialiser.
    let intact = RDATA.iter().all(|w| {
        // SAFETY: `w` points into RDATA, a live static.
        let value = unsafe { (w as *const u64).read_volatile() };
        value == 0x5a5a_5a5a_5a5a_5a5a
    });
    testkit::check!(
        r,
        "rdata_intact",
        intact,
        "own .rdata at {:#x} unchanged after the refused writes: {intact}",
        RDATA.as_ptr() as u64
    );
}
