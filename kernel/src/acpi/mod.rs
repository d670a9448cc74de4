//! ACPI: the firmware's tables, parsed once at boot and kept for drivers.
#![forbid(unsafe_code)]
//!
//! The `acpi` crate (raw tables, no AML) finds the MADT, FADT, HPET and
//! MCFG from the RSDP; [`Platform`] keeps what the kernel needs from them.
//! The AML objects the kernel needs, `\_S5` (SLP_TYP for soft-off) and the
//! root PCI bus's `_PRT` (legacy INTx routing), are read by the
//! host-tested `dsdt` crate.

use crate::mm::acpi_memory::{table_bytes, AcpiMemory};
use alloc::vec::Vec;
use core::fmt;
use spin::Once;

/// An I/O APIC (ACPI 6.5 §5.2.12.3).
#[derive(Clone, Copy, Debug)]
pub struct IoApic {
    /// APIC id.
    pub id: u8,
    /// Register window (physical).
    pub address: u64,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

/// An ISA IRQ routed to another GSI or polarity (ACPI 6.5 §5.2.12.5).
#[derive(Clone, Copy, Debug)]
pub struct SourceOverride {
    /// ISA IRQ.
    pub irq: u8,
    /// Global system interrupt it arrives on.
    pub gsi: u32,
    /// MPS INTI flags: bits 0–1 polarity, 2–3 trigger mode.
    pub flags: u16,
}

/// A register in the FADT's generic address format (ACPI 6.5 §5.2.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    /// I/O port.
    Port(u16),
    /// Memory-mapped.
    Memory(u64),
}

/// What the kernel keeps from the ACPI tables.
#[derive(Clone, Debug, Default)]
pub struct Platform {
    /// ACPI revision of the RSDP.
    pub revision: u8,
    /// Signatures of every table the RSDT/XSDT lists.
    pub tables: Vec<[u8; 4]>,
    /// Local APIC register window (physical).
    pub lapic_address: u64,
    /// Local APIC ids of the enabled processors.
    pub cpus: Vec<u32>,
    /// I/O APICs.
    pub io_apics: Vec<IoApic>,
    /// Interrupt source overrides.
    pub overrides: Vec<SourceOverride>,
    /// The MADT says the machine also has dual 8259 PICs.
    pub has_8259: bool,
    /// HPET register block (physical), if there is one.
    pub hpet: Option<u64>,
    /// ACPI PM timer port and whether it counts 32 bits (else 24).
    pub pm_timer: Option<(u16, bool)>,
    /// PM1a and PM1b control registers (SLP_TYP, SLP_EN).
    pub pm1_control: (Option<u16>, Option<u16>),
    /// The FADT reset register and value, if the FADT offers it.
    pub reset: Option<(Register, u8)>,
    /// SCI interrupt.
    pub sci: u16,
    /// The FADT says ports 0x60/0x64 hold an 8042 controller (IA-PC boot
    /// architecture flag 1, ACPI 6.5 §5.2.9.3; a revision-1 FADT has no
    /// such field, so it counts as yes).
    pub i8042: bool,
    /// PCIe ECAM windows: (base, segment, first bus, last bus).
    pub mcfg: Vec<(u64, u16, u8, u8)>,
    /// DSDT (physical address, length).
    pub dsdt: Option<(u64, u32)>,
    /// SLP_TYPa/b for S5 from `\_S5`, if found.
    pub s5: Option<dsdt::SleepType>,
    /// The root PCI bus's INTx routing from the DSDT's `_PRT`, if it could
    /// be read (else devices without MSI or MSI-X are polled).
    pub pci_routes: Option<dsdt::RoutingTable>,
}

/// Why the ACPI tables could not be used.
#[derive(Debug)]
pub enum AcpiError {
    /// The loader gave no RSDP.
    NoRsdp,
    /// The `acpi` crate refused a table.
    Table(&'static str, acpi::AcpiError),
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRsdp => f.write_str("the loader gave no RSDP"),
            Self::Table(which, e) => write!(f, "{which}: {e:?}"),
        }
    }
}

static PLATFORM: Once<Platform> = Once::new();

/// The parsed tables (None before [`init`] succeeded).
pub fn platform() -> Option<&'static Platform> {
    PLATFORM.get()
}

/// Parses the tables reachable from the RSDP at physical `rsdp`.
pub fn init(rsdp: Option<u64>) -> Result<&'static Platform, AcpiError> {
    let rsdp = rsdp.ok_or(AcpiError::NoRsdp)?;
    // The crate reads the tables through `AcpiMemory`, which maps nothing
    // it has not checked.
    let tables = crate::mm::acpi_memory::tables(rsdp).map_err(|e| AcpiError::Table("RSDP", e))?;
    let mut p = Platform {
        revision: tables.revision(),
        ..Platform::default()
    };
    for header in tables.headers() {
        let mut sig = [b'?'; 4];
        for (d, b) in sig.iter_mut().zip(header.signature.as_str().bytes()) {
            *d = b;
        }
        p.tables.push(sig);
    }
    madt(&tables, &mut p)?;
    fadt(&tables, &mut p)?;
    p.hpet = hpet(&tables);
    if let Ok(mcfg) = tables.find_table::<acpi::mcfg::Mcfg>() {
        for e in mcfg.entries() {
            p.mcfg.push((
                e.base_address,
                e.pci_segment_group,
                e.bus_number_start,
                e.bus_number_end,
            ));
        }
    }
    if let Ok(dsdt) = tables.dsdt() {
        p.dsdt = Some((dsdt.address as u64, dsdt.length));
        // `dsdt()` gives the AML after the header.
        let aml = table_bytes(dsdt.address as u64, u64::from(dsdt.length));
        match dsdt::find_s5(aml) {
            Ok(s5) => p.s5 = Some(s5),
            Err(e) => log::warn!("no usable \\_S5 in the DSDT ({e:?})"),
        }
        match dsdt::pci_routes(aml) {
            Ok(t) => {
                log::info!(
                    "PCI INTx routing from {}: {} pin(s)",
                    core::str::from_utf8(&t.name).unwrap_or("?"),
                    t.routes.len()
                );
                p.pci_routes = Some(t);
            }
            Err(e) => log::warn!("no usable _PRT in the DSDT ({e}); INTx is not routed"),
        }
    }
    Ok(PLATFORM.call_once(|| p))
}

fn madt(tables: &acpi::AcpiTables<AcpiMemory>, p: &mut Platform) -> Result<(), AcpiError> {
    use acpi::madt::{Madt, MadtEntry};
    let madt = tables
        .find_table::<Madt>()
        .map_err(|e| AcpiError::Table("MADT", e))?;
    let madt = madt.get();
    p.lapic_address = u64::from(madt.local_apic_address);
    p.has_8259 = madt.supports_8259();
    for entry in madt.entries() {
        match entry {
            MadtEntry::LocalApic(l) if l.flags & 1 != 0 => p.cpus.push(u32::from(l.apic_id)),
            MadtEntry::LocalX2Apic(l) if l.flags & 1 != 0 => p.cpus.push(l.x2apic_id),
            MadtEntry::IoApic(io) => p.io_apics.push(IoApic {
                id: io.io_apic_id,
                address: u64::from(io.io_apic_address),
                gsi_base: io.global_system_interrupt_base,
            }),
            MadtEntry::InterruptSourceOverride(o) => p.overrides.push(SourceOverride {
                irq: o.irq,
                gsi: o.global_system_interrupt,
                flags: o.flags,
            }),
            MadtEntry::LocalApicAddressOverride(o) => p.lapic_address = o.local_apic_address,
            _ => {}
        }
    }
    Ok(())
}

fn register(g: &acpi::address::GenericAddress) -> Option<Register> {
    use acpi::address::AddressSpace;
    match g.address_space {
        AddressSpace::SystemIo => u16::try_from(g.address).ok().map(Register::Port),
        AddressSpace::SystemMemory => Some(Register::Memory(g.address)),
        _ => None,
    }
}

fn port(g: Option<acpi::address::GenericAddress>) -> Option<u16> {
    match register(&g?)? {
        Register::Port(p) if p != 0 => Some(p),
        _ => None,
    }
}

fn fadt(tables: &acpi::AcpiTables<AcpiMemory>, p: &mut Platform) -> Result<(), AcpiError> {
    let fadt = tables
        .find_table::<acpi::fadt::Fadt>()
        .map_err(|e| AcpiError::Table("FADT", e))?;
    p.sci = fadt.sci_interrupt;
    let boot_arch = fadt.iapc_boot_arch;
    p.i8042 =
        acpi::AcpiTable::header(&*fadt).revision < 2 || boot_arch.motherboard_implements_8042();
    let flags = fadt.flags;
    p.pm_timer =
        port(fadt.pm_timer_block().ok().flatten()).map(|port| (port, flags.pm_timer_is_32_bit()));
    p.pm1_control = (
        port(fadt.pm1a_control_block().ok()),
        port(fadt.pm1b_control_block().ok().flatten()),
    );
    if flags.supports_system_reset_via_fadt() {
        if let Some(reg) = fadt.reset_register().ok().as_ref().and_then(register) {
            p.reset = Some((reg, fadt.reset_value));
        }
    }
    Ok(())
}

/// The HPET's register block, read from the raw table: the `acpi` crate's
/// own reader asserts on a block outside memory space, which firmware
/// must not be able to turn into a panic. Layout: ACPI HPET spec 1.0a
/// Table 3 (generic address at offset 40, its address at 44).
fn hpet(tables: &acpi::AcpiTables<AcpiMemory>) -> Option<u64> {
    let table = tables.find_table::<acpi::hpet::HpetTable>().ok()?;
    let bytes = table_bytes(table.physical_start() as u64, 56);
    let space = *bytes.get(40)?;
    let address = u64::from_le_bytes(bytes.get(44..52)?.try_into().ok()?);
    (space == 0 && address != 0).then_some(address)
}
