//! Base address registers: decoding and sizing (PCI 3.0 §6.2.5.1).

use alloc::vec::Vec;

use crate::header::BAR0;
use crate::{Bdf, ConfigSpace, Problem};

/// Bit 0: the BAR maps I/O space (1) or memory space (0).
const IS_IO: u32 = 1 << 0;
/// Memory BAR bits 2:1: where the BAR can be placed.
const MEMORY_TYPE: u32 = 0b11 << 1;
/// Memory type 00b: 32-bit address.
const TYPE_32: u32 = 0b00 << 1;
/// Memory type 10b: 64-bit address, the next BAR holds bits 63:32.
const TYPE_64: u32 = 0b10 << 1;
/// Memory BAR bit 3: prefetchable.
const PREFETCHABLE: u32 = 1 << 3;
/// Memory BAR bits 3:0 are information, not address.
const MEMORY_INFO: u64 = 0xF;
/// I/O BAR bits 1:0 are information (bit 1 reserved), not address.
const IO_INFO: u64 = 0x3;

/// What a BAR maps.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum BarKind {
    /// I/O ports.
    Io,
    /// Memory below 4 GiB (memory type 00b).
    Memory32,
    /// Memory anywhere in 64-bit space (memory type 10b); spans two BAR slots.
    Memory64,
}

/// A sized base address register.
///
/// `size` is a power of two of at least 16 (memory) or 4 (I/O), and `base`
/// is a multiple of it; `base + size` is at most 2^64.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Bar {
    /// BAR slot (0..6; for a 64-bit BAR the lower of its two slots).
    pub index: u8,
    /// What the BAR maps.
    pub kind: BarKind,
    /// Address assigned by firmware (I/O port number for [`BarKind::Io`]).
    pub base: u64,
    /// Bytes (or ports) decoded.
    pub size: u64,
    /// Memory BARs: reads have no side effects (bit 3). Always false for I/O.
    pub prefetchable: bool,
}

impl Bar {
    /// Whether the BAR maps memory (either width).
    pub fn is_memory(&self) -> bool {
        self.kind != BarKind::Io
    }

    /// Whether `len` bytes at `offset` from `base` lie inside the BAR.
    pub fn contains(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.size)
    }
}

/// Sizes the `count` BARs of `at`, appending what they decode to `bars` and
/// what was refused to `problems`. Decode must already be off.
pub(crate) fn size_bars<C: ConfigSpace>(
    cs: &mut C,
    at: Bdf,
    count: u8,
    bars: &mut Vec<Bar>,
    problems: &mut Vec<Problem>,
) {
    let mut index = 0;
    while index < count {
        let offset = BAR0 + 4 * u16::from(index);
        let original = cs.read32(at, offset);
        let mut width = 1;
        let sized = if original & IS_IO != 0 {
            let readback = probe(cs, at, offset, original);
            // Devices that decode only 16-bit ports may hardwire bits 31:16
            // to zero (PCI 3.0 §6.2.5.1).
            let span = if readback >> 16 == 0 {
                0xFFFF
            } else {
                0xFFFF_FFFF
            };
            decode(
                index,
                BarKind::Io,
                original.into(),
                readback.into(),
                IO_INFO,
                span,
            )
        } else {
            match original & MEMORY_TYPE {
                TYPE_32 => {
                    let readback = probe(cs, at, offset, original);
                    decode(
                        index,
                        BarKind::Memory32,
                        original.into(),
                        readback.into(),
                        MEMORY_INFO,
                        0xFFFF_FFFF,
                    )
                }
                TYPE_64 if index + 1 >= count => Err(Problem::Bar64InLastSlot { index }),
                TYPE_64 => {
                    width = 2;
                    let high = offset + 4;
                    let original_high = cs.read32(at, high);
                    let readback = probe(cs, at, offset, original);
                    let readback_high = probe(cs, at, high, original_high);
                    let original = u64::from(original_high) << 32 | u64::from(original);
                    // A 64-bit BAR whose upper half reads back zero can only
                    // be placed below 4 GiB: size it within 32 bits.
                    let span = if readback_high == 0 {
                        0xFFFF_FFFF
                    } else {
                        u64::MAX
                    };
                    let readback = u64::from(readback_high) << 32 | u64::from(readback);
                    decode(
                        index,
                        BarKind::Memory64,
                        original,
                        readback,
                        MEMORY_INFO,
                        span,
                    )
                }
                _ => Err(Problem::BarType {
                    index,
                    raw: original,
                }),
            }
        };
        match sized {
            Ok(Some(bar)) => bars.push(bar),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
        index += width;
    }
}

/// Writes all-ones to the BAR at `offset`, reads what sticks, and puts
/// `original` back.
fn probe<C: ConfigSpace>(cs: &mut C, at: Bdf, offset: u16, original: u32) -> u32 {
    cs.write32(at, offset, u32::MAX);
    let readback = cs.read32(at, offset);
    cs.write32(at, offset, original);
    readback
}

/// Turns a BAR's original value and its all-ones readback into a [`Bar`].
/// The address bits of the readback (below `span`) must be ones down to the
/// size and zeros below it; a readback of zero means the BAR is not
/// implemented (`Ok(None)`).
fn decode(
    index: u8,
    kind: BarKind,
    original: u64,
    readback: u64,
    info: u64,
    span: u64,
) -> Result<Option<Bar>, Problem> {
    let mask = readback & !info & span;
    if mask == 0 {
        return Ok(None);
    }
    let size = mask & mask.wrapping_neg();
    if mask != span & !(size - 1) {
        return Err(Problem::BarSize { index, readback });
    }
    let prefetchable = kind != BarKind::Io && original & u64::from(PREFETCHABLE) != 0;
    Ok(Some(Bar {
        index,
        kind,
        base: original & mask,
        size,
        prefetchable,
    }))
}
