//! `pci_routes` against hand-built AML.

mod common;

use common::{
    buffer, device, ext_interrupt, int, method, method_link, name, package, prt_entry, q35_like,
    ret, static_link, template, Enc,
};
use dsdt::{pci_routes, DsdtError, PciRoute, RouteError};

fn route(device: u8, pin: u8, gsi: u32, level: bool, active_low: bool) -> PciRoute {
    PciRoute {
        device,
        pin,
        gsi,
        level,
        active_low,
    }
}

/// `Name (_PRT, Package { entries })` with the links after it.
fn direct(entries: &[Vec<u8>], links: &[Vec<u8>]) -> Vec<u8> {
    let mut aml = name(b"_PRT", &package(entries.len() as u8, entries, 0));
    for l in links {
        aml.extend(l);
    }
    aml
}

fn gsi_link(seg: &[u8], gsi: u32) -> Vec<u8> {
    static_link(seg, &template(&[ext_interrupt(true, false, &[gsi])]))
}

#[test]
fn q35_takes_the_apic_table() {
    let t = pci_routes(&q35_like()).expect("routes");
    assert_eq!(&t.name, b"PRTA");
    assert_eq!(t.routes.len(), 32);
    for d in 0..8u8 {
        for p in 0..4u8 {
            let gsi = 16 + u32::from((d + p) % 4);
            assert_eq!(t.route(d, p), Some(route(d, p, gsi, true, false)));
        }
    }
    assert_eq!(t.route(8, 0), None);
}

#[test]
fn only_pic_links_cannot_be_used() {
    let aml = direct(&[prt_entry(1, 0, b"LNKA", 0)], &[method_link(b"LNKA")]);
    assert_eq!(pci_routes(&aml), Err(RouteError::DynamicLink(*b"LNKA")));
    // A link without any _CRS is no better.
    let aml = direct(
        &[prt_entry(1, 0, b"LNKA", 0)],
        &[device(b"LNKA", &name(b"_UID", &[0x01]))],
    );
    assert_eq!(pci_routes(&aml), Err(RouteError::DynamicLink(*b"LNKA")));
}

#[test]
fn hard_wired_gsis_are_level_low() {
    let aml = direct(&[prt_entry(2, 0, b"", 40), prt_entry(2, 1, b"", 41)], &[]);
    let t = pci_routes(&aml).unwrap();
    assert_eq!(&t.name, b"_PRT");
    assert_eq!(
        t.routes,
        vec![route(2, 0, 40, true, true), route(2, 1, 41, true, true)]
    );
    // A source that is an integer other than 0 is malformed.
    let bad = package(
        4,
        &[
            int(0x2FFFF, Enc::DWord),
            int(0, Enc::Short),
            int(5, Enc::Byte),
            int(0, Enc::Short),
        ],
        0,
    );
    assert!(matches!(
        pci_routes(&direct(&[bad], &[])),
        Err(RouteError::BadEntry(_))
    ));
}

#[test]
fn irq_descriptors_and_modes() {
    // IRQ 11 with an information byte: level (bit 0 clear), active low.
    let level_low = static_link(b"LNKX", &template(&[vec![0x23, 0x00, 0x08, 0x18]]));
    // IRQ 5 without one: edge, active high.
    let edge_high = static_link(b"LNKY", &template(&[vec![0x22, 0x20, 0x00]]));
    // Extended Interrupt, edge and active low.
    let ext = static_link(b"LNKZ", &template(&[ext_interrupt(false, true, &[30])]));
    let aml = direct(
        &[
            prt_entry(3, 0, b"LNKX", 0),
            prt_entry(3, 1, b"LNKY", 0),
            prt_entry(3, 2, b"LNKZ", 0),
        ],
        &[level_low, edge_high, ext],
    );
    assert_eq!(
        pci_routes(&aml).unwrap().routes,
        vec![
            route(3, 0, 11, true, true),
            route(3, 1, 5, false, false),
            route(3, 2, 30, false, true),
        ]
    );
}

#[test]
fn descriptors_before_the_interrupt_are_skipped() {
    // A small I/O descriptor (8 bytes) and a large memory one first.
    let io = vec![0x47, 0x01, 0x00, 0x10, 0x00, 0x10, 0x01, 0x10];
    let mem = vec![
        0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xC0, 0xFE, 0x00, 0x10, 0x00, 0x00,
    ];
    let link = static_link(
        b"GSIQ",
        &template(&[io, mem, ext_interrupt(true, false, &[19])]),
    );
    let aml = direct(&[prt_entry(4, 3, b"GSIQ", 0)], &[link]);
    assert_eq!(
        pci_routes(&aml).unwrap().routes,
        vec![route(4, 3, 19, true, false)]
    );
    // A template with no interrupt leaves the link unusable.
    let none = static_link(b"GSIQ", &template(&[]));
    let aml = direct(&[prt_entry(4, 3, b"GSIQ", 0)], &[none]);
    assert_eq!(pci_routes(&aml), Err(RouteError::DynamicLink(*b"GSIQ")));
}

#[test]
fn the_first_crs_of_a_link_counts() {
    // A method `_CRS` before a nested device's constant one: the link's
    // own setting is the method's.
    let nested = gsi_link(b"SUBD", 23);
    let link = device(b"LNKN", &[method(b"_CRS", &ret(b"IQCR")), nested].concat());
    let aml = direct(&[prt_entry(1, 0, b"LNKN", 0)], &[link]);
    assert_eq!(pci_routes(&aml), Err(RouteError::DynamicLink(*b"LNKN")));
}

#[test]
fn source_index_picks_the_interrupt() {
    let link = static_link(b"GSIM", &template(&[ext_interrupt(true, false, &[20, 21])]));
    let aml = direct(&[prt_entry(5, 0, b"GSIM", 1)], std::slice::from_ref(&link));
    assert_eq!(pci_routes(&aml).unwrap().routes[0].gsi, 21);
    let aml = direct(&[prt_entry(5, 0, b"GSIM", 2)], &[link]);
    assert_eq!(pci_routes(&aml), Err(RouteError::NoInterrupt(*b"GSIM")));
}

#[test]
fn links_by_path_and_unknown_links() {
    // `\_SB_.GSIA` as a dual name path, and `^GSIB` with a parent prefix.
    let dual = [&[b'\\', 0x2E][..], b"_SB_GSIA"].concat();
    let parent = [&b"^"[..], b"GSIB"].concat();
    let aml = direct(
        &[prt_entry(6, 0, &dual, 0), prt_entry(6, 1, &parent, 0)],
        &[gsi_link(b"GSIA", 16), gsi_link(b"GSIB", 17)],
    );
    assert_eq!(
        pci_routes(&aml).unwrap().routes,
        vec![route(6, 0, 16, true, false), route(6, 1, 17, true, false)]
    );
    let aml = direct(&[prt_entry(6, 0, b"GSIZ", 0)], &[gsi_link(b"GSIA", 16)]);
    assert_eq!(pci_routes(&aml), Err(RouteError::UnknownLink(*b"GSIZ")));
}

#[test]
fn same_named_links_must_agree() {
    let entries = [prt_entry(7, 0, b"GSIA", 0)];
    let agree = direct(&entries, &[gsi_link(b"GSIA", 16), gsi_link(b"GSIA", 16)]);
    assert_eq!(pci_routes(&agree).unwrap().routes[0].gsi, 16);
    let differ = direct(&entries, &[gsi_link(b"GSIA", 16), gsi_link(b"GSIA", 18)]);
    assert_eq!(
        pci_routes(&differ),
        Err(RouteError::AmbiguousLink(*b"GSIA"))
    );
}

#[test]
fn malformed_entries_are_refused() {
    let link = gsi_link(b"GSIA", 16);
    let three = package(
        3,
        &[
            int(0xFFFF, Enc::DWord),
            int(0, Enc::Short),
            b"GSIA".to_vec(),
        ],
        0,
    );
    let function = package(
        4,
        &[
            int(0x0001_0000, Enc::DWord),
            int(0, Enc::Short),
            b"GSIA".to_vec(),
            int(0, Enc::Short),
        ],
        0,
    );
    for bad in [
        three,
        function,
        prt_entry(32, 0, b"GSIA", 0),
        prt_entry(1, 4, b"GSIA", 0),
        int(7, Enc::Byte),
    ] {
        let aml = direct(std::slice::from_ref(&bad), std::slice::from_ref(&link));
        assert!(
            matches!(pci_routes(&aml), Err(RouteError::BadEntry(_))),
            "{bad:x?}"
        );
    }
    // An empty package gives no routes.
    let aml = direct(&[], &[]);
    assert_eq!(
        pci_routes(&aml),
        Err(RouteError::BadEntry(DsdtError::BadPackage))
    );
}

#[test]
fn repeated_pins_keep_the_first() {
    let aml = direct(&[prt_entry(1, 0, b"", 20), prt_entry(1, 0, b"", 21)], &[]);
    assert_eq!(
        pci_routes(&aml).unwrap().routes,
        vec![route(1, 0, 20, true, true)]
    );
}

#[test]
fn no_prt() {
    assert_eq!(pci_routes(&[]), Err(RouteError::NotFound));
    assert_eq!(
        pci_routes(&[gsi_link(b"GSIA", 16), name(b"PRTA", &[0x00])].concat()),
        Err(RouteError::NotFound)
    );
    // A method that returns a name nobody declares.
    let aml = method(b"_PRT", &ret(b"PRTX"));
    assert_eq!(pci_routes(&aml), Err(RouteError::NotFound));
}

#[test]
fn a_later_prt_is_used_when_the_first_cannot_be() {
    let first = direct(&[prt_entry(1, 0, b"LNKA", 0)], &[method_link(b"LNKA")]);
    let second = direct(&[prt_entry(2, 0, b"", 44)], &[]);
    let aml = [first, second].concat();
    assert_eq!(
        pci_routes(&aml).unwrap().routes,
        vec![route(2, 0, 44, true, true)]
    );
}

#[test]
fn the_buffer_size_may_exceed_its_bytes() {
    // BufferSize 64 with a 9-byte initializer: the rest is zeros.
    let t = template(&[ext_interrupt(true, false, &[22])]);
    let inner = [int(64, Enc::Byte), t].concat();
    let buf = [vec![0x11], common::pkg_length(inner.len(), 0), inner].concat();
    let link = device(b"GSIW", &name(b"_CRS", &buf));
    let aml = direct(&[prt_entry(9, 2, b"GSIW", 0)], &[link]);
    assert_eq!(pci_routes(&aml).unwrap().routes[0].gsi, 22);
    let _ = buffer(&[]);
}

#[test]
fn every_cut_of_the_q35_table_is_handled() {
    let aml = q35_like();
    for cut in 0..aml.len() {
        // Must not panic; a cut inside PRTA refuses it.
        let _ = pci_routes(&aml[..cut]);
    }
}
