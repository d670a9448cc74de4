//! Enumeration of a q35-shaped bus 0: IDs, classes, BARs, capabilities.

mod fake;

use fake::q35::q35;
use fake::{bdf, FakeBus};
use pci::{class_name, enumerate, Bar, BarKind, Bdf, Capability, Function};

fn scan() -> (FakeBus, Vec<Function>) {
    let mut bus = q35();
    let found = enumerate(&mut bus, 0);
    assert_eq!(found.problems, vec![]);
    (bus, found.functions)
}

fn get(functions: &[Function], at: Bdf) -> &Function {
    match functions.iter().find(|f| f.at == at) {
        Some(f) => f,
        None => panic!("{at} not listed"),
    }
}

#[test]
fn lists_present_functions_in_scan_order() {
    let (_, functions) = scan();
    let listed: Vec<String> = functions.iter().map(|f| f.at.to_string()).collect();
    assert_eq!(
        listed,
        ["00:00.0", "00:01.0", "00:02.0", "00:1f.0", "00:1f.2", "00:1f.3"]
    );
}

#[test]
fn ids_classes_and_interrupts() {
    let (_, functions) = scan();
    // (address, vendor, device, class, subclass, prog_if, revision, multi, name)
    let expected = [
        (
            bdf(0, 0, 0),
            0x8086,
            0x29c0,
            0x06,
            0x00,
            0x00,
            0x00,
            false,
            "host bridge",
        ),
        (
            bdf(0, 1, 0),
            0x1234,
            0x1111,
            0x03,
            0x00,
            0x00,
            0x02,
            false,
            "VGA",
        ),
        (
            bdf(0, 2, 0),
            0x1af4,
            0x1000,
            0x02,
            0x00,
            0x00,
            0x00,
            false,
            "Ethernet",
        ),
        (
            bdf(0, 0x1f, 0),
            0x8086,
            0x2918,
            0x06,
            0x01,
            0x00,
            0x02,
            true,
            "ISA bridge",
        ),
        (
            bdf(0, 0x1f, 2),
            0x8086,
            0x2922,
            0x01,
            0x06,
            0x01,
            0x02,
            true,
            "SATA",
        ),
        (
            bdf(0, 0x1f, 3),
            0x8086,
            0x2930,
            0x0c,
            0x05,
            0x00,
            0x02,
            true,
            "SMBus",
        ),
    ];
    for (at, vendor, device, class, subclass, prog_if, revision, multi, name) in expected {
        let f = get(&functions, at);
        assert_eq!((f.vendor, f.device), (vendor, device), "{at}");
        assert_eq!(
            (f.class, f.subclass, f.prog_if, f.revision),
            (class, subclass, prog_if, revision),
            "{at}"
        );
        assert_eq!((f.header_type, f.multifunction), (0, multi), "{at}");
        assert_eq!(class_name(f.class, f.subclass), name, "{at}");
        assert_eq!(f.secondary_bus, None, "{at}");
    }
    assert_eq!(
        get(&functions, bdf(0, 0, 0)).subsystem,
        Some((0x1af4, 0x1100))
    );
    assert_eq!(
        get(&functions, bdf(0, 2, 0)).subsystem,
        Some((0x1af4, 0x0001))
    );
    let sata = get(&functions, bdf(0, 0x1f, 2));
    assert_eq!((sata.interrupt_pin, sata.interrupt_line), (1, 10));
    let host = get(&functions, bdf(0, 0, 0));
    assert_eq!((host.interrupt_pin, host.interrupt_line), (0, 0));
}

fn bar(index: u8, kind: BarKind, base: u64, size: u64, prefetchable: bool) -> Bar {
    Bar {
        index,
        kind,
        base,
        size,
        prefetchable,
    }
}

#[test]
fn bars_have_their_kinds_bases_and_sizes() {
    let (_, functions) = scan();
    use BarKind::*;
    let expected: [(Bdf, Vec<Bar>); 6] = [
        (bdf(0, 0, 0), vec![]),
        (
            bdf(0, 1, 0),
            vec![
                bar(0, Memory32, 0xfd00_0000, 16 << 20, true),
                bar(2, Memory32, 0xfebd_4000, 4 << 10, false),
            ],
        ),
        (
            bdf(0, 2, 0),
            vec![
                bar(0, Io, 0xc000, 32, false),
                bar(1, Memory32, 0xfebd_1000, 4 << 10, false),
                bar(4, Memory64, 0x8_0000_0000, 16 << 10, true),
            ],
        ),
        (bdf(0, 0x1f, 0), vec![]),
        (
            bdf(0, 0x1f, 2),
            vec![
                bar(4, Io, 0xc040, 32, false),
                bar(5, Memory32, 0xfebd_5000, 4 << 10, false),
            ],
        ),
        (bdf(0, 0x1f, 3), vec![bar(4, Io, 0x0700, 64, false)]),
    ];
    for (at, bars) in expected {
        assert_eq!(get(&functions, at).bars, bars, "{at}");
    }
}

#[test]
fn capabilities_are_listed_in_list_order() {
    let (_, functions) = scan();
    let caps = |at| -> Vec<(u8, u8)> {
        get(&functions, at)
            .capabilities
            .iter()
            .map(|c| (c.id, c.offset))
            .collect()
    };
    assert_eq!(
        caps(bdf(0, 0x1f, 2)),
        [(Capability::MSI, 0x80), (Capability::SATA, 0xa8)]
    );
    assert_eq!(
        caps(bdf(0, 2, 0)),
        [(Capability::MSIX, 0x98), (0x09, 0x84), (0x09, 0x70)]
    );
    assert_eq!(caps(bdf(0, 1, 0)), []);
}

#[test]
fn sizing_restores_every_register() {
    let mut bus = q35();
    let before = bus.snapshot();
    enumerate(&mut bus, 0);
    // Sizing did write: the BARs were probed with all-ones...
    assert!(bus
        .writes()
        .any(|w| w.offset == 0x10 && w.value == u32::MAX));
    // ...and every BAR, command and status register is as it was, including
    // the RW1C Master Abort bit of 00:1f.2.
    assert_eq!(bus.snapshot(), before);
    assert_eq!(bus.function(bdf(0, 0x1f, 2)).reg(0x04) >> 16, 0x2000 | 0x10);
}

#[test]
fn decode_is_off_while_bars_are_written() {
    let mut bus = q35();
    enumerate(&mut bus, 0);
    let bar_writes: Vec<_> = bus
        .writes()
        .filter(|w| (0x10..=0x24).contains(&w.offset))
        .collect();
    // VGA (decode on) had both its BARs probed, so the check is not vacuous.
    for offset in [0x10, 0x18] {
        assert!(bar_writes
            .iter()
            .any(|w| w.at == bdf(0, 1, 0) && w.offset == offset));
    }
    for w in &bar_writes {
        assert_eq!(
            w.command & 0x3,
            0,
            "{} BAR at {:#x} written with decode on",
            w.at,
            w.offset
        );
    }
    // Bus master and interrupt disable were left alone while decode was off.
    let sata: Vec<_> = bus
        .writes()
        .filter(|w| w.at == bdf(0, 0x1f, 2) && w.offset == 0x20)
        .collect();
    assert!(!sata.is_empty());
    assert!(sata.iter().all(|w| w.command == 0x0404));
}

#[test]
fn functions_1_to_7_are_probed_only_on_multifunction_devices() {
    let (bus, _) = scan();
    let probed = |at: Bdf| bus.log.iter().any(|a| a.at == at);
    assert!(
        !probed(bdf(0, 1, 1)),
        "00:01.1 probed although 00:01.0 is single-function"
    );
    assert!(!probed(bdf(0, 0, 1)));
    for function in 1..8 {
        assert!(
            probed(bdf(0, 0x1f, function)),
            "00:1f.{function} not probed"
        );
    }
}

#[test]
fn an_empty_bus_costs_one_read_per_device() {
    let mut bus = FakeBus::default();
    let found = enumerate(&mut bus, 0);
    assert!(found.functions.is_empty() && found.problems.is_empty());
    assert_eq!(bus.reads(), 32);
    assert_eq!(bus.writes().count(), 0);
}
