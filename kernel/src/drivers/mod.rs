//! Devices and drivers: the device tree, the driver registry and binding.
#![forbid(unsafe_code)]
//!
//! The tree itself (nodes, match tables, the binding algorithm, the
//! listing) is the host-tested `devtree` crate; this module holds the one
//! kernel tree behind a lock, the built-in drivers, and the glue that
//! hands a probing driver its resources as typed, owned values
//! ([`Probe`]): I/O port ranges and uncached MMIO windows that nobody
//! else can claim, and interrupt lines. Drivers are safe Rust.
//!
//! # Boot
//! [`init`] builds the tree from what the firmware and the buses report
//! (ACPI platform node, every PCI function, the i8042 when the FADT says
//! there is one), registers the built-in drivers, binds, and logs the
//! whole tree. A driver registered later ([`register`]) binds to devices
//! found before it; a device added later binds to drivers registered
//! before it. A failed probe is logged and recorded in the tree; the
//! device stays unbound (or goes to the next driver that matches) and
//! the boot goes on.
//!
//! # Lock order
//! The tree lock is taken alone: probes run without it (see the `devtree`
//! crate's docs), so a driver may add child devices or register drivers.

pub mod hv_keyboard;
pub mod hv_mouse;
pub mod hv_netvsc;
pub mod hv_service;
pub mod hv_storvsc;
pub mod hv_synthvid;
pub mod i8042;
pub mod input;
pub mod pci;
pub mod virtio;
pub mod virtio_blk;
pub mod virtio_net;

pub use devtree::{Bus, Device, Id, Match, NodeId, Resource};

use crate::arch::port::{IoPorts, PortsTaken};
use crate::mm::mmio::Mmio;
use crate::mm::MmError;
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use devtree::{State, Tree, TreeError};

/// A driver: its match table and its probe.
pub struct Driver {
    /// Name, as listed.
    pub name: &'static str,
    /// What it binds to.
    pub matches: &'static [Match],
    /// Takes the device over; an error leaves it unbound.
    pub probe: fn(&Probe) -> Result<(), DriverError>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

type Handle = &'static Driver;

static TREE: SpinLock<Option<Tree<Handle>>> = SpinLock::new(None);

/// Why a probe (or a tree operation) failed.
#[derive(Debug)]
pub enum DriverError {
    /// The device has no such resource.
    NoResource(&'static str, usize),
    /// Its ports are claimed already.
    Ports(PortsTaken),
    /// Its registers could not be mapped.
    Memory(MmError),
    /// Its interrupt could not be set up.
    Irq(crate::irq::IrqError),
    /// The tree refused an operation.
    Tree(TreeError),
    /// The hardware did not behave (the driver says how).
    Device(String),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoResource(kind, i) => write!(f, "no {kind} resource #{i}"),
            Self::Ports(p) => write!(f, "ports at {:#x} are taken", p.0),
            Self::Memory(e) => write!(f, "{e}"),
            Self::Irq(e) => write!(f, "{e}"),
            Self::Tree(e) => write!(f, "{e}"),
            Self::Device(s) => f.write_str(s),
        }
    }
}

impl From<TreeError> for DriverError {
    fn from(e: TreeError) -> Self {
        Self::Tree(e)
    }
}

/// What a probing driver gets: its device and the means to claim the
/// resources its bus granted.
pub struct Probe {
    /// The device as its bus reported it.
    pub device: Device,
}

impl Probe {
    /// Claims the `index`-th I/O port range of the device.
    pub fn io(&self, index: usize) -> Result<IoPorts, DriverError> {
        let (base, len) = self
            .device
            .resources
            .iter()
            .filter_map(|r| match *r {
                Resource::Io { base, len } => Some((base, len)),
                _ => None,
            })
            .nth(index)
            .ok_or(DriverError::NoResource("I/O", index))?;
        IoPorts::claim(base, len).map_err(DriverError::Ports)
    }

    /// Maps the `index`-th memory range of the device, uncached.
    pub fn mmio(&self, index: usize) -> Result<Mmio, DriverError> {
        let (base, len) = self
            .device
            .resources
            .iter()
            .filter_map(|r| match *r {
                Resource::Memory { base, len, .. } => Some((base, len)),
                _ => None,
            })
            .nth(index)
            .ok_or(DriverError::NoResource("memory", index))?;
        Mmio::map(base, len).map_err(DriverError::Memory)
    }

    /// The `index`-th interrupt line (a GSI) of the device.
    pub fn irq(&self, index: usize) -> Result<u32, DriverError> {
        self.device
            .resources
            .iter()
            .filter_map(|r| match *r {
                Resource::Irq(gsi) => Some(gsi),
                _ => None,
            })
            .nth(index)
            .ok_or(DriverError::NoResource("interrupt", index))
    }
}

/// Adds `device` under `parent` (it binds at the next [`bind_pending`]).
pub fn add(parent: NodeId, device: Device) -> Result<NodeId, DriverError> {
    let mut tree = TREE.lock();
    let tree = tree.get_or_insert_with(Tree::new);
    Ok(tree.add(parent, device)?)
}

/// Marks `node` and everything below it gone (see `Tree::withdraw`);
/// returns how many of them had a driver.
pub fn withdraw(node: NodeId) -> Result<usize, DriverError> {
    let mut tree = TREE.lock();
    let tree = tree.get_or_insert_with(Tree::new);
    Ok(tree.withdraw(node)?.len())
}

/// Registers `driver` and binds it to every unbound device it matches.
pub fn register(driver: &'static Driver) -> Result<(), DriverError> {
    {
        let mut tree = TREE.lock();
        let tree = tree.get_or_insert_with(Tree::new);
        tree.register(driver.name, driver.matches, driver)?;
    }
    bind_pending();
    Ok(())
}

/// Probes every unbound device that has a driver left to try.
pub fn bind_pending() {
    loop {
        let next = TREE.lock().as_mut().and_then(|t| {
            let (node, id, driver) = t.next_pending()?;
            let device = t.node(node).ok()?.device.clone();
            Some((node, id, driver, device))
        });
        let Some((node, id, driver, device)) = next else {
            return;
        };
        let probe = Probe { device };
        let outcome = (driver.probe)(&probe).map_err(|e| alloc::format!("{e}"));
        match &outcome {
            Ok(()) => log::info!("{} bound to {}", probe.device.name, driver.name),
            Err(e) => log::warn!("{}: {} probe failed: {e}", probe.device.name, driver.name),
        }
        if let Some(t) = TREE.lock().as_mut() {
            if let Err(e) = t.finish(node, id, outcome) {
                log::error!("{}: {e} (bug)", probe.device.name);
            }
        }
    }
}

/// The root node of the tree.
pub const ROOT: NodeId = Tree::<Handle>::ROOT;

/// A device of the tree, as the device service reports it.
#[derive(Clone, Debug)]
pub struct DeviceEntry {
    /// Its parent's node (None for the root).
    pub parent: Option<NodeId>,
    /// The device.
    pub device: Device,
    /// The bound driver's name.
    pub driver: Option<&'static str>,
    /// Failed probes: driver and message.
    pub failures: Vec<(&'static str, String)>,
}

fn entry_of(tree: &Tree<Handle>, id: NodeId, n: &devtree::Node) -> DeviceEntry {
    DeviceEntry {
        parent: n.parent,
        device: n.device.clone(),
        driver: tree.bound_driver(id),
        failures: n
            .failures
            .iter()
            .map(|(d, m)| (tree.driver(*d).map_or("?", |d| d.name), m.clone()))
            .collect(),
    }
}

/// The device service: every device for which `pick` holds, in tree order.
pub fn query(pick: impl Fn(&Device) -> bool) -> Vec<DeviceEntry> {
    let tree = TREE.lock();
    let Some(tree) = tree.as_ref() else {
        return Vec::new();
    };
    tree.iter()
        .filter(|(_, n)| pick(&n.device))
        .map(|(id, n)| entry_of(tree, id, n))
        .collect()
}

/// The name of the driver bound to `node`, if one is.
pub fn driver_of(node: NodeId) -> Option<&'static str> {
    TREE.lock().as_ref()?.bound_driver(node)
}

/// The device at position `index` in tree order, as the `GET_DEVICE`
/// system call reports it (built under the lock; allocates nothing).
pub fn record(index: usize) -> Option<abi::DeviceRecord> {
    fn copy(to: &mut [u8], from: &str) {
        for (d, s) in to.iter_mut().zip(from.bytes()) {
            *d = s;
        }
    }
    let tree = TREE.lock();
    let tree = tree.as_ref()?;
    let (id, n) = tree.iter().nth(index)?;
    let d = &n.device;
    let mut r = abi::DeviceRecord {
        index: u32::try_from(index).ok()?,
        parent: n.parent.map_or(u32::MAX, |p| p.0 as u32),
        bus: match d.bus {
            Bus::Root => abi::bus::ROOT,
            Bus::Platform => abi::bus::PLATFORM,
            Bus::Pci => abi::bus::PCI,
            Bus::Isa => abi::bus::ISA,
            Bus::Ps2 => abi::bus::PS2,
            Bus::VmBus => abi::bus::VMBUS,
        },
        state: match n.state {
            State::Bound(_) => abi::device_state::BOUND,
            State::Probing(_) => abi::device_state::PROBING,
            State::Unbound if n.failures.is_empty() => abi::device_state::UNBOUND,
            State::Unbound => abi::device_state::FAILED,
            State::Gone => abi::device_state::GONE,
        },
        resource_count: d.resources.len() as u32,
        ..abi::DeviceRecord::default()
    };
    match d.id {
        Id::Pci {
            vendor,
            device,
            class,
            subclass,
            prog_if,
        } => {
            (r.vendor, r.device) = (vendor, device);
            (r.class, r.subclass, r.prog_if) = (class, subclass, prog_if);
        }
        Id::Pnp(p) => copy(&mut r.hardware_id, p),
        Id::None | Id::VmBus(_) => {}
    }
    copy(&mut r.name, &d.name);
    copy(&mut r.driver, tree.bound_driver(id).unwrap_or(""));
    Some(r)
}

/// Logs the whole tree, one line per device.
pub fn log_tree() {
    let text = TREE
        .lock()
        .as_ref()
        .map(|t| alloc::format!("{}", t.listing()))
        .unwrap_or_default();
    for line in text.lines() {
        log::info!("{line}");
    }
}

/// Builds the tree from the firmware and the buses, registers the built-in
/// drivers and binds them, then logs the tree.
pub fn init(platform: Option<&crate::acpi::Platform>) {
    let acpi = add(
        ROOT,
        Device {
            name: String::from("acpi"),
            bus: Bus::Platform,
            id: Id::None,
            resources: Vec::new(),
            description: String::from("firmware tables"),
        },
    );
    let acpi = match acpi {
        Ok(n) => n,
        Err(e) => {
            log::error!("cannot start the device tree: {e}");
            return;
        }
    };
    pci::scan(acpi, platform);
    i8042::add_devices(acpi, platform);
    for driver in BUILT_IN {
        if let Err(e) = register(driver) {
            log::error!("driver {}: {e}", driver.name);
        }
    }
    log_tree();
}

/// The drivers the kernel registers at boot.
static BUILT_IN: &[&Driver] = &[
    &i8042::KEYBOARD,
    &i8042::MOUSE,
    &virtio_blk::DRIVER,
    &virtio_net::DRIVER,
    &hv_keyboard::DRIVER,
    &hv_mouse::DRIVER,
    &hv_netvsc::DRIVER,
    &hv_storvsc::DRIVER,
    &hv_synthvid::DRIVER,
];
