//! The device tree and driver registry: nodes, match tables, binding.
//!
//! A [`Tree`] holds every device the buses found, as nodes under a root:
//! each with a name, the bus it sits on, its identifiers ([`Id`]), the
//! resources its bus granted ([`Resource`]) and its binding state.
//! Drivers register a match table ([`Match`]); binding pairs an unbound
//! device with the first registered driver that matches it and has not
//! failed on it yet, whichever of the two came first.
//!
//! # Binding without holding the tree
//! A probe talks to hardware, takes interrupts and logs, so it must not
//! run under the lock that guards the tree. Binding is therefore three
//! steps the caller drives: [`Tree::next_pending`] picks a (device,
//! driver) pair and marks the device `Probing`, the caller unlocks and
//! probes, then [`Tree::finish`] records the outcome. A failed probe is
//! kept (driver and message) and the next matching driver gets its turn;
//! when none is left the device stays unbound with its errors listed.
//!
//! The crate is generic over the driver handle `D` (the kernel's is a
//! reference to a static driver description), so the tree logic is tested
//! on the host with plain values.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod listing;
mod matching;

pub use listing::Listing;
pub use matching::Match;

use alloc::string::String;
use alloc::vec::Vec;

/// The bus a device sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bus {
    /// The tree's root.
    Root,
    /// Described by the firmware (ACPI tables): the platform node.
    Platform,
    /// A PCI function.
    Pci,
    /// A legacy ISA device (i8042 and what sits behind it).
    Isa,
    /// A PS/2 port of the i8042.
    Ps2,
    /// A Hyper-V VMBus channel.
    VmBus,
}

impl Bus {
    /// Lowercase name, as listed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Platform => "platform",
            Self::Pci => "pci",
            Self::Isa => "isa",
            Self::Ps2 => "ps2",
            Self::VmBus => "vmbus",
        }
    }
}

/// What identifies a device to drivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// No identifier (bus nodes).
    None,
    /// A PCI function (PCI Local Bus Spec 3.0 §6.2.1).
    Pci {
        /// Vendor id.
        vendor: u16,
        /// Device id.
        device: u16,
        /// Base class.
        class: u8,
        /// Subclass.
        subclass: u8,
        /// Programming interface.
        prog_if: u8,
    },
    /// A plug-and-play id such as `PNP0303` (ACPI `_HID` form).
    Pnp(&'static str),
    /// A VMBus channel's interface type (class GUID, as stored).
    VmBus([u8; 16]),
}

/// A resource granted by the device's bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// I/O ports `base .. base + len`.
    Io {
        /// First port.
        base: u16,
        /// Number of ports.
        len: u16,
    },
    /// Memory-mapped registers `base .. base + len`.
    Memory {
        /// Physical base.
        base: u64,
        /// Length in bytes.
        len: u64,
        /// Prefetchable (PCI BAR bit 3).
        prefetchable: bool,
    },
    /// An interrupt line: a global system interrupt of the I/O APIC.
    Irq(u32),
}

/// Index of a node in its [`Tree`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// Index of a registered driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DriverId(pub usize);

/// A device as its bus reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Name unique among its siblings (e.g. `00:1f.2`, `i8042`).
    pub name: String,
    /// The bus it sits on.
    pub bus: Bus,
    /// Its identifiers.
    pub id: Id,
    /// What its bus granted it.
    pub resources: Vec<Resource>,
    /// A short description (e.g. the PCI class name).
    pub description: String,
}

/// Where a device is in binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// No driver has it.
    Unbound,
    /// A probe by this driver is running.
    Probing(DriverId),
    /// This driver runs it.
    Bound(DriverId),
    /// Its bus withdrew it; no driver binds it any more.
    Gone,
}

/// One node of the tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// The device.
    pub device: Device,
    /// Its parent (None for the root).
    pub parent: Option<NodeId>,
    /// Binding state.
    pub state: State,
    /// Probes that failed on it, in order: driver and message.
    pub failures: Vec<(DriverId, String)>,
}

/// A registered driver.
#[derive(Clone, Debug)]
pub struct Driver<D> {
    /// Name, as listed.
    pub name: &'static str,
    /// What it binds to.
    pub matches: &'static [Match],
    /// The caller's handle (what to call for a probe).
    pub handle: D,
}

/// Why a tree operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// No node has this id.
    NoNode(NodeId),
    /// The parent already has a child of this name.
    DuplicateName(String),
    /// A driver of this name is registered already.
    DuplicateDriver(&'static str),
    /// `finish` for a node that is not being probed by that driver.
    NotProbing(NodeId),
}

impl core::fmt::Display for TreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoNode(n) => write!(f, "no device node {}", n.0),
            Self::DuplicateName(n) => write!(f, "a sibling is already named '{n}'"),
            Self::DuplicateDriver(n) => write!(f, "driver '{n}' is registered already"),
            Self::NotProbing(n) => write!(f, "device node {} is not being probed", n.0),
        }
    }
}

/// The device tree and the registered drivers.
#[derive(Clone, Debug)]
pub struct Tree<D> {
    nodes: Vec<Node>,
    drivers: Vec<Driver<D>>,
}

impl<D: Clone> Default for Tree<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Clone> Tree<D> {
    /// A tree holding only the root node (`NodeId(0)`).
    pub fn new() -> Self {
        Self {
            nodes: alloc::vec![Node {
                device: Device {
                    name: String::from("root"),
                    bus: Bus::Root,
                    id: Id::None,
                    resources: Vec::new(),
                    description: String::new(),
                },
                parent: None,
                state: State::Unbound,
                failures: Vec::new(),
            }],
            drivers: Vec::new(),
        }
    }

    /// The root node.
    pub const ROOT: NodeId = NodeId(0);

    /// Adds `device` under `parent`.
    pub fn add(&mut self, parent: NodeId, device: Device) -> Result<NodeId, TreeError> {
        self.node(parent)?;
        if self
            .children(parent)
            .any(|c| self.nodes[c.0].device.name == device.name)
        {
            return Err(TreeError::DuplicateName(device.name));
        }
        self.nodes.push(Node {
            device,
            parent: Some(parent),
            state: State::Unbound,
            failures: Vec::new(),
        });
        Ok(NodeId(self.nodes.len() - 1))
    }

    /// Registers a driver; devices it matches bind at the next
    /// [`Tree::next_pending`].
    pub fn register(
        &mut self,
        name: &'static str,
        matches: &'static [Match],
        handle: D,
    ) -> Result<DriverId, TreeError> {
        if self.drivers.iter().any(|d| d.name == name) {
            return Err(TreeError::DuplicateDriver(name));
        }
        self.drivers.push(Driver {
            name,
            matches,
            handle,
        });
        Ok(DriverId(self.drivers.len() - 1))
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> Result<&Node, TreeError> {
        self.nodes.get(id.0).ok_or(TreeError::NoNode(id))
    }

    /// The driver `id`.
    pub fn driver(&self, id: DriverId) -> Option<&Driver<D>> {
        self.drivers.get(id.0)
    }

    /// Number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every node with its id, in the order added (parents before children).
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate().map(|(i, n)| (NodeId(i), n))
    }

    /// The children of `parent`, in the order added.
    pub fn children(&self, parent: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.iter()
            .filter(move |(_, n)| n.parent == Some(parent))
            .map(|(id, _)| id)
    }

    /// The child of `parent` named `name`.
    pub fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        self.children(parent)
            .find(|&c| self.nodes[c.0].device.name == name)
    }

    /// The name of the driver bound to `id`, if any.
    pub fn bound_driver(&self, id: NodeId) -> Option<&'static str> {
        match self.nodes.get(id.0)?.state {
            State::Bound(d) => self.drivers.get(d.0).map(|d| d.name),
            _ => None,
        }
    }

    /// Picks the next unbound device with a matching driver that has not
    /// failed on it, marks it `Probing` and returns it with the driver's
    /// handle. None when nothing is left to try.
    pub fn next_pending(&mut self) -> Option<(NodeId, DriverId, D)> {
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if node.state != State::Unbound {
                continue;
            }
            let found = self.drivers.iter().enumerate().find(|(d, drv)| {
                drv.matches.iter().any(|m| m.matches(&node.device))
                    && !node.failures.iter().any(|(f, _)| f.0 == *d)
            });
            if let Some((d, drv)) = found {
                node.state = State::Probing(DriverId(d));
                return Some((NodeId(i), DriverId(d), drv.handle.clone()));
            }
        }
        None
    }

    /// Records the outcome of the probe [`Tree::next_pending`] started.
    pub fn finish(
        &mut self,
        node: NodeId,
        driver: DriverId,
        outcome: Result<(), String>,
    ) -> Result<(), TreeError> {
        let n = self.nodes.get_mut(node.0).ok_or(TreeError::NoNode(node))?;
        if n.state != State::Probing(driver) {
            return Err(TreeError::NotProbing(node));
        }
        match outcome {
            Ok(()) => n.state = State::Bound(driver),
            Err(message) => {
                n.state = State::Unbound;
                n.failures.push((driver, message));
            }
        }
        Ok(())
    }

    /// Marks `id` and everything below it gone (its bus withdrew it):
    /// [`Tree::next_pending`] never offers them again. Returns the nodes
    /// that had a driver bound or probing, for the bus to stop them.
    pub fn withdraw(&mut self, id: NodeId) -> Result<Vec<(NodeId, DriverId)>, TreeError> {
        self.nodes.get(id.0).ok_or(TreeError::NoNode(id))?;
        let mut bound = Vec::new();
        let mut stack = alloc::vec![id];
        while let Some(n) = stack.pop() {
            stack.extend(self.children(n));
            let node = &mut self.nodes[n.0];
            if let State::Bound(d) | State::Probing(d) = node.state {
                bound.push((n, d));
            }
            node.state = State::Gone;
        }
        Ok(bound)
    }

    /// A listing of the whole tree, one line per node (see [`Listing`]).
    pub fn listing(&self) -> Listing<'_, D> {
        Listing::new(self)
    }
}

#[cfg(test)]
mod tests;
