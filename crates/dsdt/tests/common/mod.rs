//! AML byte builders shared by the `\_S5` tests.
#![allow(dead_code)]

/// How an integer element is written (ACPI 6.4 §20.2.3).
#[derive(Clone, Copy, Debug)]
pub enum Enc {
    /// `ZeroOp`/`OneOp` for 0 and 1, else `BytePrefix`.
    Short,
    Byte,
    Word,
    DWord,
    QWord,
}

/// One integer element holding `v` (which must fit the encoding).
pub fn int(v: u64, enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Short if v == 0 => vec![0x00],
        Enc::Short if v == 1 => vec![0x01],
        Enc::Short | Enc::Byte => vec![0x0A, v as u8],
        Enc::Word => [&[0x0B][..], &(v as u16).to_le_bytes()].concat(),
        Enc::DWord => [&[0x0C][..], &(v as u32).to_le_bytes()].concat(),
        Enc::QWord => [&[0x0E][..], &v.to_le_bytes()].concat(),
    }
}

/// A PkgLength for `body` bytes following it, written with `width` bytes
/// (1-4; the minimal width if `width` is 0). §20.2.4.
pub fn pkg_length(body: usize, width: usize) -> Vec<u8> {
    let width = if width == 0 {
        (1..=4)
            .find(|&w| fits(body + w, w))
            .expect("body too large")
    } else {
        width
    };
    let total = body + width;
    assert!(fits(total, width), "{total} does not fit {width} bytes");
    if width == 1 {
        return vec![total as u8];
    }
    let mut out = vec![(((width - 1) as u8) << 6) | (total & 0x0F) as u8];
    for i in 0..width - 1 {
        out.push((total >> (4 + 8 * i)) as u8);
    }
    out
}

fn fits(total: usize, width: usize) -> bool {
    match width {
        1 => total < 0x40,
        w => total < 1 << (4 + 8 * (w - 1)),
    }
}

/// `PackageOp PkgLength NumElements elements…`.
pub fn package(num: u8, elements: &[Vec<u8>], width: usize) -> Vec<u8> {
    let body: Vec<u8> = std::iter::once(num)
        .chain(elements.iter().flatten().copied())
        .collect();
    [vec![0x12], pkg_length(body.len(), width), body].concat()
}

/// `NameOp prefix "_S5_" object`.
pub fn name_s5(prefix: &[u8], object: &[u8]) -> Vec<u8> {
    [&[0x08][..], prefix, b"_S5_", object].concat()
}

/// The usual `Name (_S5, Package (4) { a, b, Zero, Zero })`.
pub fn s5(a: u64, b: u64) -> Vec<u8> {
    let zero = int(0, Enc::Short);
    name_s5(
        b"",
        &package(
            4,
            &[int(a, Enc::Short), int(b, Enc::Short), zero.clone(), zero],
            0,
        ),
    )
}

/// A whole table: header with `signature`, correct length and checksum.
pub fn table(signature: &[u8; 4], aml: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(36 + aml.len());
    t.extend_from_slice(signature);
    t.extend_from_slice(&((36 + aml.len()) as u32).to_le_bytes());
    t.push(2); // revision
    t.push(0); // checksum, fixed below
    t.extend_from_slice(b"FERRIT");
    t.extend_from_slice(b"TESTTABL");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(b"FRRT");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(aml);
    let sum = t.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    t[9] = sum.wrapping_neg();
    t
}
