//! The Hyper-V synthetic keyboard (sheet §6.1): a VMBus channel whose
//! keystrokes reach the input service as the i8042's do.
//!
//! The driver opens the channel, runs the `vmbus-devices` keyboard state
//! machine on a thread of its own (woken by the channel's event flag),
//! and turns each keystroke into PS/2 set-1 bytes for the same decoder the
//! i8042 uses (`ps2`, with translation), so the input service cannot tell
//! the two apart. A host that breaks the protocol or the ring stops the
//! keyboard with a message; the channel is closed and its pages go back.
#![forbid(unsafe_code)]

use super::{input, Driver, DriverError, Match, Probe};
use crate::hyperv::channel::Channel;
use crate::sync::SpinLock;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use vmbus_devices::keyboard::{Keyboard, KeyboardEvent};
use vmbus_devices::{Incoming, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::KEYBOARD.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-keyboard",
    matches: MATCHES,
    probe,
};

/// Ring pages each way (the header page included).
const RING_PAGES: usize = 4;
/// Bytes of the largest packet read at once.
const PACKET_MAX: usize = 512;
/// How long the thread sleeps without a signal.
const IDLE_NS: u64 = 100_000_000;
/// How long closing may wait for the host.
const CLOSE_NS: u64 = 1_000_000_000;

/// The channel the keyboard thread serves (one keyboard).
static CHANNEL: SpinLock<Option<Arc<Channel>>> = SpinLock::new(None);
/// Keystrokes delivered since boot.
static KEYS: AtomicU64 = AtomicU64::new(0);
/// Whether the keyboard thread runs.
static RUNNING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether the host accepted the keyboard protocol.
static READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether a keyboard is up (the host accepted protocol 1.0).
pub fn ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// Whether a Hyper-V keyboard is being served.
pub fn running() -> bool {
    RUNNING.load(Ordering::Acquire)
}

/// Keystrokes the Hyper-V keyboard has delivered since boot.
pub fn keys() -> u64 {
    KEYS.load(Ordering::Relaxed)
}

/// The relid a VMBus device node names (`relid-<n>`).
pub fn relid_of(p: &Probe) -> Option<u32> {
    p.device.name.strip_prefix("relid-")?.parse().ok()
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let relid =
        relid_of(p).ok_or_else(|| DriverError::Device(format!("{}: no relid", p.device.name)))?;
    let connection = crate::hyperv::bus::active()
        .ok_or_else(|| DriverError::Device("no VMBus connection".into()))?;
    if CHANNEL.lock().is_some() {
        return Err(DriverError::Device("a keyboard is already served".into()));
    }
    let channel = Channel::open(connection, relid, RING_PAGES)
        .map_err(|e| DriverError::Device(format!("relid {relid}: {e}")))?;
    *CHANNEL.lock() = Some(channel.clone());
    RUNNING.store(true, Ordering::Release);
    let started = crate::task::Thread::new(
        "hv-keyboard",
        None,
        crate::task::Entry::Kernel(thread, 0),
        crate::task::priority::HIGH,
    )
    .and_then(crate::task::sched::start);
    if started.is_err() {
        *CHANNEL.lock() = None;
        RUNNING.store(false, Ordering::Release);
        channel.close(CLOSE_NS);
        return Err(DriverError::Device("no thread for the keyboard".into()));
    }
    log::info!("hv-keyboard: relid {relid} open");
    Ok(())
}

/// Stops the keyboard (the thread closes the channel).
pub fn stop() {
    if let Some(c) = CHANNEL.lock().take() {
        c.signal().raise();
    }
}

fn thread(_: u64) {
    let Some(channel) = CHANNEL.lock().clone() else {
        RUNNING.store(false, Ordering::Release);
        return;
    };
    let why = serve(&channel);
    log::info!("hv-keyboard: relid {} stops: {why}", channel.relid());
    if let Some(c) = CHANNEL.lock().as_ref() {
        if Arc::ptr_eq(c, &channel) {
            *CHANNEL.lock() = None;
        }
    }
    READY.store(false, Ordering::Release);
    channel.close(CLOSE_NS);
    RUNNING.store(false, Ordering::Release);
}

/// Runs the keyboard until it is stopped or the host breaks it; says why.
fn serve(channel: &Arc<Channel>) -> alloc::string::String {
    let mut keyboard = Keyboard::new();
    let mut decoder = ps2::Ps2::new(true, 0);
    let mut out = Output::new();
    if let Err(e) = keyboard.start(&mut out) {
        return format!("{e:?}");
    }
    let mut buf = [0u8; PACKET_MAX];
    loop {
        for packet in out.sends.drain(..).collect::<Vec<_>>() {
            let sent = packet
                .encode()
                .map_err(|e| format!("{e:?}"))
                .and_then(|bytes| channel.send(&bytes).map_err(|e| format!("{e}")));
            if let Err(e) = sent {
                return e;
            }
        }
        for event in out.events.drain(..) {
            match event {
                KeyboardEvent::Ready => {
                    READY.store(true, Ordering::Release);
                    log::info!("hv-keyboard: protocol 1.0 accepted");
                }
                KeyboardEvent::Key(k) => {
                    for &byte in k.to_set1().as_slice() {
                        if let Some(e) = decoder.on_byte(ps2::Port::Keyboard, byte) {
                            KEYS.fetch_add(1, Ordering::Relaxed);
                            input::push(input::from_ps2(e));
                        }
                    }
                }
            }
        }
        let still_served = CHANNEL
            .lock()
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, channel));
        if !still_served {
            return "stopped".into();
        }
        match channel.receive(&mut buf) {
            Ok(Some(len)) => {
                let handled = Incoming::parse(&buf[..len])
                    .map_err(|e| format!("{e:?}"))
                    .and_then(|p| keyboard.handle(&p, &mut out).map_err(|e| format!("{e:?}")));
                if let Err(e) = handled {
                    log::warn!("hv-keyboard: refused a packet: {e}");
                    if keyboard.state() == vmbus_devices::keyboard::KeyboardState::Failed {
                        return format!("the host broke the protocol ({e})");
                    }
                }
            }
            Ok(None) => {
                let deadline = crate::time::now_ns().saturating_add(IDLE_NS);
                channel.signal().wait_until(deadline);
            }
            Err(e) => return format!("{e}"),
        }
    }
}
