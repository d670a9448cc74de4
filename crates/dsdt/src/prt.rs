//! PCI interrupt routing: the root bus's `_PRT`, resolved to GSIs without
//! an AML interpreter.
//!
//! A `_PRT` (ACPI 6.5 §6.2.13) is a package of four-element packages
//! `{ Address, Pin, Source, SourceIndex }`: `Address` is
//! `(device << 16) | 0xFFFF`, `Pin` is 0-3 for INTA#-INTD#, and `Source`
//! is either the integer 0 (then `SourceIndex` is the GSI itself, and the
//! line is level-triggered, active low) or the name of a PCI interrupt
//! link device whose current resource setting (`_CRS`) holds the
//! interrupt (`SourceIndex` picks one of its interrupts).
//!
//! # What is read
//! - **Which `_PRT`.** The first `_PRT` in the AML, declared either as
//!   `Name (_PRT, Package …)` or as a `Method (_PRT)` whose body returns
//!   named packages (`Return (PRTA)`), as QEMU's q35 tables do: they
//!   return the PIC-mode table or the APIC-mode one depending on `_PIC`.
//!   Of the packages a method returns, the first whose every entry
//!   resolves is used, so the choice is made by what can be read, not by
//!   running the method. Scopes are not walked: the first `_PRT` is taken
//!   to be the root bus's (segment 0, bus 0). At most [`MAX_PRT`]
//!   declarations and [`MAX_RETURNS`] returned names per method are
//!   tried, so the work stays linear in the table's size.
//! - **Links.** A link is found by the last NameSeg of its name among the
//!   `Device` declarations of the AML. Its `_CRS` must be a constant
//!   resource template (`Name (_CRS, ResourceTemplate () {…})`); a link
//!   whose `_CRS` is a method (a PIC-mode link that reads a routing
//!   register) cannot be resolved without running it, and a table that
//!   uses one is not used. Two devices of the same name with different
//!   resources make the name [`RouteError::AmbiguousLink`].
//! - **Resources.** The first interrupt descriptor of the template: the
//!   Extended Interrupt descriptor (§6.4.3.6) or the IRQ descriptor
//!   (§6.4.2.1; its IRQ is taken as the GSI, with the descriptor's mode).
//!
//! No input makes this module panic or loop, and the work is bounded by a
//! small multiple of the AML's length (times a logarithm for the link
//! lookups).

use crate::aml::{
    declared, is_name_char, name_start, Reader, DEVICE_OP, EXT_OP_PREFIX, METHOD_OP, PACKAGE_OP,
    PARENT_PREFIX, RETURN_OP, ROOT_CHAR,
};
use crate::DsdtError;
use alloc::vec::Vec;
use core::fmt;

/// `_PRT` declarations tried.
pub const MAX_PRT: usize = 4;
/// Names returned by one `Method (_PRT)` that are tried.
pub const MAX_RETURNS: usize = 8;
/// Interrupts kept from one link's resource template.
const MAX_LINK_INTERRUPTS: usize = 16;

const PRT: &[u8; 4] = b"_PRT";
const CRS: &[u8; 4] = b"_CRS";

/// One PCI interrupt pin of the root bus and the GSI it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciRoute {
    /// Device (slot) number on the root bus, 0-31.
    pub device: u8,
    /// Interrupt pin, 0-3 for INTA#-INTD#.
    pub pin: u8,
    /// The global system interrupt the pin is wired to.
    pub gsi: u32,
    /// Level-triggered (else edge).
    pub level: bool,
    /// Active low (else active high).
    pub active_low: bool,
}

/// The root bus's routing table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingTable {
    /// The name of the package it was read from (`_PRT`, or the name a
    /// `Method (_PRT)` returns, such as `PRTA`).
    pub name: [u8; 4],
    /// Its entries in table order (a repeated device and pin keeps the
    /// first).
    pub routes: Vec<PciRoute>,
}

impl RoutingTable {
    /// The route of `pin` (0-3) of `device` on the root bus.
    pub fn route(&self, device: u8, pin: u8) -> Option<PciRoute> {
        self.routes
            .iter()
            .find(|r| r.device == device && r.pin == pin)
            .copied()
    }
}

/// Why the root bus's `_PRT` could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No `_PRT` is declared, or a `Method (_PRT)` returns no named
    /// package that is declared.
    NotFound,
    /// The package or one of its entries is not of the form above.
    BadEntry(DsdtError),
    /// An entry names a link that no `Device` declares.
    UnknownLink([u8; 4]),
    /// The link's `_CRS` is not a constant resource template.
    DynamicLink([u8; 4]),
    /// Two devices of this name hold different interrupts.
    AmbiguousLink([u8; 4]),
    /// The link's resources hold no interrupt at the entry's index.
    NoInterrupt([u8; 4]),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn name(n: &[u8; 4]) -> &str {
            core::str::from_utf8(n).unwrap_or("????")
        }
        match self {
            Self::NotFound => f.write_str("no _PRT package"),
            Self::BadEntry(e) => write!(f, "a _PRT entry is malformed ({e})"),
            Self::UnknownLink(n) => write!(f, "link {} is not declared", name(n)),
            Self::DynamicLink(n) => write!(f, "link {} has no constant _CRS", name(n)),
            Self::AmbiguousLink(n) => write!(f, "two links are named {}", name(n)),
            Self::NoInterrupt(n) => write!(f, "link {} holds no such interrupt", name(n)),
        }
    }
}

impl From<DsdtError> for RouteError {
    fn from(e: DsdtError) -> Self {
        Self::BadEntry(e)
    }
}

/// A link's current setting, as far as it can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    /// A constant template with these interrupts (in order) and mode.
    Interrupts {
        gsis: Vec<u32>,
        level: bool,
        active_low: bool,
    },
    /// `_CRS` is missing, a method, or not a template with an interrupt.
    Dynamic,
}

/// Reads the root bus's routing table from AML (a [`crate::table_body`]).
/// See the module documentation for what is accepted.
pub fn pci_routes(aml: &[u8]) -> Result<RoutingTable, RouteError> {
    let links = links(aml);
    let mut first_err = None;
    for (name, at) in tables(aml) {
        match table(aml, at, &links) {
            Ok(routes) => return Ok(RoutingTable { name, routes }),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(RouteError::NotFound))
}

/// Offsets of every `seg` that is the name of a `NameOp` declaration, in
/// AML order; each is followed by the declared object.
fn named(aml: &[u8], seg: [u8; 4]) -> impl Iterator<Item = usize> + '_ {
    (0..aml.len().saturating_sub(3)).filter_map(move |at| {
        (aml.get(at..at + 4) == Some(seg.as_slice()) && declared(aml, at)).then_some(at + 4)
    })
}

/// If the NameSeg at `at` names a `Method`, the method's body (after the
/// flags byte) as a range: `MethodOp PkgLength NameString MethodFlags`.
fn method_body(aml: &[u8], at: usize) -> Option<core::ops::Range<usize>> {
    let start = name_start(aml, at);
    // The PkgLength before the name is 1-4 bytes; its lead byte says how
    // many.
    (1..=4usize).find_map(|width| {
        let lead_at = start.checked_sub(width)?;
        let op_at = lead_at.checked_sub(1)?;
        if aml.get(op_at) != Some(&METHOD_OP) || usize::from(aml.get(lead_at)? >> 6) + 1 != width {
            return None;
        }
        let end = Reader::new(aml, lead_at).pkg_end().ok()?;
        let body = at + 4 + 1;
        (body <= end && end <= aml.len()).then_some(body..end)
    })
}

/// The packages that may be the root bus's `_PRT`, as (name, offset of
/// the package), in the order they are tried.
fn tables(aml: &[u8]) -> Vec<([u8; 4], usize)> {
    let mut out = Vec::new();
    let mut declarations = 0;
    for at in 0..aml.len().saturating_sub(3) {
        if declarations == MAX_PRT {
            break;
        }
        if aml.get(at..at + 4) != Some(PRT.as_slice()) {
            continue;
        }
        if declared(aml, at) {
            declarations += 1;
            out.push((*PRT, at + 4));
        } else if let Some(body) = method_body(aml, at) {
            declarations += 1;
            for name in returned_names(aml, body) {
                if let Some(pkg) = named(aml, name).next() {
                    out.push((name, pkg));
                }
            }
        }
    }
    out
}

/// The names a method body returns (`ReturnOp NameString`), at most
/// [`MAX_RETURNS`], without repeats.
fn returned_names(aml: &[u8], body: core::ops::Range<usize>) -> Vec<[u8; 4]> {
    let mut names: Vec<[u8; 4]> = Vec::new();
    for at in body.clone() {
        if names.len() == MAX_RETURNS {
            break;
        }
        if aml.get(at) != Some(&RETURN_OP) {
            continue;
        }
        let mut r = Reader::new(aml, at + 1);
        if r.limit(body.end, DsdtError::Truncated).is_err() {
            continue;
        }
        let lead = r.peek().ok();
        let names_something =
            lead.is_some_and(|c| is_name_char(c, true) || c == ROOT_CHAR || c == PARENT_PREFIX);
        if let (true, Ok(Some(name))) = (names_something, r.name_string()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Every `Device` declaration's last NameSeg and the setting of its
/// first `_CRS`, sorted by name.
fn links(aml: &[u8]) -> Vec<([u8; 4], Setting)> {
    // Every `_CRS` declaration once, in AML order: (offset, setting).
    let mut crs: Vec<(usize, Setting)> = Vec::new();
    for at in 0..aml.len().saturating_sub(3) {
        if aml.get(at..at + 4) != Some(CRS.as_slice()) {
            continue;
        }
        let start = name_start(aml, at);
        if declared(aml, at) {
            let setting = Reader::new(aml, at + 4)
                .buffer()
                .ok()
                .and_then(interrupts)
                .unwrap_or(Setting::Dynamic);
            crs.push((start, setting));
        } else if method_body(aml, at).is_some() {
            crs.push((start, Setting::Dynamic));
        }
    }
    let mut out = Vec::new();
    for at in 0..aml.len().saturating_sub(1) {
        if aml.get(at) != Some(&EXT_OP_PREFIX) || aml.get(at + 1) != Some(&DEVICE_OP) {
            continue;
        }
        let mut r = Reader::new(aml, at + 2);
        let Ok(end) = r.pkg_end() else { continue };
        if end > aml.len() || r.limit(end, DsdtError::Truncated).is_err() {
            continue;
        }
        let Ok(Some(name)) = r.name_string() else {
            continue;
        };
        let body = r.pos();
        // The first `_CRS` declared inside the body.
        let first = crs.partition_point(|(o, _)| *o < body);
        let setting = match crs.get(first) {
            Some((o, s)) if *o < end => s.clone(),
            _ => Setting::Dynamic,
        };
        out.push((name, setting));
    }
    out.sort_by_key(|a| a.0);
    out
}

/// The setting of the link named `name`.
fn link(links: &[([u8; 4], Setting)], name: [u8; 4]) -> Result<&Setting, RouteError> {
    let first = links.partition_point(|(n, _)| *n < name);
    let same = links[first..].iter().take_while(|(n, _)| *n == name);
    let mut found: Option<&Setting> = None;
    for (_, s) in same {
        match found {
            None => found = Some(s),
            Some(f) if f == s => {}
            Some(_) => return Err(RouteError::AmbiguousLink(name)),
        }
    }
    found.ok_or(RouteError::UnknownLink(name))
}

/// The interrupts of a resource template (ACPI 6.5 §6.4): the first IRQ
/// or Extended Interrupt descriptor. None if it holds neither or is cut.
fn interrupts(template: &[u8]) -> Option<Setting> {
    let mut at = 0usize;
    loop {
        let tag = *template.get(at)?;
        if tag & 0x80 == 0 {
            // Small item (§6.4.2): type in bits 6-3, length in bits 2-0.
            let len = usize::from(tag & 0x07);
            let body = template.get(at + 1..at + 1 + len)?;
            match (tag >> 3) & 0x0F {
                // End Tag.
                0x0F => return None,
                // IRQ: a 16-bit mask of ISA IRQs, then (length 3) the
                // information byte: bit 0 edge, bit 3 active low. Without
                // it, edge and active high.
                0x04 if len >= 2 => {
                    let mask = u16::from_le_bytes([body[0], body[1]]);
                    let info = body.get(2).copied().unwrap_or(0x01);
                    let gsis = (0..16u32).filter(|i| mask & (1 << i) != 0).collect();
                    return Some(Setting::Interrupts {
                        gsis,
                        level: info & 0x01 == 0,
                        active_low: info & 0x08 != 0,
                    });
                }
                _ => {}
            }
            at += 1 + len;
        } else {
            // Large item (§6.4.3): type in bits 6-0, a 16-bit length.
            let len = usize::from(u16::from_le_bytes([
                *template.get(at + 1)?,
                *template.get(at + 2)?,
            ]));
            let body = template.get(at + 3..at + 3 + len)?;
            if tag & 0x7F == 0x09 {
                // Extended Interrupt: flags (bit 1 edge, bit 2 active
                // low), a count, then that many 32-bit interrupts.
                let flags = *body.first()?;
                let count = usize::from(*body.get(1)?);
                let list = body.get(2..2 + 4 * count)?;
                let gsis = list
                    .chunks_exact(4)
                    .take(MAX_LINK_INTERRUPTS)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                return Some(Setting::Interrupts {
                    gsis,
                    level: flags & 0x02 == 0,
                    active_low: flags & 0x04 != 0,
                });
            }
            at += 3 + len;
        }
    }
}

/// Decodes the routing package at `at`.
fn table(aml: &[u8], at: usize, links: &[([u8; 4], Setting)]) -> Result<Vec<PciRoute>, RouteError> {
    let mut r = Reader::new(aml, at);
    let (end, count) = r.package()?;
    let mut routes: Vec<PciRoute> = Vec::new();
    // A package may list fewer elements than its count (the rest are
    // uninitialized, §19.6.102); every element takes at least one byte,
    // so the loop ends with the package.
    for _ in 0..count {
        if r.pos() >= end {
            break;
        }
        let route = entry(&mut r, links)?;
        if !routes
            .iter()
            .any(|e| e.device == route.device && e.pin == route.pin)
        {
            routes.push(route);
        }
    }
    if routes.is_empty() {
        return Err(DsdtError::BadPackage.into());
    }
    Ok(routes)
}

/// One `{ Address, Pin, Source, SourceIndex }` entry.
fn entry(outer: &mut Reader<'_>, links: &[([u8; 4], Setting)]) -> Result<PciRoute, RouteError> {
    if outer.byte()? != PACKAGE_OP {
        return Err(DsdtError::BadPackage.into());
    }
    let end = outer.pkg_end()?;
    let mut r = outer.clone();
    r.limit(end, DsdtError::BadPackage)?;
    if r.byte()? != 4 {
        return Err(DsdtError::BadPackage.into());
    }
    let address = r.integer()?;
    let pin = r.integer()?;
    let source = match r.peek()? {
        c if is_name_char(c, true) || c == ROOT_CHAR || c == PARENT_PREFIX => r.name_string()?,
        _ => {
            if r.integer()? != 0 {
                return Err(DsdtError::BadPackage.into());
            }
            None
        }
    };
    let index = r.integer()?;
    outer.skip_to(end)?;
    let device = address >> 16;
    if address & 0xFFFF != 0xFFFF || device > 31 || pin > 3 {
        return Err(DsdtError::BadPackage.into());
    }
    let (gsi, level, active_low) = match source {
        // A hard-wired GSI: level-triggered, active low (§6.2.13).
        None => (
            u32::try_from(index).map_err(|_| DsdtError::BadPackage)?,
            true,
            true,
        ),
        Some(name) => match link(links, name)? {
            Setting::Dynamic => return Err(RouteError::DynamicLink(name)),
            Setting::Interrupts {
                gsis,
                level,
                active_low,
            } => {
                let gsi = usize::try_from(index)
                    .ok()
                    .and_then(|i| gsis.get(i))
                    .ok_or(RouteError::NoInterrupt(name))?;
                (*gsi, *level, *active_low)
            }
        },
    };
    Ok(PciRoute {
        device: device as u8,
        pin: pin as u8,
        gsi,
        level,
        active_low,
    })
}
