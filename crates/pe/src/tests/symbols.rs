//! `nearest_symbol` over synthetic images with and without a COFF symbol
//! table.

use proptest::prelude::*;

use crate::synth::{self, Spec};
use crate::{nearest_symbol, Symbol};

/// One 18-byte `IMAGE_SYMBOL` (PE/COFF spec §5.4): `name` inline when it
/// fits in 8 bytes, else as a string table offset.
struct Rec {
    name: &'static str,
    value: u32,
    section: i16,
    typ: u16,
    class: u8,
    aux: u8,
}

const EXTERNAL: u8 = 2;
const STATIC: u8 = 3;
const FUNCTION: u16 = 0x20;

fn func(name: &'static str, value: u32) -> Rec {
    Rec {
        name,
        value,
        section: 1,
        typ: FUNCTION,
        class: EXTERNAL,
        aux: 0,
    }
}

/// Appends a symbol table made of `records` (auxiliary records follow a
/// record as the raw 18-byte arrays in `aux_bytes`, in order) and its
/// string table to `bytes`, and points the file header at it.
fn with_symbols(mut bytes: Vec<u8>, records: &[Rec], aux_bytes: &[[u8; 18]]) -> Vec<u8> {
    let table = bytes.len();
    let mut strings = vec![0u8; 4];
    let mut count = 0u32;
    let mut aux = aux_bytes.iter();
    for r in records {
        let mut name = [0u8; 8];
        if r.name.len() <= 8 {
            name[..r.name.len()].copy_from_slice(r.name.as_bytes());
        } else {
            name[4..].copy_from_slice(&(strings.len() as u32).to_le_bytes());
            strings.extend_from_slice(r.name.as_bytes());
            strings.push(0);
        }
        bytes.extend_from_slice(&name);
        bytes.extend_from_slice(&r.value.to_le_bytes());
        bytes.extend_from_slice(&r.section.to_le_bytes());
        bytes.extend_from_slice(&r.typ.to_le_bytes());
        bytes.extend_from_slice(&[r.class, r.aux]);
        count += 1;
        for _ in 0..r.aux {
            bytes.extend_from_slice(aux.next().expect("aux record"));
            count += 1;
        }
    }
    let len = strings.len() as u32;
    strings[..4].copy_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&strings);
    let header = synth::nt_offset(&bytes) + 4;
    synth::set_u32(&mut bytes, header + 8, table as u32);
    synth::set_u32(&mut bytes, header + 12, count);
    bytes
}

/// An aux record that would read as an external function `fake` at .text
/// +0x30 if it were not skipped.
fn decoy_aux() -> [u8; 18] {
    let mut a = [0u8; 18];
    a[..4].copy_from_slice(b"fake");
    a[8..12].copy_from_slice(&0x30u32.to_le_bytes());
    a[12..14].copy_from_slice(&1i16.to_le_bytes());
    a[14..16].copy_from_slice(&FUNCTION.to_le_bytes());
    a[16] = EXTERNAL;
    a
}

/// A DLL exporting `exported` at .text+0x0 and `later` at .text+0x60,
/// with a symbol table naming functions at 0x10, 0x40 (twice) and 0x60.
fn image() -> (Vec<u8>, u32) {
    let built = synth::build(&Spec {
        exports: vec![("exported", 0), ("later", 0x60)],
        ..Spec::dll("lib.dll", &[])
    });
    let records = [
        Rec {
            name: ".text",
            value: 0,
            section: 1,
            typ: 0,
            class: STATIC,
            aux: 1,
        },
        func("alpha", 0x10),
        Rec {
            class: STATIC,
            ..func("a_static_function_with_a_long_name", 0x40)
        },
        func("alias_of_it", 0x40),
        Rec {
            typ: 0,
            class: STATIC,
            ..func("local", 0x60)
        },
        Rec {
            section: 2,
            typ: 0,
            ..func("data", 0)
        },
        Rec {
            section: 0,
            ..func("undefined", 0x70)
        },
        Rec {
            class: 103, // IMAGE_SYM_CLASS_FILE
            typ: 0,
            ..func("file", 0x70)
        },
    ];
    let bytes = with_symbols(built.bytes, &records, &[decoy_aux()]);
    (bytes, built.text_rva)
}

fn sym(name: &str, offset: u32, from_exports: bool) -> Option<Symbol<'_>> {
    Some(Symbol {
        name,
        offset,
        from_exports,
    })
}

#[test]
fn coff_symbols_name_the_covering_function() {
    let (file, text) = image();
    let at = |rva: u32| nearest_symbol(&file, text + rva);
    assert_eq!(at(0x10), sym("alpha", 0, false));
    // The decoy aux record at 0x30 is skipped.
    assert_eq!(at(0x35), sym("alpha", 0x25, false));
    // Two symbols at 0x40: the external one wins, long names resolve.
    assert_eq!(at(0x41), sym("alias_of_it", 1, false));
    // A static non-function symbol without aux records counts.
    assert_eq!(at(0x1ff), sym("local", 0x19f, false));
    // Below every COFF symbol: the export table.
    assert_eq!(at(0x5), sym("exported", 5, true));
}

#[test]
fn long_static_names_come_from_the_string_table() {
    let built = synth::build(&Spec::exe());
    let records = [Rec {
        class: STATIC,
        ..func("a_static_function_with_a_long_name", 0x40)
    }];
    let file = with_symbols(built.bytes, &records, &[]);
    assert_eq!(
        nearest_symbol(&file, built.text_rva + 0x48),
        sym("a_static_function_with_a_long_name", 8, false)
    );
    assert_eq!(nearest_symbol(&file, built.text_rva + 0x3f), None);
}

#[test]
fn exports_are_the_fallback() {
    let dll = synth::build(&Spec::dll("lib.dll", &["a", "b", "c"]));
    let text = dll.text_rva;
    assert_eq!(nearest_symbol(&dll.bytes, text + 0x25), sym("b", 5, true));
    assert_eq!(
        nearest_symbol(&dll.bytes, text + 0x1ff),
        sym("c", 0x1cf, true)
    );
    assert_eq!(nearest_symbol(&dll.bytes, text + 0x5), None);
    // Outside every section, or in a section without exports.
    assert_eq!(nearest_symbol(&dll.bytes, 0x10), None);
    assert_eq!(nearest_symbol(&dll.bytes, u32::MAX), None);
    assert_eq!(nearest_symbol(&dll.bytes, dll.data_rva), None);
    let exe = synth::build(&Spec::exe());
    assert_eq!(nearest_symbol(&exe.bytes, exe.text_rva), None);
}

#[test]
fn broken_symbol_tables_fall_back_or_fail_quietly() {
    let (file, text) = image();
    let header = synth::nt_offset(&file) + 4;
    for (pointer, count) in [
        (u32::MAX, 1),
        (file.len() as u32 - 2, 1),
        (synth::get_u32(&file, header + 8), u32::MAX),
        (synth::get_u32(&file, header + 8), 0),
    ] {
        let mut f = file.clone();
        synth::set_u32(&mut f, header + 8, pointer);
        synth::set_u32(&mut f, header + 12, count);
        assert_eq!(nearest_symbol(&f, text + 0x5), sym("exported", 5, true));
        let _ = nearest_symbol(&f, text + 0x41);
    }
    assert_eq!(nearest_symbol(&[], 0), None);
    assert_eq!(nearest_symbol(&file[..0x100], text), None);
}

proptest! {
    /// Random bytes never panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), rva: u32) {
        let _ = nearest_symbol(&bytes, rva);
    }

    /// Mutated headers, symbol records and string tables never panic.
    #[test]
    fn mutated_symbol_tables_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        header_flips in proptest::collection::vec((0usize..0x200, any::<u8>()), 0..4),
        rva in 0u32..0x5000,
    ) {
        let (mut file, _) = image();
        let table = synth::get_u32(&file, synth::nt_offset(&file) + 12) as usize;
        let tail = file.len() - table;
        for (index, value) in flips {
            let at = table + index.index(tail);
            file[at] = value;
        }
        for (at, value) in header_flips {
            file[at] = value;
        }
        let _ = nearest_symbol(&file, rva);
    }
}
