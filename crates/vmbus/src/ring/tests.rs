//! Ring tests: round trips, wrap-around, full ring, signalling rules, and
//! a hostile peer's header values.

use super::*;
use crate::packet::{OutgoingPacket, Packet};
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

/// One ring's memory shared by a producer and a consumer.
#[derive(Clone)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Shared {
    fn new(data: usize) -> Shared {
        let mut mem = vec![0; RING_HEADER_SIZE + data];
        init_header(&mut mem).unwrap();
        Shared(Rc::new(RefCell::new(mem)))
    }

    fn poke_u32(&self, offset: usize, value: u32) {
        self.0.borrow_mut()[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn peek_u32(&self, offset: usize) -> u32 {
        let m = self.0.borrow();
        u32::from_le_bytes([m[offset], m[offset + 1], m[offset + 2], m[offset + 3]])
    }
}

impl RingMemory for Shared {
    fn size(&self) -> usize {
        self.0.borrow().len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        buf.copy_from_slice(&self.0.borrow()[offset..offset + buf.len()]);
    }
    fn write(&mut self, offset: usize, buf: &[u8]) {
        self.0.borrow_mut()[offset..offset + buf.len()].copy_from_slice(buf);
    }
}

fn pair(data: usize) -> (RingProducer<Shared>, RingConsumer<Shared>, Shared) {
    let mem = Shared::new(data);
    let p = RingProducer::new(mem.clone()).unwrap();
    let c = RingConsumer::new(mem.clone()).unwrap();
    (p, c, mem)
}

fn send(p: &mut RingProducer<Shared>, id: u64, payload: &[u8]) -> Result<bool, RingError> {
    let packet = OutgoingPacket::inband(id, true, payload).unwrap();
    packet.write_to(p).map(|o| o.signal)
}

fn recv(c: &mut RingConsumer<Shared>) -> Option<(u64, Vec<u8>)> {
    let mut buf = [0; 512];
    let n = c.read(&mut buf).unwrap()?;
    let p = Packet::parse(&buf[..n]).unwrap();
    Some((p.trans_id(), p.payload().to_vec()))
}

#[test]
fn round_trip_with_wrap_around() {
    // A small ring so that packets keep straddling the end of the data area.
    let (mut p, mut c, mem) = pair(200);
    let mut wrapped = 0;
    for round in 0..200u64 {
        let len = (round as usize * 7) % 60 + 1;
        let payload: Vec<u8> = (0..len).map(|i| (i as u64 + round) as u8).collect();
        let before = mem.peek_u32(WRITE_INDEX);
        let _ = send(&mut p, round + 1, &payload).unwrap();
        let after = mem.peek_u32(WRITE_INDEX);
        if after < before {
            wrapped += 1;
        }
        let (id, got) = recv(&mut c).unwrap();
        assert_eq!(id, round + 1);
        assert_eq!(&got[..len], &payload[..]);
        assert!(got[len..].iter().all(|&b| b == 0));
        let _ = c.commit().unwrap();
        assert_eq!(mem.peek_u32(READ_INDEX), after);
    }
    assert!(wrapped > 10, "wrapped {wrapped} times");
    assert_eq!(recv(&mut c), None);
}

#[test]
fn trailer_records_start_offset_across_the_end() {
    let (mut p, mut c, mem) = pair(64);
    // 16 + 8 + 8 = 32 bytes per packet: starts at 0, then 32, then wraps to 0.
    for _ in 0..2 {
        let _ = send(&mut p, 1, &[5; 8]).unwrap();
        recv(&mut c).unwrap();
        let _ = c.commit().unwrap();
    }
    // write_index 0 again; a 40-byte packet (with trailer) moves it to 40.
    let _ = send(&mut p, 2, &[6; 16]).unwrap();
    recv(&mut c).unwrap();
    let _ = c.commit().unwrap();
    assert_eq!(mem.peek_u32(WRITE_INDEX), 40);
    // The next one: descriptor at 40..56, payload 56..64 then 0..16,
    // trailer at 16..24 recording its start, 40.
    let payload: Vec<u8> = (1..=24).collect();
    let _ = send(&mut p, 3, &payload).unwrap();
    assert_eq!(mem.peek_u32(WRITE_INDEX), (40 + 48) % 64);
    let m = mem.0.borrow();
    let data = &m[RING_HEADER_SIZE..];
    assert_eq!(&data[56..64], &payload[..8]);
    assert_eq!(&data[0..16], &payload[8..]);
    assert_eq!(&data[16..24], &[0, 0, 0, 0, 40, 0, 0, 0]);
    drop(m);
    assert_eq!(recv(&mut c), Some((3, payload)));
}

#[test]
fn never_fills_completely() {
    let (mut p, mut c, _mem) = pair(128);
    // Each packet: 16 + 8 payload + 8 trailer = 32 bytes.
    for i in 1..=3 {
        let _ = send(&mut p, i, &[0; 8]).unwrap();
    }
    // 96 used, 32 free: free <= needed, so the ring counts as full.
    assert_eq!(
        send(&mut p, 4, &[0; 8]),
        Err(RingError::Full {
            needed: 32,
            free: 32
        })
    );
    assert_eq!(p.free().unwrap(), 32);
    // A packet as large as the ring can never go in.
    assert_eq!(
        send(&mut p, 5, &[0; 104]),
        Err(RingError::TooLarge {
            needed: 128,
            capacity: 128
        })
    );
    recv(&mut c).unwrap();
    let _ = c.commit().unwrap();
    let _ = send(&mut p, 4, &[0; 8]).unwrap();
    assert_eq!(p.free().unwrap(), 32);
}

#[test]
fn signal_only_when_empty_and_unmasked() {
    let (mut p, mut c, _mem) = pair(1024);
    assert!(send(&mut p, 1, &[1; 8]).unwrap(), "empty → signal");
    assert!(!send(&mut p, 2, &[1; 8]).unwrap(), "not empty → no signal");
    recv(&mut c).unwrap();
    recv(&mut c).unwrap();
    let _ = c.commit().unwrap();
    c.set_interrupt_mask(true);
    assert!(!send(&mut p, 3, &[1; 8]).unwrap(), "masked → no signal");
    // Data already waiting: unmask says "drain now".
    assert!(c.unmask().unwrap());
    recv(&mut c).unwrap();
    let _ = c.commit().unwrap();
    assert!(!c.unmask().unwrap());
    assert!(send(&mut p, 4, &[1; 8]).unwrap());
    // Read but not yet committed: the producer still sees a non-empty ring.
    recv(&mut c).unwrap();
    assert!(!send(&mut p, 5, &[1; 8]).unwrap());
}

#[test]
fn pending_send_size_rule() {
    let (mut p, mut c, mem) = pair(256);
    for i in 1..=7 {
        let _ = send(&mut p, i, &[0; 8]).unwrap();
    }
    // 224 used, 32 free. The producer waits for more than 64 bytes.
    p.set_pending_send_size(64);
    recv(&mut c).unwrap();
    assert!(!c.commit().unwrap(), "free 64: not yet more than 64");
    recv(&mut c).unwrap();
    assert!(c.commit().unwrap(), "free 96 crossed 64");
    recv(&mut c).unwrap();
    assert!(!c.commit().unwrap(), "already above before this batch");
    // Nothing read: no signal, even with the threshold met.
    assert!(!c.commit().unwrap());
    // A batch of two that crosses the threshold signals once.
    p.set_pending_send_size(150);
    recv(&mut c).unwrap();
    recv(&mut c).unwrap();
    assert!(c.commit().unwrap(), "free 128 → 192 crosses 150");
    // Without feature bit 0 the consumer never signals.
    let _ = send(&mut p, 8, &[0; 8]).unwrap();
    let _ = send(&mut p, 9, &[0; 8]).unwrap();
    mem.poke_u32(FEATURE_BITS, 0);
    p.set_pending_send_size(190);
    recv(&mut c).unwrap();
    recv(&mut c).unwrap();
    recv(&mut c).unwrap();
    assert!(!c.commit().unwrap());
    assert!(!c.producer_supports_pending_send());
}

#[test]
fn buffer_too_small_consumes_nothing() {
    let (mut p, mut c, _mem) = pair(256);
    let _ = send(&mut p, 1, &[3; 40]).unwrap();
    let mut small = [0; 32];
    assert_eq!(
        c.read(&mut small),
        Err(RingError::BufferTooSmall { needed: 56 })
    );
    assert_eq!(c.peek().unwrap().map(|d| d.packet_len()), Some(56));
    assert!(c.skip().unwrap());
    assert!(!c.skip().unwrap());
    assert_eq!(c.peek().unwrap(), None);
}

#[test]
fn hostile_indices_are_errors() {
    let (mut p, mut c, mem) = pair(256);
    let _ = send(&mut p, 1, &[0; 8]).unwrap();
    for bad in [256, 257, 12, u32::MAX] {
        mem.poke_u32(WRITE_INDEX, bad);
        assert_eq!(
            c.read(&mut [0; 64]),
            Err(RingError::Index {
                kind: IndexKind::Write,
                value: bad
            })
        );
        mem.poke_u32(READ_INDEX, bad);
        assert!(matches!(
            send(&mut p, 2, &[0; 8]),
            Err(RingError::Index {
                kind: IndexKind::Read,
                ..
            })
        ));
    }
    // Constructors refuse bad indices too.
    assert!(RingConsumer::new(mem.clone()).is_err());
    assert!(RingProducer::new(mem.clone()).is_err());
}

#[test]
fn hostile_descriptors_are_errors() {
    let (_p, mut c, mem) = pair(256);
    let put = |at: usize, bytes: &[u8]| {
        mem.0.borrow_mut()[RING_HEADER_SIZE + at..RING_HEADER_SIZE + at + bytes.len()]
            .copy_from_slice(bytes);
    };
    // Readable bytes fewer than a descriptor and trailer.
    mem.poke_u32(WRITE_INDEX, 16);
    assert_eq!(
        c.read(&mut [0; 64]),
        Err(RingError::Truncated {
            needed: 24,
            readable: 16
        })
    );
    mem.poke_u32(WRITE_INDEX, 64);
    // offset8 < 2.
    put(0, &[6, 0, 1, 0, 3, 0, 0, 0]);
    assert!(matches!(
        c.read(&mut [0; 64]),
        Err(RingError::Descriptor(_))
    ));
    // len8 < offset8.
    put(0, &[6, 0, 4, 0, 3, 0, 0, 0]);
    assert!(matches!(c.peek(), Err(RingError::Descriptor(_))));
    // Longer than what is readable (7 × 8 + 8 = 64 fits; 8 × 8 + 8 does not).
    put(0, &[6, 0, 2, 0, 7, 0, 0, 0]);
    assert!(c.peek().unwrap().is_some());
    put(0, &[6, 0, 2, 0, 8, 0, 0, 0]);
    assert_eq!(
        c.skip(),
        Err(RingError::Truncated {
            needed: 72,
            readable: 64
        })
    );
    // Longer than the whole ring.
    put(0, &[6, 0, 2, 0, 0xff, 0xff, 0, 0]);
    assert!(matches!(
        c.read(&mut [0; 64]),
        Err(RingError::Truncated { .. })
    ));
}

#[test]
fn memory_sizes() {
    assert_eq!(
        RingProducer::new(vec![0u8; RING_HEADER_SIZE]).err(),
        Some(RingError::Size(RING_HEADER_SIZE))
    );
    assert!(RingConsumer::new(vec![0u8; RING_HEADER_SIZE + 12]).is_err());
    assert!(RingConsumer::new(vec![0u8; 100]).is_err());
    let mut mem = vec![0xffu8; RING_HEADER_SIZE + 4096];
    init_header(&mut mem).unwrap();
    assert!(mem[..0x40].iter().all(|&b| b == 0));
    assert_eq!(&mem[0x40..0x44], &[1, 0, 0, 0]);
    assert!(mem[0x44..RING_HEADER_SIZE].iter().all(|&b| b == 0));
    assert!(
        mem[RING_HEADER_SIZE..].iter().all(|&b| b == 0xff),
        "data untouched"
    );
}

#[test]
fn unaligned_write_is_refused() {
    let (mut p, _c, mem) = pair(256);
    assert_eq!(p.write(&[&[0; 12]]), Err(RingError::Unaligned(12)));
    assert_eq!(mem.peek_u32(WRITE_INDEX), 0);
    assert!(p.write(&[&[0; 12], &[0; 4]]).is_ok());
}
