//! Moving packets: guest → host ring into the device, device output into
//! the host → guest ring, with the signalling rules of sheet §4.4/§4.5 and
//! the hostile ring cases.

use super::channels::{ChannelFailure, ChannelState, Open};
use super::gpadl::Gpadl;
use super::server::Server;
use crate::device::{Device, DeviceId, DeviceIo};
use crate::env::Env;
use crate::hostile::HostileCase;
use crate::notes::Note;
use crate::packet::{OutPacket, TYPE_INBAND};
use crate::ring::{self, RingError, WriteOutcome};
use crate::wire::Builder;

/// Packets read from one channel per step (bounds the work of a step).
const BATCH: usize = 64;

impl Server {
    /// One pass over every open channel. Returns true if anything moved.
    pub(crate) fn pump(&mut self, env: &mut Env<'_>, poll_without_signal: bool) -> bool {
        let Server {
            channels, gpadls, ..
        } = self;
        let mut progress = false;
        for (idx, ch) in channels.iter_mut().enumerate() {
            if ch.failure.is_some() {
                continue;
            }
            let (Some(relid), ChannelState::Open(open)) = (ch.relid, &mut ch.state) else {
                continue;
            };
            let ctx = Ctx {
                gpadls,
                relid,
                dev: DeviceId(idx),
                poll: poll_without_signal,
            };
            match run(env, &ctx, ch.device.as_mut(), open) {
                Ok(p) => progress |= p,
                Err(f) => {
                    env.notes.push(match f {
                        ChannelFailure::Ring(error) => Note::RingFailed { relid, error },
                        ChannelFailure::Device(error) => Note::DeviceFailed { relid, error },
                    });
                    ch.failure = Some(f);
                    progress = true;
                }
            }
        }
        progress
    }
}

struct Ctx<'a> {
    gpadls: &'a [Gpadl],
    relid: u32,
    dev: DeviceId,
    poll: bool,
}

fn run(
    env: &mut Env<'_>,
    ctx: &Ctx<'_>,
    device: &mut dyn Device,
    open: &mut Open,
) -> Result<bool, ChannelFailure> {
    let ring_err = ChannelFailure::Ring;
    let mut progress = false;
    let woken =
        open.signalled || (ctx.poll && open.rings.rx_nonempty(&*env.mem).map_err(ring_err)?);
    if woken {
        let (pkts, wake_guest) = open.rings.read_batch(env.mem, BATCH).map_err(ring_err)?;
        // A full batch may have left more behind. And a packet the guest
        // wrote while this batch was read came unsignalled (the guest saw
        // the read index before this batch published it, §4.4): look at
        // the ring again after publishing, as a consumer must, and stay
        // awake for what is there.
        open.signalled =
            pkts.len() == BATCH || open.rings.rx_nonempty(&*env.mem).map_err(ring_err)?;
        for p in &pkts {
            let mut io = DeviceIo {
                mem: env.mem,
                gpadls: ctx.gpadls,
                relid: ctx.relid,
                out: &mut open.outq,
                notes: env.notes,
            };
            device.packet(&mut io, p).map_err(ChannelFailure::Device)?;
            progress = true;
        }
        if wake_guest {
            env.signal(open.target_vp, ctx.relid);
        }
    }
    let mut io = DeviceIo {
        mem: env.mem,
        gpadls: ctx.gpadls,
        relid: ctx.relid,
        out: &mut open.outq,
        notes: env.notes,
    };
    device.poll(&mut io).map_err(ChannelFailure::Device)?;
    if open.blocked && !woken {
        // Waiting for the guest to signal freed space (§4.4 step 1).
        return Ok(progress);
    }
    progress |= flush(env, ctx, open).map_err(ring_err)?;
    if env.hostile.on(HostileCase::EventStorm, Some(ctx.dev)) {
        env.signal(open.target_vp, ctx.relid);
        let other = 1 + env.hostile.rng.below(255) as u32;
        env.signal(open.target_vp, other);
    }
    Ok(progress)
}

/// Writes queued packets until the ring is full. Returns true if any
/// packet was written.
fn flush(env: &mut Env<'_>, ctx: &Ctx<'_>, open: &mut Open) -> Result<bool, RingError> {
    open.blocked = false;
    let mut signal = false;
    let mut wrote = false;
    if open.wrecked {
        open.outq.clear();
        return Ok(false);
    }
    if !open.outq.is_empty() && !open.hostile_done && sabotage(env, ctx, open)? {
        open.wrecked = true;
        return Ok(true);
    }
    while let Some(p) = open.outq.front() {
        let mut bytes = p.encode(open.rings.tx_write());
        if env.hostile.on(HostileCase::MutatePackets, Some(ctx.dev)) {
            let n = bytes.len() - 8;
            env.hostile.mutate(&mut bytes[..n]);
        }
        match open.rings.write(env.mem, &bytes)? {
            WriteOutcome::Written { signal: s } => {
                signal |= s;
                wrote = true;
                open.outq.pop_front();
            }
            WriteOutcome::Full => {
                open.blocked = true;
                break;
            }
        }
    }
    if wrote
        && env
            .hostile
            .on(HostileCase::SpuriousCompletions, Some(ctx.dev))
    {
        let id = env.hostile.rng.next_u64() | 1 << 63;
        let junk = env.hostile.rng.next_u64().to_le_bytes().to_vec();
        let bytes = OutPacket::completion(id, junk).encode(open.rings.tx_write());
        if let WriteOutcome::Written { signal: s } = open.rings.write(env.mem, &bytes)? {
            signal |= s;
        }
    }
    if wrote
        && env
            .hostile
            .on(HostileCase::PendingSendSizeAbsurd, Some(ctx.dev))
    {
        // After the real writes, which clear the field.
        open.rings
            .tx
            .set_header(env.mem, ring::PENDING_SEND_SZ, u32::MAX)?;
        env.notes.push(Note::Hostile {
            case: HostileCase::PendingSendSizeAbsurd,
        });
    }
    if signal {
        env.signal(open.target_vp, ctx.relid);
    }
    Ok(wrote)
}

/// The one-shot hostile ring cases, fired on a channel's first output.
/// Returns true if the channel's ring was sabotaged.
fn sabotage(env: &mut Env<'_>, ctx: &Ctx<'_>, open: &mut Open) -> Result<bool, RingError> {
    let on = |c| env.hostile.on(c, Some(ctx.dev));
    let r = &mut open.rings;
    let d = r.tx.data_size();
    let w = r.tx_write();
    let case = if on(HostileCase::RingWriteIndexOutOfRange) {
        r.tx.set_header(env.mem, ring::WRITE_INDEX, d + 8)?;
        HostileCase::RingWriteIndexOutOfRange
    } else if on(HostileCase::RingWriteIndexUnaligned) {
        r.tx.set_header(env.mem, ring::WRITE_INDEX, (w + 4) % d)?;
        HostileCase::RingWriteIndexUnaligned
    } else if on(HostileCase::PacketLongerThanRing) {
        let len8 = (d / 8 + 16).min(0xFFFF) as u16;
        r.write_raw(env.mem, &descriptor(2, len8), (w + 24) % d)?;
        HostileCase::PacketLongerThanRing
    } else if on(HostileCase::PacketBadOffset) {
        r.write_raw(env.mem, &descriptor(0, 2), (w + 24) % d)?;
        HostileCase::PacketBadOffset
    } else if on(HostileCase::GuestRingReadIndexBogus) {
        let rd = r.rx.data_size();
        r.rx.set_header(env.mem, ring::READ_INDEX, rd + 16)?;
        HostileCase::GuestRingReadIndexBogus
    } else {
        open.hostile_done = true;
        return Ok(false);
    };
    open.hostile_done = true;
    env.notes.push(Note::Hostile { case });
    env.signal(open.target_vp, ctx.relid);
    // The index and packet cases leave the ring unreadable, so nothing
    // real follows them; a bogus read_index still lets real packets out.
    Ok(case != HostileCase::GuestRingReadIndexBogus)
}

/// A 24-byte in-band descriptor + trailer with the given offset8/len8.
fn descriptor(offset8: u16, len8: u16) -> alloc::vec::Vec<u8> {
    Builder::new()
        .u16(TYPE_INBAND)
        .u16(offset8)
        .u16(len8)
        .u16(0)
        .u64(0)
        .u64(0)
        .finish()
}
