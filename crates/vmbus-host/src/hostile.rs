//! Hostile mode: what a malicious or broken hypervisor might send.
//!
//! A test picks cases from [`HostileCase::ALL`] (globally or for one
//! device) and a seed; the byte mutations come from the crate's own
//! xorshift generator, so every run can be replayed.

use alloc::vec::Vec;

use crate::device::DeviceId;
use crate::prng::XorShift64;

/// One misbehaviour the host can be told to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostileCase {
    /// The second offer repeats the first offer's relid.
    DuplicateRelid,
    /// The first offer carries relid 0.
    ZeroRelid,
    /// An extra offer with absurd values (mmio 0xFFFF MiB, relid and
    /// connection id 0xFFFF_FFFF, sub-channel 0xFFFF, every flag set).
    AbsurdOffer,
    /// GPADL_CREATED for a handle the guest never created.
    UnsolicitedGpadlCreated,
    /// OPENCHANNEL_RESULT for channels the guest never opened.
    UnsolicitedOpenResult,
    /// VERSION_RESPONSE, UNLOAD_RESPONSE and GPADL_TORNDOWN nobody asked for.
    UnsolicitedResponses,
    /// Hundreds of bogus offers right after ALLOFFERS_DELIVERED.
    MessageFlood,
    /// Every control message cut to half its length.
    TruncatedMessages,
    /// SIMP payload_size claims 255 bytes (more than a slot holds).
    LyingPayloadSize,
    /// Random byte flips in control messages.
    MutateMessages,
    /// Every second HvPostMessage fails with INSUFFICIENT_BUFFERS.
    TransientPostFailures,
    /// write_index of the host → guest ring set beyond the data area.
    RingWriteIndexOutOfRange,
    /// write_index of the host → guest ring not 8-byte aligned.
    RingWriteIndexUnaligned,
    /// A packet descriptor whose len8 exceeds the ring.
    PacketLongerThanRing,
    /// A packet descriptor with offset8 below 2 or above len8.
    PacketBadOffset,
    /// read_index of the guest → host ring set beyond the data area.
    GuestRingReadIndexBogus,
    /// pending_send_sz of the host → guest ring set to 0xFFFF_FFFF.
    PendingSendSizeAbsurd,
    /// Random byte flips in ring packets.
    MutatePackets,
    /// Completions for transaction ids the guest never used.
    SpuriousCompletions,
    /// Event flags and interrupts for channels with nothing to read.
    EventStorm,
    /// GPADL_TEARDOWN is never answered, after CLOSECHANNEL neither: the
    /// host keeps every GPADL (and may go on using its pages).
    WithholdGpadlTeardown,
}

impl HostileCase {
    /// Every case, for a test that runs them all.
    pub const ALL: [HostileCase; 21] = [
        HostileCase::DuplicateRelid,
        HostileCase::ZeroRelid,
        HostileCase::AbsurdOffer,
        HostileCase::UnsolicitedGpadlCreated,
        HostileCase::UnsolicitedOpenResult,
        HostileCase::UnsolicitedResponses,
        HostileCase::MessageFlood,
        HostileCase::TruncatedMessages,
        HostileCase::LyingPayloadSize,
        HostileCase::MutateMessages,
        HostileCase::TransientPostFailures,
        HostileCase::RingWriteIndexOutOfRange,
        HostileCase::RingWriteIndexUnaligned,
        HostileCase::PacketLongerThanRing,
        HostileCase::PacketBadOffset,
        HostileCase::GuestRingReadIndexBogus,
        HostileCase::PendingSendSizeAbsurd,
        HostileCase::MutatePackets,
        HostileCase::SpuriousCompletions,
        HostileCase::EventStorm,
        HostileCase::WithholdGpadlTeardown,
    ];

    /// A stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            HostileCase::DuplicateRelid => "duplicate-relid",
            HostileCase::ZeroRelid => "zero-relid",
            HostileCase::AbsurdOffer => "absurd-offer",
            HostileCase::UnsolicitedGpadlCreated => "unsolicited-gpadl-created",
            HostileCase::UnsolicitedOpenResult => "unsolicited-open-result",
            HostileCase::UnsolicitedResponses => "unsolicited-responses",
            HostileCase::MessageFlood => "message-flood",
            HostileCase::TruncatedMessages => "truncated-messages",
            HostileCase::LyingPayloadSize => "lying-payload-size",
            HostileCase::MutateMessages => "mutate-messages",
            HostileCase::TransientPostFailures => "transient-post-failures",
            HostileCase::RingWriteIndexOutOfRange => "ring-write-index-out-of-range",
            HostileCase::RingWriteIndexUnaligned => "ring-write-index-unaligned",
            HostileCase::PacketLongerThanRing => "packet-longer-than-ring",
            HostileCase::PacketBadOffset => "packet-bad-offset",
            HostileCase::GuestRingReadIndexBogus => "guest-ring-read-index-bogus",
            HostileCase::PendingSendSizeAbsurd => "pending-send-size-absurd",
            HostileCase::MutatePackets => "mutate-packets",
            HostileCase::SpuriousCompletions => "spurious-completions",
            HostileCase::EventStorm => "event-storm",
            HostileCase::WithholdGpadlTeardown => "withhold-gpadl-teardown",
        }
    }

    /// The case called `name`.
    pub fn from_name(name: &str) -> Option<HostileCase> {
        HostileCase::ALL.into_iter().find(|c| c.name() == name)
    }

    /// True for cases that act on a channel's rings (and so may be
    /// restricted to one device).
    pub fn is_ring_case(self) -> bool {
        matches!(
            self,
            HostileCase::RingWriteIndexOutOfRange
                | HostileCase::RingWriteIndexUnaligned
                | HostileCase::PacketLongerThanRing
                | HostileCase::PacketBadOffset
                | HostileCase::GuestRingReadIndexBogus
                | HostileCase::PendingSendSizeAbsurd
                | HostileCase::MutatePackets
                | HostileCase::SpuriousCompletions
                | HostileCase::EventStorm
        )
    }
}

/// Which cases are on, for whom, and the PRNG seed.
#[derive(Debug, Clone, Default)]
pub struct HostileConfig {
    /// Enabled cases; `Some(device)` limits a ring case to that device.
    pub cases: Vec<(HostileCase, Option<DeviceId>)>,
    /// Seed of the mutation generator.
    pub seed: u64,
    /// Chance, per mille, that a message or packet gets mutated (the
    /// mutate cases only); 0 means 250.
    pub mutate_per_mille: u32,
}

impl HostileConfig {
    /// One case for everything, with `seed`.
    pub fn single(case: HostileCase, seed: u64) -> Self {
        HostileConfig {
            cases: alloc::vec![(case, None)],
            seed,
            mutate_per_mille: 0,
        }
    }
}

/// Runtime state of hostile mode.
#[derive(Debug, Clone)]
pub(crate) struct Hostile {
    cfg: HostileConfig,
    pub(crate) rng: XorShift64,
    posts: u64,
}

impl Hostile {
    pub(crate) fn new(cfg: HostileConfig) -> Self {
        Hostile {
            rng: XorShift64::new(cfg.seed),
            cfg,
            posts: 0,
        }
    }

    /// Is `case` on for `device` (control-plane cases pass `None`)?
    pub(crate) fn on(&self, case: HostileCase, device: Option<DeviceId>) -> bool {
        self.cfg
            .cases
            .iter()
            .any(|&(c, d)| c == case && (d.is_none() || d == device))
    }

    /// True for the posts that [`HostileCase::TransientPostFailures`] fails.
    pub(crate) fn fail_this_post(&mut self) -> bool {
        if !self.on(HostileCase::TransientPostFailures, None) {
            return false;
        }
        self.posts += 1;
        self.posts % 2 == 1
    }

    /// Flips a few random bytes of `b` with the configured chance.
    /// Returns true if anything changed.
    pub(crate) fn mutate(&mut self, b: &mut [u8]) -> bool {
        let rate = match self.cfg.mutate_per_mille {
            0 => 250,
            r => r,
        };
        if b.is_empty() || !self.rng.chance(rate) {
            return false;
        }
        let flips = 1 + self.rng.below(3);
        for _ in 0..flips {
            let i = self.rng.below(b.len() as u64) as usize;
            b[i] ^= (self.rng.next_u64() as u8) | 1;
        }
        true
    }
}
