//! Interrupts: vector registry, I/O APIC routing, EOI, MSI vector allocation.
#![forbid(unsafe_code)]
//!
//! Vector map: 0–31 exceptions; 0x20–0x2F the (masked) 8259 PICs, whose
//! spurious IRQ 7/15 would land there; 0x30 the LAPIC timer; 0x31–0xEF
//! device lines and MSIs, handed out by [`allocate_vector`]; 0xFF the
//! APIC's spurious vector (no EOI).

mod ioapic;

pub use ioapic::Trigger;

use crate::acpi::Platform;
use crate::arch::{lapic, pic};
use crate::mm::mmio::Mmio;
use crate::sync::SpinLock;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use ioapic::IoApic;

/// The LAPIC timer's vector.
pub const TIMER_VECTOR: u8 = 0x30;
const FIRST_DEVICE_VECTOR: u8 = 0x31;
const LAST_DEVICE_VECTOR: u8 = 0xef;

/// An interrupt handler: runs with interrupts disabled; the EOI follows.
pub type Handler = fn(u8);

struct Table {
    handlers: [Option<Handler>; 256],
    io_apics: Vec<IoApic>,
}

static TABLE: SpinLock<Table> = SpinLock::new(Table {
    handlers: [None; 256],
    io_apics: Vec::new(),
});
static COUNTS: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];
static SPURIOUS: AtomicU64 = AtomicU64::new(0);

/// Why interrupt set-up or a request failed.
#[derive(Clone, Debug)]
pub enum IrqError {
    /// The vector has a handler already.
    Busy(u8),
    /// No free vector is left.
    NoVector,
    /// No I/O APIC serves the GSI.
    NoIoApic(u32),
    /// Mapping the controller's registers failed.
    Memory(crate::mm::MmError),
}

impl fmt::Display for IrqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy(v) => write!(f, "vector {v:#x} is taken"),
            Self::NoVector => f.write_str("no free interrupt vector"),
            Self::NoIoApic(g) => write!(f, "no I/O APIC serves GSI {g}"),
            Self::Memory(e) => write!(f, "{e}"),
        }
    }
}

/// What [`init`] found, for the log and the checks.
#[derive(Clone, Copy, Debug)]
pub struct IrqReport {
    /// LAPIC access mode.
    pub lapic: lapic::Mode,
    /// I/O APICs taken.
    pub io_apics: usize,
    /// PIC masks read back after masking.
    pub pic_masks: (u8, u8),
}

/// Remaps and masks the PICs, enables this CPU's LAPIC and takes every
/// I/O APIC of the MADT (all entries masked).
pub fn init(platform: &Platform) -> Result<IrqReport, IrqError> {
    pic::remap_and_mask();
    let mode = lapic::init(platform.lapic_address).map_err(IrqError::Memory)?;
    log::info!(
        "LAPIC in {} mode",
        match mode {
            lapic::Mode::X2Apic => "x2APIC",
            lapic::Mode::XApic => "xAPIC (MMIO)",
        }
    );
    let mut taken = Vec::new();
    for io in &platform.io_apics {
        let regs = Mmio::map(io.address, 0x20).map_err(IrqError::Memory)?;
        let apic = IoApic::new(regs, io.gsi_base);
        log::info!(
            "I/O APIC {} at {:#x}: GSI {}..{}",
            io.id,
            io.address,
            io.gsi_base,
            io.gsi_base + apic.entries()
        );
        taken.push(apic);
    }
    let count = taken.len();
    TABLE.lock().io_apics = taken;
    Ok(IrqReport {
        lapic: mode,
        io_apics: count,
        pic_masks: pic::masks(),
    })
}

/// Installs `handler` for `vector`.
pub fn request(vector: u8, handler: Handler) -> Result<(), IrqError> {
    let mut t = TABLE.lock();
    let slot = &mut t.handlers[usize::from(vector)];
    if slot.is_some() {
        return Err(IrqError::Busy(vector));
    }
    *slot = Some(handler);
    Ok(())
}

/// Removes the handler of `vector`.
pub fn free(vector: u8) {
    TABLE.lock().handlers[usize::from(vector)] = None;
}

/// Finds a free device vector and installs `handler` there (for I/O APIC
/// lines and MSI/MSI-X).
pub fn allocate_vector(handler: Handler) -> Result<u8, IrqError> {
    let mut t = TABLE.lock();
    let vector = (FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR)
        .find(|&v| t.handlers[usize::from(v)].is_none())
        .ok_or(IrqError::NoVector)?;
    t.handlers[usize::from(vector)] = Some(handler);
    Ok(vector)
}

/// The GSI and trigger of ISA IRQ `irq`, after the MADT's overrides.
pub fn isa_gsi(platform: &Platform, irq: u8) -> (u32, Trigger) {
    platform
        .overrides
        .iter()
        .find(|o| o.irq == irq)
        .map_or((u32::from(irq), Trigger::ISA), |o| {
            (o.gsi, Trigger::from_mps(o.flags, Trigger::ISA))
        })
}

/// Routes GSI `gsi` to `vector` on this CPU.
pub fn route(gsi: u32, vector: u8, trigger: Trigger) -> Result<(), IrqError> {
    let apic = lapic::id();
    let t = TABLE.lock();
    t.io_apics
        .iter()
        .find(|io| io.serves(gsi))
        .filter(|io| io.route(gsi, vector, trigger, apic))
        .map(|_| ())
        .ok_or(IrqError::NoIoApic(gsi))
}

/// Masks GSI `gsi`.
pub fn mask(gsi: u32) {
    let t = TABLE.lock();
    if let Some(io) = t.io_apics.iter().find(|io| io.serves(gsi)) {
        io.mask(gsi);
    }
}

/// The redirection entry of `gsi` (for self-checks).
pub fn redirection(gsi: u32) -> Option<u64> {
    let t = TABLE.lock();
    t.io_apics.iter().find_map(|io| io.entry(gsi))
}

/// Interrupts taken on `vector` so far.
pub fn count(vector: u8) -> u64 {
    COUNTS[usize::from(vector)].load(Ordering::Relaxed)
}

/// Spurious interrupts seen (APIC and PIC).
pub fn spurious() -> u64 {
    SPURIOUS.load(Ordering::Relaxed)
}

/// The arch layer's entry for vectors 32–255 (interrupts disabled).
pub fn dispatch(vector: u8) {
    COUNTS[usize::from(vector)].fetch_add(1, Ordering::Relaxed);
    if vector == lapic::SPURIOUS_VECTOR || (0x20..0x30).contains(&vector) {
        // APIC spurious: no EOI (SDM Vol. 3A §11.9); a PIC's spurious
        // IRQ 7/15 never reached the LAPIC either.
        SPURIOUS.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let handler = TABLE.lock().handlers[usize::from(vector)];
    match handler {
        Some(h) => h(vector),
        None => log::warn!("irq: vector {vector:#x} has no handler"),
    }
    lapic::eoi();
}
