//! Property tests: random and mutated unwind data never panic or loop.

use super::*;
use proptest::prelude::*;

/// Walks until `step` fails, checking RSP rises; the walk must end.
fn walk(image: &Image, mem: &Mem, mut r: Registers) {
    for _ in 0..10_000 {
        let before = r;
        match step(image, &mut r, mem) {
            Ok(()) => assert!(r.rsp() > before.rsp()),
            Err(_) => {
                assert_eq!(r, before, "a failed step leaves the registers");
                return;
            }
        }
    }
    panic!("the walk did not end");
}

fn any_regs() -> impl Strategy<Value = Registers> {
    (
        any::<u64>(),
        proptest::array::uniform16(proptest::option::of(any::<u64>())),
        0..4u8,
    )
        .prop_map(|(rip, mut gpr, kind)| {
            // Mostly aim at the image and the stack so the rules run.
            let rip = match kind {
                0 => rip,
                _ => BASE + 0x2000 + rip % 0x200,
            };
            if kind >= 2 {
                gpr[reg::RSP] = Some(STACK + gpr[reg::RSP].unwrap_or(0) % STACK_SIZE as u64);
                gpr[RBP] = Some(STACK + gpr[RBP].unwrap_or(0) % STACK_SIZE as u64);
            }
            Registers { rip, gpr }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random `.pdata` entries and unwind bytes never panic.
    #[test]
    fn random_unwind_data_never_panics(
        entries in proptest::collection::vec((0x1f00..0x2300u32, 0..0x200u32, 0x17f0..0x1900u32), 0..8),
        xdata in proptest::collection::vec(any::<u8>(), 0..0x100),
        pdata_size in proptest::option::of(any::<u32>()),
        stack in proptest::collection::vec(any::<u64>(), 0..64),
        regs in any_regs(),
    ) {
        let mut b = Builder::new();
        for (begin, len, info) in entries {
            b.function(begin, begin + len, info & !3);
        }
        b.put(0x1800, &xdata);
        let (mut image, mut mem) = b.build();
        if let Some(size) = pdata_size {
            image.pdata_size = size % 0x200;
        }
        for (i, word) in stack.into_iter().enumerate() {
            mem.write_u64(STACK + 8 * (i as u64 % 0x1ff), word);
        }
        walk(&image, &mem, regs);
    }

    /// Mutating the valid framed image never panics.
    #[test]
    fn mutated_unwind_data_never_panics(
        flips in proptest::collection::vec((0x1000..0x1840usize, any::<u8>()), 1..6),
        regs in any_regs(),
    ) {
        let (image, mut mem) = framed();
        for (at, value) in flips {
            mem.regions[0].1[at] = value;
        }
        walk(&image, &mem, regs);
    }
}

/// Hostile `Image` values do not overflow.
#[test]
fn extreme_image_values() {
    let (_, mem) = framed();
    for (base, size) in [(u64::MAX, u64::MAX), (u64::MAX - 10, 100), (0, u64::MAX)] {
        let image = Image {
            base,
            size,
            pdata_rva: u32::MAX,
            pdata_size: u32::MAX,
        };
        let mut r = regs(u64::MAX, u64::MAX);
        let _ = step(&image, &mut r, &mem);
        let mut r = regs(base.wrapping_add(5), 0);
        let _ = step(&image, &mut r, &mem);
    }
}
