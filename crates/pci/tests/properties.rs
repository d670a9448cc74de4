//! Property tests: random config space never panics, work stays bounded.

mod fake;

use std::collections::{BTreeSet, HashMap};

use fake::{bdf, FakeBus, FakeFunction};
use pci::{enumerate, msi, msix, BarKind, Bdf, ConfigSpace, Enumeration};
use proptest::prelude::*;

/// Reads one possible function may cost: 6 header dwords, 6 BARs read twice,
/// the capability pointer, 48 capabilities, MSI and MSI-X (72 in this
/// implementation), with room to spare.
const READS_PER_FUNCTION: usize = 80;
/// Reads one bus may cost: 32 devices of 8 functions.
const READS_PER_BUS: usize = 256 * READS_PER_FUNCTION;
/// No register of a function is read more often than this.
const READS_PER_REGISTER: u8 = 4;

/// Dense hostile config space: every register of every bus is noise drawn
/// from a seed, biased so that most functions exist and many are bridges.
/// With `flaky`, a register reads differently every time.
struct Noise {
    seed: u64,
    flaky: bool,
    reads: usize,
    per_bus: [usize; 256],
    per_register: HashMap<(Bdf, u16), u8>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl ConfigSpace for Noise {
    fn read32(&mut self, at: Bdf, offset: u16) -> u32 {
        assert!(
            offset.is_multiple_of(4) && offset < 0x100,
            "bad offset {offset:#x}"
        );
        assert!(at.device < 32 && at.function < 8, "bad address {at:?}");
        self.reads += 1;
        assert!(self.reads <= 256 * READS_PER_BUS, "unbounded scan");
        self.per_bus[usize::from(at.bus)] += 1;
        *self.per_register.entry((at, offset)).or_default() += 1;
        let salt = if self.flaky { self.reads as u64 } else { 0 };
        let address =
            u64::from(at.bus) << 24 | u64::from(at.device) << 16 | u64::from(at.function) << 8;
        let h = mix(self.seed ^ mix(address | u64::from(offset)) ^ salt.wrapping_mul(0x9e37));
        match offset {
            0x00 if h.is_multiple_of(4) => u32::MAX,
            // Half the BARs read back a well-formed size mask.
            0x10..=0x24 if h >> 63 == 0 => u32::MAX << ((h >> 32) % 29 + 3) | h as u32 & 0xF,
            0x0C => {
                let header = [0x00, 0x01, 0x02, 0x80, 0x81, 0x7F, h as u8][(h >> 32) as usize % 7];
                (h as u32 & 0xFF00_FFFF) | u32::from(header) << 16
            }
            _ => h as u32,
        }
    }

    fn write32(&mut self, at: Bdf, offset: u16, _value: u32) {
        assert!(
            offset.is_multiple_of(4) && offset < 0x100,
            "bad offset {offset:#x}"
        );
        assert!(at.device < 32 && at.function < 8, "bad address {at:?}");
    }
}

/// What must hold of any enumeration.
fn check_shape(found: &Enumeration) {
    let mut seen = BTreeSet::new();
    let mut flat = Vec::new();
    for f in &found.functions {
        assert!(seen.insert(f.at), "{} listed twice", f.at);
        let mut next_slot = 0;
        for bar in &f.bars {
            assert!(
                bar.index >= next_slot && bar.index < 6,
                "{}: BAR slots {:?}",
                f.at,
                f.bars
            );
            next_slot = bar.index + if bar.kind == BarKind::Memory64 { 2 } else { 1 };
            assert!(next_slot <= 6);
            assert!(
                bar.size.is_power_of_two() && bar.base % bar.size == 0,
                "{}: {bar:?}",
                f.at
            );
            assert!(bar.size >= if bar.kind == BarKind::Io { 4 } else { 16 });
            assert!(bar.kind != BarKind::Memory32 || bar.base + bar.size <= 1 << 32);
            assert!(!(bar.kind == BarKind::Io && bar.prefetchable));
        }
        let mut offsets = BTreeSet::new();
        for cap in &f.capabilities {
            assert!(
                cap.offset >= 0x40 && cap.offset.is_multiple_of(4),
                "{}: {cap:?}",
                f.at
            );
            assert!(
                offsets.insert(cap.offset),
                "{}: capability {:#x} twice",
                f.at,
                cap.offset
            );
        }
        flat.extend(f.problems.iter().map(|p| (f.at, *p)));
    }
    assert_eq!(found.problems, flat);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn noise_never_panics_and_work_is_bounded(seed in any::<u64>(), flaky in any::<bool>(), root in any::<u8>()) {
        let mut cs = Noise { seed, flaky, reads: 0, per_bus: [0; 256], per_register: HashMap::new() };
        let found = enumerate(&mut cs, root);
        check_shape(&found);
        for (bus, &reads) in cs.per_bus.iter().enumerate() {
            prop_assert!(reads <= READS_PER_BUS, "bus {bus:02x}: {reads} reads");
        }
        for (&(at, offset), &n) in &cs.per_register {
            prop_assert!(n <= READS_PER_REGISTER, "{at} {offset:#x} read {n} times");
        }
        for f in &found.functions {
            let _ = (msi(&mut cs, f), msix(&mut cs, f));
        }
    }
}

/// One random function: raw registers and writable masks, with a header
/// type, a secondary bus and capability pointers biased towards the
/// interesting.
fn random_function() -> impl Strategy<Value = (Bdf, FakeFunction)> {
    let header = prop_oneof![
        Just(0x00u8),
        Just(0x01),
        Just(0x80),
        Just(0x81),
        Just(0x02),
        any::<u8>()
    ];
    (
        (0u8..4, 0u8..4, prop_oneof![Just(0u8), 0u8..8]),
        prop::collection::vec(any::<u32>(), 64),
        prop::collection::vec(any::<u32>(), 64),
        prop::collection::vec(prop::option::of(2u32..32), 6),
        header,
        0u8..5,
        any::<bool>(),
    )
        .prop_map(
            |((bus, device, function), regs, writable, sizes, header, secondary, aligned)| {
                let mut regs: [u32; 64] = regs.try_into().unwrap_or([0; 64]);
                let mut writable: [u32; 64] = writable.try_into().unwrap_or([0; 64]);
                // Some BARs get a well-formed size mask of 2^k bytes (type bits
                // and bits below the size read-only), the rest a random one.
                for (slot, k) in sizes.iter().enumerate() {
                    if let Some(k) = k {
                        writable[4 + slot] = !((1u32 << k) - 1) & !0x3;
                    }
                }
                regs[3] = regs[3] & !(0xFF << 16) | u32::from(header) << 16;
                regs[6] = regs[6] & !0xFF00 | u32::from(secondary) << 8;
                if aligned {
                    // A capability list that exists, with aligned pointers: long
                    // lists, loops and pointers into the header.
                    regs[1] |= 1 << 20;
                    regs[13] &= !0x3;
                    for reg in &mut regs[16..] {
                        *reg &= !0x0300;
                    }
                }
                (
                    bdf(bus, device, function),
                    FakeFunction::raw(regs, writable),
                )
            },
        )
}

proptest! {
    #[test]
    fn random_functions_are_restored_and_bounded(functions in prop::collection::vec(random_function(), 0..24)) {
        let mut bus = FakeBus::default();
        for (at, f) in functions {
            bus.add(at, f);
        }
        let before = bus.snapshot();
        let found = enumerate(&mut bus, 0);
        check_shape(&found);
        prop_assert_eq!(bus.snapshot(), before);
        for f in &found.functions {
            prop_assert!(bus.functions.contains_key(&f.at));
        }
        // Only BARs (with decode off) and the command register are written.
        for w in bus.writes() {
            let bar = (0x10..=0x24).contains(&w.offset) && w.command & 0x3 == 0;
            prop_assert!(bar || w.offset == 0x04, "write {:?}", w);
        }
        let buses: BTreeSet<u8> = bus.log.iter().map(|a| a.at.bus).collect();
        prop_assert!(bus.reads() <= buses.len() * READS_PER_BUS);
    }
}
