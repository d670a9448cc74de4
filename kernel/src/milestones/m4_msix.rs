//! M4: an MSI-X interrupt from a real device, end to end.
//!
//! The suite's `virtio-rng-pci` is transitional, so its legacy register
//! block in I/O BAR0 (VirtIO 1.0 §4.1.4.8) is enough to make it fill one
//! buffer with random bytes: reset, acknowledge, no features, one
//! virtqueue (legacy layout, §2.4.2, 4096-byte ring alignment) whose used
//! ring update is signalled through MSI-X table entry 0. The vector comes
//! from `irq::allocate_vector`, the table entry and the enable bits from
//! the `pci` crate, the queue memory from `OwnedFrames`. Everything is
//! undone afterwards (device reset, MSI-X off, vector freed, frames back).

use super::{detail, ensure, Context, Detail, Outcome};
use crate::arch::port::IoPorts;
use crate::drivers::{pci as bus, Resource};
use crate::mm::frame_alloc::OwnedFrames;
use crate::mm::mmio::Mmio;
use core::sync::atomic::{fence, AtomicU64, Ordering};

/// Legacy virtio-pci registers (VirtIO 1.0 §4.1.4.8), offsets in BAR0.
const GUEST_FEATURES: u16 = 0x04;
const QUEUE_PFN: u16 = 0x08;
const QUEUE_SIZE: u16 = 0x0c;
const QUEUE_SELECT: u16 = 0x0e;
const QUEUE_NOTIFY: u16 = 0x10;
const DEVICE_STATUS: u16 = 0x12;
/// With MSI-X enabled: the vector of the selected queue.
const QUEUE_VECTOR: u16 = 0x16;
/// Device status bits (§2.1): ACKNOWLEDGE, DRIVER, DRIVER_OK.
const ACKNOWLEDGE: u8 = 1;
const DRIVER: u8 = 2;
const DRIVER_OK: u8 = 4;
/// Descriptor flag: the device writes this buffer (§2.4.5).
const DESC_F_WRITE: u16 = 2;
/// Ring alignment of the legacy interface (§4.1.5.1.3.1).
const ALIGN: usize = 4096;
/// Bytes the device is asked for.
const WANT: u32 = 64;
/// How long the check waits for the interrupt.
const WAIT_NS: u64 = 10_000_000_000;

static HITS: AtomicU64 = AtomicU64::new(0);

fn on_msix(_vector: u8) {
    HITS.fetch_add(1, Ordering::Relaxed);
}

/// The check (listed in `m4::CHECKS`).
pub fn msix_interrupt_from_virtio_rng(_: &Context<'_>) -> Outcome {
    let rng = super::m4::rng_entry()?;
    let at =
        bus::address_of(&rng.device).ok_or_else(|| detail!("bad PCI name {}", rng.device.name))?;
    let f = bus::function(at).ok_or_else(|| detail!("{at} was not scanned"))?;
    let msix = bus::with_config(|cs| pci::msix(cs, &f))
        .flatten()
        .ok_or_else(|| detail!("{at} has no MSI-X capability"))?
        .map_err(|e| detail!("{at}: MSI-X refused: {e}"))?;
    let table_bar = f
        .bar(msix.table_bar)
        .ok_or_else(|| detail!("no BAR {} for the MSI-X table", msix.table_bar))?;
    let (io_base, io_len) = rng
        .device
        .resources
        .iter()
        .find_map(|r| match *r {
            Resource::Io { base, len } => Some((base, len)),
            _ => None,
        })
        .ok_or_else(|| detail!("no I/O BAR"))?;
    let ports = IoPorts::claim(io_base, io_len).map_err(|e| detail!("ports {:#x} taken", e.0))?;
    let table = Mmio::map(table_bar.base + u64::from(msix.table_offset), 16)
        .map_err(|e| detail!("MSI-X table: {e}"))?;
    let vector = crate::irq::allocate_vector(on_msix).map_err(|e| detail!("{e}"))?;
    // The command register (PCI 3.0 §6.2.2: bit 0 I/O, 1 memory, 2 bus
    // master), to put back afterwards.
    let saved = bus::with_config(|cs| pci::ConfigSpace::read32(cs, at, 0x04)).unwrap_or(0);
    let result = run(at, &msix, &ports, &table, vector);
    // Undo: device reset, MSI-X off, decode and bus mastering back as
    // the firmware left them, vector free (frames go with `run`).
    ports.write8(DEVICE_STATUS, 0);
    bus::with_config(|cs| {
        let head = u16::from(msix.offset);
        let dword = pci::ConfigSpace::read32(cs, at, head);
        pci::ConfigSpace::write32(cs, at, head, dword & !(1 << 31));
        let (io, memory, master) = (saved & 1 != 0, saved & 2 != 0, saved & 4 != 0);
        pci::set_command(cs, at, io, memory, master);
    });
    crate::irq::free(vector);
    result
}

fn run(at: pci::Bdf, msix: &pci::MsiX, ports: &IoPorts, table: &Mmio, vector: u8) -> Outcome {
    ports.write8(DEVICE_STATUS, 0);
    ports.write8(DEVICE_STATUS, ACKNOWLEDGE | DRIVER);
    ports.write32(GUEST_FEATURES, 0);
    // MSI-X on, entry 0 aimed at this CPU, bus mastering for the DMA.
    let apic = crate::arch::lapic::id() as u8;
    bus::with_config(|cs| {
        pci::set_command(cs, at, true, true, true);
        pci::enable_msix(cs, at, msix);
    });
    for (i, word) in pci::msix_entry(apic, vector).iter().enumerate() {
        table.write32(4 * i as u64, *word);
    }
    ports.write16(QUEUE_SELECT, 0);
    ports.write16(QUEUE_VECTOR, 0);
    let got_vector = ports.read16(QUEUE_VECTOR);
    ensure!(
        got_vector == 0,
        "the device took queue vector {got_vector:#x}, not entry 0"
    );
    let n = usize::from(ports.read16(QUEUE_SIZE));
    ensure!((1..=256).contains(&n), "queue 0 has size {n}");
    let used_at = (16 * n + 6 + 2 * n).next_multiple_of(ALIGN);
    let pages = (used_at + 6 + 8 * n).div_ceil(ALIGN);
    let mut ring = OwnedFrames::new(pages, ALIGN as u64).map_err(|e| detail!("{e}"))?;
    let buffer = OwnedFrames::new(1, ALIGN as u64).map_err(|e| detail!("{e}"))?;
    {
        let mem = ring.bytes_mut();
        // Descriptor 0: the buffer, device-writable.
        mem[0..8].copy_from_slice(&buffer.phys().to_le_bytes());
        mem[8..12].copy_from_slice(&WANT.to_le_bytes());
        mem[12..14].copy_from_slice(&DESC_F_WRITE.to_le_bytes());
        // Available ring: idx 1, ring[0] = descriptor 0.
        let avail = 16 * n;
        mem[avail + 2..avail + 4].copy_from_slice(&1u16.to_le_bytes());
    }
    fence(Ordering::SeqCst);
    // Counted from before the device can start: QEMU's virtio-rng looks at
    // the queue as soon as DRIVER_OK is set, so its interrupt may come
    // before the notify (seen under load: counted as "before", then waited
    // for in vain).
    let before = HITS.load(Ordering::Relaxed);
    let start = crate::time::now_ns();
    ports.write32(QUEUE_PFN, (ring.phys() / ALIGN as u64) as u32);
    ports.write8(DEVICE_STATUS, ACKNOWLEDGE | DRIVER | DRIVER_OK);
    ports.write16(QUEUE_NOTIFY, 0);
    // The device answers from QEMU's main loop, which a loaded host can
    // starve for a while; a lost interrupt never comes at all.
    let deadline = start + WAIT_NS;
    while HITS.load(Ordering::Relaxed) == before && crate::time::now_ns() < deadline {
        let _ = crate::task::sched::sleep_ns(1_000_000);
    }
    let waited_ms = (crate::time::now_ns() - start) / 1_000_000;
    let hits = HITS.load(Ordering::Relaxed) - before;
    // Stop the device before looking (and before the frames go).
    ports.write32(QUEUE_PFN, 0);
    ports.write8(DEVICE_STATUS, 0);
    fence(Ordering::SeqCst);
    let mem = ring.bytes();
    let used_idx = u16::from_le_bytes([mem[used_at + 2], mem[used_at + 3]]);
    let len = u32::from_le_bytes([
        mem[used_at + 8],
        mem[used_at + 9],
        mem[used_at + 10],
        mem[used_at + 11],
    ]);
    let random = &buffer.bytes()[..WANT as usize];
    let nonzero = random.iter().filter(|&&b| b != 0).count();
    ensure!(
        hits >= 1,
        "no interrupt on vector {vector:#x} within {} s (used idx {used_idx}, {len} bytes)",
        WAIT_NS / 1_000_000_000
    );
    ensure!(
        used_idx == 1 && len > 0 && len <= WANT && nonzero > 0,
        "used idx {used_idx}, {len} bytes, {nonzero} non-zero"
    );
    Ok(detail_of(at, vector, n, len, hits, waited_ms))
}

fn detail_of(at: pci::Bdf, vector: u8, n: usize, len: u32, hits: u64, waited_ms: u64) -> Detail {
    detail!(
        "{at}: MSI-X entry 0 on vector {vector:#x}: {hits} interrupt(s) {waited_ms} ms after DRIVER_OK; the device filled {len} random bytes through a {n}-entry virtqueue"
    )
}
