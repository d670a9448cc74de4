//! The import directory: which DLLs, which symbols, which IAT slots.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use object::pe::{ImageNtHeaders64, ImageThunkData64};
use object::read::pe::{ImageThunkData, Import as RawImport, ImportTable};
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::names::{check_len, NameBudget, MAX_DLL_NAME, MAX_SYMBOL_NAME};
use crate::section::FileView;
use crate::MAX_IMPORTS;

/// Size of an import directory entry (PE/COFF spec §6.4.1).
const DESCRIPTOR_SIZE: u32 = 20;
/// Size of a PE32+ lookup table entry and IAT slot (PE/COFF spec §6.4.2).
const THUNK_SIZE: u32 = 8;

/// How a symbol is imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportSymbol {
    /// By name, with the exporter's name-table index as a hint.
    Name {
        /// Index into the exporter's name pointer table (may be wrong).
        hint: u16,
        /// The symbol name.
        name: String,
    },
    /// By ordinal.
    Ordinal(u16),
}

impl fmt::Display for ImportSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportSymbol::Name { name, .. } => f.write_str(name),
            ImportSymbol::Ordinal(ordinal) => write!(f, "#{ordinal}"),
        }
    }
}

/// One imported symbol and the IAT slot that receives its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// What is imported.
    pub symbol: ImportSymbol,
    /// RVA of the 8-byte IAT slot; inside the image.
    pub iat_rva: u32,
}

/// Everything imported from one DLL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportDll {
    /// The DLL name as written by the linker, e.g. `runtime.dll`.
    pub name: String,
    /// The symbols, in IAT order.
    pub entries: Vec<Import>,
}

fn bad(rva: u32) -> impl FnOnce(object::read::Error) -> PeError {
    move |cause| PeError::BadImportTable { rva, cause }
}

/// Walks the import descriptors at `dir_rva` until the null descriptor.
pub(crate) fn parse_imports(
    view: &FileView<'_>,
    dir_rva: u32,
    size_of_image: u32,
    budget: &mut NameBudget,
) -> Result<Vec<ImportDll>, PeError> {
    let (data, section_rva) = view
        .section_data(dir_rva)
        .ok_or(PeError::DirectoryNotInFile {
            directory: Directory::Import,
            rva: dir_rva,
            size: DESCRIPTOR_SIZE.into(),
        })?;
    let table = ImportTable::new(data, section_rva, dir_rva);
    let names = Names {
        data,
        section_rva,
        budget,
    };
    // Each symbol of a well-formed file has its own 8-byte lookup entry
    // in the file; only shared tables can yield more.
    let limit = MAX_IMPORTS.min(view.file.len() / THUNK_SIZE as usize);
    let mut walk = Walk {
        table,
        names,
        size_of_image,
        imports: 0,
        limit,
    };
    let mut descriptors = walk.table.descriptors().map_err(bad(dir_rva))?;
    let mut dlls = Vec::new();
    let mut desc_rva = u64::from(dir_rva);
    loop {
        let at = u32::try_from(desc_rva).unwrap_or(u32::MAX);
        let Some(desc) = descriptors.next().map_err(bad(at))? else {
            break;
        };
        desc_rva += u64::from(DESCRIPTOR_SIZE);
        let name_rva = desc.name.get(LE);
        walk.names
            .check(name_rva, 0, MAX_DLL_NAME, "imported DLL name")?;
        let raw_name = walk.table.name(name_rva).map_err(bad(name_rva))?;
        let name = walk
            .names
            .budget
            .take(raw_name, "imported DLL name", name_rva)?;
        let iat = desc.first_thunk.get(LE);
        let lookup = match desc.original_first_thunk.get(LE) {
            0 => iat,
            rva => rva,
        };
        if iat == 0 {
            return Err(PeError::IatOutsideImage { dll: name, rva: 0 });
        }
        let entries = walk.thunks(&name, lookup, iat)?;
        dlls.push(ImportDll { name, entries });
    }
    Ok(dlls)
}

/// The section holding the import directory, where its names are read.
struct Names<'d, 'b> {
    data: &'d [u8],
    section_rva: u32,
    budget: &'b mut NameBudget,
}

impl Names<'_, '_> {
    /// Refuses a name at `rva + skip` longer than `limit` (see
    /// [`check_len`]).
    fn check(
        &self,
        rva: u32,
        skip: usize,
        limit: usize,
        what: &'static str,
    ) -> Result<(), PeError> {
        let offset = (rva.wrapping_sub(self.section_rva) as usize).saturating_add(skip);
        check_len(self.data, offset, limit, what, rva)
    }
}

/// State of one walk over an import directory.
struct Walk<'d, 'b> {
    table: ImportTable<'d>,
    names: Names<'d, 'b>,
    size_of_image: u32,
    /// Symbols read so far, over every descriptor.
    imports: usize,
    /// At most this many: [`MAX_IMPORTS`], or one per 8 bytes of file.
    limit: usize,
}

impl Walk<'_, '_> {
    fn thunks(&mut self, dll: &str, lookup: u32, iat: u32) -> Result<Vec<Import>, PeError> {
        let mut thunks = self.table.thunks(lookup).map_err(bad(lookup))?;
        let mut entries = Vec::new();
        let mut index: u64 = 0;
        loop {
            let thunk_rva = u64::from(lookup) + index * u64::from(THUNK_SIZE);
            let at = u32::try_from(thunk_rva).unwrap_or(u32::MAX);
            let Some(thunk): Option<ImageThunkData64> =
                thunks.next::<ImageNtHeaders64>().map_err(bad(at))?
            else {
                break;
            };
            // Descriptors may share one lookup table: the count is over
            // every descriptor, not per table.
            self.imports += 1;
            if self.imports > self.limit {
                return Err(PeError::TooManyImports { limit: self.limit });
            }
            let slot = u64::from(iat) + index * u64::from(THUNK_SIZE);
            if slot + u64::from(THUNK_SIZE) > u64::from(self.size_of_image) {
                return Err(PeError::IatOutsideImage {
                    dll: dll.to_string(),
                    rva: slot,
                });
            }
            if !thunk.is_ordinal() {
                // PE/COFF spec §6.4.3: a 2-byte hint, then the name.
                let what = "imported symbol name";
                self.names
                    .check(thunk.address(), 2, MAX_SYMBOL_NAME, what)?;
            }
            let symbol = match self
                .table
                .import::<ImageNtHeaders64>(thunk)
                .map_err(bad(thunk.address()))?
            {
                RawImport::Ordinal(ordinal) => ImportSymbol::Ordinal(ordinal),
                RawImport::Name(hint, raw) => ImportSymbol::Name {
                    hint,
                    name: self
                        .names
                        .budget
                        .take(raw, "imported symbol name", thunk.address())?,
                },
            };
            entries.push(Import {
                symbol,
                // Fits: checked against size_of_image (a u32) above.
                iat_rva: slot as u32,
            });
            index += 1;
        }
        Ok(entries)
    }
}
