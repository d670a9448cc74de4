//! `parse` on well-formed synthetic images: every reported field.

use super::exe_importing;
use crate::synth::{self, Spec, Sym};
use crate::{parse, ExportTarget, ImportSymbol, Protection};

#[test]
fn exe_headers_sections_and_protections() {
    let built = synth::build(&Spec {
        pointers: 3,
        bss: 0x2000,
        ..Spec::exe()
    });
    let pe = parse(&built.bytes).unwrap();
    assert!(!pe.is_dll());
    assert_eq!(pe.preferred_base(), 0x1_4000_0000);
    assert_eq!(pe.entry_rva(), Some(built.text_rva));
    let names: Vec<&str> = pe.sections().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [".text", ".rdata", ".data", ".reloc"]);
    let rx = Protection {
        read: true,
        write: false,
        execute: true,
    };
    let rw = Protection {
        read: true,
        write: true,
        execute: false,
    };
    assert_eq!(pe.sections()[0].protection, rx);
    assert_eq!(pe.sections()[1].protection, Protection::READ_ONLY);
    assert_eq!(pe.sections()[2].protection, rw);
    // .data: 24 bytes of pointers (file data padded to FileAlignment), then
    // 0x2000 of bss.
    let header = synth::section_header(&built.bytes, 2);
    let raw_len = synth::get_u32(&built.bytes, header + 16);
    assert_eq!(pe.sections()[2].virtual_size, 24 + 0x2000);
    assert_eq!(pe.sections()[2].raw_size, raw_len.min(24 + 0x2000));
    assert_eq!(
        pe.sections()[2].raw_offset,
        synth::get_u32(&built.bytes, header + 20)
    );
    let last = pe.sections().last().unwrap();
    assert!(u64::from(pe.size_of_image()) >= last.end());
    assert!(pe.has_relocations());
    let d = built.data_rva;
    assert_eq!(pe.relocation_sites(), [d, d + 8, d + 16]);
    assert!(pe.imports().is_empty());
    assert!(pe.exports().is_none());
    assert!(pe.tls().is_none());
}

#[test]
fn dll_exports_by_name_and_ordinal() {
    let built = synth::build(&Spec::dll("Lib.dll", &["Zeta", "Alpha", "Mid"]));
    let pe = parse(&built.bytes).unwrap();
    assert!(pe.is_dll());
    assert_eq!(pe.entry_rva(), None);
    let exports = pe.exports().unwrap();
    assert_eq!(exports.dll_name(), "Lib.dll");
    assert_eq!(exports.ordinal_base(), 1);
    assert_eq!(exports.entries().len(), 3);
    for (i, name) in ["Zeta", "Alpha", "Mid"].iter().enumerate() {
        let e = &exports.entries()[i];
        assert_eq!(e.ordinal, i as u16 + 1);
        assert_eq!(e.name.as_deref(), Some(*name));
        let rva = built.text_rva + 0x10 * (i as u32 + 1);
        assert_eq!(e.target, ExportTarget::Rva(rva));
    }
    let by_ordinal = exports.find(&ImportSymbol::Ordinal(2)).unwrap();
    assert_eq!(by_ordinal.name.as_deref(), Some("Alpha"));
}

#[test]
fn imports_by_name_and_ordinal_with_iat_slots() {
    let built = synth::build(&Spec {
        imports: vec![
            ("a.dll", vec![Sym::Name("One"), Sym::Ordinal(7)]),
            ("B.DLL", vec![Sym::Name("Two")]),
        ],
        ..Spec::exe()
    });
    let pe = parse(&built.bytes).unwrap();
    let imports = pe.imports();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0].name, "a.dll");
    assert_eq!(imports[1].name, "B.DLL");
    assert_eq!(
        imports[0].entries[0].symbol,
        ImportSymbol::Name {
            hint: 0,
            name: "One".into()
        }
    );
    assert_eq!(imports[0].entries[1].symbol, ImportSymbol::Ordinal(7));
    let slots: Vec<Vec<u32>> = imports
        .iter()
        .map(|d| d.entries.iter().map(|e| e.iat_rva).collect())
        .collect();
    assert_eq!(slots, built.iat);
}

#[test]
fn tls_without_callbacks_is_described() {
    let built = synth::build(&Spec {
        tls: Some(false),
        ..Spec::exe()
    });
    let pe = parse(&built.bytes).unwrap();
    let tls = pe.tls().unwrap();
    assert_eq!(tls.template_end - tls.template_start, 8);
    assert_ne!(tls.index_rva, tls.template_start);
    let rdata = &pe.sections()[1];
    assert!(rdata.contains(tls.template_start) && rdata.contains(tls.index_rva));
}

#[test]
fn image_without_relocations_reports_none() {
    let built = exe_importing("x.dll", &["F"], 0);
    let pe = parse(&built.bytes).unwrap();
    assert!(!pe.has_relocations());
    assert!(pe.relocation_sites().is_empty());
}
