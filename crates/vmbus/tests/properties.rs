//! Property tests: hostile bytes never panic or hang anything.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use proptest::prelude::*;
use vmbus::client::{Action, Client, ClientConfig, ConnectionMode};
use vmbus::message::{ChannelMessage, GpadlMessages, Offer};
use vmbus::packet::{pipe, Descriptor, OutgoingPacket, Packet};
use vmbus::range::PageRange;
use vmbus::ring::{RingConsumer, RingMemory, RingProducer, RING_HEADER_SIZE, TRAILER_SIZE};
use vmbus::synic::{self, SynicMessage};
use vmbus::Guid;

/// Bytes that look like a channel message: a real type in the first word
/// (most of the time) and a plausible length, so decoding gets past the
/// first checks and exercises the per-type ones.
fn message_like() -> impl Strategy<Value = Vec<u8>> {
    let sizes = prop_oneof![
        Just(8usize),
        Just(12),
        Just(16),
        Just(20),
        Just(28),
        Just(40),
        Just(56),
        Just(148),
        Just(196),
        Just(236),
        Just(240),
        0usize..260,
    ];
    (0u32..32, sizes).prop_flat_map(|(msgtype, len)| {
        proptest::collection::vec(any::<u8>(), len).prop_map(move |mut v| {
            if v.len() >= 4 {
                v[..4].copy_from_slice(&msgtype.to_le_bytes());
            }
            if v.len() >= 8 {
                v[4..8].fill(0);
            }
            v
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics_and_is_stable(bytes in message_like()) {
        if let Ok(msg) = ChannelMessage::decode(&bytes) {
            // What decodes re-encodes to something that decodes the same.
            let again = ChannelMessage::decode(msg.encode().as_bytes());
            prop_assert_eq!(again, Ok(msg));
        }
    }

    #[test]
    fn decode_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = ChannelMessage::decode(&bytes);
        let _ = Packet::parse(&bytes);
        let _ = pipe::parse(&bytes);
        let _ = Descriptor::parse(&bytes);
        let _ = Guid::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn synic_slot_never_panics(bytes in proptest::collection::vec(any::<u8>(), 256)) {
        if let Ok(m) = SynicMessage::parse(&bytes) {
            prop_assert!(m.payload().len() <= synic::MAX_PAYLOAD);
            prop_assert_eq!(SynicMessage::parse(&m.encode()), Ok(m));
        }
        let mut map = [0u8; 256];
        map.copy_from_slice(&bytes);
        let set: Vec<u32> = synic::pending_relids(&map).collect();
        for relid in set {
            prop_assert!(synic::test_and_clear(&mut map, relid));
        }
        prop_assert!(map.iter().enumerate().all(|(i, &b)| b == 0 || (i == 0 && b == 1)));
    }

    #[test]
    fn offers_round_trip(
        relid in any::<u32>(), conn in any::<u32>(), flags in any::<u16>(),
        guid in any::<[u8; 16]>(), user in proptest::collection::vec(any::<u8>(), 120),
        monitor in any::<(u8, u8, u16)>(),
    ) {
        let mut user_defined = [0; 120];
        user_defined.copy_from_slice(&user);
        let offer = Offer {
            if_type: Guid(guid),
            if_instance: Guid(guid),
            chn_flags: flags,
            mmio_megabytes: flags ^ 0x5a5a,
            user_defined,
            sub_channel_index: flags.rotate_left(3),
            mmio_megabytes_optional: 0,
            child_relid: relid,
            monitor_id: monitor.0,
            monitor_flags: monitor.1,
            interrupt_flags: monitor.2,
            connection_id: conn,
        };
        let msg = ChannelMessage::Offer(offer);
        prop_assert_eq!(ChannelMessage::decode(msg.encode().as_bytes()), Ok(msg));
    }

    #[test]
    fn gpadl_split_reassembles(
        pfns in proptest::collection::vec(any::<u64>(), 1..400),
        offset in 0u32..4096,
    ) {
        // A range of those pages starting `offset` into the first one.
        let count = pfns.len() as u32 * 4096 - offset;
        let range = PageRange::new(offset, count, &pfns).unwrap();
        let mut got = Vec::new();
        for raw in GpadlMessages::new(1, 2, range).unwrap() {
            prop_assert!(raw.len() <= 240);
            match ChannelMessage::decode(raw.as_bytes()).unwrap() {
                ChannelMessage::GpadlHeader(h) => got.extend_from_slice(h.pfns.as_slice()),
                ChannelMessage::GpadlBody(b) => got.extend_from_slice(b.pfns.as_slice()),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(got, pfns);
    }
}

/// Ring memory shared by both ends.
#[derive(Clone)]
struct Shared(Rc<RefCell<Vec<u8>>>);

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

fn header_words(mem: &mut [u8], words: [u32; 5]) {
    for (offset, value) in [0, 4, 8, 12, 0x40].into_iter().zip(words) {
        mem[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
}

/// Index-like values: mostly near the data size, sometimes anything.
fn index_value(data: u32) -> impl Strategy<Value = u32> {
    prop_oneof![0..data + 16, any::<u32>(), Just(data), Just(data - 8)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn hostile_ring_never_panics_or_hangs(
        data_pages in 1usize..3,
        seed in proptest::collection::vec(any::<u8>(), 0..64),
        words in (index_value(4096), index_value(4096), any::<u32>(), any::<u32>(), any::<u32>()),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        planted in proptest::collection::vec((any::<u16>(), 0u16..8, any::<u16>(), 0u16..3), 0..4),
    ) {
        let data = data_pages * 4096;
        let mut mem = vec![0u8; RING_HEADER_SIZE + data];
        // Scatter the seed over the data area: descriptors full of junk.
        for (i, b) in seed.iter().enumerate() {
            mem[RING_HEADER_SIZE + (i * 37) % data] = *b;
            mem[RING_HEADER_SIZE + (i * 8) % data] = *b & 0x0f;
        }
        // Plant descriptors with plausible offsets and arbitrary lengths
        // where the consumer will look: at the read index, then chained.
        let mut at = (words.1 as usize % data) & !7;
        for (ty, offset8, len8, flags) in planted {
            let d = Descriptor { packet_type: ty % 14, offset8, len8, flags, trans_id: 1 };
            for (i, b) in d.encode().iter().enumerate() {
                mem[RING_HEADER_SIZE + (at + i) % data] = *b;
            }
            at = (at + len8 as usize * 8 + TRAILER_SIZE) % data;
        }
        header_words(&mut mem, [words.0, words.1, words.2, words.3, words.4]);
        let shared = Shared(Rc::new(RefCell::new(mem)));

        if let Ok(mut consumer) = RingConsumer::new(shared.clone()) {
            let mut buf = vec![0u8; 600_000];
            // Every successful read consumes at least 24 bytes of a ring
            // that nobody refills, so this many rounds always suffice.
            let bound = data / 24 + 2;
            let mut rounds = 0;
            loop {
                rounds += 1;
                prop_assert!(rounds <= bound, "consumer did not stop");
                match consumer.read(&mut buf) {
                    Ok(Some(n)) => {
                        prop_assert!(n >= 16 && n % 8 == 0);
                        let _ = Packet::parse(&buf[..n]);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let _ = consumer.commit();
            let _ = consumer.unmask();
        }
        if let Ok(mut producer) = RingProducer::new(shared.clone()) {
            for id in 1..4u64 {
                if let Ok(p) = OutgoingPacket::inband(id, true, &payload) {
                    let _ = p.write_to(&mut producer);
                }
            }
            let _ = producer.free();
        }
    }

    #[test]
    fn ring_matches_a_queue_model(
        ops in proptest::collection::vec((any::<bool>(), 0usize..120), 1..300),
    ) {
        let mut mem = vec![0u8; RING_HEADER_SIZE + 512];
        vmbus::ring::init_header(&mut mem).unwrap();
        let shared = Shared(Rc::new(RefCell::new(mem)));
        let mut producer = RingProducer::new(shared.clone()).unwrap();
        let mut consumer = RingConsumer::new(shared.clone()).unwrap();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut used = 0usize;
        let mut buf = [0u8; 512];
        for (n, (write, len)) in ops.into_iter().enumerate() {
            if write {
                let payload: Vec<u8> = (0..len).map(|i| (i + n) as u8).collect();
                let p = OutgoingPacket::inband(n as u64 + 1, false, &payload).unwrap();
                let total = p.len() + TRAILER_SIZE;
                match p.write_to(&mut producer) {
                    Ok(_) => {
                        prop_assert!(used + total < 512);
                        used += total;
                        model.push_back(payload);
                    }
                    Err(_) => prop_assert!(used + total >= 512),
                }
            } else {
                let got = consumer.read(&mut buf).unwrap();
                match model.pop_front() {
                    Some(want) => {
                        let n = got.unwrap();
                        let payload = Packet::parse(&buf[..n]).unwrap().payload();
                        prop_assert_eq!(&payload[..want.len()], &want[..]);
                        used -= n + TRAILER_SIZE;
                        let _ = consumer.commit().unwrap();
                    }
                    None => prop_assert_eq!(got, None),
                }
            }
        }
    }
}

/// One step of a scripted conversation: a host message or a request.
/// GPADL and relid picks index into what the conversation produced so far,
/// so that most requests are plausible and reach the deeper checks.
#[derive(Debug, Clone)]
enum Step {
    Host(Vec<u8>),
    Plausible(u8, u32, u32, u32),
    /// The host answers the n-th message the guest posted (mod count).
    Answer(usize, bool),
    Connect,
    Gpadl(u32, usize),
    /// Open: relid (or, if `None`, the picked GPADL's own), GPADL pick, split.
    Open(Option<u32>, usize, u32),
    Close(u32),
    Teardown(usize),
    Release(u32),
    Unload,
    PostFailed(u16),
}

fn step() -> impl Strategy<Value = Step> {
    let relid = prop_oneof![9 => 0u32..6, 1 => any::<u32>()];
    let gpadl = prop_oneof![9 => 0xE1E10u32..0xE1E18, 1 => any::<u32>()];
    let pages = prop_oneof![Just(4usize), Just(6), 1usize..70];
    prop_oneof![
        6 => message_like().prop_map(Step::Host),
        18 => (any::<u8>(), relid.clone(), gpadl, prop_oneof![Just(0u32), any::<u32>()])
            .prop_map(|(k, r, g, s)| Step::Plausible(k, r, g, s)),
        30 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(i, ok)| Step::Answer(i, ok)),
        2 => Just(Step::Connect),
        9 => (relid.clone(), pages).prop_map(|(r, n)| Step::Gpadl(r, n)),
        12 => (prop::option::weighted(0.2, relid.clone()), any::<usize>(), 1u32..5)
            .prop_map(|(r, g, d)| Step::Open(r, g, d)),
        6 => relid.clone().prop_map(Step::Close),
        6 => any::<usize>().prop_map(Step::Teardown),
        6 => relid.prop_map(Step::Release),
        1 => Just(Step::Unload),
        2 => any::<u16>().prop_map(Step::PostFailed),
    ]
}

/// What a host would answer to a guest message (fields copied from it).
fn answer(sent: &[u8], ok: bool) -> Option<Vec<u8>> {
    let at = |o: usize| sent[o..o + 4].to_vec();
    let msg = |t: u32, rest: &[&[u8]]| [&t.to_le_bytes()[..], &[0; 4], &rest.concat()].concat();
    let status: &[u8] = if ok { &[0; 4] } else { &[0xff, 0xff, 0, 0x80] };
    Some(match sent[0] {
        14 => msg(15, &[&[ok as u8, 0, 0, 0], &[1, 0, 0, 0]]),
        8 => msg(10, &[&at(8), &at(12), status]),
        5 => msg(6, &[&at(8), &at(12), status]),
        11 => msg(12, &[&at(12)]),
        16 => msg(17, &[]),
        _ => return None,
    })
}

/// Well-formed host messages with chosen fields.
fn plausible(kind: u8, relid: u32, gpadl: u32, status: u32) -> Vec<u8> {
    let word = |v: u32| v.to_le_bytes();
    let hdr = |t: u32| [&word(t)[..], &[0; 4]].concat();
    match kind % 10 {
        0 => {
            let flags = [(status & 1) as u8, (status >> 8) as u8 & 3, 0, 0];
            [&hdr(15)[..], &flags, &word(status % 3)].concat()
        }
        1..=4 => {
            let mut o = vec![0u8; 196];
            o[..4].copy_from_slice(&word(1));
            o[0xB8..0xBC].copy_from_slice(&word(relid));
            o[0xC0..0xC4].copy_from_slice(&word((status % 9) * 0x1001));
            o
        }
        5 => [&hdr(2)[..], &word(relid)].concat(),
        6 => hdr(4),
        7 => [&hdr(6)[..], &word(relid), &word(relid), &word(status % 2)].concat(),
        8 => [&hdr(10)[..], &word(relid), &word(gpadl), &word(status % 2)].concat(),
        _ => [&hdr(kind as u32 % 30)[..], &word(relid)].concat(),
    }
}

/// What the conversation produced so far.
#[derive(Default)]
struct World {
    sent: Vec<Vec<u8>>,
    gpadls: Vec<(u32, u32)>,
}

impl World {
    /// A GPADL handle and its relid from those created so far.
    fn pick_gpadl(&self, i: usize) -> (u32, u32) {
        if self.gpadls.is_empty() {
            (0xE1E10, 1)
        } else {
            self.gpadls[i % self.gpadls.len()]
        }
    }
}

fn run(client: &mut Client, world: &mut World, step: Step) -> Vec<Action> {
    let pfns: Vec<u64> = (0..70).collect();
    match step {
        Step::Host(bytes) => client.on_message(&bytes),
        Step::Plausible(k, r, g, st) => client.on_message(&plausible(k, r, g, st)),
        Step::Answer(i, ok) => {
            let reply = world
                .sent
                .get(i % world.sent.len().max(1))
                .and_then(|m| answer(m, ok));
            match reply {
                Some(bytes) => client.on_message(&bytes),
                None => Vec::new(),
            }
        }
        Step::Connect => client.connect().unwrap_or_default(),
        Step::Gpadl(relid, n) => {
            let range = PageRange::pages(&pfns[..n]).unwrap();
            match client.create_gpadl(relid, range) {
                Ok((id, actions)) => {
                    world.gpadls.push((id, relid));
                    actions
                }
                Err(_) => Vec::new(),
            }
        }
        Step::Open(relid, g, down) => {
            let (gpadl, owner) = world.pick_gpadl(g);
            client
                .open_channel(relid.unwrap_or(owner), gpadl, down, 0, &[])
                .unwrap_or_default()
        }
        Step::Close(relid) => client.close_channel(relid).unwrap_or_default(),
        Step::Teardown(g) => client
            .teardown_gpadl(world.pick_gpadl(g).0)
            .unwrap_or_default(),
        Step::Release(relid) => client.release_channel(relid).unwrap_or_default(),
        Step::Unload => client.unload().unwrap_or_default(),
        Step::PostFailed(code) => client
            .contact_post_failed(synic::HvStatus::from_code(code))
            .unwrap_or_default(),
    }
}

fn new_client(linux: bool, connect_first: bool) -> Client {
    let mode = if linux {
        ConnectionMode::LinuxFour
    } else {
        ConnectionMode::AlwaysOne
    };
    let mut client = Client::new(ClientConfig {
        mode,
        max_channels: 4,
        ..ClientConfig::default()
    });
    if connect_first {
        // Start most runs connected, so later steps reach the channel and
        // GPADL checks.
        let _ = client.connect().unwrap();
        let _ = client.on_message(&[15, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    }
    client
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn client_never_panics(
        linux in any::<bool>(),
        connect_first in prop::bool::weighted(0.8),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut client = new_client(linux, connect_first);
        let mut world = World::default();
        for s in steps {
            for a in run(&mut client, &mut world, s) {
                // Everything the client asks to post is a valid message.
                if let Action::Post { connection_id, message } = a {
                    prop_assert!(connection_id != 0 && connection_id < 1 << 24);
                    prop_assert!(ChannelMessage::decode(message.as_bytes()).is_ok());
                    world.sent.push(message.as_bytes().to_vec());
                }
            }
            for relid in client.relids() {
                prop_assert!(relid != 0 && relid < 2048);
            }
        }
    }
}
