//! Narrow ACPI AML reader: finds `\_S5` in a DSDT/SSDT for soft power-off,
//! and the root PCI bus's interrupt routing (`_PRT`, see [`pci_routes`]).
//!
//! Powering off through ACPI means writing `SLP_TYPa`/`SLP_TYPb` with
//! `SLP_EN` into the PM1a/PM1b control registers, and the two `SLP_TYP`
//! values come from the `\_S5` object in the DSDT (ACPI 6.4 §7.4.2, "\_Sx
//! (System States)": a package `{ SLP_TYPa, SLP_TYPb, Reserved, Reserved }`).
//! This crate finds that object without an AML interpreter:
//!
//! 1. [`table_body`] checks the 36-byte System Description Table header
//!    (signature `DSDT` or `SSDT`, length, checksum) and returns the AML.
//! 2. [`find_s5`] scans the AML for the name `_S5_` declared by `NameOp`
//!    (optionally written `\_S5_` or `^_S5_`) and decodes the package that
//!    follows.
//!
//! # Policies
//! - **Linear scan.** `_S5` normally sits at the root or in `Scope (\)`, so
//!   the scan does not walk scopes; it looks for `NameOp [\ | ^…] "_S5_"`
//!   anywhere. A match that is not followed by a well-formed package (for
//!   example the same bytes inside a buffer) does not stop the scan: the first
//!   well-formed candidate wins. If none is, the error of the first candidate
//!   is returned, or [`DsdtError::NotFound`] if there was no candidate.
//! - **Packages.** `PackageOp` and `VarPackageOp` (with a constant count) are
//!   accepted. Elements must be constant integers (`Zero`, `One`, `Ones`, or
//!   Byte/Word/DWord/QWord data). As in ACPICA, a package with a single
//!   element carries `SLP_TYPa` in bits 7-0 and `SLP_TYPb` in bits 15-8; with
//!   two or more, the first two elements are used and the rest are not read.
//! - **Values.** `SLP_TYPx` is a 3-bit field (ACPI 6.4 §4.8.4.2.1, Table
//!   4.13 "PM1 Control Registers Fixed Hardware Feature Control Bits":
//!   PM1x_CNT bits 12:10; `SLP_EN` is bit 13). A value above 7 is refused with
//!   [`DsdtError::BadSleepType`] rather than masked, so a broken table makes
//!   the kernel fall back to another power-off path instead of requesting
//!   some other sleep state.
//!
//! No input makes this crate panic or loop: every read is bounds-checked and
//! the scan visits each offset once, with constant work per candidate.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod aml;
mod prt;

pub use prt::{pci_routes, PciRoute, RouteError, RoutingTable, MAX_PRT, MAX_RETURNS};

use aml::{declared, Reader};
use core::fmt;

/// Size of the System Description Table header (ACPI 6.4 §5.2.6).
pub const HEADER_LEN: usize = 36;

/// The name segment searched for (trailing `_` pads it to four characters,
/// §20.2.2 `NameSeg`).
const S5_NAME: &[u8; 4] = b"_S5_";

/// Largest `SLP_TYPx` value: the field is 3 bits wide (PM1x_CNT bits 12:10).
const SLP_TYP_MAX: u64 = 7;

/// The two sleep-type values for S5, each in `0..=7`.
///
/// To enter S5, write `(slp_typ_a << 10) | (1 << 13)` (SLP_TYPa, SLP_EN) to
/// PM1a_CNT and likewise `slp_typ_b` to PM1b_CNT if the FADT has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SleepType {
    /// Value for PM1a_CNT.SLP_TYP.
    pub slp_typ_a: u8,
    /// Value for PM1b_CNT.SLP_TYP.
    pub slp_typ_b: u8,
}

/// Why a table or its `\_S5` could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsdtError {
    /// Shorter than the 36-byte header, or a header length below 36.
    BadHeader,
    /// The signature is neither `DSDT` nor `SSDT`.
    BadSignature([u8; 4]),
    /// The bytes sum to this value mod 256 instead of 0.
    BadChecksum(u8),
    /// The header length or a package runs past the end of the slice.
    Truncated,
    /// No `NameOp` declaring `_S5_` in the AML.
    NotFound,
    /// `_S5_` is declared but not as a well-formed package of integers.
    BadPackage,
    /// A sleep-type value does not fit the 3-bit `SLP_TYP` field.
    BadSleepType(u64),
}

impl fmt::Display for DsdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHeader => f.write_str("table header too short"),
            Self::BadSignature(s) => write!(f, "signature {s:02x?} is not DSDT or SSDT"),
            Self::BadChecksum(sum) => write!(f, "checksum sums to {sum:#04x}, not 0"),
            Self::Truncated => f.write_str("table or package runs past the end"),
            Self::NotFound => f.write_str("no \\_S5 object"),
            Self::BadPackage => f.write_str("\\_S5 is not a package of integers"),
            Self::BadSleepType(v) => write!(f, "SLP_TYP value {v:#x} does not fit 3 bits"),
        }
    }
}

/// Checks a DSDT or SSDT and returns its AML (the bytes after the header, up
/// to the header's `Length`; bytes past `Length` are ignored).
///
/// Header layout (ACPI 6.4 §5.2.6): signature at 0..4, `Length`
/// (u32 LE, whole table including the header) at 4..8, and a `Checksum` byte
/// at 9 chosen so that all `Length` bytes sum to 0 mod 256. Signatures per
/// §5.2.11.1 (DSDT) and §5.2.11.2 (SSDT).
pub fn table_body(table: &[u8]) -> Result<&[u8], DsdtError> {
    let header = table.get(..HEADER_LEN).ok_or(DsdtError::BadHeader)?;
    let mut signature = [0u8; 4];
    signature.copy_from_slice(&header[..4]);
    if &signature != b"DSDT" && &signature != b"SSDT" {
        return Err(DsdtError::BadSignature(signature));
    }
    let mut length = [0u8; 4];
    length.copy_from_slice(&header[4..8]);
    let length = usize::try_from(u32::from_le_bytes(length)).map_err(|_| DsdtError::Truncated)?;
    if length < HEADER_LEN {
        return Err(DsdtError::BadHeader);
    }
    let whole = table.get(..length).ok_or(DsdtError::Truncated)?;
    let sum = whole.iter().fold(0u8, |acc, &b| acc.wrapping_add(b));
    if sum != 0 {
        return Err(DsdtError::BadChecksum(sum));
    }
    Ok(&whole[HEADER_LEN..])
}

/// Finds `\_S5` in AML (a [`table_body`]) and returns its sleep types.
///
/// See the crate documentation for what is accepted. Every error other than
/// [`DsdtError::NotFound`] describes the first `_S5_` declaration found.
pub fn find_s5(aml: &[u8]) -> Result<SleepType, DsdtError> {
    let mut first_err = None;
    for at in 0..aml.len().saturating_sub(S5_NAME.len() - 1) {
        if aml.get(at..at + S5_NAME.len()) != Some(S5_NAME.as_slice()) || !declared(aml, at) {
            continue;
        }
        match package(aml, at + S5_NAME.len()) {
            Ok(s5) => return Ok(s5),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(DsdtError::NotFound))
}

/// Decodes the `DataRefObject` at `at` as an `\_S5` package
/// (§20.2.5.4: `DefPackage := PackageOp PkgLength NumElements PackageElementList`,
/// `DefVarPackage := VarPackageOp PkgLength VarNumElements PackageElementList`).
fn package(aml: &[u8], at: usize) -> Result<SleepType, DsdtError> {
    let mut r = Reader::new(aml, at);
    let (_, count) = r.package()?;
    match count {
        0 => Err(DsdtError::BadPackage),
        1 => {
            let packed = r.integer()?;
            if packed > 0xFFFF {
                return Err(DsdtError::BadSleepType(packed));
            }
            Ok(SleepType {
                slp_typ_a: slp_typ(packed & 0xFF)?,
                slp_typ_b: slp_typ(packed >> 8)?,
            })
        }
        _ => {
            let a = r.integer()?;
            let b = r.integer()?;
            Ok(SleepType {
                slp_typ_a: slp_typ(a)?,
                slp_typ_b: slp_typ(b)?,
            })
        }
    }
}

/// Checks one value against the 3-bit field.
fn slp_typ(value: u64) -> Result<u8, DsdtError> {
    match u8::try_from(value) {
        Ok(v) if u64::from(v) <= SLP_TYP_MAX => Ok(v),
        _ => Err(DsdtError::BadSleepType(value)),
    }
}
