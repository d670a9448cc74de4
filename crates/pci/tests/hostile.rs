//! Hostile config space: bad BARs, capability lists and MSI-X placement.

mod fake;

use fake::q35::virtio_net;
use fake::{bdf, FakeBus, FakeFunction};
use pci::{enumerate, msi, msix, Bar, BarKind, Function, MsixRegion, Problem};

/// Enumerates a bus holding only `f` at 00:03.0 and returns what was found
/// for it, checking that it is listed and that sizing restored everything.
fn scan_one(f: FakeFunction) -> (FakeBus, Function) {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 3, 0), f);
    let before = bus.snapshot();
    let found = enumerate(&mut bus, 0);
    assert_eq!(bus.snapshot(), before, "registers not restored");
    let [function] = found.functions.as_slice() else {
        panic!("expected one function, got {:?}", found.functions);
    };
    let expected: Vec<_> = function
        .problems
        .iter()
        .map(|p| (function.at, *p))
        .collect();
    assert_eq!(found.problems, expected);
    (bus, function.clone())
}

fn device() -> FakeFunction {
    FakeFunction::new(0x1b36, 0x0001)
        .class(0x02, 0x00, 0x00, 0x00)
        .command(0x0003)
}

#[test]
fn a_bar_size_mask_with_holes_is_refused() {
    // BAR0 reads back 0xFF0F_0000 after all-ones: a hole at bits 23:20.
    let f = device()
        .mem32(0, 0, 16, false)
        .set_writable(0x10, 0xFF0F_0000)
        .mem32(1, 0xfe00_0000, 4096, false);
    let (_, f) = scan_one(f);
    assert_eq!(
        f.problems,
        [Problem::BarSize {
            index: 0,
            readback: 0xFF0F_0000
        }]
    );
    assert_eq!(
        f.bars,
        [Bar {
            index: 1,
            kind: BarKind::Memory32,
            base: 0xfe00_0000,
            size: 4096,
            prefetchable: false
        }]
    );
}

#[test]
fn a_bar_size_mask_missing_its_top_bits_is_refused() {
    let f = device().io(2, 0x1000, 16).set_writable(0x18, 0x7FFF_FFF0);
    let (_, f) = scan_one(f);
    assert_eq!(
        f.problems,
        [Problem::BarSize {
            index: 2,
            readback: 0x7FFF_FFF1
        }]
    );
    assert!(f.bars.is_empty());
}

#[test]
fn an_io_bar_with_bits_31_16_hardwired_to_zero_is_a_16_bit_bar() {
    let f = device().io(0, 0x0c00, 256).set_writable(0x10, 0x0000_FF00);
    let (_, f) = scan_one(f);
    assert_eq!(f.problems, []);
    assert_eq!(
        f.bars,
        [Bar {
            index: 0,
            kind: BarKind::Io,
            base: 0xc00,
            size: 256,
            prefetchable: false
        }]
    );
}

#[test]
fn a_64_bit_bar_in_the_last_slot_is_refused_unprobed() {
    let (bus, f) = scan_one(device().mem32(0, 0xfe00_0000, 4096, false).mem64(
        5,
        0xfd00_0000,
        4096,
        false,
    ));
    assert_eq!(f.problems, [Problem::Bar64InLastSlot { index: 5 }]);
    assert_eq!(f.bars.len(), 1);
    assert!(
        !bus.writes().any(|w| w.offset == 0x24),
        "slot 5 was written"
    );
    // A bridge has two slots: its last is slot 1.
    let bridge = device()
        .bridge(0, 1, 1)
        .mem32(1, 0, 4096, false)
        .set(0x14, 0xfe00_0004);
    let (_, b) = scan_one(bridge);
    assert_eq!(b.problems, [Problem::Bar64InLastSlot { index: 1 }]);
}

#[test]
fn a_reserved_memory_type_is_refused() {
    let (_, f) = scan_one(
        device()
            .mem32(0, 0xfe00_0000, 4096, false)
            .set(0x10, 0xfe00_0006),
    );
    assert_eq!(
        f.problems,
        [Problem::BarType {
            index: 0,
            raw: 0xfe00_0006
        }]
    );
    assert!(f.bars.is_empty());
}

fn cap_pairs(f: &Function) -> Vec<(u8, u8)> {
    f.capabilities.iter().map(|c| (c.id, c.offset)).collect()
}

#[test]
fn a_capability_loop_is_cut() {
    // 0x40 -> 0x50 -> 0x40 -> ...
    let f = device()
        .capability(0x40, 0x01, 0)
        .capability(0x50, 0x09, 0)
        .with_byte(0x51, 0x40);
    let (_, f) = scan_one(f);
    assert_eq!(f.problems, [Problem::CapabilityLoop { offset: 0x40 }]);
    assert_eq!(cap_pairs(&f), [(0x01, 0x40), (0x09, 0x50)]);
    // A capability pointing at itself.
    let (_, f) = scan_one(device().capability(0xfc, 0x09, 0).with_byte(0xfd, 0xfc));
    assert_eq!(f.problems, [Problem::CapabilityLoop { offset: 0xfc }]);
    assert_eq!(cap_pairs(&f), [(0x09, 0xfc)]);
}

#[test]
fn a_capability_pointer_into_the_header_or_unaligned_is_refused() {
    let (_, f) = scan_one(device().capability(0x40, 0x01, 0).with_byte(0x34, 0x20));
    assert_eq!(
        f.problems,
        [Problem::CapabilityPointer {
            offset: 0x34,
            next: 0x20
        }]
    );
    assert!(f.capabilities.is_empty());
    let (_, f) = scan_one(device().capability(0x40, 0x01, 0).with_byte(0x41, 0x45));
    assert_eq!(
        f.problems,
        [Problem::CapabilityPointer {
            offset: 0x41,
            next: 0x45
        }]
    );
    assert_eq!(cap_pairs(&f), [(0x01, 0x40)]);
}

#[test]
fn a_capability_pointer_without_the_status_bit_is_not_followed() {
    let f = device().capability(0x40, 0x05, 0);
    let status_off = f.reg(0x04) & !(1 << 20);
    let (_, f) = scan_one(f.set(0x04, status_off));
    assert!(f.capabilities.is_empty() && f.problems.is_empty());
}

#[test]
fn an_msi_capability_running_past_config_space_is_refused() {
    let mut bus = FakeBus::default();
    // A 64-bit MSI capability needs 0x10 bytes; 0xf4 + 0x10 > 0x100.
    bus.add(bdf(0, 3, 0), device().capability(0xf4, 0x05, 1 << 7));
    let found = enumerate(&mut bus, 0);
    let f = &found.functions[0];
    let refused = Problem::CapabilityLength {
        id: 0x05,
        offset: 0xf4,
    };
    assert_eq!(f.problems, [refused]);
    assert_eq!(msi(&mut bus, f), Some(Err(refused)));
    // The same capability as 32-bit (0x0c bytes) fits.
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 3, 0), device().capability(0xf4, 0x05, 0));
    let found = enumerate(&mut bus, 0);
    assert_eq!(found.problems, []);
    assert!(matches!(msi(&mut bus, &found.functions[0]), Some(Ok(m)) if !m.is_64bit));
}

/// The virtio fixture with its MSI-X table and PBA placed as given.
fn misplaced(entries: u16, table: (u8, u32), pba: (u8, u32)) -> Problem {
    let mut f = virtio_net();
    let at = 0x98 / 4;
    f.regs[at] = f.regs[at] & 0xFFFF | u32::from(entries - 1) << 16;
    f.regs[at + 1] = table.1 | u32::from(table.0);
    f.regs[at + 2] = pba.1 | u32::from(pba.0);
    let (mut bus, function) = scan_one(f);
    let [problem] = function.problems[..] else {
        panic!("expected one problem, got {:?}", function.problems);
    };
    assert_eq!(msix(&mut bus, &function), Some(Err(problem)));
    problem
}

#[test]
fn an_msix_table_or_pba_outside_its_bar_is_refused() {
    use MsixRegion::*;
    // BAR1 is 4 KiB: 16 entries (256 bytes) at 0xf80 end at 0x1080.
    assert_eq!(
        misplaced(16, (1, 0xf80), (1, 0x800)),
        Problem::MsixTable {
            region: Table,
            bir: 1,
            offset: 0xf80,
            length: 256
        }
    );
    assert_eq!(
        misplaced(3, (1, 0), (1, 0x1000)),
        Problem::MsixTable {
            region: Pba,
            bir: 1,
            offset: 0x1000,
            length: 8
        }
    );
    // 2048 entries need 32 KiB.
    assert_eq!(
        misplaced(2048, (4, 0), (1, 0)),
        Problem::MsixTable {
            region: Table,
            bir: 4,
            offset: 0,
            length: 32768
        }
    );
    assert_eq!(
        misplaced(3, (1, 0xffff_fff8), (1, 0x800)),
        Problem::MsixTable {
            region: Table,
            bir: 1,
            offset: 0xffff_fff8,
            length: 48
        }
    );
}

#[test]
fn an_msix_bir_naming_no_memory_bar_is_refused() {
    use MsixRegion::*;
    // 6 and 7 are reserved, 0 is an I/O BAR, 2 is unimplemented, 5 is the
    // upper half of the 64-bit BAR4.
    for bir in [6, 7, 0, 2, 5] {
        assert_eq!(
            misplaced(3, (bir, 0), (1, 0x800)),
            Problem::MsixBar { region: Table, bir }
        );
        assert_eq!(
            misplaced(3, (1, 0), (bir, 0)),
            Problem::MsixBar { region: Pba, bir }
        );
    }
}

#[test]
fn an_msix_table_overlapping_its_pba_is_refused() {
    assert_eq!(
        misplaced(3, (1, 0), (1, 0x28)),
        Problem::MsixOverlap { bir: 1 }
    );
    // Adjacent is fine: 3 entries end at 0x30.
    let mut f = virtio_net();
    f.regs[0x98 / 4 + 2] = 0x30 | 1;
    assert_eq!(scan_one(f).1.problems, []);
}

#[test]
fn an_unknown_header_type_is_listed_without_bars() {
    let (bus, f) = scan_one(
        device()
            .mem32(0, 0xfe00_0000, 4096, false)
            .header_type(0x05),
    );
    assert_eq!(f.problems, [Problem::HeaderType { raw: 0x05 }]);
    assert!(f.bars.is_empty());
    assert_eq!(bus.writes().count(), 0);
}

#[test]
fn problems_display_what_went_wrong() {
    let text = Problem::BarSize {
        index: 0,
        readback: 0xFF0F_0000,
    }
    .to_string();
    assert_eq!(text, "BAR0 size mask 0xff0f0000 is not contiguous");
    let text = Problem::MsixTable {
        region: MsixRegion::Pba,
        bir: 1,
        offset: 0x1000,
        length: 8,
    }
    .to_string();
    assert_eq!(
        text,
        "MSI-X PBA at BAR1+0x1000 (8 bytes) lies outside the BAR"
    );
    assert_eq!(
        Problem::BusLoop { bus: 0x1a }.to_string(),
        "bridge to bus 1a, which was already scanned"
    );
}
