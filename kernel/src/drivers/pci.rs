//! The PCI bus: configuration access (ECAM or ports 0xCF8/0xCFC) and the
//! scan that puts every function into the device tree.
//!
//! ECAM windows come from the ACPI MCFG table (PCI Firmware Spec 3.2
//! §4.1.2): bus `b` of a segment sits at `base + (b << 20)`, function
//! `d.f` at `(d << 15) | (f << 12)` inside it. A bus's 1 MiB window is
//! mapped (uncached) the first time the scan touches it. Without an MCFG
//! entry for segment 0 the legacy mechanism #1 is used (PCI Local Bus
//! Spec 3.0 §3.2.2.3.2), which reaches only the first 256 bytes.
//!
//! Decoding (header fields, BAR sizing, capabilities, MSI) is the
//! host-tested `pci` crate; this file only moves bytes.

use super::{Bus, Device, Id, NodeId, Resource};
use crate::arch::port::IoPorts;
use crate::mm::mmio::Mmio;
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use pci::{Bdf, ConfigSpace};

/// Bytes of one bus's ECAM window: 32 devices × 8 functions × 4 KiB.
const ECAM_BUS_BYTES: u64 = 1 << 20;
/// Mechanism #1: address and data ports.
const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_PORTS: u16 = 8;

/// How configuration space is reached.
enum Access {
    Ecam {
        base: u64,
        first_bus: u8,
        last_bus: u8,
        windows: BTreeMap<u8, Option<Mmio>>,
    },
    Ports(IoPorts),
}

/// Configuration space of segment 0.
pub struct Config {
    access: Access,
}

impl Config {
    fn ecam_window(&mut self, bus: u8) -> Option<&Mmio> {
        let Access::Ecam {
            base,
            first_bus,
            last_bus,
            windows,
        } = &mut self.access
        else {
            return None;
        };
        if bus < *first_bus || bus > *last_bus {
            return None;
        }
        let base = *base;
        windows
            .entry(bus)
            .or_insert_with(|| {
                let phys = base + (u64::from(bus) << 20);
                Mmio::map(phys, ECAM_BUS_BYTES)
                    .inspect_err(|e| log::warn!("bus {bus:02x}: cannot map ECAM: {e}"))
                    .ok()
            })
            .as_ref()
    }

    fn ecam_offset(at: Bdf, offset: u16) -> u64 {
        (u64::from(at.device) << 15) | (u64::from(at.function) << 12) | u64::from(offset & 0xffc)
    }

    fn port_address(at: Bdf, offset: u16) -> Option<u32> {
        (offset < 0x100).then(|| {
            0x8000_0000
                | (u32::from(at.bus) << 16)
                | (u32::from(at.device & 0x1f) << 11)
                | (u32::from(at.function & 7) << 8)
                | u32::from(offset & 0xfc)
        })
    }
}

impl ConfigSpace for Config {
    fn read32(&mut self, at: Bdf, offset: u16) -> u32 {
        if at.device >= 32 || at.function >= 8 || offset >= 0x1000 {
            return u32::MAX;
        }
        if let Access::Ports(ports) = &self.access {
            return match Self::port_address(at, offset) {
                Some(a) => {
                    ports.write32(0, a);
                    ports.read32(4)
                }
                None => u32::MAX,
            };
        }
        let off = Self::ecam_offset(at, offset);
        self.ecam_window(at.bus).map_or(u32::MAX, |w| w.read32(off))
    }

    fn write32(&mut self, at: Bdf, offset: u16, value: u32) {
        if at.device >= 32 || at.function >= 8 || offset >= 0x1000 {
            return;
        }
        if let Access::Ports(ports) = &self.access {
            if let Some(a) = Self::port_address(at, offset) {
                ports.write32(0, a);
                ports.write32(4, value);
            }
            return;
        }
        let off = Self::ecam_offset(at, offset);
        if let Some(w) = self.ecam_window(at.bus) {
            w.write32(off, value);
        }
    }
}

/// Configuration space, for drivers of PCI functions (MSI set-up and the
/// like). None before [`scan`] or without any access.
static CONFIG: SpinLock<Option<Config>> = SpinLock::new(None);
/// Every function the scan found, as the `pci` crate decoded it.
static FUNCTIONS: SpinLock<Vec<pci::Function>> = SpinLock::new(Vec::new());

/// Runs `f` on configuration space (None before the scan or without one).
pub fn with_config<R>(f: impl FnOnce(&mut Config) -> R) -> Option<R> {
    CONFIG.lock().as_mut().map(f)
}

/// The function at `at`, as the scan decoded it (capabilities included).
pub fn function(at: Bdf) -> Option<pci::Function> {
    FUNCTIONS.lock().iter().find(|f| f.at == at).cloned()
}

/// The address of a PCI node, from its name (`bb:dd.f`, as the scan names
/// it).
pub fn address_of(device: &Device) -> Option<Bdf> {
    if device.bus != Bus::Pci {
        return None;
    }
    let (bus, rest) = device.name.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    let hex = |s: &str| u8::from_str_radix(s, 16).ok();
    Bdf::new(hex(bus)?, hex(dev)?, hex(func)?)
}

fn open(platform: Option<&crate::acpi::Platform>) -> Option<(Config, &'static str)> {
    let ecam = platform.and_then(|p| p.mcfg.iter().find(|m| m.1 == 0).copied());
    if let Some((base, _, first_bus, last_bus)) = ecam {
        let access = Access::Ecam {
            base,
            first_bus,
            last_bus,
            windows: BTreeMap::new(),
        };
        return Some((Config { access }, "ECAM"));
    }
    match IoPorts::claim(CONFIG_ADDRESS, CONFIG_PORTS) {
        Ok(ports) => Some((
            Config {
                access: Access::Ports(ports),
            },
            "ports 0xcf8",
        )),
        Err(e) => {
            log::error!("ports {:#x} are taken; no PCI", e.0);
            None
        }
    }
}

fn device_of(f: &pci::Function) -> Device {
    let mut resources = Vec::new();
    for bar in &f.bars {
        resources.push(match bar.kind {
            pci::BarKind::Io => Resource::Io {
                base: u16::try_from(bar.base).unwrap_or(u16::MAX),
                len: u16::try_from(bar.size).unwrap_or(u16::MAX),
            },
            _ => Resource::Memory {
                base: bar.base,
                len: bar.size,
                prefetchable: bar.prefetchable,
            },
        });
    }
    Device {
        name: alloc::format!("{}", f.at),
        bus: Bus::Pci,
        id: Id::Pci {
            vendor: f.vendor,
            device: f.device,
            class: f.class,
            subclass: f.subclass,
            prog_if: f.prog_if,
        },
        resources,
        description: String::from(pci::class_name(f.class, f.subclass)),
    }
}

/// Enumerates segment 0 and adds a `pci0` node under `parent` with every
/// function below it (functions behind a bridge under the bridge).
pub fn scan(parent: NodeId, platform: Option<&crate::acpi::Platform>) {
    let Some((mut config, how)) = open(platform) else {
        return;
    };
    let host = super::add(
        parent,
        Device {
            name: String::from("pci0"),
            bus: Bus::Platform,
            id: Id::None,
            resources: Vec::new(),
            description: alloc::format!("PCI segment 0 ({how})"),
        },
    );
    let host = match host {
        Ok(h) => h,
        Err(e) => {
            log::error!("{e}");
            return;
        }
    };
    let found = pci::enumerate(&mut config, 0);
    for (at, problem) in &found.problems {
        log::warn!("{at}: {problem}");
    }
    // A function's node goes under the bridge whose secondary bus it is on.
    let mut bus_node: BTreeMap<u8, NodeId> = BTreeMap::new();
    bus_node.insert(0, host);
    for f in &found.functions {
        for problem in &f.problems {
            log::warn!("{}: {problem}", f.at);
        }
        let under = bus_node.get(&f.at.bus).copied().unwrap_or(host);
        match super::add(under, device_of(f)) {
            Ok(node) => {
                if let Some(secondary) = f.secondary_bus {
                    bus_node.insert(secondary, node);
                }
            }
            Err(e) => log::warn!("{}: {e}", f.at),
        }
    }
    log::info!("{} function(s) through {how}", found.functions.len());
    *CONFIG.lock() = Some(config);
    *FUNCTIONS.lock() = found.functions;
}

/// Where the legacy INTx pin of the function at `at` arrives: its
/// Interrupt Pin register followed through the bridges to the root bus
/// (`pci::root_pin`) and routed by ACPI's `_PRT`. Errors say why not.
pub fn intx_route(at: Bdf) -> Result<dsdt::PciRoute, &'static str> {
    let functions = FUNCTIONS.lock();
    let f = functions
        .iter()
        .find(|f| f.at == at)
        .ok_or("no such function")?;
    if f.interrupt_pin == 0 {
        return Err("no interrupt pin");
    }
    let (device, pin) = pci::root_pin(&functions, 0, at, f.interrupt_pin)
        .ok_or("no bridge path to the root bus")?;
    drop(functions);
    crate::acpi::platform()
        .and_then(|p| p.pci_routes.as_ref())
        .ok_or("no _PRT")?
        .route(device, pin)
        .ok_or("the _PRT does not route its pin")
}

/// Sets or clears the function's Interrupt Disable bit (command register
/// bit 10, PCI 3.0 §6.2.2), which keeps it from asserting INTx.
pub fn set_intx_disabled(at: Bdf, disabled: bool) {
    with_config(|c| {
        let command = c.read32(at, 0x04) & 0xffff;
        let command = if disabled {
            command | 1 << 10
        } else {
            command & !(1 << 10)
        };
        c.write32(at, 0x04, command);
    });
}

/// Turns on memory decoding and bus mastering (command register bits 1
/// and 2, PCI 3.0 §6.2.2) of the function at `at`, for a DMA driver.
pub fn enable_bus_master(at: Bdf) {
    with_config(|c| {
        let command = c.read32(at, 0x04) & 0xffff;
        // The upper half is the status register, whose bits clear on a
        // written 1: write zeros there.
        c.write32(at, 0x04, command | 0x6);
    });
}
