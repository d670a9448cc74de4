//! Import binding: fill an image's IAT from other images' export tables.

use alloc::string::ToString;

use crate::error::PeError;
use crate::exports::ExportTarget;
use crate::file::PeFile;
use crate::load::LoadedImage;

/// A loaded image that imports can be resolved against.
#[derive(Clone, Copy, Debug)]
pub struct Exporter<'a> {
    /// Its parsed description (for the export table).
    pub file: &'a PeFile,
    /// Where it is loaded.
    pub base: u64,
}

/// Resolves every import of `importer` through `lookup` (DLL name as
/// written in the import table → exporter) and writes the absolute
/// addresses into the IAT slots of `image`. Returns the number of slots
/// written.
pub fn bind<'a>(
    importer: &PeFile,
    image: &mut LoadedImage,
    lookup: &dyn Fn(&str) -> Option<Exporter<'a>>,
) -> Result<usize, PeError> {
    let mut written = 0;
    for dll in importer.imports() {
        let exporter = lookup(&dll.name).ok_or_else(|| PeError::MissingDll(dll.name.clone()))?;
        for import in &dll.entries {
            let missing = || PeError::MissingExport {
                dll: dll.name.clone(),
                symbol: import.symbol.to_string(),
            };
            let export = exporter
                .file
                .exports()
                .and_then(|e| e.find(&import.symbol))
                .ok_or_else(missing)?;
            let rva = match &export.target {
                ExportTarget::Rva(rva) => *rva,
                ExportTarget::Forwarder(forwarder) => {
                    return Err(PeError::ForwardedExport {
                        dll: dll.name.clone(),
                        symbol: import.symbol.to_string(),
                        forwarder: forwarder.clone(),
                    })
                }
            };
            let address = exporter
                .base
                .checked_add(rva.into())
                .ok_or(PeError::BadBase {
                    base: exporter.base,
                    size: exporter.file.size_of_image(),
                })?;
            let start = import.iat_rva as usize;
            image
                .memory
                .get_mut(start..start.saturating_add(8))
                .ok_or_else(|| PeError::IatOutsideImage {
                    dll: dll.name.clone(),
                    rva: import.iat_rva.into(),
                })?
                .copy_from_slice(&address.to_le_bytes());
            written += 1;
        }
    }
    Ok(written)
}
