//! Function names and source lines for code addresses, from an ELF file.
//!
//! [`Symbols`] reads an ELF image's DWARF (`.debug_info`, `.debug_line`,
//! `.debug_aranges`, …) through `gimli` and answers, for one address at a
//! time, the chain of functions that contains it, innermost first: the
//! inlined functions (DWARF 5 §3.3.8, `DW_TAG_inlined_subroutine`) and the
//! function they were inlined into, each with its `file:line`. Only the
//! compilation unit that holds the address is parsed, so a lookup needs a
//! few hundred KiB of heap at most and the rest of the debug data is never
//! touched; the kernel runs lookups in a pre-allocated arena during a
//! bugcheck. Without DWARF for an address, the ELF symbol table names the
//! function; without either, the caller prints the raw address.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;
use gimli::{AttributeValue, EndianSlice, LittleEndian, Section, Unit};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// Why a lookup found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolError {
    /// The bytes are not a 64-bit little-endian ELF file.
    NotElf,
    /// Neither the DWARF nor the symbol table covers the address.
    NotFound,
    /// The DWARF for the address is malformed.
    Malformed,
}

impl From<gimli::Error> for SymbolError {
    fn from(_: gimli::Error) -> Self {
        SymbolError::Malformed
    }
}

/// A source position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location<'a> {
    /// The file's directory as the line table names it (relative to the
    /// compilation directory, or absolute), without the compilation
    /// directory itself.
    pub directory: &'a str,
    /// The file's name (it may contain directories of its own).
    pub file: &'a str,
    /// The line, 1-based; 0 where the compiler gave none.
    pub line: u32,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.directory.is_empty() || self.file.starts_with('/') {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            write!(f, "{}/{}:{}", self.directory, self.file, self.line)
        }
    }
}

/// One function of the chain at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The function's linkage (mangled) name, or its plain name where it
    /// has none; print it with [`demangled`].
    pub function: Option<&'a str>,
    /// Where in the source the address lies (for the innermost frame) or
    /// where the inner function was inlined (for the others).
    pub location: Option<Location<'a>>,
    /// Whether this function was inlined into the next frame.
    pub inlined: bool,
    /// For a frame named by the symbol table alone: the address's offset
    /// from the symbol.
    pub offset: Option<u64>,
}

/// A Rust (legacy or v0) or plain symbol name, demangled without its hash.
pub struct Demangled<'a>(pub &'a str);

impl fmt::Display for Demangled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", rustc_demangle::demangle(self.0))
    }
}

/// Shorthand for [`Demangled`].
pub fn demangled(name: &str) -> Demangled<'_> {
    Demangled(name)
}

/// An ELF image's symbols and debug data.
pub struct Symbols<'a> {
    elf: object::read::elf::ElfFile64<'a, object::LittleEndian>,
    dwarf: gimli::Dwarf<Slice<'a>>,
}

/// A function being considered in a unit's tree of entries.
struct Scope<'a> {
    depth: isize,
    name: Option<&'a str>,
    call_file: u64,
    call_line: u32,
}

impl<'a> Symbols<'a> {
    /// Reads `file`'s section table. Parses no DWARF and allocates nothing.
    pub fn new(file: &'a [u8]) -> Result<Self, SymbolError> {
        let elf = object::read::elf::ElfFile64::<object::LittleEndian>::parse(file)
            .map_err(|_| SymbolError::NotElf)?;
        let dwarf = gimli::Dwarf::load(|id| -> Result<Slice<'a>, SymbolError> {
            let data = elf
                .section_by_name(id.name())
                .and_then(|s| s.data().ok())
                .unwrap_or(&[]);
            Ok(EndianSlice::new(data, LittleEndian))
        })?;
        Ok(Self { elf, dwarf })
    }

    /// A section's bytes and link address, if the file has it.
    pub fn section(&self, name: &str) -> Option<(&'a [u8], u64)> {
        let section = self.elf.section_by_name(name)?;
        Some((section.data().ok()?, section.address()))
    }

    /// Whether the file carries line tables.
    pub fn has_dwarf(&self) -> bool {
        !self.dwarf.debug_line.reader().is_empty()
    }

    /// Calls `each` with the functions at `address` (a link address),
    /// innermost first, and returns how many there were. From DWARF where
    /// it covers the address, else one frame named by the symbol table.
    pub fn frames(
        &self,
        address: u64,
        mut each: impl FnMut(Frame<'a>),
    ) -> Result<usize, SymbolError> {
        let error = match self.dwarf_frames(address, &mut each) {
            Ok(n) if n > 0 => return Ok(n),
            Ok(_) => SymbolError::NotFound,
            // Malformed DWARF: the symbol table may still name it.
            Err(e) => e,
        };
        let (name, offset) = self.symbol(address).ok_or(error)?;
        each(Frame {
            function: Some(name),
            location: None,
            inlined: false,
            offset: Some(offset),
        });
        Ok(1)
    }

    /// The function symbol of the ELF symbol table that covers `address`,
    /// and the offset into it.
    pub fn symbol(&self, address: u64) -> Option<(&'a str, u64)> {
        // The nearest function at or below the address that either covers
        // it or has no size (assembly labels), whose name can be read.
        self.elf
            .symbols()
            // Assembly labels without `.type` are of unknown kind.
            .filter(|s| matches!(s.kind(), SymbolKind::Text | SymbolKind::Unknown))
            .filter(|s| s.is_definition() && s.address() <= address)
            .filter(|s| s.size() == 0 || address - s.address() < s.size())
            .filter(|s| s.name().is_ok_and(|n| !n.is_empty()))
            .max_by_key(|s| s.address())
            .and_then(|s| Some((s.name().ok()?, address - s.address())))
    }

    /// The unit whose code holds `address`: from `.debug_aranges` where
    /// the file has it, else from each unit's own ranges.
    fn unit_for(&self, address: u64) -> Result<Unit<Slice<'a>>, SymbolError> {
        let mut headers = self.dwarf.debug_aranges.headers();
        while let Some(header) = headers.next()? {
            let mut entries = header.entries();
            while let Some(range) = entries.next()? {
                let start = range.address();
                if address >= start && address - start < range.length() {
                    let unit = self
                        .dwarf
                        .debug_info
                        .header_from_offset(header.debug_info_offset())?;
                    return Ok(self.dwarf.unit(unit)?);
                }
            }
        }
        // Without `.debug_aranges` only the units themselves can tell;
        // with it, a miss is final (walking every unit would parse every
        // unit's abbreviations, which a bugcheck's arena cannot hold).
        if !self.dwarf.debug_aranges.reader().is_empty() {
            return Err(SymbolError::NotFound);
        }
        let mut units = self.dwarf.units();
        while let Some(header) = units.next()? {
            let unit = self.dwarf.unit(header)?;
            let mut ranges = self.dwarf.unit_ranges(&unit)?;
            while let Some(range) = ranges.next()? {
                if (range.begin..range.end).contains(&address) {
                    return Ok(unit);
                }
            }
        }
        Err(SymbolError::NotFound)
    }

    fn dwarf_frames(
        &self,
        address: u64,
        each: &mut impl FnMut(Frame<'a>),
    ) -> Result<usize, SymbolError> {
        if !self.has_dwarf() {
            return Err(SymbolError::NotFound);
        }
        let unit = self.unit_for(address)?;
        let chain = self.scopes(&unit, address)?;
        let line = self.line_at(&unit, address)?;
        for i in (0..chain.len()).rev() {
            // The innermost function is where the line table says; each
            // outer one is where the function inside it was inlined.
            let location = match chain.get(i + 1) {
                None => line,
                Some(inner) => self.file_location(&unit, inner.call_file, inner.call_line),
            };
            each(Frame {
                function: chain[i].name,
                location,
                inlined: i > 0,
                offset: None,
            });
        }
        Ok(chain.len())
    }

    /// The functions (subprogram and inlined entries) whose ranges hold
    /// `address`, outermost first.
    fn scopes(&self, unit: &Unit<Slice<'a>>, address: u64) -> Result<Vec<Scope<'a>>, SymbolError> {
        let mut chain: Vec<Scope<'a>> = Vec::new();
        let mut cursor = unit.entries();
        while let Some(entry) = cursor.next_dfs()? {
            let depth = entry.depth();
            if chain.last().is_some_and(|last| depth <= last.depth) {
                break;
            }
            if !matches!(
                entry.tag(),
                gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine
            ) {
                continue;
            }
            let mut ranges = self.dwarf.die_ranges(unit, entry)?;
            let mut inside = false;
            while let Some(range) = ranges.next()? {
                if (range.begin..range.end).contains(&address) {
                    inside = true;
                    break;
                }
            }
            if inside {
                let number = |name| match entry.attr_value(name) {
                    Some(AttributeValue::FileIndex(index)) => index,
                    Some(value) => value.udata_value().unwrap_or(0),
                    None => 0,
                };
                chain.push(Scope {
                    depth,
                    name: self.name_of(unit, entry, 4),
                    call_file: number(gimli::DW_AT_call_file),
                    call_line: u32::try_from(number(gimli::DW_AT_call_line)).unwrap_or(0),
                });
            }
        }
        Ok(chain)
    }

    /// An entry's linkage name, else its origin's or specification's (to
    /// `hops` references deep), else its plain name.
    fn name_of(
        &self,
        unit: &Unit<Slice<'a>>,
        entry: &gimli::DebuggingInformationEntry<Slice<'a>>,
        hops: u32,
    ) -> Option<&'a str> {
        let string = |value| self.dwarf.attr_string(unit, value).ok()?.to_string().ok();
        for name in [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name] {
            if let Some(s) = entry.attr_value(name).and_then(string) {
                return Some(s);
            }
        }
        if hops > 0 {
            for link in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
                let found = match entry.attr_value(link) {
                    Some(AttributeValue::UnitRef(offset)) => unit
                        .entry(offset)
                        .ok()
                        .and_then(|e| self.name_of(unit, &e, hops - 1)),
                    // A function inlined from another unit (another
                    // codegen unit or crate) names its origin there.
                    Some(AttributeValue::DebugInfoRef(offset)) => {
                        self.name_in_other_unit(offset, hops - 1)
                    }
                    _ => None,
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        entry.attr_value(gimli::DW_AT_name).and_then(string)
    }

    /// The name of the entry at `.debug_info` offset `offset`, in
    /// whichever unit holds it.
    fn name_in_other_unit(
        &self,
        offset: gimli::DebugInfoOffset<usize>,
        hops: u32,
    ) -> Option<&'a str> {
        let mut headers = self.dwarf.units();
        while let Ok(Some(header)) = headers.next() {
            let start = header.debug_info_offset()?;
            let inside = offset.0 >= start.0 && offset.0 - start.0 < header.length_including_self();
            if !inside {
                continue;
            }
            let within = offset.to_unit_offset(&header)?;
            let unit = self.dwarf.unit(header).ok()?;
            let entry = unit.entry(within).ok()?;
            return self.name_of(&unit, &entry, hops);
        }
        None
    }

    /// The line-table row that holds `address`.
    fn line_at(
        &self,
        unit: &Unit<Slice<'a>>,
        address: u64,
    ) -> Result<Option<Location<'a>>, SymbolError> {
        let Some(program) = unit.line_program.clone() else {
            return Ok(None);
        };
        let mut rows = program.rows();
        let mut previous: Option<(u64, u64, u32)> = None;
        let mut found = None;
        while let Some((_, row)) = rows.next_row()? {
            if let Some(p) = previous {
                if p.0 <= address && address < row.address() {
                    found = Some(p);
                    break;
                }
            }
            previous = (!row.end_sequence()).then(|| {
                let line = row
                    .line()
                    .map_or(0, |l| u32::try_from(l.get()).unwrap_or(0));
                (row.address(), row.file_index(), line)
            });
        }
        Ok(found.and_then(|(_, file, line)| self.file_location(unit, file, line)))
    }

    /// File `index` of the unit's line-table header, at `line`.
    fn file_location(&self, unit: &Unit<Slice<'a>>, index: u64, line: u32) -> Option<Location<'a>> {
        let header = unit.line_program.as_ref()?.header();
        let file = header.file(index)?;
        let string = |value| self.dwarf.attr_string(unit, value).ok()?.to_string().ok();
        let name = string(file.path_name())?;
        let mut directory = file.directory(header).and_then(string).unwrap_or("");
        if let Some(comp_dir) = unit.comp_dir.and_then(|d| d.to_string().ok()) {
            if directory == comp_dir {
                directory = "";
            } else if let Some(rest) = directory
                .strip_prefix(comp_dir)
                .and_then(|r| r.strip_prefix('/'))
            {
                directory = rest;
            }
        }
        Some(Location {
            directory,
            file: name,
            line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn demangles_both_manglings_without_the_hash() {
        let legacy = "_ZN4core9panicking9panic_fmt17h0123456789abcdefE";
        assert_eq!(demangled(legacy).to_string(), "core::panicking::panic_fmt");
        let v0 = "_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind";
        assert_eq!(demangled(v0).to_string(), "__rustc::rust_begin_unwind");
        assert_eq!(demangled("memcpy").to_string(), "memcpy");
    }

    #[test]
    fn a_location_leaves_out_an_empty_directory() {
        let l = Location {
            directory: "kernel/src",
            file: "panic.rs",
            line: 7,
        };
        assert_eq!(l.to_string(), "kernel/src/panic.rs:7");
        let l = Location {
            directory: "",
            file: "panic.rs",
            line: 7,
        };
        assert_eq!(l.to_string(), "panic.rs:7");
    }

    #[test]
    fn not_an_elf_file_is_an_error() {
        assert!(matches!(Symbols::new(b"MZ\0\0"), Err(SymbolError::NotElf)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// A real ELF file (this test binary) with random bytes written
        /// over part of it: lookups end with an answer or an error.
        #[test]
        fn a_damaged_file_never_panics(
            at in 0usize..1 << 22,
            junk in proptest::collection::vec(any::<u8>(), 1..256),
            address in any::<u64>(),
        ) {
            let mut file = self_image();
            let at = at % file.len();
            let end = (at + junk.len()).min(file.len());
            file[at..end].copy_from_slice(&junk[..end - at]);
            if let Ok(symbols) = Symbols::new(&file) {
                let _ = symbols.frames(address, |_| {});
            }
        }
    }

    fn self_image() -> Vec<u8> {
        use std::sync::OnceLock;
        static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
        IMAGE
            .get_or_init(|| std::fs::read(std::env::current_exe().unwrap()).unwrap())
            .clone()
    }
}
