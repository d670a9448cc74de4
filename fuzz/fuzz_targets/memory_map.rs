//! The loader's memory-map builder on random firmware maps, allocations
//! and framebuffers, with the map's promises checked on every output.
#![no_main]

use handoff::memmap::{build, MemType, Tracked, UefiRegion};
use handoff::responses::MemmapEntry;
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    for (i, b) in word.iter_mut().enumerate() {
        *b = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(word)
}

fuzz_target!(|data: &[u8]| {
    // Records of 17 bytes: a selector, a base and a page count. The
    // selector's low bit picks a firmware region (type = selector >> 1,
    // any UEFI type number) or a tracked allocation (kernel or
    // reclaimable); the first record may also be the framebuffer.
    let mut firmware = Vec::new();
    let mut tracked = Vec::new();
    for record in data.chunks(17).take(64) {
        let selector = record[0];
        let base = u64_at(record, 1) & !0xfff;
        let pages = u64_at(record, 9) % (1 << 24);
        if selector & 1 == 0 {
            firmware.push(UefiRegion {
                ty: u32::from(selector >> 1) % 16,
                base,
                pages,
            });
        } else {
            let ty = if selector & 2 == 0 {
                MemType::KernelAndModules
            } else {
                MemType::BootloaderReclaimable
            };
            tracked.push(Tracked { base, pages, ty });
        }
    }
    let framebuffer = data
        .get(..17)
        .filter(|r| r[0] == 0xff)
        .map(|r| (u64_at(r, 1), u64_at(r, 9) % (1 << 32)));
    let mut out = vec![
        MemmapEntry {
            base: 0,
            length: 0,
            kind: 0
        };
        3 * (firmware.len() + tracked.len()) + 4
    ];
    let Ok(n) = build(firmware.iter().copied(), &tracked, framebuffer, &mut out) else {
        return;
    };
    let map = &out[..n];
    for pair in map.windows(2) {
        assert!(pair[0].base < pair[1].base, "not sorted: {pair:?}");
        assert!(
            pair[0]
                .base
                .checked_add(pair[0].length)
                .is_some_and(|end| end <= pair[1].base),
            "overlap: {pair:?}"
        );
    }
    for e in map {
        assert!(e.length > 0, "empty entry {e:?}");
        if e.kind == MemType::Usable as u64 || e.kind == MemType::BootloaderReclaimable as u64 {
            assert!(
                e.base % 4096 == 0 && e.length % 4096 == 0,
                "unaligned {e:?}"
            );
            assert!(e.base >= 4096, "page 0 handed out: {e:?}");
        }
    }
});
