//! The export directory: what a DLL offers, by ordinal and by name.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use object::read::pe::{ExportTable, ExportTarget as RawTarget};
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::imports::ImportSymbol;
use crate::names::{check_len, NameBudget, MAX_DLL_NAME, MAX_FORWARDER, MAX_SYMBOL_NAME};
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
    /// Its name, if it is exported by name. When several name table
    /// entries name one address, the last of them in that table.
    pub name: Option<String>,
    /// Where it leads.
    pub target: ExportTarget,
}

/// A validated export table with a name index for binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exports {
    dll_name: String,
    ordinal_base: u32,
    entries: Vec<Export>,
    /// Indices into `entries` of the named exports, sorted by name and,
    /// for equal names, by ordinal (a stable sort of ordinal order).
    by_name: Vec<u32>,
}

impl Exports {
    /// The DLL's own name from the export directory.
    pub fn dll_name(&self) -> &str {
        &self.dll_name
    }

    /// Ordinal of the first address table entry.
    pub fn ordinal_base(&self) -> u32 {
        self.ordinal_base
    }

    /// Every used address table entry (empty slots are left out), in
    /// ascending ordinal order.
    pub fn entries(&self) -> &[Export] {
        &self.entries
    }

    fn name_at(&self, index: u32) -> &str {
        self.entries
            .get(index as usize)
            .and_then(|e| e.name.as_deref())
            .unwrap_or("")
    }

    /// The export an import refers to, by name or by ordinal, in
    /// O(log n). A name exported at several ordinals resolves to the
    /// lowest of them (the first in [`Exports::entries`]).
    pub fn find(&self, symbol: &ImportSymbol) -> Option<&Export> {
        match symbol {
            ImportSymbol::Name { name, .. } => {
                let first = self
                    .by_name
                    .partition_point(|&i| self.name_at(i) < name.as_str());
                let &index = self.by_name.get(first)?;
                let export = self.entries.get(index as usize)?;
                (export.name.as_deref() == Some(name.as_str())).then_some(export)
            }
            ImportSymbol::Ordinal(ordinal) => {
                let at = self
                    .entries
                    .binary_search_by_key(ordinal, |e| e.ordinal)
                    .ok()?;
                self.entries.get(at)
            }
        }
    }
}

/// Reads the export directory at `rva` (`size` bytes, which also hold the
/// names and forwarder strings, as linkers lay them out).
pub(crate) fn parse_exports(
    view: &FileView<'_>,
    rva: u32,
    size: u32,
    size_of_image: u32,
    budget: &mut NameBudget,
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
    let bad_dll_name = PeError::BadName {
        what: "export DLL name",
        rva: name_rva,
    };
    let (section, section_rva) = view.section_data(name_rva).ok_or(bad_dll_name.clone())?;
    let offset = (name_rva - section_rva) as usize;
    check_len(section, offset, MAX_DLL_NAME, "export DLL name", name_rva)?;
    let raw = view.c_str(name_rva).ok_or(bad_dll_name)?;
    let dll_name = budget.take(raw.as_bytes(), "export DLL name", name_rva)?;

    // Ordinals ascend with the address index, so `entries` stays sorted
    // by ordinal (and `find` can search it).
    let mut entries = Vec::with_capacity(table.addresses().len());
    for (_, ordinal, address) in table.address_iter() {
        let forward = address.wrapping_sub(rva) as usize;
        if forward < data.len() {
            check_len(data, forward, MAX_FORWARDER, "export forwarder", address)?;
        }
        let target = match table.target_from_address(address).map_err(bad)? {
            // PE/COFF spec §6.3.2: a zero entry is an unused ordinal.
            RawTarget::Address(0) => continue,
            RawTarget::Address(address) if address >= size_of_image => {
                return Err(PeError::ExportOutsideImage {
                    ordinal: ordinal.0,
                    rva: address,
                });
            }
            RawTarget::Address(address) => ExportTarget::Rva(address),
            RawTarget::ForwardByName(dll, name) => {
                budget.charge(dll.len() + 1 + name.len())?;
                ExportTarget::Forwarder(format!(
                    "{}.{}",
                    String::from_utf8_lossy(dll),
                    String::from_utf8_lossy(name)
                ))
            }
            RawTarget::ForwardByOrdinal(dll, ordinal) => {
                budget.charge(dll.len() + 7)?;
                ExportTarget::Forwarder(format!("{}.#{}", String::from_utf8_lossy(dll), ordinal.0))
            }
        };
        entries.push(Export {
            ordinal: ordinal.0,
            name: None,
            target,
        });
    }

    for (pointer, index) in table.name_iter() {
        let offset = pointer.wrapping_sub(rva) as usize;
        check_len(data, offset, MAX_SYMBOL_NAME, "export name", pointer)?;
        let raw = table.name_from_pointer(pointer).map_err(bad)?;
        let ordinal = table.ordinal_from_index(index).map_err(bad)?;
        // A name for an unused (zero) address slot names nothing.
        if let Ok(at) = entries.binary_search_by_key(&ordinal.0, |e| e.ordinal) {
            let name = budget.take(raw, "export name", pointer)?;
            if let Some(entry) = entries.get_mut(at) {
                entry.name = Some(name);
            }
        }
    }

    let mut by_name: Vec<u32> = (0u32..)
        .zip(&entries)
        .filter(|(_, e)| e.name.is_some())
        .map(|(i, _)| i)
        .collect();
    // Stable: equal names keep ordinal order, so the lowest ordinal is
    // found first.
    by_name.sort_by(|&a, &b| {
        let name = |i: u32| entries.get(i as usize).and_then(|e| e.name.as_deref());
        name(a).cmp(&name(b))
    });
    Ok(Exports {
        dll_name,
        ordinal_base: table.directory().base.get(LE),
        entries,
        by_name,
    })
}
