//! The panic handler: a kernel panic is a bug report, printed and stopped.
#![forbid(unsafe_code)]

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::bugcheck::panic(info)
}
