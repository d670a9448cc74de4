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

/// `NameOp name object` (`name` is a whole NameString).
pub fn name(name: &[u8], object: &[u8]) -> Vec<u8> {
    [&[0x08][..], name, object].concat()
}

/// `ExtOpPrefix DeviceOp PkgLength name body` (§20.2.5.2).
pub fn device(name: &[u8], body: &[u8]) -> Vec<u8> {
    let inner = [name, body].concat();
    [vec![0x5B, 0x82], pkg_length(inner.len(), 0), inner].concat()
}

/// `MethodOp PkgLength name flags body` (§20.2.5.2), no arguments.
pub fn method(name: &[u8], body: &[u8]) -> Vec<u8> {
    let inner = [name, &[0x00][..], body].concat();
    [vec![0x14], pkg_length(inner.len(), 0), inner].concat()
}

/// `ReturnOp name`.
pub fn ret(name: &[u8]) -> Vec<u8> {
    [&[0xA4][..], name].concat()
}

/// `BufferOp PkgLength BufferSize bytes` (§20.2.5.4).
pub fn buffer(bytes: &[u8]) -> Vec<u8> {
    let inner = [int(bytes.len() as u64, Enc::Byte), bytes.to_vec()].concat();
    [vec![0x11], pkg_length(inner.len(), 0), inner].concat()
}

/// A resource template: the descriptors, then an End Tag (§6.4.2.9).
pub fn template(descriptors: &[Vec<u8>]) -> Vec<u8> {
    let mut t: Vec<u8> = descriptors.iter().flatten().copied().collect();
    t.extend([0x79, 0x00]);
    t
}

/// An Extended Interrupt descriptor (§6.4.3.6): consumer, shared, with
/// `level`/`active_low`, holding `gsis`.
pub fn ext_interrupt(level: bool, active_low: bool, gsis: &[u32]) -> Vec<u8> {
    let mut flags = 0x01 | 0x08;
    if !level {
        flags |= 0x02;
    }
    if active_low {
        flags |= 0x04;
    }
    let len = 2 + 4 * gsis.len();
    let mut d = vec![0x89, len as u8, (len >> 8) as u8, flags, gsis.len() as u8];
    for g in gsis {
        d.extend(g.to_le_bytes());
    }
    d
}

/// A `_PRT` entry `{ Address, Pin, Source, SourceIndex }`; `source` is a
/// NameString, or empty for the integer 0.
pub fn prt_entry(device: u32, pin: u64, source: &[u8], index: u64) -> Vec<u8> {
    let source = if source.is_empty() {
        vec![0x00]
    } else {
        source.to_vec()
    };
    package(
        4,
        &[
            int(u64::from(device) << 16 | 0xFFFF, Enc::DWord),
            int(pin, Enc::Short),
            source,
            int(index, Enc::Short),
        ],
        0,
    )
}

/// A link device named `seg` with a constant `_CRS` template.
pub fn static_link(seg: &[u8], crs: &[u8]) -> Vec<u8> {
    device(
        seg,
        &[
            name(b"_HID", &[0x0C, 0x41, 0xD0, 0x0C, 0x0F]),
            name(b"_CRS", &buffer(crs)),
        ]
        .concat(),
    )
}

/// A PIC-mode link device named `seg` whose `_CRS` is a method.
pub fn method_link(seg: &[u8]) -> Vec<u8> {
    device(
        seg,
        &[
            name(b"_HID", &[0x0C, 0x41, 0xD0, 0x0C, 0x0F]),
            method(b"_CRS", &ret(b"IQCR")),
        ]
        .concat(),
    )
}

/// Routes of a q35-like table: slot `d` pin `p` goes to link
/// `GSI(A + (d + p) % 4)` (GSI 16 + that letter's index).
pub fn q35_like() -> Vec<u8> {
    let links = [b"GSIA", b"GSIB", b"GSIC", b"GSID"];
    let pic = [b"LNKA", b"LNKB", b"LNKC", b"LNKD"];
    let mut prta = Vec::new();
    let mut prtp = Vec::new();
    for d in 0..8u32 {
        for p in 0..4u64 {
            let i = (d as usize + p as usize) % 4;
            prta.push(prt_entry(d, p, links[i], 0));
            prtp.push(prt_entry(d, p, pic[i], 0));
        }
    }
    let n = prta.len() as u8;
    // Method (_PRT) { If (PICF == Zero) { Return (PRTP) } Return (PRTA) }
    let if_body = [vec![0x93], b"PICF".to_vec(), vec![0x00], ret(b"PRTP")].concat();
    let if_op = [vec![0xA0], pkg_length(if_body.len(), 0), if_body].concat();
    let pci0_body = [
        name(b"_HID", &[0x0C, 0x41, 0xD0, 0x0A, 0x08]),
        name(b"PRTP", &package(n, &prtp, 0)),
        name(b"PRTA", &package(n, &prta, 0)),
        method(b"_PRT", &[if_op, ret(b"PRTA")].concat()),
    ]
    .concat();
    let mut sb = device(b"PCI0", &pci0_body);
    for seg in pic {
        sb.extend(method_link(seg));
    }
    for (i, seg) in links.iter().enumerate() {
        sb.extend(static_link(
            *seg,
            &template(&[ext_interrupt(true, false, &[16 + i as u32])]),
        ));
    }
    // Scope (\_SB) { … }
    let inner = [b"\\_SB_".to_vec(), sb].concat();
    [vec![0x10], pkg_length(inner.len(), 0), inner].concat()
}
