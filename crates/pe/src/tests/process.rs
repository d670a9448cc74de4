//! `plan_process` and `bind` over synthetic EXEs and DLLs.

use super::{slot, Files};
use crate::synth::{self, Spec, Sym};
use crate::{ExportTarget, PeError, ProcessImage};

fn dll(
    name: &'static str,
    exports: &[&'static str],
    imports: Vec<(&'static str, Vec<Sym>)>,
) -> Vec<u8> {
    synth::build(&Spec {
        imports,
        base: 0x1_8000_0000 + 0x100_0000 * u64::from(name.as_bytes()[0]),
        ..Spec::dll(name, exports)
    })
    .bytes
}

/// exe -> A.DLL (Open, #2) and b.dll (Read); a.dll -> B.dll (Write).
fn diamond() -> Files {
    let exe = synth::build(&Spec {
        imports: vec![
            ("A.DLL", vec![Sym::Name("Open"), Sym::Ordinal(2)]),
            ("b.dll", vec![Sym::Name("Read")]),
        ],
        pointers: 2,
        ..Spec::exe()
    })
    .bytes;
    Files::new(vec![
        ("prog.exe", exe),
        (
            "a.dll",
            dll(
                "a.dll",
                &["Open", "Close"],
                vec![("B.dll", vec![Sym::Name("Write")])],
            ),
        ),
        ("b.dll", dll("bb.dll", &["Read", "Write"], vec![])),
    ])
}

fn export_rva(p: &ProcessImage, module: usize, name: &str) -> u64 {
    let e = p.modules[module].pe.exports().unwrap();
    let found = e
        .entries()
        .iter()
        .find(|x| x.name.as_deref() == Some(name))
        .unwrap();
    match found.target {
        ExportTarget::Rva(r) => u64::from(r),
        ExportTarget::Forwarder(_) => panic!("forwarder"),
    }
}

#[test]
fn diamond_loads_each_dll_once_and_binds_every_slot() {
    let files = diamond();
    let bases = [0x10_0000_0000, 0x20_0000_0000, 0x30_0000_0000];
    let p = files.plan("prog.exe", &bases).unwrap();
    let names: Vec<&str> = p.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["prog.exe", "A.DLL", "B.dll"]);
    assert_eq!(p.init_order, [2, 1, 0]);
    for (m, base) in p.modules.iter().zip(bases) {
        assert_eq!(m.image.base, base);
        assert!(m.image.relocations_applied > 0 || m.pe.relocation_sites().is_empty());
    }
    let exe = &p.modules[0];
    assert_eq!(p.entry, bases[0] + u64::from(exe.pe.entry_rva().unwrap()));
    let iat: Vec<u32> = exe
        .pe
        .imports()
        .iter()
        .flat_map(|d| d.entries.iter().map(|e| e.iat_rva))
        .collect();
    assert_eq!(
        slot(&exe.image, iat[0]),
        bases[1] + export_rva(&p, 1, "Open")
    );
    // Ordinal 2 of a.dll is its second export, Close.
    assert_eq!(
        slot(&exe.image, iat[1]),
        bases[1] + export_rva(&p, 1, "Close")
    );
    assert_eq!(
        slot(&exe.image, iat[2]),
        bases[2] + export_rva(&p, 2, "Read")
    );
    let a = &p.modules[1];
    let a_slot = a.pe.imports()[0].entries[0].iat_rva;
    assert_eq!(
        slot(&a.image, a_slot),
        bases[2] + export_rva(&p, 2, "Write")
    );
}

#[test]
fn preferred_bases_need_no_relocation() {
    let p = diamond().plan("prog.exe", &[]).unwrap();
    for m in &p.modules {
        assert_eq!(m.image.base, m.pe.preferred_base());
        assert_eq!(m.image.relocations_applied, 0);
    }
}

#[test]
fn missing_dll() {
    let mut files = diamond();
    files.0.remove("b.dll");
    assert_eq!(
        files.plan("prog.exe", &[]).unwrap_err(),
        PeError::MissingDll("B.dll".into())
    );
    assert_eq!(
        files.plan("nothing.exe", &[]).unwrap_err(),
        PeError::ExeNotFound("nothing.exe".into())
    );
}

#[test]
fn missing_export_by_name_and_by_ordinal() {
    let mut files = diamond();
    files
        .0
        .insert("b.dll".into(), dll("b.dll", &["Read"], vec![]));
    assert_eq!(
        files.plan("prog.exe", &[]).unwrap_err(),
        PeError::MissingExport {
            dll: "B.dll".into(),
            symbol: "Write".into()
        }
    );
    let mut files = diamond();
    files.0.insert(
        "a.dll".into(),
        dll(
            "a.dll",
            &["Open"],
            vec![("B.dll", vec![Sym::Name("Write")])],
        ),
    );
    let e = files.plan("prog.exe", &[]).unwrap_err();
    assert_eq!(
        e,
        PeError::MissingExport {
            dll: "A.DLL".into(),
            symbol: "#2".into()
        }
    );
    assert_eq!(e.to_string(), "A.DLL does not export #2");
}

#[test]
fn import_cycle_between_two_dlls() {
    let exe = synth::build(&Spec {
        imports: vec![("a.dll", vec![Sym::Name("A")])],
        ..Spec::exe()
    })
    .bytes;
    let files = Files::new(vec![
        ("prog.exe", exe),
        (
            "a.dll",
            dll("a.dll", &["A"], vec![("b.dll", vec![Sym::Name("B")])]),
        ),
        (
            "b.dll",
            dll("b.dll", &["B"], vec![("A.dll", vec![Sym::Name("A")])]),
        ),
    ]);
    let e = files.plan("prog.exe", &[]).unwrap_err();
    assert_eq!(
        e,
        PeError::ImportCycle(vec!["a.dll".into(), "b.dll".into(), "A.dll".into()])
    );
    assert_eq!(e.to_string(), "import cycle: a.dll -> b.dll -> A.dll");
}

#[test]
fn wrong_kinds_of_file() {
    let files = diamond();
    assert_eq!(
        files.plan("a.dll", &[]).unwrap_err(),
        PeError::NotAnExe("a.dll".into())
    );
    let mut files = diamond();
    let exe_bytes = files.0["prog.exe"].clone();
    files.0.insert("b.dll".into(), exe_bytes);
    assert_eq!(
        files.plan("prog.exe", &[]).unwrap_err(),
        PeError::NotADll("B.dll".into())
    );
}

#[test]
fn overlapping_placement_is_refused() {
    let files = diamond();
    let e = files
        .plan("prog.exe", &[0x1000_0000, 0x1000_0000])
        .unwrap_err();
    assert_eq!(
        e,
        PeError::ImagesOverlap {
            first: "prog.exe".into(),
            second: "A.DLL".into()
        }
    );
}

#[test]
fn forwarded_exports_are_refused() {
    // Point b.dll's "Write" at a forwarder string inside its export
    // directory: "bb.Write" replaces the DLL name "bb.dll" in place.
    let mut files = diamond();
    let mut bytes = files.0["b.dll"].clone();
    let d = synth::directory(&bytes, object::pe::IMAGE_DIRECTORY_ENTRY_EXPORT);
    let dir = synth::file_offset(&bytes, synth::get_u32(&bytes, d));
    let name_rva = synth::get_u32(&bytes, dir + 12);
    let eat = synth::file_offset(&bytes, synth::get_u32(&bytes, dir + 28));
    let name_at = synth::file_offset(&bytes, name_rva);
    bytes[name_at..name_at + 7].copy_from_slice(b"bb.Wri\0");
    // Export index 1 ("Write") now points inside the export directory.
    synth::set_u32(&mut bytes, eat + 4, name_rva);
    files.0.insert("b.dll".into(), bytes);
    assert_eq!(
        files.plan("prog.exe", &[]).unwrap_err(),
        PeError::ForwardedExport {
            dll: "B.dll".into(),
            symbol: "Write".into(),
            forwarder: "bb.Wri".into()
        }
    );
}
