//! The VMBus connection: the SynIC set up for VMBus (sheet §2), the
//! control plane (the `vmbus` crate's [`Client`]), and the host's offers
//! as devices on a VMBus node of the device tree.
//!
//! SINT2 is given a vector of its own; its interrupt raises the
//! connection's [`Signal`], and the `vmbus` thread drains the message slot
//! (copy, clear, EOM when a message is pending: §2.4), feeds the client
//! and carries out what it asks (HvPostMessage through the hypercall).
//! Everything the host says is checked by the client; a message it
//! refuses is logged and counted, never trusted. Drivers bind to the
//! offers from the thread that calls [`Connection::bind_offers`] (a probe
//! waits for answers the `vmbus` thread delivers). [`Connection::close`]
//! unloads, masks SINT2, turns the SynIC pages off, frees them and
//! withdraws the offers' devices from the tree.
#![forbid(unsafe_code)]

use super::{HvError, Hypervisor};
use crate::mm::frame_alloc::OwnedFrames;
use crate::sync::{Signal, SpinLock};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use vmbus::message::Offer;
use vmbus::synic::{self, HvStatus, SynicMessage};
use vmbus::{Action, Client, ClientConfig, DeviceClass, Event, Guid, Version};

/// Messages drained from the slot per wake-up at most.
const MESSAGES_PER_POLL: usize = 64;
/// How long the thread sleeps when no interrupt comes.
const IDLE_NS: u64 = 50_000_000;

/// The connection whose SINT2 vector is live (one at a time).
static ACTIVE: SpinLock<Option<Arc<Connection>>> = SpinLock::new(None);

/// The open connection, if any (drivers of VMBus devices find it here).
pub fn active() -> Option<Arc<Connection>> {
    ACTIVE.lock().clone()
}

fn on_sint(_vector: u8) {
    if let Some(c) = ACTIVE.lock().as_ref() {
        c.signal.raise();
    }
}

/// An offer as the connection recorded it.
#[derive(Clone, Debug)]
pub struct OfferRecord {
    /// Channel id.
    pub relid: u32,
    /// Device class of the interface type.
    pub class: DeviceClass,
    /// Interface type.
    pub interface: Guid,
    /// Instance.
    pub instance: Guid,
    /// The connection id HvSignalEvent names for this channel.
    pub connection_id: u32,
    /// Its device-tree node, if it got one.
    pub node: Option<devtree::NodeId>,
    /// MMIO space the device wants, in MiB (synthvid: its VRAM).
    pub mmio_megabytes: u16,
}

/// What the connection has seen.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// The negotiated version, once connected.
    pub version: Option<Version>,
    /// The connection id later messages go to.
    pub connection_id: u32,
    /// Offers, in arrival order.
    pub offers: Vec<OfferRecord>,
    /// ALLOFFERS_DELIVERED came.
    pub all_offers: bool,
    /// UNLOAD_RESPONSE came.
    pub unloaded: bool,
    /// Host messages the client refused.
    pub refused: u32,
    /// The last refusal, for the log and the checks.
    pub last_refusal: Option<String>,
    /// HvPostMessage calls that failed.
    pub post_failures: u32,
    /// Messages taken from the slot.
    pub messages: u64,
    /// GPADL answers: (relid, handle, the host's failure status or 0).
    pub gpadls: Vec<(u32, u32, u32)>,
    /// OPENCHANNEL answers: (relid, status).
    pub opened: Vec<(u32, u32)>,
    /// Channels the host withdrew.
    pub rescinded: Vec<u32>,
    /// GPADLs the host has let go of.
    pub torn_down: Vec<u32>,
}

/// A VMBus connection.
pub struct Connection {
    hv: Arc<dyn Hypervisor>,
    name: String,
    simp: OwnedFrames,
    siefp: OwnedFrames,
    input: OwnedFrames,
    vector: u8,
    signal: Signal,
    closing: AtomicBool,
    bus: devtree::NodeId,
    state: SpinLock<(Client, Status)>,
    /// Open channels: relid → what their event flag raises.
    channels: SpinLock<Vec<(u32, Arc<Signal>)>>,
}

impl Connection {
    /// Sets the SynIC up through `hv`, names the bus node `name` and
    /// starts the contact; the `vmbus` thread does the rest.
    pub fn start(
        hv: Arc<dyn Hypervisor>,
        name: &str,
        config: ClientConfig,
    ) -> Result<Arc<Connection>, HvError> {
        if ACTIVE.lock().is_some() {
            return Err(HvError::Missing("a free SynIC (a connection is open)"));
        }
        hv.enable_hypercalls()?;
        let page = || OwnedFrames::new(1, 4096).map_err(|_| HvError::Memory);
        let (simp, siefp, input) = (page()?, page()?, page()?);
        let bus = crate::drivers::add(
            crate::drivers::ROOT,
            devtree::Device {
                name: name.into(),
                bus: devtree::Bus::Root,
                id: devtree::Id::None,
                resources: Vec::new(),
                description: format!("VMBus through {}", hv.name()),
            },
        )
        .map_err(|_| HvError::Missing("a device-tree node"))?;
        let vector =
            crate::irq::allocate_vector(on_sint).map_err(|_| HvError::Missing("a vector"))?;
        let connection = Arc::new(Connection {
            hv,
            name: name.into(),
            simp,
            siefp,
            input,
            vector,
            signal: Signal::new(),
            closing: AtomicBool::new(false),
            bus,
            state: SpinLock::new((Client::new(config), Status::default())),
            channels: SpinLock::new(Vec::new()),
        });
        *ACTIVE.lock() = Some(connection.clone());
        if let Err(e) = connection.enable_synic() {
            connection.release();
            return Err(e);
        }
        let started = crate::task::Thread::new(
            "vmbus",
            None,
            crate::task::Entry::Kernel(thread, 0),
            crate::task::priority::HIGH,
        )
        .and_then(crate::task::sched::start);
        if started.is_err() {
            connection.disable_synic();
            connection.release();
            return Err(HvError::Memory);
        }
        let actions = connection.state.lock().0.connect();
        match actions {
            Ok(actions) => connection.execute(actions),
            Err(e) => log::error!("{name}: cannot connect: {e:?}"),
        }
        Ok(connection)
    }

    /// The SynIC for VMBus (sheet §2.1): SIMP and SIEFP on our pages,
    /// SINT2 on our vector (no auto-EOI), SCONTROL enabled.
    fn enable_synic(&self) -> Result<(), HvError> {
        let hv = &self.hv;
        let simp = hv.rdmsr(synic::MSR_SIMP)?;
        hv.wrmsr(
            synic::MSR_SIMP,
            synic::page_msr_value(simp, self.simp.phys() >> 12),
        )?;
        let siefp = hv.rdmsr(synic::MSR_SIEFP)?;
        hv.wrmsr(
            synic::MSR_SIEFP,
            synic::page_msr_value(siefp, self.siefp.phys() >> 12),
        )?;
        let sint = synic::MSR_SINT0 + u32::from(synic::VMBUS_SINT);
        let old = hv.rdmsr(sint)?;
        hv.wrmsr(sint, synic::sint_value(old, self.vector, false))?;
        let control = hv.rdmsr(synic::MSR_SCONTROL)?;
        hv.wrmsr(synic::MSR_SCONTROL, control | 1)?;
        Ok(())
    }

    /// SINT2 masked, the SIMP and SIEFP off.
    fn disable_synic(&self) {
        let hv = &self.hv;
        let sint = synic::MSR_SINT0 + u32::from(synic::VMBUS_SINT);
        let masked = hv.rdmsr(sint).map(|v| v | synic::SINT_MASKED);
        let _ = masked.and_then(|v| hv.wrmsr(sint, v));
        for msr in [synic::MSR_SIMP, synic::MSR_SIEFP] {
            let off = hv.rdmsr(msr).map(|v| v & !synic::PAGE_MSR_ENABLE);
            let _ = off.and_then(|v| hv.wrmsr(msr, v));
        }
    }

    /// Gives the vector and the slot back.
    fn release(&self) {
        self.closing.store(true, Ordering::Release);
        crate::irq::free(self.vector);
        *ACTIVE.lock() = None;
        self.signal.raise();
    }

    /// What the connection has seen so far.
    pub fn status(&self) -> Status {
        self.state.lock().1.clone()
    }

    /// How many times SINT2 has fired.
    pub fn interrupts(&self) -> u64 {
        self.signal.raises()
    }

    /// Takes the event flags of the open channels (sheet §2.3: SINT2's
    /// bitmap, bit = relid) and raises their signals.
    fn poll_events(&self) {
        let base = self.siefp.phys() + synic::VMBUS_EVENT_FLAGS_OFFSET as u64;
        let channels = self.channels.lock().clone();
        for (relid, signal) in channels {
            let (byte, bit) = (u64::from(relid / 8), 1u8 << (relid % 8));
            if crate::mm::phys::fetch_and_not_allocated(base + byte, bit)
                .is_ok_and(|b| b & bit != 0)
            {
                signal.raise();
            }
        }
    }

    fn raise_channel(&self, relid: u32) {
        if let Some((_, s)) = self.channels.lock().iter().find(|(r, _)| *r == relid) {
            s.raise();
        }
    }

    /// Whether the host has rescinded channel `relid`.
    pub fn rescinded(&self, relid: u32) -> bool {
        self.state.lock().1.rescinded.contains(&relid)
    }

    /// The offer of channel `relid`.
    pub fn offer(&self, relid: u32) -> Option<OfferRecord> {
        self.state
            .lock()
            .1
            .offers
            .iter()
            .find(|o| o.relid == relid)
            .cloned()
    }

    /// Routes channel `relid`'s event flag to `signal`.
    pub fn watch(&self, relid: u32, signal: Arc<Signal>) -> Result<(), HvError> {
        let mut channels = self.channels.lock();
        channels.try_reserve(1).map_err(|_| HvError::Memory)?;
        channels.retain(|(r, _)| *r != relid);
        channels.push((relid, signal));
        Ok(())
    }

    /// Stops routing channel `relid`'s event flag.
    pub fn unwatch(&self, relid: u32) {
        self.channels.lock().retain(|(r, _)| *r != relid);
    }

    /// Runs a client request and carries out its actions.
    pub fn request(
        &self,
        f: impl FnOnce(&mut Client) -> Result<Vec<Action>, vmbus::client::RequestError>,
    ) -> Result<(), HvError> {
        let actions = f(&mut self.state.lock().0).map_err(|e| {
            log::warn!("{}: request refused: {e:?}", self.name);
            HvError::Missing("a request the client accepts")
        })?;
        self.execute(actions);
        Ok(())
    }

    /// Creates a GPADL over `pfns` (`bytes` long) for channel `relid` and
    /// waits up to `wait_ns` for the host; returns its handle.
    pub fn create_gpadl(
        &self,
        relid: u32,
        pfns: &[u64],
        bytes: u32,
        wait_ns: u64,
    ) -> Result<u32, HvError> {
        let range = vmbus::range::PageRange::new(0, bytes, pfns)
            .map_err(|_| HvError::Missing("a consistent page range"))?;
        let (gpadl, actions) = self
            .state
            .lock()
            .0
            .create_gpadl(relid, range)
            .map_err(|e| {
                log::warn!("{}: GPADL refused: {e:?}", self.name);
                HvError::Missing("a GPADL the client accepts")
            })?;
        self.execute(actions);
        let answer = self.wait_for(wait_ns, |s| {
            s.gpadls
                .iter()
                .find(|g| g.0 == relid && g.1 == gpadl)
                .map(|g| g.2)
        });
        match answer {
            Some(0) => Ok(gpadl),
            Some(_) => Err(HvError::Missing("a GPADL the host accepts")),
            None => Err(HvError::Unanswered("GPADL_HEADER")),
        }
    }

    /// Opens channel `relid` over GPADL `gpadl` (the host→guest ring from
    /// page `downstream` on) and waits up to `wait_ns` for the answer.
    pub fn open_channel(
        &self,
        relid: u32,
        gpadl: u32,
        downstream: u32,
        wait_ns: u64,
    ) -> Result<(), HvError> {
        let before = self.status().opened.iter().filter(|o| o.0 == relid).count();
        self.request(|c| c.open_channel(relid, gpadl, downstream, 0, &[]))?;
        let answer = self.wait_for(wait_ns, |s| {
            s.opened
                .iter()
                .filter(|o| o.0 == relid)
                .nth(before)
                .map(|o| o.1)
        });
        match answer {
            Some(0) => Ok(()),
            Some(_) => Err(HvError::Missing("an OPENCHANNEL the host accepts")),
            None => Err(HvError::Missing("an answer to OPENCHANNEL in time")),
        }
    }

    fn wait_for<R>(&self, wait_ns: u64, mut f: impl FnMut(&Status) -> Option<R>) -> Option<R> {
        let deadline = crate::time::now_ns().saturating_add(wait_ns);
        loop {
            if let Some(r) = f(&self.state.lock().1) {
                return Some(r);
            }
            if crate::time::now_ns() >= deadline {
                return None;
            }
            let _ = crate::task::sched::sleep_ns(1_000_000);
        }
    }

    /// Whether the host has let go of GPADL `gpadl`.
    pub fn gpadl_gone(&self, gpadl: u32) -> bool {
        self.state.lock().1.torn_down.contains(&gpadl)
    }

    /// Tells the host that channel ring `connection_id` has work (fast
    /// HvSignalEvent, sheet §1.6).
    pub fn signal_host(&self, connection_id: u32) -> HvStatus {
        let control = synic::hypercall_control(synic::HVCALL_SIGNAL_EVENT, true);
        synic::hypercall_status(self.hv.hypercall(
            control,
            synic::signal_event_input(connection_id, 0),
            0,
        ))
    }

    /// Drains the message slot and the channels' event flags.
    fn poll(&self) {
        self.poll_events();
        for _ in 0..MESSAGES_PER_POLL {
            let Some(payload) = self.take_message() else {
                return;
            };
            if payload.is_empty() {
                continue;
            }
            let actions = {
                let mut s = self.state.lock();
                s.1.messages += 1;
                s.0.on_message(&payload)
            };
            self.execute(actions);
        }
    }

    /// Copies the VMBus slot's message out and frees the slot (§2.4).
    fn take_message(&self) -> Option<Vec<u8>> {
        let at = self.simp.phys() + synic::VMBUS_SLOT_OFFSET as u64;
        let mut slot = [0u8; synic::SLOT_SIZE];
        crate::mm::phys::read_allocated(at, &mut slot).ok()?;
        if slot[..4] == [0; 4] {
            return None;
        }
        let payload = match SynicMessage::parse(&slot) {
            Ok(m) => m.payload().to_vec(),
            Err(e) => {
                self.refuse(format!("a malformed SIMP slot: {e}"));
                Vec::new()
            }
        };
        // Slot free (message type 0), then EOM if the host has another.
        let _ = crate::mm::phys::write_allocated(at, &[0; 4]);
        let mut flags = [0u8; 1];
        let _ = crate::mm::phys::read_allocated(at + 5, &mut flags);
        if flags[0] & synic::MESSAGE_PENDING != 0 {
            let _ = self.hv.wrmsr(synic::MSR_EOM, 0);
        }
        Some(payload)
    }

    fn refuse(&self, why: String) {
        log::warn!("{}: refused: {why}", self.name);
        let mut s = self.state.lock();
        s.1.refused += 1;
        s.1.last_refusal = Some(why);
    }

    /// Carries out the client's actions.
    fn execute(&self, actions: Vec<Action>) {
        vmbus::run_actions(
            actions,
            |connection_id, message| self.post(connection_id, message),
            |event| self.on_event(event),
        );
    }

    /// HvPostMessage; a failed contact is handed back to the client.
    fn post(&self, connection_id: u32, message: &[u8]) -> Vec<Action> {
        let Ok(block) =
            synic::post_message_input(connection_id, synic::MESSAGE_TYPE_VMBUS, message)
        else {
            log::error!("{}: a message too long to post", self.name);
            return Vec::new();
        };
        if crate::mm::phys::write_allocated(self.input.phys(), &block).is_err() {
            return Vec::new();
        }
        let control = synic::hypercall_control(synic::HVCALL_POST_MESSAGE, false);
        let status = synic::hypercall_status(self.hv.hypercall(control, self.input.phys(), 0));
        if status == HvStatus::Success {
            return Vec::new();
        }
        let mut s = self.state.lock();
        s.1.post_failures += 1;
        log::warn!(
            "{}: HvPostMessage to {connection_id}: {status:?}",
            self.name
        );
        s.0.contact_post_failed(status).unwrap_or_default()
    }

    fn on_event(&self, event: Event) {
        match event {
            Event::Connected {
                version,
                connection_id,
                ..
            } => {
                log::info!(
                    "{}: VMBus {version:?} (messages to connection {connection_id})",
                    self.name
                );
                let mut s = self.state.lock();
                s.1.version = Some(version);
                s.1.connection_id = connection_id;
            }
            Event::Offer(offer) => self.on_offer(&offer),
            Event::AllOffersDelivered => {
                let n = self.state.lock().1.offers.len();
                log::info!("{}: {n} offer(s)", self.name);
                // Drivers bind from another thread (`bind_offers`): a
                // probe waits for answers this thread delivers.
                self.state.lock().1.all_offers = true;
            }
            Event::Unloaded => self.state.lock().1.unloaded = true,
            Event::GpadlCreated { relid, gpadl } => {
                self.state.lock().1.gpadls.push((relid, gpadl, 0));
            }
            Event::GpadlFailed {
                relid,
                gpadl,
                status,
            } => {
                log::warn!(
                    "{}: GPADL {gpadl} of relid {relid} refused: {status:#x}",
                    self.name
                );
                self.state
                    .lock()
                    .1
                    .gpadls
                    .push((relid, gpadl, status.max(1)));
            }
            Event::Opened { relid, status } => self.state.lock().1.opened.push((relid, status)),
            Event::GpadlTornDown { gpadl } => self.state.lock().1.torn_down.push(gpadl),
            Event::Rescinded { relid } => {
                log::info!("{}: relid {relid} rescinded", self.name);
                let node = {
                    let mut state = self.state.lock();
                    state.1.rescinded.push(relid);
                    state
                        .1
                        .offers
                        .iter()
                        .find(|o| o.relid == relid)
                        .and_then(|o| o.node)
                };
                // Its device is gone from the tree (no driver binds it
                // again); the driver sees `Channel::rescinded` and closes.
                if let Some(node) = node {
                    match crate::drivers::withdraw(node) {
                        Ok(n) => {
                            log::info!("{}: relid {relid}: {n} driver(s) to unbind", self.name)
                        }
                        Err(e) => log::warn!("{}: relid {relid}: {e}", self.name),
                    }
                }
                self.raise_channel(relid);
            }
            Event::Error(e) => self.refuse(format!("{e:?}")),
        }
    }

    fn on_offer(&self, offer: &Offer) {
        let class = offer.class();
        let node = crate::drivers::add(
            self.bus,
            devtree::Device {
                name: format!("relid-{}", offer.child_relid),
                bus: devtree::Bus::VmBus,
                id: devtree::Id::VmBus(offer.if_type.0),
                resources: Vec::new(),
                description: format!(
                    "{} {}",
                    vmbus::guid::class_name(&offer.if_type).unwrap_or("unknown class"),
                    offer.if_instance
                ),
            },
        );
        if let Err(e) = &node {
            log::warn!("{}: offer {}: {e}", self.name, offer.child_relid);
        }
        self.state.lock().1.offers.push(OfferRecord {
            relid: offer.child_relid,
            class,
            interface: offer.if_type,
            instance: offer.if_instance,
            connection_id: offer.connection_id,
            node: node.ok(),
            mmio_megabytes: offer.mmio_megabytes,
        });
    }

    /// Unloads (waiting at most `wait_ns` for the answer), masks SINT2,
    /// turns the SynIC pages off and gives everything back.
    pub fn close(self: &Arc<Self>, wait_ns: u64) -> bool {
        let actions = self.state.lock().0.unload();
        if let Ok(actions) = actions {
            self.execute(actions);
        }
        let _ = self.wait_for(wait_ns, |s| s.unloaded.then_some(()));
        self.disable_synic();
        self.release();
        if let Err(e) = crate::drivers::withdraw(self.bus) {
            log::warn!("{}: {e}", self.name);
        }
        self.status().unloaded
    }

    /// Waits up to `wait_ns` for the host's offers, then binds drivers to
    /// them (on the caller's thread, never the `vmbus` thread's). Returns
    /// whether they all came.
    pub fn bind_offers(&self, wait_ns: u64) -> bool {
        let all = self.wait_offers(wait_ns);
        crate::drivers::bind_pending();
        all
    }

    /// Waits up to `wait_ns` for ALLOFFERS_DELIVERED; whether it came.
    pub fn wait_offers(&self, wait_ns: u64) -> bool {
        self.wait_for(wait_ns, |s| s.all_offers.then_some(()))
            .is_some()
    }
}

/// The `vmbus` thread: drains the slot whenever SINT2 fires (and every
/// [`IDLE_NS`] meanwhile), until the connection closes.
fn thread(_: u64) {
    loop {
        let Some(c) = ACTIVE.lock().clone() else {
            return;
        };
        if c.closing.load(Ordering::Acquire) {
            return;
        }
        c.poll();
        let deadline = crate::time::now_ns().saturating_add(IDLE_NS);
        c.signal.wait_until(deadline);
    }
}
