//! The host's side of a channel's two rings (sheet §4.1, §4.2, §4.4, §4.5).
//!
//! The host reads the guest → host ring (pages `[0, N)` of the ring GPADL)
//! and writes the host → guest ring (pages `[N, N+M)`). It keeps its own
//! indices privately and validates every index the guest wrote; the
//! interrupt rule (signal only on empty → non-empty with interrupt_mask 0)
//! and the pending_send_sz rule live here and nowhere else.

use alloc::vec::Vec;

use crate::packet::{self, InPacket, PacketError};
use crate::platform::Platform;

const PAGE: u64 = 4096;
/// Ring header field offsets (§4.2).
pub(crate) const WRITE_INDEX: u64 = 0x00;
pub(crate) const READ_INDEX: u64 = 0x04;
pub(crate) const INTERRUPT_MASK: u64 = 0x08;
pub(crate) const PENDING_SEND_SZ: u64 = 0x0C;
pub(crate) const FEATURE_BITS: u64 = 0x40;

/// Which ring an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Guest → host (host reads).
    GuestToHost,
    /// Host → guest (host writes).
    HostToGuest,
}

/// A fatal problem with a channel's rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // variant fields are named for what they hold
pub enum RingError {
    /// An index the guest owns is not below the data size.
    IndexOutOfRange { dir: Direction, value: u32 },
    /// An index the guest owns is not 8-byte aligned.
    IndexUnaligned { dir: Direction, value: u32 },
    /// A descriptor claims more bytes than the ring holds.
    PacketTooLong { len8: u16, readable: u32 },
    /// A descriptor or extra header is malformed.
    Packet(PacketError),
    /// A ring page was outside guest memory.
    Memory { gpa: u64 },
    /// The host tried to send a packet that can never fit.
    OutgoingTooLarge { bytes: u32 },
}

/// One ring: its header page and data pages.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    pages: Vec<u64>,
    data_size: u32,
}

impl Ring {
    /// A ring over `pages` (header first); needs ≥ 1 data page.
    pub(crate) fn new(pages: &[u64]) -> Option<Ring> {
        if pages.len() < 2 || pages.len() > 0x8000 {
            return None;
        }
        Some(Ring {
            pages: pages.to_vec(),
            data_size: ((pages.len() - 1) as u64 * PAGE) as u32,
        })
    }

    /// Bytes in the data area.
    pub(crate) fn data_size(&self) -> u32 {
        self.data_size
    }

    pub(crate) fn header(&self, mem: &dyn Platform, off: u64) -> Result<u32, RingError> {
        let gpa = self.pages[0] * PAGE + off;
        let mut b = [0u8; 4];
        mem.read_guest(gpa, &mut b)
            .map_err(|_| RingError::Memory { gpa })?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn set_header(
        &self,
        mem: &mut dyn Platform,
        off: u64,
        v: u32,
    ) -> Result<(), RingError> {
        let gpa = self.pages[0] * PAGE + off;
        mem.write_guest(gpa, &v.to_le_bytes())
            .map_err(|_| RingError::Memory { gpa })
    }

    /// Reads a guest-owned index and checks it (§4.2).
    fn index(&self, mem: &dyn Platform, off: u64, dir: Direction) -> Result<u32, RingError> {
        let v = self.header(mem, off)?;
        if v >= self.data_size {
            return Err(RingError::IndexOutOfRange { dir, value: v });
        }
        if v % 8 != 0 {
            return Err(RingError::IndexUnaligned { dir, value: v });
        }
        Ok(v)
    }

    /// Copies data bytes starting at `pos`, wrapping at the end (§4.3).
    fn copy(
        &self,
        mem: &mut dyn Platform,
        pos: u32,
        len: usize,
        mut f: impl FnMut(&mut dyn Platform, u64, core::ops::Range<usize>) -> bool,
    ) -> Result<(), RingError> {
        let mut done = 0usize;
        let mut p = u64::from(pos);
        while done < len {
            let page = self.pages[1 + (p / PAGE) as usize];
            let in_page = (PAGE - p % PAGE) as usize;
            let n = in_page.min(len - done);
            let gpa = page * PAGE + p % PAGE;
            if !f(mem, gpa, done..done + n) {
                return Err(RingError::Memory { gpa });
            }
            done += n;
            p = (p + n as u64) % u64::from(self.data_size);
        }
        Ok(())
    }

    fn read_data(&self, mem: &dyn Platform, pos: u32, buf: &mut [u8]) -> Result<(), RingError> {
        let mut done = 0usize;
        let mut p = u64::from(pos);
        while done < buf.len() {
            let page = self.pages[1 + (p / PAGE) as usize];
            let n = ((PAGE - p % PAGE) as usize).min(buf.len() - done);
            let gpa = page * PAGE + p % PAGE;
            mem.read_guest(gpa, &mut buf[done..done + n])
                .map_err(|_| RingError::Memory { gpa })?;
            done += n;
            p = (p + n as u64) % u64::from(self.data_size);
        }
        Ok(())
    }

    pub(crate) fn write_data(
        &self,
        mem: &mut dyn Platform,
        pos: u32,
        data: &[u8],
    ) -> Result<(), RingError> {
        self.copy(mem, pos, data.len(), |m, gpa, r| {
            m.write_guest(gpa, &data[r]).is_ok()
        })
    }
}

/// Bytes readable between `r` and `w` in a ring of `d` data bytes (§4.2).
fn readable(r: u32, w: u32, d: u32) -> u32 {
    if w >= r {
        w - r
    } else {
        d - r + w
    }
}

/// Result of trying to write one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    /// Written; `signal` says the guest must be interrupted (§4.4 step 4).
    Written { signal: bool },
    /// No room: pending_send_sz was set, wait for the guest's signal.
    Full,
}

/// The two rings of an open channel plus the host's private indices.
#[derive(Debug, Clone)]
pub(crate) struct RingPair {
    pub(crate) rx: Ring,
    pub(crate) tx: Ring,
    rx_read: u32,
    tx_write: u32,
}

impl RingPair {
    /// Sets up the rings over the GPADL pages split at `downstream`,
    /// taking the indices the guest left in the headers, and marks the
    /// host → guest ring as supporting pending_send_sz (§4.2, §8.1).
    pub(crate) fn open(
        mem: &mut dyn Platform,
        pages: &[u64],
        downstream: usize,
    ) -> Result<RingPair, Option<RingError>> {
        if downstream == 0 || downstream >= pages.len() {
            return Err(None);
        }
        let rx = Ring::new(&pages[..downstream]).ok_or(None)?;
        let tx = Ring::new(&pages[downstream..]).ok_or(None)?;
        let rx_read = rx.index(mem, READ_INDEX, Direction::GuestToHost)?;
        let tx_write = tx.index(mem, WRITE_INDEX, Direction::HostToGuest)?;
        tx.set_header(mem, FEATURE_BITS, 1)?;
        tx.set_header(mem, PENDING_SEND_SZ, 0)?;
        // The host always wants to hear about new guest packets.
        rx.set_header(mem, INTERRUPT_MASK, 0)?;
        Ok(RingPair {
            rx,
            tx,
            rx_read,
            tx_write,
        })
    }

    /// The host's private write index of the host → guest ring.
    pub(crate) fn tx_write(&self) -> u32 {
        self.tx_write
    }

    /// Reads up to `max` packets from the guest → host ring, publishing
    /// read_index once after the batch. Returns the packets and whether the
    /// guest must be signalled because it waits for space (§4.5 step 4).
    pub(crate) fn read_batch(
        &mut self,
        mem: &mut dyn Platform,
        max: usize,
    ) -> Result<(Vec<InPacket>, bool), RingError> {
        let d = self.rx.data_size;
        let w = self.rx.index(mem, WRITE_INDEX, Direction::GuestToHost)?;
        let start_free = d - readable(self.rx_read, w, d);
        let mut out = Vec::new();
        let mut r = self.rx_read;
        while r != w && out.len() < max {
            let avail = readable(r, w, d);
            let mut desc = [0u8; 16];
            if avail < 16 {
                return Err(RingError::PacketTooLong {
                    len8: 0,
                    readable: avail,
                });
            }
            self.rx.read_data(mem, r, &mut desc)?;
            let len8 = u16::from_le_bytes([desc[4], desc[5]]);
            let total = u32::from(len8) * 8;
            if total < 16 || total + 8 > avail {
                return Err(RingError::PacketTooLong {
                    len8,
                    readable: avail,
                });
            }
            let mut bytes = alloc::vec![0u8; total as usize];
            self.rx.read_data(mem, r, &mut bytes)?;
            out.push(packet::parse(&bytes).map_err(RingError::Packet)?);
            r = (r + total + 8) % d;
        }
        self.rx_read = r;
        self.rx.set_header(mem, READ_INDEX, r)?;
        // The read index is out before the write index is looked at again
        // (`rx_nonempty`): a store then a load, which x86 may reorder.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let end_free = d - readable(r, w, d);
        let wants = self.rx.header(mem, FEATURE_BITS)? & 1 != 0;
        let pending = self.rx.header(mem, PENDING_SEND_SZ)?;
        let signal = wants && pending != 0 && start_free <= pending && end_free > pending;
        Ok((out, signal))
    }

    /// True if the guest → host ring holds unread bytes.
    pub(crate) fn rx_nonempty(&self, mem: &dyn Platform) -> Result<bool, RingError> {
        let w = self.rx.index(mem, WRITE_INDEX, Direction::GuestToHost)?;
        Ok(w != self.rx_read)
    }

    /// Writes one encoded packet (trailer included) into the host → guest
    /// ring (§4.4).
    pub(crate) fn write(
        &mut self,
        mem: &mut dyn Platform,
        bytes: &[u8],
    ) -> Result<WriteOutcome, RingError> {
        let d = self.tx.data_size;
        let len = bytes.len() as u32;
        if bytes.len() as u64 >= u64::from(d) {
            return Err(RingError::OutgoingTooLarge { bytes: len });
        }
        let r = self.tx.index(mem, READ_INDEX, Direction::HostToGuest)?;
        let writable = d - readable(r, self.tx_write, d);
        if writable <= len {
            self.tx.set_header(mem, PENDING_SEND_SZ, len)?;
            return Ok(WriteOutcome::Full);
        }
        let old = self.tx_write;
        self.tx.write_data(mem, old, bytes)?;
        self.tx_write = (old + len) % d;
        self.tx.set_header(mem, WRITE_INDEX, self.tx_write)?;
        self.tx.set_header(mem, PENDING_SEND_SZ, 0)?;
        // Re-read both after publishing, as a producer must (§4.4 step 4).
        let r = self.tx.index(mem, READ_INDEX, Direction::HostToGuest)?;
        let mask = self.tx.header(mem, INTERRUPT_MASK)?;
        Ok(WriteOutcome::Written {
            signal: mask == 0 && r == old,
        })
    }

    /// Hostile mode: writes `bytes` at the private write index and
    /// publishes `index` as the new write_index, unchecked.
    pub(crate) fn write_raw(
        &mut self,
        mem: &mut dyn Platform,
        bytes: &[u8],
        index: u32,
    ) -> Result<(), RingError> {
        let d = self.tx.data_size;
        let n = bytes.len().min(d as usize);
        self.tx.write_data(mem, self.tx_write, &bytes[..n])?;
        self.tx.set_header(mem, WRITE_INDEX, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::MemoryPlatform;

    #[test]
    fn readable_wraps() {
        assert_eq!(readable(0, 0x20, 0x1000), 0x20);
        assert_eq!(readable(0xFF8, 0x8, 0x1000), 0x10);
        assert_eq!(readable(8, 8, 0x1000), 0);
    }

    /// §9.4: two keyboard PROTOCOL_REQUESTs at write_index 0 and 0x20,
    /// read by the host from the guest → host ring.
    #[test]
    fn host_reads_the_packets_of_sheet_9_4() {
        let mut mem = MemoryPlatform::with_ram(0x10000);
        let ring: [u8; 64] = [
            0x06, 0, 0x02, 0, 0x03, 0, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, //
            0x01, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
            0x06, 0, 0x02, 0, 0x03, 0, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, //
            0x01, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0x20, 0, 0, 0,
        ];
        mem.write_guest(0x1000, &ring).unwrap();
        mem.write_guest(0x0000, &0x40u32.to_le_bytes()).unwrap();
        let mut rp = RingPair::open(&mut mem, &[0, 1, 2, 3], 2).unwrap();
        let (pkts, _) = rp.read_batch(&mut mem, 8).unwrap();
        assert_eq!(pkts.len(), 2);
        assert_eq!((pkts[0].trans_id, pkts[1].trans_id), (1, 2));
        assert_eq!(pkts[1].payload, [1, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(
            mem.read_vec(0x4, 4),
            [0x40, 0, 0, 0],
            "read_index published"
        );
        assert_eq!(
            mem.read_vec(0x2040, 4),
            [1, 0, 0, 0],
            "feature bit 0 on host → guest"
        );
    }

    #[test]
    fn host_writes_the_packet_of_sheet_9_4_and_signals_once() {
        let mut mem = MemoryPlatform::with_ram(0x10000);
        let mut rp = RingPair::open(&mut mem, &[0, 1, 2, 3], 2).unwrap();
        let pkt = crate::packet::OutPacket {
            kind: crate::packet::OutKind::Inband,
            completion_requested: true,
            trans_id: 1,
            payload: alloc::vec![1, 0, 0, 0, 0, 0, 1, 0],
        };
        let b = pkt.encode(rp.tx_write());
        assert_eq!(
            rp.write(&mut mem, &b),
            Ok(WriteOutcome::Written { signal: true })
        );
        assert_eq!(
            rp.write(&mut mem, &b),
            Ok(WriteOutcome::Written { signal: false })
        );
        assert_eq!(
            mem.read_vec(0x3000, 32),
            [
                0x06, 0, 0x02, 0, 0x03, 0, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, //
                0x01, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(mem.read_vec(0x2000, 4), [0x40, 0, 0, 0]);
    }

    #[test]
    fn full_ring_sets_pending_send_size() {
        let mut mem = MemoryPlatform::with_ram(0x10000);
        let mut rp = RingPair::open(&mut mem, &[0, 1, 2, 3], 2).unwrap();
        let big = alloc::vec![0u8; 2048];
        assert!(matches!(
            rp.write(&mut mem, &big),
            Ok(WriteOutcome::Written { .. })
        ));
        assert_eq!(rp.write(&mut mem, &big), Ok(WriteOutcome::Full));
        assert_eq!(mem.read_vec(0x200C, 4), [0, 8, 0, 0]);
        assert_eq!(
            rp.write(&mut mem, &alloc::vec![0u8; 4096]),
            Err(RingError::OutgoingTooLarge { bytes: 4096 })
        );
    }
}
