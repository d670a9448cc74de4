//! The crate against the real runtime.dll, hello.exe and m2-tests.exe.
//!
//! Expected values come from `object`'s own PE reader (export, import and
//! relocation tables read independently of this crate), so each check can
//! fail if this crate parses, relocates or binds wrongly.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use object::read::pe::{ImageNtHeaders, ImageThunkData, PeFile64};
use object::LittleEndian as LE;

use pe::{parse, plan_process, PeError, ProcessImage};

use common::{user_images, UserImages};

/// Named exports of a DLL, name → RVA, per `object`.
fn reference_exports(file: &[u8]) -> BTreeMap<String, u32> {
    let pe = PeFile64::parse(file).unwrap();
    let table = pe.export_table().unwrap().expect("export table");
    table
        .exports()
        .unwrap()
        .into_iter()
        .filter_map(|e| match (e.name, e.target) {
            (Some(n), object::read::pe::ExportTarget::Address(rva)) => {
                Some((String::from_utf8(n.to_vec()).unwrap(), rva))
            }
            _ => None,
        })
        .collect()
}

/// Imported (dll, symbol name, IAT slot RVA), per `object`.
fn reference_imports(file: &[u8]) -> Vec<(String, String, u32)> {
    let pe = PeFile64::parse(file).unwrap();
    let Some(table) = pe.import_table().unwrap() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for desc in table.descriptors().unwrap() {
        let desc = desc.unwrap();
        let dll = String::from_utf8(table.name(desc.name.get(LE)).unwrap().to_vec()).unwrap();
        let mut thunks = table.thunks(desc.original_first_thunk.get(LE)).unwrap();
        let mut slot = desc.first_thunk.get(LE);
        while let Some(thunk) = thunks.next::<object::pe::ImageNtHeaders64>().unwrap() {
            assert!(!thunk.is_ordinal(), "real images import by name");
            let (_, name) = table.hint_name(thunk.address()).unwrap();
            out.push((dll.clone(), String::from_utf8(name.to_vec()).unwrap(), slot));
            slot += 8;
        }
    }
    out
}

/// DIR64 relocation sites, per `object`.
fn reference_reloc_sites(file: &[u8]) -> BTreeSet<u32> {
    let pe = PeFile64::parse(file).unwrap();
    let mut sites = BTreeSet::new();
    let blocks = pe
        .data_directories()
        .relocation_blocks(file, &pe.section_table())
        .unwrap();
    for block in blocks.into_iter().flatten() {
        for reloc in block.unwrap() {
            if reloc.typ == object::pe::IMAGE_REL_BASED_DIR64 {
                sites.insert(reloc.virtual_address);
            }
        }
    }
    sites
}

fn preferred(pe_file: &[u8]) -> u64 {
    PeFile64::parse(pe_file)
        .unwrap()
        .nt_headers()
        .optional_header()
        .image_base
        .get(LE)
}

fn plan(images: &UserImages, exe: &str, bases: &BTreeMap<&str, u64>) -> ProcessImage {
    plan_process(exe, &|n| images.get(n), &mut |name, preferred, _| {
        bases
            .get(name.to_ascii_lowercase().as_str())
            .copied()
            .unwrap_or(preferred)
    })
    .unwrap_or_else(|e| panic!("plan {exe}: {e}"))
}

fn read_u64(memory: &[u8], rva: u32) -> u64 {
    let at = rva as usize;
    u64::from_le_bytes(memory[at..at + 8].try_into().unwrap())
}

#[test]
fn runtime_dll_exports_the_native_calls() {
    let images = user_images();
    let dll = parse(&images.runtime).unwrap();
    assert!(dll.is_dll());
    let exports = dll.exports().expect("runtime.dll exports");
    let ours: BTreeMap<String, u32> = exports
        .entries()
        .iter()
        .filter_map(|e| match (&e.name, &e.target) {
            (Some(n), pe::ExportTarget::Rva(r)) => Some((n.clone(), *r)),
            _ => None,
        })
        .collect();
    assert_eq!(ours, reference_exports(&images.runtime));
    for name in ["ExitProcess", "GetSystemInfo"] {
        assert!(ours.contains_key(name), "runtime.dll lacks {name}");
    }
    assert!(dll.has_relocations());
    assert_eq!(
        dll.relocation_sites()
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        reference_reloc_sites(&images.runtime)
    );
}

#[test]
fn exes_parse_with_imports_from_runtime_dll() {
    let images = user_images();
    for file in [&images.hello, &images.m2_tests] {
        let exe = parse(file).unwrap();
        assert!(!exe.is_dll());
        let entry = exe.entry_rva().unwrap();
        assert!(exe
            .sections()
            .iter()
            .any(|s| s.protection.execute && s.contains(entry)));
        assert!(exe
            .sections()
            .iter()
            .all(|s| !(s.protection.write && s.protection.execute)));
        let ours: Vec<(String, String, u32)> = exe
            .imports()
            .iter()
            .flat_map(|d| {
                d.entries
                    .iter()
                    .map(move |e| (d.name.clone(), e.symbol.to_string(), e.iat_rva))
            })
            .collect();
        assert_eq!(ours, reference_imports(file));
        assert!(ours
            .iter()
            .all(|(dll, ..)| dll.eq_ignore_ascii_case("runtime.dll")));
        assert!(!ours.is_empty());
    }
}

/// Every IAT slot of `exe` holds `runtime base + RVA` of the export it
/// names.
fn check_bound(images: &UserImages, p: &ProcessImage) {
    let exports = reference_exports(&images.runtime);
    let exe = &p.modules[0];
    let runtime = p
        .modules
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case("runtime.dll"))
        .unwrap();
    let exe_file = images.get(&exe.name).unwrap();
    for (_, name, slot) in reference_imports(exe_file) {
        let value = read_u64(&exe.image.memory, slot);
        let rva = exports[&name];
        assert_eq!(
            value,
            runtime.image.base + u64::from(rva),
            "slot for {name}"
        );
        assert!(value - runtime.image.base < runtime.image.memory.len() as u64);
    }
}

#[test]
fn hello_at_preferred_bases() {
    let images = user_images();
    let p = plan(images, "hello.exe", &BTreeMap::new());
    let names: Vec<String> = p
        .modules
        .iter()
        .map(|m| m.name.to_ascii_lowercase())
        .collect();
    assert_eq!(names, ["hello.exe", "runtime.dll"]);
    assert_eq!(p.modules[0].image.base, preferred(&images.hello));
    assert_eq!(p.modules[1].image.base, preferred(&images.runtime));
    assert!(p.modules.iter().all(|m| m.image.relocations_applied == 0));
    let entry_rva = p.entry - p.modules[0].image.base;
    assert_eq!(Some(entry_rva as u32), p.modules[0].pe.entry_rva());
    check_bound(images, &p);
    // Headers are mapped read-only at RVA 0.
    for m in &p.modules {
        assert_eq!(m.image.pages[0].rva, 0);
        assert_eq!(m.image.pages[0].protection, pe::Protection::READ_ONLY);
    }
}

/// Bytes of `moved` that differ from `home`, grouped by 8-byte site.
fn assert_differs_only_at(home: &[u8], moved: &[u8], sites: &BTreeMap<u32, u64>, what: &str) {
    assert_eq!(home.len(), moved.len());
    for (i, (a, b)) in home.iter().zip(moved).enumerate() {
        if a != b {
            let hit = sites
                .range(..=(i as u32))
                .next_back()
                .is_some_and(|(&s, _)| (i as u32) < s + 8);
            assert!(
                hit,
                "{what}: byte {i:#x} changed outside every patched site"
            );
        }
    }
    for (&site, &delta) in sites {
        let old = read_u64(home, site);
        assert_eq!(
            read_u64(moved, site),
            old.wrapping_add(delta),
            "{what}: site {site:#x}"
        );
    }
}

/// Plans `exe` at the preferred bases and again with the EXE and
/// runtime.dll moved (one up, one down); the images must differ exactly at
/// the relocation sites (by each image's own delta) and at the EXE's IAT
/// slots (by runtime.dll's delta).
fn check_relocation(images: &UserImages, exe: &str) {
    let exe_file = images.get(exe).unwrap();
    let home = plan(images, exe, &BTreeMap::new());
    let exe_base = 0x5555_0000_0000u64;
    let dll_base = 0x0000_0100_0000u64;
    let bases = BTreeMap::from([(exe, exe_base), ("runtime.dll", dll_base)]);
    let moved = plan(images, exe, &bases);
    assert_eq!(moved.modules[0].image.base, exe_base);
    assert_eq!(moved.modules[1].image.base, dll_base);
    check_bound(images, &moved);

    let exe_delta = exe_base.wrapping_sub(preferred(exe_file));
    let dll_delta = dll_base.wrapping_sub(preferred(&images.runtime));
    let mut exe_sites: BTreeMap<u32, u64> = reference_reloc_sites(exe_file)
        .into_iter()
        .map(|s| (s, exe_delta))
        .collect();
    assert_eq!(moved.modules[0].image.relocations_applied, exe_sites.len());
    for (_, _, slot) in reference_imports(exe_file) {
        exe_sites.insert(slot, dll_delta);
    }
    assert_differs_only_at(
        &home.modules[0].image.memory,
        &moved.modules[0].image.memory,
        &exe_sites,
        exe,
    );
    let dll_sites: BTreeMap<u32, u64> = reference_reloc_sites(&images.runtime)
        .into_iter()
        .map(|s| (s, dll_delta))
        .collect();
    assert!(!dll_sites.is_empty());
    assert_differs_only_at(
        &home.modules[1].image.memory,
        &moved.modules[1].image.memory,
        &dll_sites,
        "runtime.dll",
    );
    assert_eq!(moved.modules[1].image.relocations_applied, dll_sites.len());
    assert_eq!(
        moved.entry,
        exe_base + u64::from(moved.modules[0].pe.entry_rva().unwrap())
    );
}

#[test]
fn hello_relocated_differs_exactly_at_relocation_sites() {
    check_relocation(user_images(), "hello.exe");
}

#[test]
fn m2_tests_relocated_differs_exactly_at_relocation_sites() {
    let images = user_images();
    assert!(!reference_reloc_sites(&images.m2_tests).is_empty());
    check_relocation(images, "m2-tests.exe");
}

#[test]
fn m2_tests_plans_at_forced_bases() {
    let images = user_images();
    let bases = BTreeMap::from([
        ("m2-tests.exe", 0x2000_0000u64),
        ("runtime.dll", 0x3000_0000),
    ]);
    let p = plan(images, "m2-tests.exe", &bases);
    check_bound(images, &p);
}

#[test]
fn missing_runtime_dll_is_reported() {
    let images = user_images();
    let e = plan_process(
        "hello.exe",
        &|n| {
            if n.eq_ignore_ascii_case("hello.exe") {
                Some(&images.hello[..])
            } else {
                None
            }
        },
        &mut |_, preferred, _| preferred,
    )
    .unwrap_err();
    assert!(
        matches!(e, PeError::MissingDll(ref n) if n.eq_ignore_ascii_case("runtime.dll")),
        "{e}"
    );
}
