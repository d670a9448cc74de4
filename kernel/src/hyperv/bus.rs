//! The VMBus connection: the SynIC set up for VMBus (sheet §2), the
//! control plane (the `vmbus` crate's [`Client`]), and the host's offers
//! as devices on a VMBus node of the device tree.
//!
//! SINT2 is given a vector of its own; its interrupt raises the
//! connection's [`Signal`], and the `vmbus` thread drains the message slot
//! (copy, clear, EOM when a message is pending: §2.4), feeds the client
//! and carries out what it asks (HvPostMessage through the hypercall).
//! Everything the host says is checked by the client; a message it
//! refuses is logged and counted, never trusted. [`Connection::close`]
//! unloads, masks SINT2, turns the SynIC pages off and frees them.
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
    /// Its device-tree node, if it got one.
    pub node: Option<devtree::NodeId>,
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

    /// Drains the message slot.
    fn poll(&self) {
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
        let mut queue = actions;
        while !queue.is_empty() {
            let mut more = Vec::new();
            for action in queue {
                match action {
                    Action::Post {
                        connection_id,
                        message,
                    } => more.extend(self.post(connection_id, message.as_bytes())),
                    Action::Event(event) => self.on_event(event),
                }
            }
            queue = more;
        }
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
                self.state.lock().1.all_offers = true;
                crate::drivers::bind_pending();
            }
            Event::Unloaded => self.state.lock().1.unloaded = true,
            Event::Error(e) => self.refuse(format!("{e:?}")),
            other => log::info!("{}: {other:?}", self.name),
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
            node: node.ok(),
        });
    }

    /// Unloads (waiting at most `wait_ns` for the answer), masks SINT2,
    /// turns the SynIC pages off and gives everything back.
    pub fn close(self: &Arc<Self>, wait_ns: u64) -> bool {
        let actions = self.state.lock().0.unload();
        if let Ok(actions) = actions {
            self.execute(actions);
        }
        let deadline = crate::time::now_ns().saturating_add(wait_ns);
        while !self.status().unloaded && crate::time::now_ns() < deadline {
            let _ = crate::task::sched::sleep_ns(1_000_000);
        }
        self.disable_synic();
        self.release();
        self.status().unloaded
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
