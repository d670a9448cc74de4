//! `PeError`: every way a PE image can be refused, with where and why.

mod message;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A data directory of the optional header (PE/COFF spec §3.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directory {
    /// Entry 0, the export table (`.edata`).
    Export,
    /// Entry 1, the import table (`.idata`).
    Import,
    /// Entry 5, the base relocation table (`.reloc`).
    BaseReloc,
    /// Entry 9, the thread local storage table (`.tls`).
    Tls,
    /// Entry 13, the delay-load import descriptors.
    DelayImport,
}

impl fmt::Display for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Directory::Export => "export directory",
            Directory::Import => "import directory",
            Directory::BaseReloc => "base relocation directory",
            Directory::Tls => "TLS directory",
            Directory::DelayImport => "delay-load import directory",
        })
    }
}

/// Why an image was refused. `Display` names the offending offset, RVA or
/// name, so a serial log line is enough to find the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeError {
    /// A header structure does not fit in the file.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// File offset of the structure.
        offset: u64,
        /// Bytes the structure needs.
        size: u64,
        /// Length of the file.
        file_len: u64,
    },
    /// The file does not start with `MZ`.
    BadDosSignature(u16),
    /// `e_lfanew` does not point at `PE\0\0`.
    BadPeSignature {
        /// File offset taken from `e_lfanew`.
        offset: u32,
        /// The four bytes found there.
        found: u32,
    },
    /// The COFF machine is not AMD64.
    WrongMachine(u16),
    /// `IMAGE_FILE_EXECUTABLE_IMAGE` is clear: an object file, not an image.
    NotAnImage {
        /// The COFF characteristics.
        characteristics: u16,
    },
    /// The optional header magic is not PE32+ (0x20b).
    BadOptionalMagic(u16),
    /// `SizeOfOptionalHeader` is too small for the PE32+ fields and the
    /// data directories it claims.
    OptionalHeaderTooSmall {
        /// `SizeOfOptionalHeader`.
        size: u16,
        /// Bytes required.
        needed: u64,
    },
    /// More sections than the Windows loader accepts.
    TooManySections {
        /// `NumberOfSections`.
        count: u16,
    },
    /// `SectionAlignment` is zero or not a multiple of 4096, so sections
    /// cannot be given their own page protections.
    BadSectionAlignment(u32),
    /// `FileAlignment` is not a power of two in 512..=64K, or exceeds
    /// `SectionAlignment`.
    BadFileAlignment {
        /// `FileAlignment`.
        file_alignment: u32,
        /// `SectionAlignment`.
        section_alignment: u32,
    },
    /// `SizeOfHeaders` is smaller than the headers, larger than the file, or
    /// reaches into the first section.
    BadSizeOfHeaders {
        /// `SizeOfHeaders`.
        size_of_headers: u32,
        /// Smallest acceptable value (end of the section table).
        min: u64,
        /// Largest acceptable value (file length, first section RVA).
        max: u64,
    },
    /// `SizeOfImage` is not a multiple of `SectionAlignment`.
    SizeOfImageUnaligned {
        /// `SizeOfImage`.
        size_of_image: u32,
        /// `SectionAlignment`.
        section_alignment: u32,
    },
    /// `SizeOfImage` is above [`crate::MAX_IMAGE_SIZE`].
    ImageTooLarge(u32),
    /// A section's RVA is not a multiple of `SectionAlignment`.
    SectionMisaligned {
        /// Section name.
        section: String,
        /// Its RVA.
        rva: u32,
    },
    /// A section's raw data lies (partly) outside the file.
    SectionOutsideFile {
        /// Section name.
        section: String,
        /// `PointerToRawData`.
        offset: u32,
        /// `SizeOfRawData`.
        size: u32,
        /// Length of the file.
        file_len: u64,
    },
    /// A section ends past `SizeOfImage`.
    SectionOutsideImage {
        /// Section name.
        section: String,
        /// RVA one past its last byte.
        end: u64,
        /// `SizeOfImage`.
        size_of_image: u32,
    },
    /// Two sections overlap or are not in ascending RVA order.
    SectionsOverlap {
        /// The earlier section in the table.
        first: String,
        /// RVA one past the earlier section's last byte.
        first_end: u64,
        /// The later section in the table.
        second: String,
        /// The later section's RVA.
        second_rva: u32,
    },
    /// A section is both writable and executable (W^X).
    WritableAndExecutable {
        /// Section name.
        section: String,
    },
    /// An EXE with `AddressOfEntryPoint` 0.
    NoEntryPoint,
    /// The entry point is not inside an executable section.
    EntryNotExecutable {
        /// `AddressOfEntryPoint`.
        rva: u32,
    },
    /// A data directory reaches past `SizeOfImage`.
    DirectoryOutsideImage {
        /// Which directory.
        directory: Directory,
        /// Its RVA.
        rva: u32,
        /// Its size.
        size: u32,
    },
    /// A data directory is not inside one section's data in the file.
    DirectoryNotInFile {
        /// Which directory.
        directory: Directory,
        /// Its RVA.
        rva: u32,
        /// Bytes needed from there.
        size: u64,
    },
    /// Delay-load imports are not supported.
    DelayLoadUnsupported,
    /// The import table is malformed.
    BadImportTable {
        /// RVA of the descriptor, thunk or name being read.
        rva: u32,
        /// The parser's reason.
        cause: object::read::Error,
    },
    /// An import's IAT slot lies outside the image.
    IatOutsideImage {
        /// The imported DLL.
        dll: String,
        /// RVA of the slot.
        rva: u64,
    },
    /// The export table is malformed.
    BadExportTable {
        /// RVA of the export directory.
        rva: u32,
        /// The parser's reason.
        cause: object::read::Error,
    },
    /// An export points outside the image.
    ExportOutsideImage {
        /// Its ordinal.
        ordinal: u16,
        /// Its RVA.
        rva: u32,
    },
    /// A DLL or symbol name is not readable UTF-8 inside a section.
    BadName {
        /// What the name is.
        what: &'static str,
        /// Its RVA.
        rva: u32,
    },
    /// A DLL, symbol or forwarder name is longer than its limit
    /// ([`crate::MAX_DLL_NAME`], [`crate::MAX_SYMBOL_NAME`],
    /// [`crate::MAX_FORWARDER`]).
    NameTooLong {
        /// What the name is.
        what: &'static str,
        /// Its RVA.
        rva: u32,
        /// The limit in bytes.
        limit: usize,
    },
    /// The import and export names of one image add up to more than its
    /// file length plus [`crate::NAME_BUDGET_SLACK`]: entries share names.
    NamesTooLarge {
        /// The budget in bytes.
        limit: usize,
    },
    /// More imported symbols than [`crate::MAX_IMPORTS`], or than the
    /// file has 8-byte lookup entries for (descriptors share a table).
    TooManyImports {
        /// The limit for this file.
        limit: usize,
    },
    /// A base relocation block header or its entries run past the
    /// directory.
    RelocBlockTruncated {
        /// Offset of the block inside the directory.
        offset: u32,
        /// Bytes the block needs (header, or `SizeOfBlock`).
        needed: u64,
        /// Bytes left in the directory.
        remaining: u64,
    },
    /// `SizeOfBlock` is smaller than the block header or not a multiple of
    /// four (PE/COFF spec §6.6.1: blocks start on 32-bit boundaries).
    RelocBlockBadSize {
        /// Offset of the block inside the directory.
        offset: u32,
        /// `SizeOfBlock`.
        size: u32,
    },
    /// A relocation block's page lies outside the image.
    RelocBlockOutsideImage {
        /// Offset of the block inside the directory.
        offset: u32,
        /// The block's page RVA.
        page_rva: u32,
    },
    /// A relocation's target bytes lie outside the image.
    RelocOutsideImage {
        /// RVA of the relocation site.
        rva: u32,
        /// `SizeOfImage`.
        size_of_image: u32,
    },
    /// Two relocations patch overlapping bytes.
    RelocOverlap {
        /// The lower site.
        first: u32,
        /// The site starting inside the lower one's eight bytes.
        second: u32,
    },
    /// A relocation type other than DIR64 or ABSOLUTE.
    UnsupportedRelocation {
        /// RVA of the relocation site.
        rva: u32,
        /// The 4-bit type (PE/COFF spec §6.6.2).
        kind: u16,
    },
    /// The image must be relocated but its relocations were stripped.
    NotRelocatable {
        /// `ImageBase`.
        preferred: u64,
        /// Base the kernel chose.
        base: u64,
    },
    /// The memory image could not be allocated.
    OutOfMemory {
        /// Bytes requested.
        bytes: u32,
    },
    /// [`crate::PeFile::load`] was given a different file than [`crate::parse`].
    FileMismatch {
        /// Length seen by `parse`.
        parsed_len: u64,
        /// Length given to `load`.
        given_len: u64,
    },
    /// The load base is not page aligned or the image would wrap around.
    BadBase {
        /// Base the kernel chose.
        base: u64,
        /// `SizeOfImage`.
        size: u32,
    },
    /// The TLS directory names callbacks, which the loader does not run.
    TlsCallbacksUnsupported {
        /// `AddressOfCallBacks`.
        callbacks_va: u64,
    },
    /// A TLS directory address is outside the image.
    BadTls {
        /// The offending virtual address.
        va: u64,
    },
    /// A DLL that is imported is not among the files.
    MissingDll(String),
    /// An imported symbol is not exported by its DLL.
    MissingExport {
        /// The DLL searched.
        dll: String,
        /// Name, or `#ordinal`.
        symbol: String,
    },
    /// An imported symbol is forwarded to another DLL (not supported).
    ForwardedExport {
        /// The DLL searched.
        dll: String,
        /// Name, or `#ordinal`.
        symbol: String,
        /// The forwarder string, e.g. `other.Name`.
        forwarder: String,
    },
    /// DLLs import from each other; the chain starts and ends with the
    /// same name.
    ImportCycle(Vec<String>),
    /// The program file is not among the files.
    ExeNotFound(String),
    /// The program file is a DLL.
    NotAnExe(String),
    /// An imported file is an EXE, not a DLL.
    NotADll(String),
    /// The process imports more modules than [`crate::MAX_MODULES`].
    TooManyModules,
    /// The kernel placed two images on overlapping ranges.
    ImagesOverlap {
        /// First module name.
        first: String,
        /// Second module name.
        second: String,
    },
}

impl core::error::Error for PeError {}
