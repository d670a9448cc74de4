//! Name limits: one name over its cap, shared names over the budget.

use crate::synth::{self, Spec, Sym};
use crate::{parse, PeError, MAX_DLL_NAME, MAX_FORWARDER, MAX_IMPORTS, MAX_SYMBOL_NAME};

fn err(bytes: &[u8]) -> PeError {
    parse(bytes).expect_err("image should be refused")
}

#[test]
fn names_at_their_caps_are_accepted() {
    let symbol = synth::leak("s".repeat(MAX_SYMBOL_NAME));
    let dll_name = synth::leak(format!("{}.dll", "d".repeat(MAX_DLL_NAME - 4)));
    let forwarder = synth::leak(format!("{}.{}", "d".repeat(MAX_DLL_NAME), symbol));
    assert_eq!(forwarder.len(), MAX_FORWARDER);
    let dll = synth::build(&Spec {
        forwarders: vec![("Fwd", forwarder)],
        ..Spec::dll(dll_name, &[symbol])
    });
    let pe = parse(&dll.bytes).unwrap();
    let exports = pe.exports().unwrap();
    assert_eq!(exports.dll_name(), dll_name);
    assert_eq!(exports.entries()[0].name.as_deref(), Some(symbol));
    let exe = synth::build(&Spec {
        imports: vec![(dll_name, vec![Sym::Name(symbol)])],
        ..Spec::exe()
    });
    assert_eq!(parse(&exe.bytes).unwrap().imports()[0].name, dll_name);
}

#[test]
fn each_name_over_its_cap_is_refused() {
    let symbol = synth::leak("s".repeat(MAX_SYMBOL_NAME + 1));
    let dll_name = synth::leak(format!("{}.dll", "d".repeat(MAX_DLL_NAME - 3)));
    let forwarder = synth::leak(format!(
        "{}.{}s",
        "d".repeat(MAX_DLL_NAME),
        "s".repeat(MAX_SYMBOL_NAME)
    ));
    let cases = [
        (
            synth::build(&Spec::dll("lib.dll", &[symbol])),
            "export name",
            MAX_SYMBOL_NAME,
        ),
        (
            synth::build(&Spec::dll(dll_name, &["F"])),
            "export DLL name",
            MAX_DLL_NAME,
        ),
        (
            synth::build(&Spec {
                forwarders: vec![("Fwd", forwarder)],
                ..Spec::dll("lib.dll", &["F"])
            }),
            "export forwarder",
            MAX_FORWARDER,
        ),
        (
            super::exe_importing("lib.dll", &[symbol], 0),
            "imported symbol name",
            MAX_SYMBOL_NAME,
        ),
        (
            super::exe_importing(dll_name, &["F"], 0),
            "imported DLL name",
            MAX_DLL_NAME,
        ),
    ];
    for (built, what, limit) in cases {
        let e = err(&built.bytes);
        assert!(
            matches!(e, PeError::NameTooLong { what: w, limit: l, .. } if w == what && l == limit),
            "{what}: {e}"
        );
        assert!(e.to_string().contains("longer than"), "{e}");
    }
}

#[test]
fn names_shared_past_the_file_length_are_refused() {
    // 2,000 exports or imports pointing at one 1,000-byte name: 2 MB of
    // copies from a ~30 KB file.
    for bytes in [
        synth::dll_sharing_one_export_name(2_000, 1_000),
        synth::exe_sharing_one_import_name(2_000, 1_000),
    ] {
        let budget = bytes.len() + crate::NAME_BUDGET_SLACK;
        assert_eq!(err(&bytes), PeError::NamesTooLarge { limit: budget });
    }
    // A few sharers fit in the slack.
    let few = synth::dll_sharing_one_export_name(20, 1_000);
    let pe = parse(&few).unwrap();
    assert_eq!(pe.exports().unwrap().entries().len(), 20);
}

#[test]
fn descriptors_sharing_a_lookup_table_count_every_import() {
    // 90,000 imports: over MAX_IMPORTS and over one per 8 file bytes.
    let bytes = synth::exe_sharing_one_lookup_table(300, 300);
    let limit = MAX_IMPORTS.min(bytes.len() / 8);
    const { assert!(300 * 300 > MAX_IMPORTS) };
    assert_eq!(err(&bytes), PeError::TooManyImports { limit });
    // 1,500 descriptors sharing 20 entries: 30,000 imports, under
    // MAX_IMPORTS but more than the ~100 KB file has lookup entries for.
    let bytes = synth::exe_sharing_one_lookup_table(1_500, 20);
    assert!(30_000 > bytes.len() / 8, "{}", bytes.len());
    assert_eq!(
        err(&bytes),
        PeError::TooManyImports {
            limit: bytes.len() / 8
        }
    );
    // Within the limits the same shape parses, one entry per slot read.
    let bytes = synth::exe_sharing_one_lookup_table(2, 300);
    let pe = parse(&bytes).unwrap();
    let total: usize = pe.imports().iter().map(|d| d.entries.len()).sum();
    assert_eq!(total, 600);
}
