//! Bridges: depth-first order, bus loops and bad bus ranges.

mod fake;

use std::collections::BTreeMap;

use fake::{bdf, FakeBus, FakeFunction};
use pci::{enumerate, Bdf, Enumeration, Problem};

fn endpoint() -> FakeFunction {
    FakeFunction::new(0x1b36, 0x0010).class(0x01, 0x08, 0x02, 0x00)
}

fn bridge(primary: u8, secondary: u8, subordinate: u8) -> FakeFunction {
    FakeFunction::new(0x8086, 0x244e)
        .class(0x06, 0x04, 0x00, 0x00)
        .command(0x0007)
        .bridge(primary, secondary, subordinate)
}

fn order(found: &Enumeration) -> Vec<String> {
    found.functions.iter().map(|f| f.at.to_string()).collect()
}

/// How often each function's ID dword was read: a rescanned bus shows as 2.
fn id_reads(bus: &FakeBus) -> BTreeMap<Bdf, usize> {
    let mut reads = BTreeMap::new();
    for a in bus.log.iter().filter(|a| !a.write && a.offset == 0) {
        *reads.entry(a.at).or_default() += 1;
    }
    reads
}

#[test]
fn bridges_are_followed_depth_first() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 0, 0), endpoint())
        .add(
            bdf(0, 0x1c, 0),
            bridge(0, 1, 2).mem32(0, 0xfe00_0000, 4096, false),
        )
        .add(bdf(0, 0x1e, 0), bridge(0, 3, 3))
        .add(bdf(0, 0x1f, 0), endpoint())
        .add(bdf(1, 0, 0), bridge(1, 2, 2))
        .add(bdf(1, 1, 0), endpoint())
        .add(bdf(2, 0, 0), endpoint())
        .add(bdf(3, 5, 0), endpoint());
    let before = bus.snapshot();
    let found = enumerate(&mut bus, 0);
    assert_eq!(found.problems, []);
    assert_eq!(
        order(&found),
        ["00:00.0", "00:1c.0", "01:00.0", "02:00.0", "01:01.0", "00:1e.0", "03:05.0", "00:1f.0"]
    );
    let root_port = found
        .get(bdf(0, 0x1c, 0))
        .map(|f| (f.secondary_bus, f.subordinate_bus, f.bars.len()));
    assert_eq!(root_port, Some((Some(1), Some(2), 1)));
    assert!(found.get(bdf(0, 0x1c, 0)).is_some_and(|f| f.is_bridge()));
    // Subsystem vendor 0 means none (and bridges have no such register).
    assert_eq!(
        found
            .get(bdf(0, 0, 0))
            .map(|f| (f.subsystem, f.is_bridge())),
        Some((None, false))
    );
    assert_eq!(found.get(bdf(1, 0, 0)).map(|f| f.subsystem), Some(None));
    // The bus-number register of a type 1 header is not a BAR.
    let bridges = [bdf(0, 0x1c, 0), bdf(0, 0x1e, 0), bdf(1, 0, 0)];
    assert!(!bus
        .writes()
        .any(|w| bridges.contains(&w.at) && w.offset == 0x18));
    assert!(bus
        .writes()
        .any(|w| bridges.contains(&w.at) && w.offset == 0x14));
    assert_eq!(bus.snapshot(), before);
    assert!(id_reads(&bus).values().all(|&n| n == 1));
}

#[test]
fn a_bridge_to_its_own_bus_is_refused() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 1, 0), bridge(0, 0, 0))
        .add(bdf(0, 2, 0), endpoint());
    let found = enumerate(&mut bus, 0);
    assert_eq!(
        found.problems,
        [(bdf(0, 1, 0), Problem::BusLoop { bus: 0 })]
    );
    assert_eq!(order(&found), ["00:01.0", "00:02.0"]);
    assert!(id_reads(&bus).values().all(|&n| n == 1));
}

#[test]
fn a_bridge_back_to_an_ancestor_is_refused() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 1, 0), bridge(0, 1, 2))
        .add(bdf(1, 0, 0), bridge(1, 2, 2))
        .add(bdf(2, 0, 0), bridge(2, 0, 9))
        .add(bdf(2, 1, 0), bridge(2, 1, 1));
    let found = enumerate(&mut bus, 0);
    assert_eq!(
        found.problems,
        [
            (bdf(2, 0, 0), Problem::BusLoop { bus: 0 }),
            (bdf(2, 1, 0), Problem::BusLoop { bus: 1 })
        ]
    );
    assert_eq!(order(&found), ["00:01.0", "01:00.0", "02:00.0", "02:01.0"]);
    assert!(id_reads(&bus).values().all(|&n| n == 1));
}

#[test]
fn two_bridges_claiming_one_bus_scan_it_once() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 1, 0), bridge(0, 1, 1))
        .add(bdf(0, 2, 0), bridge(0, 1, 1))
        .add(bdf(1, 0, 0), endpoint());
    let found = enumerate(&mut bus, 0);
    assert_eq!(
        found.problems,
        [(bdf(0, 2, 0), Problem::BusLoop { bus: 1 })]
    );
    assert_eq!(order(&found), ["00:01.0", "01:00.0", "00:02.0"]);
}

#[test]
fn a_subordinate_bus_below_the_secondary_is_refused() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 1, 0), bridge(0, 5, 4))
        .add(bdf(5, 0, 0), endpoint());
    let found = enumerate(&mut bus, 0);
    assert_eq!(
        found.problems,
        [(
            bdf(0, 1, 0),
            Problem::BridgeBus {
                secondary: 5,
                subordinate: 4
            }
        )]
    );
    assert_eq!(order(&found), ["00:01.0"]);
    assert!(!bus.log.iter().any(|a| a.at.bus == 5), "bus 5 was probed");
}

#[test]
fn the_scan_starts_at_the_root_bus() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 0, 0), endpoint())
        .add(bdf(3, 0, 0), bridge(3, 4, 4))
        .add(bdf(4, 0, 0), endpoint());
    let found = enumerate(&mut bus, 3);
    assert_eq!(order(&found), ["03:00.0", "04:00.0"]);
    assert!(!bus.log.iter().any(|a| a.at.bus == 0));
}

#[test]
fn a_chain_through_every_bus_ends() {
    // 00 -> 01 -> ... -> ff, and bus ff points back at 00.
    let mut bus = FakeBus::default();
    for n in 0..=255u8 {
        bus.add(bdf(n, 0, 0), bridge(n, n.wrapping_add(1), 255));
    }
    let found = enumerate(&mut bus, 0);
    assert_eq!(found.functions.len(), 256);
    assert_eq!(
        found.problems,
        [(bdf(255, 0, 0), Problem::BusLoop { bus: 0 })]
    );
    assert!(found
        .functions
        .windows(2)
        .all(|w| w[1].at.bus == w[0].at.bus + 1));
    // Every bus scanned once: 32 ID reads per bus, and 9 more per bridge
    // (class, header, interrupt, bus numbers, command, 2 BARs x 2).
    let ids = id_reads(&bus);
    assert!(ids.len() == 256 * 32 && ids.values().all(|&n| n == 1));
    assert_eq!(bus.reads(), 256 * 32 + 256 * 9);
}

#[test]
fn intx_pins_swizzle_through_bridges() {
    let mut bus = FakeBus::default();
    bus.add(bdf(0, 3, 0), endpoint().interrupt(1, 0xff))
        .add(bdf(0, 0x1c, 0), bridge(0, 1, 2))
        .add(bdf(1, 2, 0), bridge(1, 2, 2))
        .add(bdf(1, 1, 0), endpoint().interrupt(2, 0xff))
        .add(bdf(2, 5, 0), endpoint().interrupt(3, 0xff));
    let found = enumerate(&mut bus, 0);
    let f = &found.functions;
    // On the root bus: its own device, pin 1 (INTA#) is 0.
    assert_eq!(pci::root_pin(f, 0, bdf(0, 3, 0), 1), Some((3, 0)));
    assert_eq!(pci::root_pin(f, 0, bdf(0, 3, 0), 4), Some((3, 3)));
    // Device 1's INTB# behind the root port at 1c: (1 + 1) % 4 = INTC#.
    assert_eq!(pci::root_pin(f, 0, bdf(1, 1, 0), 2), Some((0x1c, 2)));
    // Device 5's INTC# behind two bridges: (2 + 5) % 4 = 3 at the first,
    // (3 + 2) % 4 = 1 at the root port.
    assert_eq!(pci::root_pin(f, 0, bdf(2, 5, 0), 3), Some((0x1c, 1)));
    // No INTx, a pin past INTD#, and a bus behind no known bridge.
    assert_eq!(pci::root_pin(f, 0, bdf(0, 3, 0), 0), None);
    assert_eq!(pci::root_pin(f, 0, bdf(0, 3, 0), 5), None);
    assert_eq!(pci::root_pin(f, 0, bdf(7, 0, 0), 1), None);
}
