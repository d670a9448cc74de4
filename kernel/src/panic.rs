//! The panic handler: a kernel panic is a bug report, printed and stopped.
#![forbid(unsafe_code)]

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::logger::emergency(format_args!("\nKERNEL PANIC: {info}\n"));
    crate::fault::stop()
}
