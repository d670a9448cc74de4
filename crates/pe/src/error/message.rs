//! `Display` for `PeError`: one line naming the offset, RVA or name.

use core::fmt;

use super::PeError;

impl fmt::Display for PeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PeError::*;
        match self {
            Truncated { what, offset, size, file_len } => write!(
                f,
                "truncated: {what} at file offset {offset:#x} needs {size} bytes, file has {file_len}"
            ),
            BadDosSignature(found) => {
                write!(f, "no MZ signature at offset 0 (found {found:#06x})")
            }
            BadPeSignature { offset, found } => write!(
                f,
                "no PE\\0\\0 signature at e_lfanew {offset:#x} (found {found:#010x})"
            ),
            WrongMachine(m) => write!(f, "COFF machine {m:#06x} is not AMD64 (0x8664)"),
            NotAnImage { characteristics } => write!(
                f,
                "not an executable image (COFF characteristics {characteristics:#06x})"
            ),
            BadOptionalMagic(m) => {
                write!(f, "optional header magic {m:#06x} is not PE32+ (0x20b)")
            }
            OptionalHeaderTooSmall { size, needed } => write!(
                f,
                "SizeOfOptionalHeader {size} is smaller than the {needed} bytes it must hold"
            ),
            TooManySections { count } => {
                write!(f, "{count} sections; at most {} are allowed", crate::MAX_SECTIONS)
            }
            BadSectionAlignment(a) => write!(
                f,
                "SectionAlignment {a:#x} is not a non-zero multiple of 4096 \
                 (needed for per-section page protections)"
            ),
            BadFileAlignment { file_alignment, section_alignment } => write!(
                f,
                "FileAlignment {file_alignment:#x} is not a power of two in 0x200..=0x10000 \
                 no larger than SectionAlignment {section_alignment:#x}"
            ),
            BadSizeOfHeaders { size_of_headers, min, max } => write!(
                f,
                "SizeOfHeaders {size_of_headers:#x} outside {min:#x}..={max:#x} \
                 (end of section table ..= min(file length, first section RVA))"
            ),
            SizeOfImageUnaligned { size_of_image, section_alignment } => write!(
                f,
                "SizeOfImage {size_of_image:#x} is not a multiple of SectionAlignment \
                 {section_alignment:#x}"
            ),
            ImageTooLarge(size) => write!(
                f,
                "SizeOfImage {size:#x} is above the limit {:#x}",
                crate::MAX_IMAGE_SIZE
            ),
            SectionMisaligned { section, rva } => write!(
                f,
                "section {section:?} at RVA {rva:#x} is not aligned to SectionAlignment"
            ),
            SectionOutsideFile { section, offset, size, file_len } => write!(
                f,
                "section {section:?} raw data {offset:#x}+{size:#x} is outside the file \
                 ({file_len:#x} bytes)"
            ),
            SectionOutsideImage { section, end, size_of_image } => write!(
                f,
                "section {section:?} ends at RVA {end:#x}, past SizeOfImage {size_of_image:#x}"
            ),
            SectionsOverlap { first, first_end, second, second_rva } => write!(
                f,
                "section {second:?} at RVA {second_rva:#x} starts before the end of \
                 section {first:?} ({first_end:#x}): overlapping or out of RVA order"
            ),
            WritableAndExecutable { section } => {
                write!(f, "section {section:?} is both writable and executable")
            }
            NoEntryPoint => f.write_str("EXE has no entry point (AddressOfEntryPoint 0)"),
            EntryNotExecutable { rva } => {
                write!(f, "entry point RVA {rva:#x} is not inside an executable section")
            }
            DirectoryOutsideImage { directory, rva, size } => write!(
                f,
                "{directory} {rva:#x}+{size:#x} reaches past SizeOfImage"
            ),
            DirectoryNotInFile { directory, rva, size } => write!(
                f,
                "{directory} {rva:#x}+{size:#x} is not inside one section's file data"
            ),
            DelayLoadUnsupported => f.write_str("delay-load imports are not supported"),
            BadImportTable { rva, cause } => {
                write!(f, "bad import table at RVA {rva:#x}: {cause}")
            }
            IatOutsideImage { dll, rva } => {
                write!(f, "IAT slot for {dll} at RVA {rva:#x} is outside the image")
            }
            BadExportTable { rva, cause } => {
                write!(f, "bad export table at RVA {rva:#x}: {cause}")
            }
            ExportOutsideImage { ordinal, rva } => {
                write!(f, "export ordinal {ordinal} points at RVA {rva:#x}, outside the image")
            }
            BadName { what, rva } => {
                write!(f, "{what} at RVA {rva:#x} is not a readable UTF-8 string")
            }
            NameTooLong { what, rva, limit } => {
                write!(f, "{what} at RVA {rva:#x} is longer than {limit} bytes")
            }
            NamesTooLarge { limit } => write!(
                f,
                "import and export names need more than {limit} bytes \
                 (entries share names)"
            ),
            TooManyImports { limit } => write!(
                f,
                "more than {limit} imported symbols (lookup tables shared or too large)"
            ),
            RelocBlockTruncated { offset, needed, remaining } => write!(
                f,
                "relocation block at directory offset {offset:#x} needs {needed} bytes, \
                 only {remaining} remain"
            ),
            RelocBlockBadSize { offset, size } => write!(
                f,
                "relocation block at directory offset {offset:#x} has SizeOfBlock {size} \
                 (must be >= 8 and a multiple of 4)"
            ),
            RelocBlockOutsideImage { offset, page_rva } => write!(
                f,
                "relocation block at directory offset {offset:#x} targets page RVA \
                 {page_rva:#x}, outside the image"
            ),
            RelocOutsideImage { rva, size_of_image } => write!(
                f,
                "relocation at RVA {rva:#x} patches bytes past SizeOfImage {size_of_image:#x}"
            ),
            RelocOverlap { first, second } => write!(
                f,
                "relocations at RVA {first:#x} and {second:#x} patch overlapping bytes"
            ),
            UnsupportedRelocation { rva, kind } => write!(
                f,
                "relocation type {kind} at RVA {rva:#x} is not DIR64 (10) or ABSOLUTE (0)"
            ),
            NotRelocatable { preferred, base } => write!(
                f,
                "relocations stripped: cannot move from {preferred:#x} to {base:#x}"
            ),
            OutOfMemory { bytes } => {
                write!(f, "cannot allocate {bytes:#x} bytes for the image")
            }
            FileMismatch { parsed_len, given_len } => write!(
                f,
                "load was given a {given_len}-byte file, parse saw {parsed_len} bytes"
            ),
            BadBase { base, size } => write!(
                f,
                "load base {base:#x} (size {size:#x}) is not page aligned or wraps around"
            ),
            TlsCallbacksUnsupported { callbacks_va } => write!(
                f,
                "TLS callbacks (AddressOfCallBacks {callbacks_va:#x}) are not supported"
            ),
            BadTls { va } => write!(f, "TLS directory address {va:#x} is outside the image"),
            MissingDll(name) => write!(f, "imported DLL {name} not found"),
            MissingExport { dll, symbol } => write!(f, "{dll} does not export {symbol}"),
            ForwardedExport { dll, symbol, forwarder } => write!(
                f,
                "{dll} forwards {symbol} to {forwarder}; forwarders are not supported"
            ),
            ImportCycle(chain) => {
                f.write_str("import cycle: ")?;
                for (i, name) in chain.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" -> ")?;
                    }
                    f.write_str(name)?;
                }
                Ok(())
            }
            ExeNotFound(name) => write!(f, "program {name} not found"),
            NotAnExe(name) => write!(f, "{name} is a DLL, not a program"),
            NotADll(name) => write!(f, "imported {name} is not a DLL"),
            TooManyModules => {
                write!(f, "more than {} modules in one process", crate::MAX_MODULES)
            }
            ImagesOverlap { first, second } => {
                write!(f, "images {first} and {second} were placed on overlapping ranges")
            }
        }
    }
}
