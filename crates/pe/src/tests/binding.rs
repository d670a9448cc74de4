//! `Exports::find` and binding: the sorted index gives a linear scan's answers.
//!
//! The reference is the lookup binding used before the index: the first
//! entry (in ordinal order) with the name, or with the ordinal. Name tables
//! may be unsorted and may repeat names; forwarders stay refused.

use proptest::prelude::*;

use super::Files;
use crate::synth::{self, Spec, Sym};
use crate::{parse, Export, ExportTarget, Exports, ImportSymbol, PeError};

/// The pre-index lookup: a front-to-back scan of the entries.
fn linear<'e>(exports: &'e Exports, symbol: &ImportSymbol) -> Option<&'e Export> {
    exports.entries().iter().find(|e| match symbol {
        ImportSymbol::Name { name, .. } => e.name.as_deref() == Some(name.as_str()),
        ImportSymbol::Ordinal(ordinal) => e.ordinal == *ordinal,
    })
}

fn by_name(name: &str) -> ImportSymbol {
    ImportSymbol::Name {
        hint: 0,
        name: name.into(),
    }
}

fn dll(
    exports: &[&'static str],
    forwarders: &[(&'static str, &'static str)],
    sorted: bool,
) -> Vec<u8> {
    synth::build(&Spec {
        exports: (0u32..)
            .zip(exports)
            .map(|(i, n)| (*n, 4 * (i + 1)))
            .collect(),
        forwarders: forwarders.to_vec(),
        sorted_names: sorted,
        ..Spec::dll("lib.dll", &[])
    })
    .bytes
}

#[test]
fn a_repeated_name_resolves_to_its_lowest_ordinal() {
    for sorted in [true, false] {
        let bytes = dll(&["Dup", "Mid", "Dup", "Alpha", "Dup"], &[], sorted);
        let pe = parse(&bytes).unwrap();
        let exports = pe.exports().unwrap();
        let found = exports.find(&by_name("Dup")).unwrap();
        assert_eq!(found.ordinal, 1, "sorted {sorted}");
        assert_eq!(Some(found), linear(exports, &by_name("Dup")));
        for ordinal in 1..=5 {
            let symbol = ImportSymbol::Ordinal(ordinal);
            let found = exports.find(&symbol).unwrap();
            assert_eq!(found.ordinal, ordinal);
            assert_eq!(
                found.name.as_deref(),
                ["Dup", "Mid", "Dup", "Alpha", "Dup"]
                    .get(ordinal as usize - 1)
                    .copied()
            );
        }
        assert_eq!(exports.find(&ImportSymbol::Ordinal(0)), None);
        assert_eq!(exports.find(&ImportSymbol::Ordinal(6)), None);
        assert_eq!(exports.find(&by_name("Du")), None);
        assert_eq!(exports.find(&by_name("Dupe")), None);
    }
}

#[test]
fn an_unsorted_name_table_still_finds_every_name() {
    let names = ["zeta", "Alpha", "mid", "Beta", "a", "_x"];
    let pe = parse(&dll(&names, &[], false)).unwrap();
    let exports = pe.exports().unwrap();
    for (i, name) in names.iter().enumerate() {
        let found = exports.find(&by_name(name)).unwrap();
        assert_eq!(usize::from(found.ordinal), i + 1, "{name}");
    }
}

#[test]
fn forwarders_are_found_and_still_refused_at_binding() {
    let bytes = dll(
        &["Open"],
        &[("Fwd", "other.Target"), ("Ord", "other.#7")],
        true,
    );
    let pe = parse(&bytes).unwrap();
    let exports = pe.exports().unwrap();
    let fwd = exports.find(&by_name("Fwd")).unwrap();
    assert_eq!(fwd.target, ExportTarget::Forwarder("other.Target".into()));
    let ord = exports.find(&ImportSymbol::Ordinal(3)).unwrap();
    assert_eq!(ord.target, ExportTarget::Forwarder("other.#7".into()));

    for symbol in [Sym::Name("Fwd"), Sym::Ordinal(3)] {
        let exe = synth::build(&Spec {
            imports: vec![("lib.dll", vec![Sym::Name("Open"), symbol])],
            ..Spec::exe()
        })
        .bytes;
        let files = Files::new(vec![("prog.exe", exe), ("lib.dll", bytes.clone())]);
        let err = files.plan("prog.exe", &[]).unwrap_err();
        assert!(
            matches!(&err, PeError::ForwardedExport { forwarder, .. }
                if forwarder.starts_with("other.")),
            "{err}"
        );
    }
}

/// Names drawn from a small pool so that repeats are common.
const POOL: [&str; 10] = [
    "a", "b", "Open", "Close", "Read", "Write", "A", "a_", "zz", "Open2",
];

#[derive(Clone, Debug)]
enum Want {
    Name(usize),
    Ordinal(u16),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn index_and_binding_agree_with_a_linear_scan(
        exports in prop::collection::vec(0..POOL.len(), 1..24),
        forwarders in prop::collection::vec(0..POOL.len(), 0..3),
        sorted in any::<bool>(),
        wants in prop::collection::vec(
            prop_oneof![
                (0..POOL.len()).prop_map(Want::Name),
                // From 1: `object` ends a lookup table at a thunk whose low
                // 31 bits are zero, so an ordinal-0 import is never read.
                (1u16..30).prop_map(Want::Ordinal),
            ],
            1..16,
        ),
    ) {
        let names: Vec<&'static str> = exports.iter().map(|&i| POOL[i]).collect();
        let forwarded: Vec<(&'static str, &'static str)> =
            forwarders.iter().map(|&i| (POOL[i], "other.Fn")).collect();
        let dll_bytes = dll(&names, &forwarded, sorted);
        let dll_pe = parse(&dll_bytes).unwrap();
        let table = dll_pe.exports().unwrap();
        let symbols: Vec<Sym> = wants
            .iter()
            .map(|w| match w {
                Want::Name(i) => Sym::Name(POOL[*i]),
                Want::Ordinal(o) => Sym::Ordinal(*o),
            })
            .collect();
        for sym in &symbols {
            let symbol = match sym {
                Sym::Name(n) => by_name(n),
                Sym::Ordinal(o) => ImportSymbol::Ordinal(*o),
            };
            prop_assert_eq!(table.find(&symbol), linear(table, &symbol), "{}", symbol);
        }

        // Binding end to end: the slots hold what the scan finds, or the
        // first failure is the one the scan predicts.
        let exe = synth::build(&Spec {
            imports: vec![("lib.dll", symbols.clone())],
            ..Spec::exe()
        });
        let files = Files::new(vec![
            ("prog.exe", exe.bytes.clone()),
            ("lib.dll", dll_bytes.clone()),
        ]);
        let mut expected = Ok(Vec::new());
        for sym in &symbols {
            let symbol = match sym {
                Sym::Name(n) => by_name(n),
                Sym::Ordinal(o) => ImportSymbol::Ordinal(*o),
            };
            let outcome = match linear(table, &symbol) {
                None => Err(PeError::MissingExport {
                    dll: "lib.dll".into(),
                    symbol: symbol.to_string(),
                }),
                Some(Export { target: ExportTarget::Forwarder(f), .. }) => {
                    Err(PeError::ForwardedExport {
                        dll: "lib.dll".into(),
                        symbol: symbol.to_string(),
                        forwarder: f.clone(),
                    })
                }
                Some(Export { target: ExportTarget::Rva(rva), .. }) => {
                    Ok(dll_pe.preferred_base() + u64::from(*rva))
                }
            };
            match (&mut expected, outcome) {
                (Ok(slots), Ok(address)) => slots.push(address),
                (Ok(_), Err(e)) => expected = Err(e),
                (Err(_), _) => {}
            }
        }
        let got = files.plan("prog.exe", &[]).map(|p| {
            exe.iat[0]
                .iter()
                .map(|&rva| super::slot(&p.modules[0].image, rva))
                .collect::<Vec<u64>>()
        });
        prop_assert_eq!(got, expected);
    }
}
