//! The nearest function symbol of a PE32+ file: COFF symbols, else exports.
//!
//! A backtrace names a frame by the symbol whose start is the closest at or
//! below its address. Two sources, best first:
//!
//! 1. The COFF symbol table (PE/COFF spec §4.4, §5.4), deprecated for
//!    images but written by `lld-link /DEBUG:SYMTAB`: `NumberOfSymbols`
//!    18-byte records at `PointerToSymbolTable`, each followed by its
//!    `NumberOfAuxSymbols` auxiliary records (skipped), the string table
//!    with the long names right after them. A function symbol is defined in
//!    an executable section (`SectionNumber` > 0, `IMAGE_SCN_MEM_EXECUTE`
//!    or `IMAGE_SCN_CNT_CODE`), has `Type` 0x20 (function) or the storage
//!    class `EXTERNAL` or `STATIC`, and is not a section definition (a
//!    `STATIC` non-function with auxiliary records); its RVA is the
//!    section's `VirtualAddress` plus its `Value`.
//! 2. The export table (§6.3): named exports that are not forwarders.
//!
//! Either way the symbol must lie in the same section as the address.
//! Nothing is allocated and no input panics: `object` bounds-checks every
//! read, and the arithmetic here is checked.

use object::pe;
use object::read::coff::Symbol as _;
use object::read::pe::{ExportTarget, ImageNtHeaders, PeFile64};
use object::LittleEndian as LE;

/// A symbol covering an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The name as stored (mangled, if the compiler mangled it).
    pub name: &'a str,
    /// How far the address lies past the symbol's start.
    pub offset: u32,
    /// Whether the name came from the export table (the file has no usable
    /// COFF symbol covering the address).
    pub from_exports: bool,
}

/// `IMAGE_SYM_DTYPE_FUNCTION << 4`: the `Type` of a function (§5.4.3).
const TYPE_FUNCTION: u16 = 0x20;

/// The function symbol (name, offset from its start) that covers `rva` in a
/// PE32+ file's bytes: from the COFF symbol table if the file has one and a
/// function symbol there starts at or below `rva` in the section holding
/// `rva`, else the nearest named export at or below `rva` within that
/// section. `None` if neither, or if `file` is not a PE32+ file or `rva`
/// lies in no section.
///
/// Of several symbols at one address, an `EXTERNAL` one is preferred, then
/// the first in the table.
pub fn nearest_symbol(file: &[u8], rva: u32) -> Option<Symbol<'_>> {
    let pe = PeFile64::parse(file).ok()?;
    let sections = pe.section_table();
    let (index, section) = sections
        .iter()
        .enumerate()
        .find(|(_, s)| section_contains(s, rva))?;
    let section_number = index.checked_add(1)?;
    coff_symbol(&pe, file, section_number, section, rva)
        .or_else(|| export_symbol(&pe, section, rva))
}

/// Whether `rva` lies in `section`'s memory (`VirtualSize`, or the raw size
/// when a linker left `VirtualSize` zero).
fn section_contains(section: &pe::ImageSectionHeader, rva: u32) -> bool {
    let start = section.virtual_address.get(LE);
    let size = match section.virtual_size.get(LE) {
        0 => section.size_of_raw_data.get(LE),
        size => size,
    };
    rva >= start && u64::from(rva) < u64::from(start) + u64::from(size)
}

fn is_executable(section: &pe::ImageSectionHeader) -> bool {
    let flags = section.characteristics.get(LE);
    flags.0 & (pe::IMAGE_SCN_MEM_EXECUTE.0 | pe::IMAGE_SCN_CNT_CODE.0) != 0
}

/// The best candidate so far: (start RVA, is external, name).
type Best<'a> = Option<(u32, bool, &'a str)>;

/// Keeps the candidate closest below `rva`; on equal starts an external
/// one replaces a static one, otherwise the earlier stays.
fn consider<'a>(best: &mut Best<'a>, start: u32, external: bool, name: &'a str) {
    let better = match *best {
        None => true,
        Some((s, e, _)) => start > s || (start == s && external && !e),
    };
    if better {
        *best = Some((start, external, name));
    }
}

fn coff_symbol<'a>(
    pe: &PeFile64<'a>,
    file: &'a [u8],
    section_number: usize,
    section: &pe::ImageSectionHeader,
    rva: u32,
) -> Option<Symbol<'a>> {
    if !is_executable(section) {
        return None;
    }
    let table = pe.nt_headers().symbols(file).ok()?;
    let strings = table.strings();
    let section_start = section.virtual_address.get(LE);
    let mut best = None;
    // The iterator steps over each record's auxiliary records.
    for (_, symbol) in table.iter() {
        if symbol.section_number().index() != u32::try_from(section_number).ok() {
            continue;
        }
        let class = symbol.storage_class();
        let function = symbol.typ() == pe::SymbolType(TYPE_FUNCTION);
        let external = class == pe::IMAGE_SYM_CLASS_EXTERNAL;
        let is_static = class == pe::IMAGE_SYM_CLASS_STATIC;
        if !(function || external || is_static) {
            continue;
        }
        if is_static && !function && symbol.number_of_aux_symbols() > 0 {
            continue; // a section definition such as `.text`
        }
        let Some(start) = section_start.checked_add(symbol.value()) else {
            continue;
        };
        if start > rva || !section_contains(section, start) {
            continue;
        }
        let Some(name) = symbol
            .name(strings)
            .ok()
            .and_then(|n| core::str::from_utf8(n).ok())
        else {
            continue;
        };
        consider(&mut best, start, external, name);
    }
    let (start, _, name) = best?;
    Some(Symbol {
        name,
        offset: rva - start,
        from_exports: false,
    })
}

fn export_symbol<'a>(
    pe: &PeFile64<'a>,
    section: &pe::ImageSectionHeader,
    rva: u32,
) -> Option<Symbol<'a>> {
    let table = pe.export_table().ok()??;
    let mut best = None;
    for (pointer, index) in table.name_iter() {
        let Ok(ExportTarget::Address(start)) = table.target_by_index(index) else {
            continue;
        };
        if start > rva || !section_contains(section, start) {
            continue;
        }
        let Some(name) = table
            .name_from_pointer(pointer)
            .ok()
            .and_then(|n| core::str::from_utf8(n).ok())
        else {
            continue;
        };
        consider(&mut best, start, true, name);
    }
    let (start, _, name) = best?;
    Some(Symbol {
        name,
        offset: rva - start,
        from_exports: true,
    })
}
