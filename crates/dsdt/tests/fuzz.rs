//! Property tests: no input panics, and a valid `\_S5` in junk is found.

mod common;

use common::{int, name_s5, package, q35_like, Enc};
use dsdt::{find_s5, pci_routes, table_body, SleepType};
use proptest::prelude::*;

fn enc() -> impl Strategy<Value = Enc> {
    prop_oneof![
        Just(Enc::Short),
        Just(Enc::Byte),
        Just(Enc::Word),
        Just(Enc::DWord),
        Just(Enc::QWord),
    ]
}

fn prefix() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(b"\\".to_vec()),
        (1usize..4).prop_map(|n| vec![b'^'; n]),
    ]
}

/// Random bytes without `_`, so they can hold no other `_S5_`.
fn junk(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|v| {
        v.into_iter()
            .map(|b| if b == b'_' { 0 } else { b })
            .collect()
    })
}

/// A valid `\_S5` declaration and the sleep types it holds.
fn declaration() -> impl Strategy<Value = (Vec<u8>, SleepType)> {
    (
        0u8..8,
        0u8..8,
        enc(),
        enc(),
        prop::collection::vec((any::<u64>(), enc()), 0..12),
        prefix(),
        0usize..=4,
    )
        .prop_map(|(a, b, ea, eb, extra, prefix, width)| {
            let mut elements = vec![int(a.into(), ea), int(b.into(), eb)];
            elements.extend(extra.into_iter().map(|(v, e)| match e {
                Enc::Short | Enc::Byte => int(v & 0xFF, Enc::Byte),
                e => int(v, e),
            }));
            let num = elements.len() as u8;
            // Width 0 picks the minimal PkgLength; an explicit width must fit.
            let body: usize = 1 + elements.iter().map(Vec::len).sum::<usize>();
            let width = if width == 1 && body + 1 >= 0x40 {
                0
            } else {
                width
            };
            let st = SleepType {
                slp_typ_a: a,
                slp_typ_b: b,
            };
            (name_s5(&prefix, &package(num, &elements, width)), st)
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = find_s5(&bytes);
        let _ = table_body(&bytes);
    }

    #[test]
    fn aml_alphabet_never_panics(
        bytes in prop::collection::vec(
            prop::sample::select(vec![
                0x00u8, 0x01, 0x08, 0x0A, 0x0B, 0x0C, 0x0E, 0x12, 0x13, 0x40, 0x80,
                0xC0, 0xFF, b'\\', b'^', b'_', b'S', b'5',
            ]),
            0..512,
        )
    ) {
        let _ = find_s5(&bytes);
    }

    #[test]
    fn embedded_declaration_is_found(
        before in junk(256),
        (decl, st) in declaration(),
        after in junk(256),
    ) {
        let aml = [before.clone(), decl.clone(), after].concat();
        prop_assert_eq!(find_s5(&aml), Ok(st));
        // Cut anywhere before the declaration ends: never a (wrong) answer.
        let end = before.len() + decl.len();
        for cut in before.len()..end {
            prop_assert!(find_s5(&aml[..cut]).is_err());
        }
    }

    #[test]
    fn corrupted_declaration_never_panics(
        (decl, _) in declaration(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut aml = decl;
        let i = at.index(aml.len());
        aml[i] = byte;
        let _ = find_s5(&aml);
    }

    #[test]
    fn routing_alphabet_never_panics(
        bytes in prop::collection::vec(
            prop::sample::select(vec![
                0x00u8, 0x01, 0x08, 0x0A, 0x0C, 0x11, 0x12, 0x13, 0x14, 0x2E, 0x2F, 0x40,
                0x5B, 0x82, 0x89, 0xA4, 0x23, 0x79, 0xFF, b'\\', b'^', b'_', b'P', b'R',
                b'T', b'C', b'S', b'A',
            ]),
            0..768,
        )
    ) {
        let _ = pci_routes(&bytes);
    }

    #[test]
    fn corrupted_routing_table_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut aml = q35_like();
        for (at, byte) in edits {
            let i = at.index(aml.len());
            aml[i] = byte;
        }
        if let Ok(t) = pci_routes(&aml) {
            prop_assert!(!t.routes.is_empty());
            prop_assert!(t.routes.iter().all(|r| r.device < 32 && r.pin < 4));
        }
    }
}
