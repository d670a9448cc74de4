//! `find_s5` and `table_body` against hand-built AML.

mod common;

use common::{int, name_s5, package, pkg_length, s5, table, Enc};
use dsdt::{find_s5, table_body, DsdtError, SleepType, HEADER_LEN};

fn st(a: u8, b: u8) -> SleepType {
    SleepType {
        slp_typ_a: a,
        slp_typ_b: b,
    }
}

/// `Scope (\) { Name (_S5, Package (4) { Zero, Zero, Zero, Zero }) }`, the
/// shape QEMU's pc/q35 DSDT uses (hw/i386/acpi-build.c declares `_S5` in
/// `aml_scope("\\")` with four `aml_int(0)`).
fn qemu_like() -> Vec<u8> {
    let inner = [&[b'\\', 0x00][..], &s5(0, 0)].concat();
    [vec![0x10], pkg_length(inner.len(), 0), inner].concat()
}

#[test]
fn qemu_shape_in_a_table() {
    let aml = qemu_like();
    assert_eq!(
        &aml[..],
        &[
            0x10, 0x0F, 0x5C, 0x00, 0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00,
            0x00, 0x00
        ]
    );
    let t = table(b"DSDT", &aml);
    let body = table_body(&t).unwrap();
    assert_eq!(body, &aml[..]);
    assert_eq!(find_s5(body), Ok(st(0, 0)));
}

#[test]
fn every_integer_encoding() {
    for enc in [Enc::Short, Enc::Byte, Enc::Word, Enc::DWord, Enc::QWord] {
        for (a, b) in [(0, 0), (1, 0), (0, 1), (5, 7), (7, 5)] {
            let pkg = package(2, &[int(a, enc), int(b, enc)], 0);
            let got = find_s5(&name_s5(b"", &pkg));
            assert_eq!(got, Ok(st(a as u8, b as u8)), "{enc:?} {a} {b}");
        }
    }
    // Mixed encodings in one package.
    let pkg = package(
        4,
        &[
            int(3, Enc::QWord),
            int(6, Enc::Word),
            vec![0xFF],
            vec![0x00],
        ],
        0,
    );
    assert_eq!(find_s5(&name_s5(b"", &pkg)), Ok(st(3, 6)));
}

#[test]
fn ones_and_wide_values_are_refused() {
    let pkg = package(2, &[vec![0xFF], int(0, Enc::Short)], 0);
    assert_eq!(
        find_s5(&name_s5(b"", &pkg)),
        Err(DsdtError::BadSleepType(u64::MAX))
    );
    for enc in [Enc::Byte, Enc::Word, Enc::DWord, Enc::QWord] {
        let pkg = package(2, &[int(0, enc), int(8, enc)], 0);
        assert_eq!(
            find_s5(&name_s5(b"", &pkg)),
            Err(DsdtError::BadSleepType(8))
        );
    }
    let pkg = package(2, &[int(0x1_0000_0005, Enc::QWord), int(0, Enc::Short)], 0);
    assert_eq!(
        find_s5(&name_s5(b"", &pkg)),
        Err(DsdtError::BadSleepType(0x1_0000_0005))
    );
}

#[test]
fn prefixed_names() {
    let pkg = package(
        4,
        &[int(5, Enc::Byte), int(5, Enc::Byte), vec![0], vec![0]],
        0,
    );
    assert_eq!(find_s5(&name_s5(b"\\", &pkg)), Ok(st(5, 5)));
    assert_eq!(find_s5(&name_s5(b"^", &pkg)), Ok(st(5, 5)));
    assert_eq!(find_s5(&name_s5(b"^^^", &pkg)), Ok(st(5, 5)));
    // `\^` is not a NameString prefix, nor is a lone prefix without NameOp.
    assert_eq!(find_s5(&name_s5(b"\\^", &pkg)), Err(DsdtError::NotFound));
    assert_eq!(
        find_s5(&[b"\\_S5_".as_slice(), &pkg].concat()),
        Err(DsdtError::NotFound)
    );
}

#[test]
fn multi_byte_pkg_lengths() {
    // Ten QWord elements: 91 bytes of body, so a 2-byte PkgLength.
    let mut elements = vec![int(2, Enc::QWord), int(4, Enc::QWord)];
    elements.extend((0..8).map(|i| int(i, Enc::QWord)));
    let pkg = package(10, &elements, 0);
    assert_eq!(pkg[1] >> 6, 1, "expected a 2-byte PkgLength");
    assert_eq!(find_s5(&name_s5(b"\\", &pkg)), Ok(st(2, 4)));
    // Wider-than-needed encodings decode the same.
    for width in 1..=4 {
        let pkg = package(2, &[int(1, Enc::Short), int(3, Enc::Byte)], width);
        assert_eq!(find_s5(&name_s5(b"", &pkg)), Ok(st(1, 3)), "width {width}");
    }
}

#[test]
fn single_element_packs_both_values() {
    // As ACPICA: SLP_TYPa in bits 7-0, SLP_TYPb in bits 15-8.
    let pkg = package(1, &[int(0x0705, Enc::Word)], 0);
    assert_eq!(find_s5(&name_s5(b"", &pkg)), Ok(st(5, 7)));
    let pkg = package(1, &[int(0x0805, Enc::Word)], 0);
    assert_eq!(
        find_s5(&name_s5(b"", &pkg)),
        Err(DsdtError::BadSleepType(8))
    );
    let pkg = package(1, &[int(0x1_0000, Enc::DWord)], 0);
    assert_eq!(
        find_s5(&name_s5(b"", &pkg)),
        Err(DsdtError::BadSleepType(0x1_0000))
    );
}

#[test]
fn var_package_with_constant_count() {
    let body = [
        &int(2, Enc::Byte)[..],
        &int(6, Enc::Short),
        &int(1, Enc::Short),
    ]
    .concat();
    let pkg = [vec![0x13], pkg_length(body.len(), 0), body].concat();
    assert_eq!(find_s5(&name_s5(b"", &pkg)), Ok(st(6, 1)));
}

#[test]
fn malformed_packages() {
    let bad = |pkg: Vec<u8>| find_s5(&name_s5(b"", &pkg));
    // No elements.
    assert_eq!(bad(package(0, &[], 0)), Err(DsdtError::BadPackage));
    // Two declared, one initialised: SLP_TYPb is missing.
    assert_eq!(
        bad(package(2, &[int(0, Enc::Short)], 0)),
        Err(DsdtError::BadPackage)
    );
    // A string element (StringPrefix 0x0D).
    assert_eq!(
        bad(package(2, &[vec![0x0D, b'x', 0], int(0, Enc::Short)], 0)),
        Err(DsdtError::BadPackage)
    );
    // PkgLength smaller than its own encoding.
    assert_eq!(
        bad(vec![0x12, 0x00, 0x02, 0x00, 0x00]),
        Err(DsdtError::BadPackage)
    );
    // PkgLength ends inside an element: the element is cut by the package.
    assert_eq!(
        bad(vec![0x12, 0x04, 0x02, 0x00, 0x0B, 0x05, 0x00]),
        Err(DsdtError::BadPackage)
    );
    // PkgLength runs past the AML.
    assert_eq!(
        bad(vec![0x12, 0x3F, 0x02, 0x00, 0x00]),
        Err(DsdtError::Truncated)
    );
    // Name (_S5, 5): not a package at all.
    assert_eq!(bad(int(5, Enc::Byte)), Err(DsdtError::BadPackage));
}

#[test]
fn every_truncation_is_an_error() {
    let mut elements = vec![int(2, Enc::QWord), int(4, Enc::DWord)];
    elements.extend((0..8).map(|i| int(i, Enc::Word)));
    let cases = [
        qemu_like(),
        s5(5, 7),
        name_s5(b"\\", &package(10, &elements, 0)),
        name_s5(
            b"^^",
            &package(2, &[int(1, Enc::Word), int(2, Enc::QWord)], 4),
        ),
    ];
    for aml in &cases {
        assert!(find_s5(aml).is_ok());
        for cut in 0..aml.len() {
            assert!(find_s5(&aml[..cut]).is_err(), "cut at {cut} of {aml:02x?}");
        }
        let t = table(b"DSDT", aml);
        for cut in 0..t.len() {
            assert!(table_body(&t[..cut]).is_err(), "table cut at {cut}");
        }
    }
}

#[test]
fn fake_names_are_skipped() {
    // Name (STR_, "_S5_"): the name is string data, not declared by NameOp.
    let string = [&[0x08][..], b"STR_", &[0x0D], b"_S5_", &[0x00]].concat();
    assert_eq!(find_s5(&string), Err(DsdtError::NotFound));
    // Name (BUF_, Buffer () { 0x08, "_S5_", 0x00 }): looks declared, but no
    // package follows.
    let data = [&[0x08][..], b"_S5_", &[0x00]].concat();
    let buffer_body = [&int(data.len() as u64, Enc::Byte)[..], &data].concat();
    let buffer = [
        &[0x08][..],
        b"BUF_",
        &[0x11],
        &pkg_length(buffer_body.len(), 0),
        &buffer_body,
    ]
    .concat();
    assert_eq!(find_s5(&buffer), Err(DsdtError::BadPackage));
    // Method (_S5_) { } is not a Name either.
    let method = [&[0x14, 0x06][..], b"_S5_", &[0x00]].concat();
    assert_eq!(find_s5(&method), Err(DsdtError::NotFound));
    // Scanning goes on past all of them to the real declaration.
    let all = [string, buffer, method, s5(3, 4)].concat();
    assert_eq!(find_s5(&all), Ok(st(3, 4)));
}

#[test]
fn first_good_declaration_wins_and_first_error_is_kept() {
    let bad = name_s5(b"", &package(0, &[], 0));
    let wide = name_s5(
        b"",
        &package(2, &[int(9, Enc::Byte), int(0, Enc::Short)], 0),
    );
    assert_eq!(
        find_s5(&[bad.clone(), s5(1, 2), s5(3, 4)].concat()),
        Ok(st(1, 2))
    );
    assert_eq!(
        find_s5(&[bad.clone(), wide.clone()].concat()),
        Err(DsdtError::BadPackage)
    );
    assert_eq!(
        find_s5(&[wide, bad].concat()),
        Err(DsdtError::BadSleepType(9))
    );
    assert_eq!(find_s5(&[]), Err(DsdtError::NotFound));
}

#[test]
fn table_headers() {
    let aml = s5(5, 5);
    let dsdt = table(b"DSDT", &aml);
    assert_eq!(table_body(&dsdt), Ok(&aml[..]));
    let ssdt = table(b"SSDT", &aml);
    assert_eq!(table_body(&ssdt), Ok(&aml[..]));
    assert_eq!(table_body(&table(b"DSDT", &[])), Ok(&[][..]));

    // Bytes after Length are not part of the table.
    let mut longer = dsdt.clone();
    longer.extend_from_slice(&[0xAA; 7]);
    assert_eq!(table_body(&longer), Ok(&aml[..]));

    assert_eq!(
        table_body(&table(b"FACP", &aml)),
        Err(DsdtError::BadSignature(*b"FACP"))
    );
    assert_eq!(
        table_body(&dsdt[..HEADER_LEN - 1]),
        Err(DsdtError::BadHeader)
    );

    let mut bad_sum = dsdt.clone();
    bad_sum[HEADER_LEN] ^= 0x01;
    assert!(matches!(
        table_body(&bad_sum),
        Err(DsdtError::BadChecksum(_))
    ));

    let with_length = |len: u32| {
        let mut t = dsdt.clone();
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t
    };
    assert_eq!(table_body(&with_length(35)), Err(DsdtError::BadHeader));
    assert_eq!(
        table_body(&with_length(dsdt.len() as u32 + 1)),
        Err(DsdtError::Truncated)
    );
    assert_eq!(
        table_body(&with_length(u32::MAX)),
        Err(DsdtError::Truncated)
    );
}
