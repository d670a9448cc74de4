//! The export directory: what a DLL offers, by ordinal and by name.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use object::read::pe::{ExportTable, ExportTarget as RawTarget};
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::imports::ImportSymbol;
use crate::section::FileView;

/// Where an export leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    /// Code or data at this RVA of the exporting image (inside the image).
    Rva(u32),
    /// Forwarded to another DLL: `dll.Name` or `dll.#ordinal`.
    Forwarder(String),
}

/// One export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// Its ordinal (ordinal base + index in the address table).
    pub ordinal: u16,
    /// Its name, if it is exported by name.
    pub name: Option<String>,
    /// Where it leads.
    pub target: ExportTarget,
}

/// A validated export table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exports {
    /// The DLL's own name from the export directory.
    pub dll_name: String,
    /// Ordinal of the first address table entry.
    pub ordinal_base: u32,
    /// Every used address table entry (empty slots are left out).
    pub entries: Vec<Export>,
}

impl Exports {
    /// The export an import refers to, by name or by ordinal.
    pub fn find(&self, symbol: &ImportSymbol) -> Option<&Export> {
        match symbol {
            ImportSymbol::Name { name, .. } => self
                .entries
                .iter()
                .find(|e| e.name.as_deref() == Some(name.as_str())),
            ImportSymbol::Ordinal(ordinal) => self.entries.iter().find(|e| e.ordinal == *ordinal),
        }
    }
}

fn text(raw: &[u8], what: &'static str, rva: u32) -> Result<String, PeError> {
    core::str::from_utf8(raw)
        .map(ToString::to_string)
        .map_err(|_| PeError::BadName { what, rva })
}

/// Reads the export directory at `rva` (`size` bytes, which also hold the
/// names and forwarder strings, as linkers lay them out).
pub(crate) fn parse_exports(
    view: &FileView<'_>,
    rva: u32,
    size: u32,
    size_of_image: u32,
) -> Result<Exports, PeError> {
    let data = view
        .bytes(rva, size.into())
        .ok_or(PeError::DirectoryNotInFile {
            directory: Directory::Export,
            rva,
            size: size.into(),
        })?;
    let bad = |cause| PeError::BadExportTable { rva, cause };
    let table = ExportTable::parse(data, rva).map_err(bad)?;
    let name_rva = table.directory().name.get(LE);
    let dll_name = view
        .c_str(name_rva)
        .ok_or(PeError::BadName {
            what: "export DLL name",
            rva: name_rva,
        })?
        .to_string();
    let mut entries = Vec::new();
    for export in table.exports().map_err(bad)? {
        let target = match export.target {
            // PE/COFF spec §6.3.2: a zero entry is an unused ordinal.
            RawTarget::Address(0) => continue,
            RawTarget::Address(address) if address >= size_of_image => {
                return Err(PeError::ExportOutsideImage {
                    ordinal: export.ordinal.0,
                    rva: address,
                });
            }
            RawTarget::Address(address) => ExportTarget::Rva(address),
            RawTarget::ForwardByName(dll, name) => ExportTarget::Forwarder(format!(
                "{}.{}",
                String::from_utf8_lossy(dll),
                String::from_utf8_lossy(name)
            )),
            RawTarget::ForwardByOrdinal(dll, ordinal) => {
                ExportTarget::Forwarder(format!("{}.#{}", String::from_utf8_lossy(dll), ordinal.0))
            }
        };
        let name = match export.name {
            Some(raw) => Some(text(raw, "export name", rva)?),
            None => None,
        };
        entries.push(Export {
            ordinal: export.ordinal.0,
            name,
            target,
        });
    }
    Ok(Exports {
        dll_name,
        ordinal_base: table.directory().base.get(LE),
        entries,
    })
}
