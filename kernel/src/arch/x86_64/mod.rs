//! x86-64 support: CPU tables, exceptions, serial port, time, QEMU exit.

pub mod backtrace;
pub mod bench;
pub mod context;
pub mod cpu;
mod entry;
pub mod exceptions;
pub mod fpu;
mod gdt;
pub mod hyperv;
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
pub mod smp;
pub mod syscall;
pub mod tables;
pub mod tlb;
pub mod tsc;
pub mod user;
pub mod user_copy;

pub use gdt::set_ist_stack;

/// Loads the kernel's GDT (with TSS and IST stacks) and IDT on this CPU.
///
/// Call once, early, with interrupts disabled (as the loader leaves them).
pub fn init_cpu_tables() {
    percpu::init_bsp();
    gdt::init();
    idt::init();
}

/// On a newly started CPU, before anything else (interrupts off, kernel
/// page tables loaded): points GS at CPU number `number`'s block.
pub fn enter_started_cpu(number: usize) {
    percpu::init_ap(number);
}

/// On a newly started CPU after [`enter_started_cpu`]: its GDT/TSS with
/// IST stacks at `ist_tops`, the IDT, and the same paging, user-protection
/// and FPU settings as the bootstrap CPU. Fails only if the heap is full.
pub fn init_started_cpu(ist_tops: [u64; 3]) -> Result<(), ()> {
    gdt::init_ap(ist_tops)?;
    idt::load();
    paging::enable_protection();
    tlb::note_root(paging::current_root());
    cpu::enable_user_protection();
    let _ = cpu::enable_user_fpu();
    Ok(())
}

/// Makes a started CPU visible to the rest of the kernel (see
/// [`percpu::publish`]) and drops every translation it cached before
/// shootdowns could reach it.
pub fn publish_started_cpu(number: usize, apic_id: u32) {
    percpu::publish(number, apic_id);
    tlb::flush_everything_here();
}
