//! The boot-time listing of the tree: one line per node, indented by depth.
//!
//! A line reads `name [bus] id description resources -> driver`, for
//! example `00:1f.2 [pci] 8086:2922 01.06.01 SATA io 0xc040+0x20
//! mem 0xfea1a000+0x1000 -> ahci`. PCI ids are lowercase hex. A device
//! without a driver ends in `-> none` (bus nodes, which have no
//! identifier, have no driver column), and each failed probe is added as
//! `(driver failed: message)`.

use crate::{Id, Node, NodeId, Resource, State, Tree};
use core::fmt;

/// Displays a [`Tree`], one line per node.
pub struct Listing<'a, D> {
    tree: &'a Tree<D>,
}

impl<'a, D: Clone> Listing<'a, D> {
    pub(crate) fn new(tree: &'a Tree<D>) -> Self {
        Self { tree }
    }

    fn depth(&self, mut id: NodeId) -> usize {
        let mut depth = 0;
        // Parents always come before their children, so this ends.
        while let Some(parent) = self.tree.node(id).ok().and_then(|n| n.parent) {
            if parent >= id {
                break;
            }
            depth += 1;
            id = parent;
        }
        depth
    }

    fn line(&self, f: &mut fmt::Formatter<'_>, id: NodeId, node: &Node) -> fmt::Result {
        let d = &node.device;
        write!(
            f,
            "{:indent$}{} [{}]",
            "",
            d.name,
            d.bus.name(),
            indent = 2 * self.depth(id)
        )?;
        match &d.id {
            Id::None => {}
            Id::Pci {
                vendor,
                device,
                class,
                subclass,
                prog_if,
            } => write!(
                f,
                " {vendor:04x}:{device:04x} {class:02x}.{subclass:02x}.{prog_if:02x}"
            )?,
            Id::Pnp(p) => write!(f, " {p}")?,
            Id::VmBus(g) => {
                f.write_str(" ")?;
                for b in g {
                    write!(f, "{b:02x}")?;
                }
            }
        }
        if !d.description.is_empty() {
            write!(f, " {}", d.description)?;
        }
        for r in &d.resources {
            match *r {
                Resource::Io { base, len } => write!(f, " io {base:#x}+{len:#x}")?,
                Resource::Memory {
                    base,
                    len,
                    prefetchable,
                } => {
                    write!(f, " mem {base:#x}+{len:#x}")?;
                    if prefetchable {
                        f.write_str(" pref")?;
                    }
                }
                Resource::Irq(gsi) => write!(f, " irq {gsi}")?,
            }
        }
        // Bus nodes (no identifier) take no driver.
        if d.id != Id::None {
            let name = |drv: crate::DriverId| self.tree.driver(drv).map_or("?", |x| x.name);
            match node.state {
                State::Bound(drv) => write!(f, " -> {}", name(drv))?,
                State::Probing(drv) => write!(f, " -> {} (probing)", name(drv))?,
                State::Unbound => f.write_str(" -> none")?,
                State::Gone => f.write_str(" (gone)")?,
            }
            for (drv, message) in &node.failures {
                write!(f, " ({} failed: {message})", name(*drv))?;
            }
        }
        Ok(())
    }
}

impl<D: Clone> fmt::Display for Listing<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Depth-first, so each child sits under its parent.
        let mut stack = alloc::vec![Tree::<D>::ROOT];
        let mut first = true;
        while let Some(id) = stack.pop() {
            if let Ok(node) = self.tree.node(id) {
                if !first {
                    f.write_str("\n")?;
                }
                first = false;
                self.line(f, id, node)?;
            }
            let mut children: alloc::vec::Vec<NodeId> = self.tree.children(id).collect();
            children.reverse();
            stack.extend(children);
        }
        Ok(())
    }
}
