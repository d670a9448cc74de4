//! `nearest_symbol` against the real runtime.dll, hello.exe and m2-tests.exe.
//!
//! Expected names come from `object`'s own readers (its export table and
//! its COFF symbol iterator). The COFF check runs when an image carries a
//! symbol table (the user build links with `/DEBUG:SYMTAB`); the path in
//! `$SYMTAB_EXE`, if set, is checked too.

mod common;

use object::read::pe::{ExportTarget, PeFile64};
use object::{Object, ObjectSymbol, SymbolKind};

use pe::nearest_symbol;

use common::user_images;

/// Named exports with an address, per `object`: (name, RVA).
fn exports(file: &[u8]) -> Vec<(String, u32)> {
    let pe = PeFile64::parse(file).unwrap();
    let Some(table) = pe.export_table().unwrap() else {
        return Vec::new();
    };
    table
        .exports()
        .unwrap()
        .into_iter()
        .filter_map(|e| match (e.name, e.target) {
            (Some(n), ExportTarget::Address(rva)) => {
                Some((String::from_utf8(n.to_vec()).ok()?, rva))
            }
            _ => None,
        })
        .collect()
}

/// Defined text symbols of the COFF table, per `object`: (name, RVA).
fn coff_functions(file: &[u8]) -> Vec<(String, u32)> {
    let pe = PeFile64::parse(file).unwrap();
    let base = pe.relative_address_base();
    pe.symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition())
        .filter_map(|s| {
            let rva = u32::try_from(s.address().checked_sub(base)?).ok()?;
            Some((s.name().ok()?.to_string(), rva))
        })
        .collect()
}

#[test]
fn init_thread_is_found_through_either_table() {
    let file = user_images().get("m2-tests.exe").unwrap();
    let (_, rva) = exports(file)
        .into_iter()
        .find(|(n, _)| n == "InitThread")
        .expect("m2-tests.exe exports InitThread");
    let found = nearest_symbol(file, rva + 1).expect("a symbol");
    assert_eq!((found.name, found.offset), ("InitThread", 1));
    let has_table = !coff_functions(file).is_empty();
    assert_eq!(found.from_exports, !has_table);
}

#[test]
fn exports_name_themselves_without_a_symbol_table() {
    let images = user_images();
    for name in ["runtime.dll", "hello.exe", "m2-tests.exe"] {
        let file = images.get(name).unwrap();
        if !coff_functions(file).is_empty() {
            continue;
        }
        let exports = exports(file);
        for (export, rva) in &exports {
            let found = nearest_symbol(file, rva + 1).unwrap();
            assert!(found.from_exports, "{name} {export}");
            assert_eq!(found.offset, 1, "{name} {export}");
            // Several names may share an address.
            let at_rva: Vec<_> = exports.iter().filter(|(_, r)| r == rva).collect();
            assert!(
                at_rva.iter().any(|(n, _)| n == found.name),
                "{name}: {export} at {rva:#x} gave {found:?}"
            );
        }
    }
}

/// Each COFF function's RVA + 1 resolves to a symbol at that RVA.
fn check_coff(what: &str, file: &[u8]) -> usize {
    let functions = coff_functions(file);
    for (function, rva) in &functions {
        let Some(found) = nearest_symbol(file, rva + 1) else {
            panic!("{what}: nothing at {function} + 1");
        };
        // The reference: the names at the highest start <= rva + 1.
        let start = functions
            .iter()
            .map(|(_, r)| *r)
            .filter(|r| *r <= rva + 1)
            .max()
            .unwrap();
        let names: Vec<_> = functions.iter().filter(|(_, r)| *r == start).collect();
        assert!(!found.from_exports, "{what} {function}");
        assert_eq!(found.offset, rva + 1 - start, "{what} {function}");
        assert!(
            names.iter().any(|(n, _)| n == found.name),
            "{what}: {function} + 1 gave {found:?}, expected one of {names:?}"
        );
    }
    functions.len()
}

#[test]
fn coff_symbols_match_objects_reader() {
    let images = user_images();
    let mut checked = 0;
    for name in ["runtime.dll", "hello.exe", "m2-tests.exe"] {
        checked += check_coff(name, images.get(name).unwrap());
    }
    if let Some(path) = std::env::var_os("SYMTAB_EXE") {
        let file = std::fs::read(&path).unwrap();
        let n = check_coff(&path.to_string_lossy(), &file);
        assert!(n > 0, "{path:?} has no COFF function symbols");
        checked += n;
    }
    if checked == 0 {
        println!("note: no image has a COFF symbol table (link with /DEBUG:SYMTAB); only exports checked");
    } else {
        println!("{checked} COFF function symbols checked");
    }
}
