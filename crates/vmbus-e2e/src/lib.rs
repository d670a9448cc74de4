//! The guest's VMBus crates against the simulated host, on the build
//! machine.
//!
//! [`World`] is a guest made of the real protocol code — `vmbus`'s
//! control-plane [`Client`], its ring producer and consumer, and a device
//! state machine of `vmbus-devices` — wired to a `vmbus-host` [`Host`] the
//! way the kernel wires them (`kernel/src/hyperv`): SIMP slot 2 is read
//! and freed with EOM when another message waits, every [`Action`] is
//! posted with HvPostMessage, rings live in guest memory under a GPADL,
//! HvSignalEvent follows the ring's rule. Only the glue is written here,
//! so what a test finds is the guest crates' behaviour (the kernel's glue
//! is proven in QEMU by the M7 checks).
//!
//! Every loop is bounded: a [`World`] that does not settle within its
//! step budget says so ([`Stuck`]) instead of hanging, which is what the
//! hostile-host fuzz (`tests/hostile_fuzz.rs`) counts on.

use std::cell::RefCell;
use std::rc::Rc;

use vmbus::message::Offer;
use vmbus::range::PageRange;
use vmbus::ring::{self, RingConsumer, RingMemory, RingProducer};
use vmbus::synic::{self, HvStatus, SynicMessage};
use vmbus::{Action, Client, ClientConfig, Event};
use vmbus_devices::keyboard::{Keyboard, KeyboardEvent, Leds};
use vmbus_devices::netvsc::{NetBuffers, Netvsc, NetvscConfig, NetvscEvent, NetvscState};
use vmbus_devices::packet::GpaRange;
use vmbus_devices::storvsc::{Storvsc, StorvscConfig, StorvscEvent, StorvscState};
use vmbus_devices::{Incoming, Output, Protocol};
use vmbus_host::{Device, DeviceId, Host, HostConfig, MemError, MemoryPlatform, Platform};

/// Bytes of guest RAM.
pub const RAM: u64 = 64 << 20;
const PAGE: u64 = 4096;
/// Host steps per [`World::settle`] round at most.
const HOST_STEPS: usize = 256;
/// Rounds of host steps and slot reads per [`World::settle`] at most.
const ROUNDS: usize = 512;
/// Messages taken from the slot per round at most.
const MESSAGES_PER_ROUND: usize = 4096;
/// The vector the guest puts in SINT2.
const VECTOR: u64 = 0x52;
/// Ring pages each way, the header page included (the kernel's input
/// drivers use 4).
pub const RING_PAGES: usize = 4;

/// Guest memory, shared by the host model and the guest's rings.
#[derive(Clone, Default)]
pub struct Shared(Rc<RefCell<MemoryPlatform>>);

impl Platform for Shared {
    fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.0.borrow().read_guest(gpa, buf)
    }

    fn write_guest(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemError> {
        self.0.borrow_mut().write_guest(gpa, data)
    }

    fn raise_sint(&mut self, irq: vmbus_host::SintInterrupt) {
        self.0.borrow_mut().raise_sint(irq);
    }
}

/// One ring in guest memory, as the guest's ring code sees it.
pub struct GuestRing {
    mem: Shared,
    base: u64,
    size: usize,
}

impl RingMemory for GuestRing {
    fn size(&self) -> usize {
        self.size
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        // The ring code keeps offsets inside 0..size, which is RAM.
        let _ = self.mem.read_guest(self.base + offset as u64, buf);
    }

    fn write(&mut self, offset: usize, buf: &[u8]) {
        let _ = self.mem.write_guest(self.base + offset as u64, buf);
    }
}

/// The world did not settle within its budget: something loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck;

/// What the guest saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Every event the client reported, in order.
    pub events: Vec<Event>,
    /// SIMP slots the guest could not parse (a lying payload size).
    pub bad_slots: u32,
    /// HvPostMessage calls that failed.
    pub post_failures: u32,
    /// Requests the client refused (`RequestError`), as text.
    pub refused_requests: Vec<String>,
}

impl Seen {
    /// Protocol errors the client reported.
    pub fn errors(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Error(_)))
            .count()
    }

    /// The offers the client took.
    pub fn offers(&self) -> Vec<&Offer> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Offer(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

/// The five synthetic devices of a Generation 2 VM, as the model plays
/// them (a 64-sector disk, a loop-back network).
pub fn five_devices() -> Vec<Box<dyn Device>> {
    use vmbus_host::device::{keyboard, mouse, netvsp, storvsp, synthvid};
    vec![
        Box::new(keyboard::Keyboard::new()),
        Box::new(mouse::Mouse::new()),
        Box::new(synthvid::Synthvid::new()),
        Box::new(storvsp::Storvsp::new(64)),
        Box::new(netvsp::Netvsp::new(
            [0, 0x15, 0x5d, 0, 0, 1],
            netvsp::NetMode::Loopback,
        )),
    ]
}

/// A guest and its host.
pub struct World {
    /// The simulated host.
    pub host: Host<Shared>,
    /// The guest's control plane.
    pub client: Client,
    /// What the guest saw.
    pub seen: Seen,
    mem: Shared,
    simp: u64,
    siefp: u64,
    input: u64,
    next_free: u64,
}

impl World {
    /// A host made with `config` and `devices`, SynIC up on the guest's
    /// side (§7 steps 2–3), not connected yet.
    pub fn new(config: HostConfig, devices: Vec<Box<dyn Device>>) -> (World, Vec<DeviceId>) {
        let mem = Shared::default();
        mem.0.borrow_mut().add_region(0, RAM);
        let mut host = Host::new(config, mem.clone());
        let ids = devices.into_iter().map(|d| host.add_device(d)).collect();
        let mut w = World {
            host,
            client: Client::new(ClientConfig::default()),
            seen: Seen::default(),
            mem,
            simp: 0,
            siefp: 0,
            input: 0,
            next_free: PAGE,
        };
        let hypercall_page = w.pages(1);
        w.simp = w.pages(1);
        w.siefp = w.pages(1);
        w.input = w.pages(1);
        let h = &mut w.host;
        let _ = h.wrmsr(0, synic::MSR_GUEST_OS_ID, synic::GUEST_OS_ID_FERRITE);
        let old = h.rdmsr(0, synic::MSR_HYPERCALL).unwrap_or(0);
        let _ = h.wrmsr(
            0,
            synic::MSR_HYPERCALL,
            synic::page_msr_value(old, hypercall_page >> 12),
        );
        let old = h.rdmsr(0, synic::MSR_SIMP).unwrap_or(0);
        let _ = h.wrmsr(0, synic::MSR_SIMP, synic::page_msr_value(old, w.simp >> 12));
        let old = h.rdmsr(0, synic::MSR_SIEFP).unwrap_or(0);
        let _ = h.wrmsr(
            0,
            synic::MSR_SIEFP,
            synic::page_msr_value(old, w.siefp >> 12),
        );
        let sint2 = synic::MSR_SINT0 + u32::from(synic::VMBUS_SINT);
        let old = h.rdmsr(0, sint2).unwrap_or(0);
        let _ = h.wrmsr(0, sint2, (old & !0x1_00FF & !synic::SINT_AUTO_EOI) | VECTOR);
        let _ = h.wrmsr(0, synic::MSR_SCONTROL, 1);
        (w, ids)
    }

    /// Backs `[base, base + len)` with memory too (a VRAM the host maps).
    pub fn add_memory(&mut self, base: u64, len: u64) {
        self.mem.0.borrow_mut().add_region(base, len);
    }

    /// Guest memory at `gpa` (zeros where unbacked).
    pub fn read(&self, gpa: u64, len: usize) -> Vec<u8> {
        self.mem.0.borrow().read_vec(gpa, len)
    }

    /// Writes guest memory at `gpa`; false outside memory.
    pub fn write(&mut self, gpa: u64, data: &[u8]) -> bool {
        self.mem.write_guest(gpa, data).is_ok()
    }

    /// `n` fresh zeroed pages of guest RAM (never reused).
    pub fn pages(&mut self, n: usize) -> u64 {
        let at = self.next_free;
        self.next_free += n as u64 * PAGE;
        assert!(self.next_free <= RAM, "the test ran out of guest RAM");
        at
    }

    /// Carries out the client's actions: posts, and events recorded.
    pub fn execute(&mut self, actions: Vec<Action>) {
        let mut events = Vec::new();
        vmbus::run_actions(
            actions,
            |connection_id, message| self.post(connection_id, message),
            |e| events.push(e),
        );
        self.seen.events.extend(events);
    }

    fn post(&mut self, connection_id: u32, message: &[u8]) -> Vec<Action> {
        let Ok(block) =
            synic::post_message_input(connection_id, synic::MESSAGE_TYPE_VMBUS, message)
        else {
            self.seen.post_failures += 1;
            return Vec::new();
        };
        let _ = self.mem.write_guest(self.input, &block);
        let control = synic::hypercall_control(synic::HVCALL_POST_MESSAGE, false);
        let status = synic::hypercall_status(self.host.hypercall(0, control, self.input, 0));
        if status == HvStatus::Success {
            return Vec::new();
        }
        self.seen.post_failures += 1;
        self.client.contact_post_failed(status).unwrap_or_default()
    }

    /// Feeds a request's result to the world, recording a refusal.
    pub fn request<E: core::fmt::Debug>(&mut self, result: Result<Vec<Action>, E>) -> bool {
        match result {
            Ok(actions) => {
                self.execute(actions);
                true
            }
            Err(e) => {
                self.seen.refused_requests.push(format!("{e:?}"));
                false
            }
        }
    }

    /// Takes one message from SIMP slot 2, if one is there (freed, EOM
    /// written when another is pending).
    fn take_message(&mut self) -> Option<Vec<u8>> {
        let at = self.simp + synic::VMBUS_SLOT_OFFSET as u64;
        let mut slot = [0u8; synic::SLOT_SIZE];
        self.mem.read_guest(at, &mut slot).ok()?;
        if slot[..4] == [0; 4] {
            return None;
        }
        let parsed = SynicMessage::parse(&slot);
        let _ = self.mem.write_guest(at, &[0; 4]);
        let pending = slot[5] & synic::MESSAGE_PENDING != 0;
        if pending {
            self.host.eom(0);
        }
        match parsed {
            Ok(m) if m.message_type == synic::MESSAGE_TYPE_VMBUS => Some(m.payload().to_vec()),
            _ => {
                self.seen.bad_slots += 1;
                // Not a VMBus message: nothing to feed, but look again.
                Some(Vec::new())
            }
        }
    }

    /// Runs host and guest until neither has anything to do; `Stuck` if
    /// that takes more than the budget.
    pub fn settle(&mut self) -> Result<(), Stuck> {
        for _ in 0..ROUNDS {
            let worked = self.host.run_until_idle(HOST_STEPS) > 0;
            let mut took = 0;
            while took < MESSAGES_PER_ROUND {
                let Some(m) = self.take_message() else {
                    break;
                };
                took += 1;
                if !m.is_empty() {
                    let actions = self.client.on_message(&m);
                    self.execute(actions);
                }
                self.host.run_until_idle(HOST_STEPS);
            }
            if !worked && took == 0 {
                return Ok(());
            }
        }
        Err(Stuck)
    }

    /// INITIATE_CONTACT from 6.0 down, then the offers.
    pub fn connect(&mut self) -> Result<(), Stuck> {
        let r = self.client.connect();
        self.request(r);
        self.settle()
    }

    /// UNLOAD and its answer.
    pub fn unload(&mut self) -> Result<(), Stuck> {
        let r = self.client.unload();
        self.request(r);
        self.settle()
    }

    /// Whether event `f` was seen.
    pub fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.seen.events.iter().any(f)
    }

    /// Bit `relid` of the SIEFP slot 2, taken.
    pub fn take_event_flag(&mut self, relid: u32) -> bool {
        let Some((byte, mask)) = synic::event_bit(relid) else {
            return false;
        };
        let at = self.siefp + synic::VMBUS_EVENT_FLAGS_OFFSET as u64 + byte as u64;
        let mut b = [0u8];
        if self.mem.read_guest(at, &mut b).is_err() || b[0] & mask == 0 {
            return false;
        }
        let _ = self.mem.write_guest(at, &[b[0] & !mask]);
        true
    }

    /// Opens channel `relid` over fresh rings of [`RING_PAGES`] each way.
    pub fn open(&mut self, relid: u32) -> Result<Option<GuestChannel>, Stuck> {
        let Some((base, gpadl)) = self.share(relid, 2 * RING_PAGES)? else {
            return Ok(None);
        };
        let size = RING_PAGES * PAGE as usize;
        let mut out_mem = self.ring(base, size);
        let mut in_mem = self.ring(base + size as u64, size);
        if ring::init_header(&mut out_mem).is_err() || ring::init_header(&mut in_mem).is_err() {
            return Ok(None);
        }
        let r = self
            .client
            .open_channel(relid, gpadl, RING_PAGES as u32, 0, &[]);
        if !self.request(r) {
            return Ok(None);
        }
        self.settle()?;
        let opened =
            self.saw(|e| matches!(e, Event::Opened { relid: r, status: 0 } if *r == relid));
        let connection_id = self
            .client
            .channel(relid)
            .map_or(0, |c| c.offer.connection_id);
        if !opened {
            return Ok(None);
        }
        let (Ok(out), Ok(inbound)) = (RingProducer::new(out_mem), RingConsumer::new(in_mem)) else {
            return Ok(None);
        };
        Ok(Some(GuestChannel {
            relid,
            gpadl,
            connection_id,
            out,
            inbound,
            broken: None,
        }))
    }

    /// Shares `pages` fresh pages with the host as a GPADL of channel
    /// `relid`: (their GPA, the handle), None if the host refused.
    pub fn share(&mut self, relid: u32, pages: usize) -> Result<Option<(u64, u32)>, Stuck> {
        let base = self.pages(pages);
        let pfns: Vec<u64> = (0..pages as u64).map(|i| (base >> 12) + i).collect();
        let Ok(range) = PageRange::pages(&pfns) else {
            return Ok(None);
        };
        let gpadl = match self.client.create_gpadl(relid, range) {
            Ok((gpadl, actions)) => {
                self.execute(actions);
                gpadl
            }
            Err(e) => {
                self.seen.refused_requests.push(format!("{e:?}"));
                return Ok(None);
            }
        };
        self.settle()?;
        let created =
            self.saw(|e| matches!(e, Event::GpadlCreated { gpadl: g, .. } if *g == gpadl));
        Ok(created.then_some((base, gpadl)))
    }

    /// Tears GPADL `gpadl` down.
    pub fn unshare(&mut self, gpadl: u32) -> Result<(), Stuck> {
        let r = self.client.teardown_gpadl(gpadl);
        self.request(r);
        self.settle()
    }

    fn ring(&self, base: u64, size: usize) -> GuestRing {
        GuestRing {
            mem: self.mem.clone(),
            base,
            size,
        }
    }

    /// CLOSECHANNEL, then the ring GPADL's teardown.
    pub fn close(&mut self, ch: GuestChannel) -> Result<(), Stuck> {
        let r = self.client.close_channel(ch.relid);
        self.request(r);
        let r = self.client.teardown_gpadl(ch.gpadl);
        self.request(r);
        self.settle()
    }

    /// HvSignalEvent for `connection_id` (fast form).
    pub fn signal(&mut self, connection_id: u32) {
        let control = synic::hypercall_control(synic::HVCALL_SIGNAL_EVENT, true);
        let _ = self
            .host
            .hypercall(0, control, synic::signal_event_input(connection_id, 0), 0);
    }
}

/// An open channel: both rings, guest side.
pub struct GuestChannel {
    /// Channel id.
    pub relid: u32,
    /// The rings' GPADL.
    pub gpadl: u32,
    /// The id HvSignalEvent names.
    pub connection_id: u32,
    out: RingProducer<GuestRing>,
    inbound: RingConsumer<GuestRing>,
    /// Why the rings are no longer used, once they broke.
    pub broken: Option<String>,
}

impl GuestChannel {
    /// Writes one packet; signals the host if the ring says so.
    pub fn send(&mut self, world: &mut World, packet: &[u8]) -> bool {
        if self.broken.is_some() {
            return false;
        }
        match self.out.write(&[packet]) {
            Ok(outcome) => {
                if outcome.signal {
                    world.signal(self.connection_id);
                }
                true
            }
            Err(e) => {
                self.broken = Some(format!("send: {e:?}"));
                false
            }
        }
    }

    /// Reads every packet waiting (at most `limit`), handing each to `f`.
    pub fn receive(&mut self, world: &mut World, limit: usize, mut f: impl FnMut(&[u8])) -> usize {
        let mut buf = vec![0u8; RING_PAGES * PAGE as usize];
        let mut n = 0;
        while n < limit && self.broken.is_none() {
            match self.inbound.read(&mut buf) {
                Ok(Some(len)) => {
                    n += 1;
                    f(&buf[..len]);
                }
                Ok(None) => break,
                Err(e) => self.broken = Some(format!("receive: {e:?}")),
            }
        }
        if self.broken.is_none() {
            match self.inbound.commit() {
                Ok(true) => world.signal(self.connection_id),
                Ok(false) => {}
                Err(e) => self.broken = Some(format!("commit: {e:?}")),
            }
        }
        n
    }
}

/// A device protocol of `vmbus-devices`, as a [`Session`] runs it.
pub trait Machine {
    /// What it reports.
    type Event;
    /// Sends the first request.
    fn start(&mut self, out: &mut Output<Self::Event>) -> Result<(), String>;
    /// Consumes one packet from the host (`world` for the buffers it
    /// shares with the host).
    fn handle(
        &mut self,
        world: &mut World,
        packet: &Incoming<'_>,
        out: &mut Output<Self::Event>,
    ) -> Result<(), String>;
    /// Whether it gave up on the host.
    fn failed(&self) -> bool;
}

/// A device protocol over an open channel, driven like the kernel's
/// service threads drive theirs.
pub struct Session<M: Machine> {
    /// The channel.
    pub channel: GuestChannel,
    /// The protocol.
    pub machine: M,
    out: Output<M::Event>,
    /// Events reported so far, in order.
    pub events: Vec<M::Event>,
    /// Packets the protocol refused.
    pub refused: u32,
}

impl<M: Machine> Session<M> {
    /// Opens channel `relid` and starts `machine` on it (None if the
    /// channel would not open or the machine would not start).
    pub fn open(world: &mut World, relid: u32, machine: M) -> Result<Option<Self>, Stuck> {
        Self::open_with(world, relid, |_| Ok(Some(machine)))
    }

    /// Opens channel `relid`, makes the machine with `make` (which may
    /// share buffers on the open channel) and starts it.
    pub fn open_with(
        world: &mut World,
        relid: u32,
        make: impl FnOnce(&mut World) -> Result<Option<M>, Stuck>,
    ) -> Result<Option<Self>, Stuck> {
        let Some(channel) = world.open(relid)? else {
            return Ok(None);
        };
        let mut out = Output::new();
        let mut made = make(world)?;
        let started = made.as_mut().is_some_and(|m| m.start(&mut out).is_ok());
        let Some(machine) = made.filter(|_| started) else {
            world.close(channel)?;
            return Ok(None);
        };
        Ok(Some(Session {
            channel,
            machine,
            out,
            events: Vec::new(),
            refused: 0,
        }))
    }

    /// Lets `f` call the machine with the session's output (what it sends
    /// goes out at the next turn).
    pub fn act(&mut self, f: impl FnOnce(&mut M, &mut Output<M::Event>)) {
        f(&mut self.machine, &mut self.out);
    }

    /// Queues a packet the caller made with the machine.
    pub fn send(&mut self, packet: vmbus_devices::Outgoing) {
        self.out.sends.push(packet);
    }

    /// One turn: what the machine asked for goes out, the world settles,
    /// what came back is handled. Returns the packets handled.
    pub fn turn(&mut self, world: &mut World) -> Result<usize, Stuck> {
        for p in self.out.sends.drain(..) {
            if let Ok(bytes) = p.encode() {
                self.channel.send(world, &bytes);
            }
        }
        world.settle()?;
        let _ = world.take_event_flag(self.channel.relid);
        let mut packets = Vec::new();
        let got = self
            .channel
            .receive(world, 256, |p| packets.push(p.to_vec()));
        for p in &packets {
            let handled = Incoming::parse(p)
                .map_err(|e| format!("{e:?}"))
                .and_then(|p| self.machine.handle(world, &p, &mut self.out));
            if handled.is_err() {
                self.refused += 1;
            }
        }
        self.events.append(&mut self.out.events);
        Ok(got)
    }

    /// Turns until `done` holds for the events, the machine or the
    /// channel gives up, or nothing moves; whether `done` held.
    pub fn run_until(
        &mut self,
        world: &mut World,
        done: impl Fn(&[M::Event]) -> bool,
    ) -> Result<bool, Stuck> {
        for _ in 0..64 {
            if done(&self.events) {
                return Ok(true);
            }
            if self.machine.failed() || self.channel.broken.is_some() {
                return Ok(false);
            }
            let idle = self.out.sends.is_empty();
            if self.turn(world)? == 0 && idle && self.out.sends.is_empty() {
                return Ok(done(&self.events));
            }
        }
        Ok(done(&self.events))
    }

    /// Closes the channel.
    pub fn close(self, world: &mut World) -> Result<(), Stuck> {
        world.close(self.channel)
    }
}

/// A protocol of `vmbus-devices` that needs nothing but its packets
/// (keyboard, mouse, synthvid).
pub struct Pipe<P>(pub P);

impl<P: Protocol> Machine for Pipe<P> {
    type Event = P::Event;
    fn start(&mut self, out: &mut Output<P::Event>) -> Result<(), String> {
        self.0.start(out).map_err(|e| format!("{e:?}"))
    }
    fn handle(
        &mut self,
        _: &mut World,
        packet: &Incoming<'_>,
        out: &mut Output<P::Event>,
    ) -> Result<(), String> {
        self.0.handle(packet, out).map_err(|e| format!("{e:?}"))
    }
    fn failed(&self) -> bool {
        self.0.failed()
    }
}

/// What the keyboard scenario got.
#[derive(Debug, Default)]
pub struct Typed {
    /// The keyboard state machine reached Ready.
    pub ready: bool,
    /// Keys delivered, in order: (make code, pressed).
    pub keys: Vec<(u16, bool)>,
    /// Packets the state machine refused.
    pub refused: u32,
    /// The channel opened.
    pub opened: bool,
    /// Why the guest stopped using the rings, if it did.
    pub broken: Option<String>,
}

/// Opens the keyboard channel `relid`, runs `vmbus-devices`' keyboard to
/// Ready, lets `inject` make the host's keyboard type, reads what arrives,
/// sends one more packet (Caps Lock on, so that the guest looks at the
/// host's read index of its outgoing ring again) and closes the channel.
/// Bounded throughout.
pub fn type_on_keyboard(
    world: &mut World,
    relid: u32,
    inject: impl FnOnce(&mut World),
) -> Result<Typed, Stuck> {
    let mut typed = Typed::default();
    let Some(mut s) = Session::open(world, relid, Pipe(Keyboard::new()))? else {
        return Ok(typed);
    };
    typed.opened = true;
    let ready = |e: &[KeyboardEvent]| e.contains(&KeyboardEvent::Ready);
    typed.ready = s.run_until(world, ready)?;
    if typed.ready {
        inject(world);
        s.run_until(world, |_| false)?;
        let leds = Leds {
            caps: true,
            ..Leds::default()
        };
        if let Ok(p) = s.machine.0.set_leds(leds) {
            s.send(p);
            s.run_until(world, |_| false)?;
        }
    }
    typed.keys = s
        .events
        .iter()
        .filter_map(|e| match e {
            KeyboardEvent::Key(k) => Some((k.make_code, k.pressed)),
            KeyboardEvent::Ready => None,
        })
        .collect();
    typed.refused = s.refused;
    typed.broken = s.channel.broken.clone();
    s.close(world)?;
    Ok(typed)
}

/// The storvsc protocol, with the scratch page its probe reads.
pub struct DiskMachine {
    /// The state machine.
    pub storvsc: Storvsc,
    scratch: u64,
}

impl DiskMachine {
    /// storvsc for target 0, LUN 0, its scratch buffer a fresh page.
    pub fn new(world: &mut World) -> Self {
        let scratch = world.pages(1);
        let range = GpaRange::contiguous(scratch, PAGE as u32).expect("one page");
        DiskMachine {
            storvsc: Storvsc::new(StorvscConfig {
                path_id: 0,
                target: 0,
                lun: 0,
                scratch: range,
            }),
            scratch,
        }
    }
}

impl Machine for DiskMachine {
    type Event = StorvscEvent;
    fn start(&mut self, out: &mut Output<StorvscEvent>) -> Result<(), String> {
        self.storvsc.start(out).map_err(|e| format!("{e:?}"))
    }
    fn handle(
        &mut self,
        world: &mut World,
        packet: &Incoming<'_>,
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), String> {
        let scratch = world.read(self.scratch, PAGE as usize);
        self.storvsc
            .handle(packet, &scratch, out)
            .map_err(|e| format!("{e:?}"))
    }
    fn failed(&self) -> bool {
        self.storvsc.state() == StorvscState::Failed
    }
}

/// The netvsc protocol, with the receive and send buffers it shares.
pub struct NicMachine {
    /// The state machine.
    pub netvsc: Netvsc,
    /// GPA of the receive buffer.
    pub recv: u64,
    /// GPA of the send buffer.
    pub send: u64,
    /// The buffers' GPADLs.
    pub gpadls: [u32; 2],
    recv_len: usize,
    send_len: usize,
}

impl NicMachine {
    /// Shares a receive buffer of `recv_pages` and a send buffer of
    /// `send_pages` on channel `relid` (open already, as Linux does).
    pub fn new(
        world: &mut World,
        relid: u32,
        recv_pages: usize,
        send_pages: usize,
    ) -> Result<Option<Self>, Stuck> {
        let Some((recv, recv_gpadl)) = world.share(relid, recv_pages)? else {
            return Ok(None);
        };
        let Some((send, send_gpadl)) = world.share(relid, send_pages)? else {
            return Ok(None);
        };
        let (recv_len, send_len) = (recv_pages * PAGE as usize, send_pages * PAGE as usize);
        let config = NetvscConfig::new(recv_gpadl, recv_len as u32, send_gpadl, send_len as u32);
        Ok(Some(NicMachine {
            netvsc: Netvsc::new(config),
            recv,
            send,
            gpadls: [recv_gpadl, send_gpadl],
            recv_len,
            send_len,
        }))
    }

    /// The packet sending `frame` (its RNDIS message written into a send
    /// section in guest memory).
    pub fn send_frame(
        &mut self,
        world: &mut World,
        frame: &[u8],
    ) -> Option<vmbus_devices::Outgoing> {
        let mut send = world.read(self.send, self.send_len);
        let p = self.netvsc.send_frame(frame, &mut send).ok()?;
        world.write(self.send, &send);
        Some(p)
    }
}

impl Machine for NicMachine {
    type Event = NetvscEvent;
    fn start(&mut self, out: &mut Output<NetvscEvent>) -> Result<(), String> {
        self.netvsc.start(out).map_err(|e| format!("{e:?}"))
    }
    fn handle(
        &mut self,
        world: &mut World,
        packet: &Incoming<'_>,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), String> {
        let recv = world.read(self.recv, self.recv_len);
        let mut send = world.read(self.send, self.send_len);
        let mut bufs = NetBuffers {
            recv: &recv,
            send: &mut send,
        };
        let r = self.netvsc.handle(packet, &mut bufs, out);
        world.write(self.send, &send);
        r.map_err(|e| format!("{e:?}"))
    }
    fn failed(&self) -> bool {
        self.netvsc.state() == NetvscState::Failed
    }
}

/// What [`exercise`] got from each device: whether it came up and did its
/// one piece of work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exercised {
    /// The mouse came up.
    pub mouse: bool,
    /// synthvid came up.
    pub video: bool,
    /// The disk came up and a sector went out and came back.
    pub disk: bool,
    /// The NIC came up and a frame went out.
    pub nic: bool,
}

fn offered(world: &World, class: vmbus::Guid) -> Option<u32> {
    world
        .seen
        .offers()
        .iter()
        .find(|o| o.if_type == class)
        .map(|o| o.child_relid)
}

/// Brings up the mouse, synthvid, the disk and the NIC that were offered,
/// gives each one piece of work, and closes them; tolerant of any host
/// (nothing here asserts). `vram` is a GPA the world backs for synthvid.
pub fn exercise(world: &mut World, vram: u64) -> Result<Exercised, Stuck> {
    use vmbus::guid::{MOUSE, NETWORK, SCSI, SYNTHVID};
    use vmbus_devices::mouse::{Mouse, MouseEvent};
    use vmbus_devices::synthvid::{Synthvid, SynthvidConfig, SynthvidEvent};
    let mut got = Exercised::default();
    if let Some(relid) = offered(world, MOUSE) {
        if let Some(mut s) = Session::open(world, relid, Pipe(Mouse::new()))? {
            got.mouse = s.run_until(world, |e| {
                e.iter().any(|e| matches!(e, MouseEvent::Ready { .. }))
            })?;
            s.close(world)?;
        }
    }
    if let Some(relid) = offered(world, SYNTHVID) {
        let config = SynthvidConfig::new(vram, 8 << 20);
        if let Some(mut s) = Session::open(world, relid, Pipe(Synthvid::new(config)))? {
            got.video = s.run_until(world, |e| {
                e.iter().any(|e| matches!(e, SynthvidEvent::Ready { .. }))
            })?;
            s.close(world)?;
        }
    }
    if let Some(relid) = offered(world, SCSI) {
        let machine = DiskMachine::new(world);
        if let Some(mut s) = Session::open(world, relid, machine)? {
            let ready = s.run_until(world, |e| {
                e.iter()
                    .any(|e| matches!(e, StorvscEvent::DiskReady { .. }))
            })?;
            let page = world.pages(1);
            let sent = ready
                && GpaRange::contiguous(page, 512)
                    .ok()
                    .and_then(|r| s.machine.storvsc.write(0, 1, r).ok())
                    .map(|(id, p)| {
                        s.send(p);
                        id
                    })
                    .is_some();
            got.disk = sent
                && s.run_until(world, |e| {
                    e.iter()
                        .any(|e| matches!(e, StorvscEvent::Completed { result: Ok(_), .. }))
                })?;
            s.close(world)?;
        }
    }
    if let Some(relid) = offered(world, NETWORK) {
        if let Some(mut s) =
            Session::open_with(world, relid, |w| NicMachine::new(w, relid, 256, 64))?
        {
            let ready = s.run_until(world, |e| {
                e.iter().any(|e| matches!(e, NetvscEvent::Ready { .. }))
            })?;
            let mut frame = vec![0xFF; 12];
            frame.extend_from_slice(&[0x88, 0xb5, 1, 2, 3, 4]);
            if ready {
                if let Some(p) = s.machine.send_frame(world, &frame) {
                    s.send(p);
                    got.nic = true;
                }
                s.run_until(world, |_| false)?;
            }
            s.act(|m, out| m.netvsc.stop(out));
            s.run_until(world, |_| false)?;
            let gpadls = s.machine.gpadls;
            s.close(world)?;
            for g in gpadls {
                world.unshare(g)?;
            }
        }
    }
    Ok(got)
}
