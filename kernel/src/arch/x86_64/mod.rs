//! x86-64 support: CPU tables, exceptions, serial port, time, QEMU exit.

pub mod bench;
pub mod context;
pub mod cpu;
mod entry;
pub mod exceptions;
mod gdt;
mod idt;
pub mod irq_lock;
pub mod lapic;
pub mod paging;
pub mod percpu;
pub mod pic;
pub mod port;
pub mod power;
pub mod probe;
pub mod qemu;
pub mod serial;
pub mod syscall;
pub mod tables;
pub mod tsc;
pub mod user;
pub mod user_copy;

pub use gdt::set_ist_stack;

/// Loads the kernel's GDT (with TSS and IST stacks) and IDT on this CPU.
///
/// Call once, early, with interrupts disabled (as the loader leaves them).
pub fn init_cpu_tables() {
    gdt::init();
    idt::init();
    percpu::init_bsp();
}
