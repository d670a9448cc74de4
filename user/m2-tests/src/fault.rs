//! `m2-tests.exe fault`: an access violation three calls deep, on purpose.
//!
//! The milestone kernel's M2 check `user_fault_names_the_function` starts
//! the program so and expects the fault's user call stack to name
//! [`inner`], `middle` and [`outer`] in that order.

/// The address written: in the never-mapped page below `abi::USER_MIN`.
const UNMAPPED: usize = 0x10;

/// The first of the three calls.
#[inline(never)]
pub fn outer() -> i32 {
    core::hint::black_box(middle()) + 1
}

#[inline(never)]
fn middle() -> i32 {
    core::hint::black_box(inner()) + 1
}

/// Writes to an unmapped address.
#[inline(never)]
pub fn inner() -> i32 {
    let target = core::hint::black_box(UNMAPPED) as *mut u32;
    // SAFETY: not sound on purpose: the page is never mapped, so the
    // write faults and the kernel ends the process; nothing runs after it.
    unsafe { target.write_volatile(1) };
    0
}
