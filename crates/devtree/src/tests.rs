//! Host tests of the tree, binding and listing.

use super::*;
use alloc::string::ToString;
use proptest::prelude::*;

fn pci(name: &str, vendor: u16, device: u16, class: u8, subclass: u8) -> Device {
    Device {
        name: name.to_string(),
        bus: Bus::Pci,
        id: Id::Pci {
            vendor,
            device,
            class,
            subclass,
            prog_if: 1,
        },
        resources: alloc::vec![Resource::Memory {
            base: 0xfebd_5000,
            len: 0x1000,
            prefetchable: false
        }],
        description: "SATA".to_string(),
    }
}

fn isa(name: &str, pnp: &'static str) -> Device {
    Device {
        name: name.to_string(),
        bus: Bus::Isa,
        id: Id::Pnp(pnp),
        resources: alloc::vec![Resource::Io { base: 0x60, len: 1 }, Resource::Irq(1)],
        description: String::new(),
    }
}

static AHCI: &[Match] = &[Match::PciClass {
    class: 1,
    subclass: 6,
    prog_if: Some(1),
}];
static E1000: &[Match] = &[Match::PciId {
    vendor: 0x8086,
    device: 0x100e,
}];
static KBD: &[Match] = &[Match::Pnp("PNP0303")];

/// Runs every pending probe through `probe`; returns the pairs probed.
fn bind_all(
    tree: &mut Tree<u32>,
    mut probe: impl FnMut(NodeId, u32) -> Result<(), String>,
) -> Vec<(NodeId, u32)> {
    let mut done = Vec::new();
    while let Some((node, drv, handle)) = tree.next_pending() {
        let outcome = probe(node, handle);
        tree.finish(node, drv, outcome).unwrap();
        done.push((node, handle));
    }
    done
}

#[test]
fn a_device_found_before_its_driver_binds_when_the_driver_registers() {
    let mut t = Tree::<u32>::new();
    let sata = t
        .add(Tree::<u32>::ROOT, pci("00:1f.2", 0x8086, 0x2922, 1, 6))
        .unwrap();
    assert!(bind_all(&mut t, |_, _| Ok(())).is_empty());
    assert_eq!(t.bound_driver(sata), None);
    t.register("ahci", AHCI, 7).unwrap();
    assert_eq!(bind_all(&mut t, |_, _| Ok(())), [(sata, 7)]);
    assert_eq!(t.bound_driver(sata), Some("ahci"));
    // Bound devices are not probed again.
    assert!(bind_all(&mut t, |_, _| Ok(())).is_empty());
}

#[test]
fn a_device_found_after_its_driver_binds_too() {
    let mut t = Tree::<u32>::new();
    t.register("i8042-kbd", KBD, 1).unwrap();
    let kbd = t
        .add(Tree::<u32>::ROOT, isa("keyboard", "PNP0303"))
        .unwrap();
    let other = t.add(Tree::<u32>::ROOT, isa("mouse", "PNP0F13")).unwrap();
    assert_eq!(bind_all(&mut t, |_, _| Ok(())), [(kbd, 1)]);
    assert_eq!(t.bound_driver(other), None);
}

#[test]
fn a_failed_probe_is_kept_and_the_next_matching_driver_is_tried() {
    let mut t = Tree::<u32>::new();
    static ANY_SATA: &[Match] = &[Match::PciClass {
        class: 1,
        subclass: 6,
        prog_if: None,
    }];
    t.register("ahci", AHCI, 1).unwrap();
    t.register("generic-sata", ANY_SATA, 2).unwrap();
    let sata = t
        .add(Tree::<u32>::ROOT, pci("00:1f.2", 0x8086, 0x2922, 1, 6))
        .unwrap();
    let probed = bind_all(&mut t, |_, h| {
        if h == 1 {
            Err("no port".into())
        } else {
            Ok(())
        }
    });
    assert_eq!(probed, [(sata, 1), (sata, 2)]);
    assert_eq!(t.bound_driver(sata), Some("generic-sata"));
    assert_eq!(
        t.node(sata).unwrap().failures,
        [(DriverId(0), "no port".to_string())]
    );
}

#[test]
fn a_device_every_driver_failed_on_stays_unbound_and_says_why() {
    let mut t = Tree::<u32>::new();
    t.register("e1000", E1000, 3).unwrap();
    let nic = t
        .add(Tree::<u32>::ROOT, pci("00:02.0", 0x8086, 0x100e, 2, 0))
        .unwrap();
    let ok = t
        .add(Tree::<u32>::ROOT, pci("00:03.0", 0x8086, 0x100e, 2, 0))
        .unwrap();
    let probed = bind_all(&mut t, |n, _| {
        if n == nic {
            Err("bad eeprom".into())
        } else {
            Ok(())
        }
    });
    assert_eq!(probed, [(nic, 3), (ok, 3)]);
    assert_eq!(t.node(nic).unwrap().state, State::Unbound);
    assert_eq!(t.bound_driver(ok), Some("e1000"));
    let text = t.listing().to_string();
    assert!(text.contains("00:02.0 [pci] 8086:100e 02.00.01 SATA mem 0xfebd5000+0x1000 -> none (e1000 failed: bad eeprom)"), "{text}");
}

#[test]
fn names_are_unique_among_siblings_and_drivers_unique() {
    let mut t = Tree::<u32>::new();
    let bus = t.add(Tree::<u32>::ROOT, isa("isa", "X")).unwrap();
    t.add(bus, isa("keyboard", "PNP0303")).unwrap();
    assert_eq!(
        t.add(bus, isa("keyboard", "PNP0303")),
        Err(TreeError::DuplicateName("keyboard".into()))
    );
    // The same name under another parent is fine.
    assert!(t.add(Tree::<u32>::ROOT, isa("keyboard", "PNP0303")).is_ok());
    t.register("k", KBD, 0).unwrap();
    assert_eq!(
        t.register("k", KBD, 1),
        Err(TreeError::DuplicateDriver("k"))
    );
    assert_eq!(
        t.add(NodeId(99), isa("x", "Y")),
        Err(TreeError::NoNode(NodeId(99)))
    );
}

#[test]
fn finish_refuses_a_node_that_is_not_being_probed() {
    let mut t = Tree::<u32>::new();
    t.register("k", KBD, 0).unwrap();
    let kbd = t
        .add(Tree::<u32>::ROOT, isa("keyboard", "PNP0303"))
        .unwrap();
    assert_eq!(
        t.finish(kbd, DriverId(0), Ok(())),
        Err(TreeError::NotProbing(kbd))
    );
    let (n, d, _) = t.next_pending().unwrap();
    assert_eq!(t.node(n).unwrap().state, State::Probing(d));
    // While probing it is not handed out again.
    assert!(t.next_pending().is_none());
    assert_eq!(
        t.finish(n, DriverId(5), Ok(())),
        Err(TreeError::NotProbing(n))
    );
    t.finish(n, d, Ok(())).unwrap();
    assert_eq!(t.finish(n, d, Ok(())), Err(TreeError::NotProbing(n)));
}

#[test]
fn matching_by_id_class_and_prog_if() {
    let sata = pci("a", 0x8086, 0x2922, 1, 6);
    assert!(AHCI[0].matches(&sata));
    assert!(!E1000[0].matches(&sata));
    let ide = Device {
        id: Id::Pci {
            vendor: 0x8086,
            device: 0x2922,
            class: 1,
            subclass: 6,
            prog_if: 0,
        },
        ..sata.clone()
    };
    assert!(!AHCI[0].matches(&ide));
    assert!(Match::PciId {
        vendor: 0x8086,
        device: 0x2922
    }
    .matches(&ide));
    assert!(!KBD[0].matches(&sata));
    assert!(KBD[0].matches(&isa("k", "PNP0303")));
    assert!(!KBD[0].matches(&isa("k", "PNP0F13")));
    let guid = [7u8; 16];
    let vm = Device {
        id: Id::VmBus(guid),
        bus: Bus::VmBus,
        ..sata
    };
    assert!(Match::VmBus(guid).matches(&vm));
    assert!(!Match::VmBus([8; 16]).matches(&vm));
}

#[test]
fn the_listing_nests_children_under_their_parents() {
    let mut t = Tree::<u32>::new();
    let pci0 = t
        .add(
            Tree::<u32>::ROOT,
            Device {
                name: "pci0".into(),
                bus: Bus::Platform,
                id: Id::None,
                resources: Vec::new(),
                description: "PCI host".into(),
            },
        )
        .unwrap();
    let isa0 = t.add(Tree::<u32>::ROOT, isa("i8042", "PNP0303")).unwrap();
    t.add(pci0, pci("00:1f.2", 0x8086, 0x2922, 1, 6)).unwrap();
    t.add(isa0, isa("keyboard", "PNP0303")).unwrap();
    t.register("ahci", AHCI, 1).unwrap();
    bind_all(&mut t, |_, _| Ok(()));
    let text = t.listing().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "root [root]",
            "  pci0 [platform] PCI host",
            "    00:1f.2 [pci] 8086:2922 01.06.01 SATA mem 0xfebd5000+0x1000 -> ahci",
            "  i8042 [isa] PNP0303 io 0x60+0x1 irq 1 -> none",
            "    keyboard [isa] PNP0303 io 0x60+0x1 irq 1 -> none",
        ]
    );
}

proptest! {
    /// Any sequence of adds, registrations and probe outcomes keeps the
    /// tree consistent: binding ends, every device is probed by a given
    /// driver at most once, and only matching drivers bind.
    #[test]
    fn binding_always_ends_and_never_repeats_a_probe(
        ops in proptest::collection::vec((0u8..3, 0usize..8, any::<bool>()), 0..60)
    ) {
        static TABLES: [&[Match]; 3] = [AHCI, E1000, KBD];
        let mut t = Tree::<u32>::new();
        let mut seen = std::collections::HashSet::new();
        let mut drivers = 0u32;
        for (i, (op, pick, ok)) in ops.iter().enumerate() {
            match op {
                0 => {
                    let parent = NodeId(pick % t.len());
                    let dev = match pick % 3 {
                        0 => pci(&i.to_string(), 0x8086, 0x2922, 1, 6),
                        1 => pci(&i.to_string(), 0x8086, 0x100e, 2, 0),
                        _ => isa(&i.to_string(), "PNP0303"),
                    };
                    t.add(parent, dev).unwrap();
                }
                1 => {
                    let name: &'static str = ["a", "b", "c", "d", "e", "f", "g", "h"][drivers as usize % 8];
                    if t.register(name, TABLES[pick % 3], drivers).is_ok() {
                        drivers += 1;
                    }
                }
                _ => {
                    let mut steps = 0;
                    while let Some((n, d, _)) = t.next_pending() {
                        steps += 1;
                        prop_assert!(steps <= 64 * 8, "binding does not end");
                        prop_assert!(seen.insert((n, d)), "probed twice");
                        let m = t.driver(d).unwrap().matches;
                        prop_assert!(m.iter().any(|m| m.matches(&t.node(n).unwrap().device)));
                        let outcome = if *ok { Ok(()) } else { Err("no".to_string()) };
                        t.finish(n, d, outcome).unwrap();
                    }
                }
            }
        }
        prop_assert_eq!(t.listing().to_string().lines().count(), t.len());
    }
}

#[test]
fn withdrawn_nodes_never_bind_again_and_report_their_drivers() {
    let mut t = Tree::<u32>::new();
    t.register("k", KBD, 0).unwrap();
    let bus = t.add(Tree::<u32>::ROOT, isa("isa", "X")).unwrap();
    let bound = t.add(bus, isa("keyboard", "PNP0303")).unwrap();
    let (n, d, _) = t.next_pending().unwrap();
    assert_eq!(n, bound);
    t.finish(n, d, Ok(())).unwrap();
    let waiting = t.add(bus, isa("keyboard2", "PNP0303")).unwrap();
    let other = t
        .add(Tree::<u32>::ROOT, isa("keyboard3", "PNP0303"))
        .unwrap();
    assert_eq!(t.withdraw(bus), Ok(vec![(bound, d)]));
    for id in [bus, bound, waiting] {
        assert_eq!(t.node(id).unwrap().state, State::Gone);
    }
    // Only the node outside the withdrawn bus is still offered.
    let (n, _, _) = t.next_pending().unwrap();
    assert_eq!(n, other);
    assert!(t.next_pending().is_none());
    let text = t.listing().to_string();
    assert!(
        text.contains("keyboard2 [isa] PNP0303") && text.contains("(gone)"),
        "{text}"
    );
    assert_eq!(t.withdraw(NodeId(99)), Err(TreeError::NoNode(NodeId(99))));
}
