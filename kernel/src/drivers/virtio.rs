//! What every VirtIO PCI driver does first: the device's register windows
//! mapped, bus mastering on, the modern PCI transport (VirtIO 1.2 §4.1)
//! built over them with the kernel's `Hal` (`mm::dma`), and its queue
//! interrupts through MSI-X.
//!
//! [`Transport`] wraps the crate's transport (or, in the milestone
//! checks, a simulated device's) and adds what the crate leaves out:
//! - every queue is given MSI-X table entry 0 when it is set up (VirtIO
//!   1.2 §4.1.5.1.3), whose vector raises the device's [`Signal`];
//! - a device without MSI-X interrupts through its legacy INTx pin, routed
//!   by ACPI's `_PRT` (`pci::intx_route`). Devices on one GSI share a
//!   vector; its handler reads each one's ISR status (VirtIO 1.2
//!   §4.1.4.5: the read acknowledges the interrupt and lowers the line)
//!   and raises the signal of each that had one pending. A line whose
//!   interrupts nobody claims [`UNCLAIMED_LIMIT`] times in a row is
//!   masked and its devices polled, so a stuck line cannot take the CPU.
//!   Without either (or when a queue refuses its MSI-X entry) the device
//!   is polled (its waits are short timed sleeps) and says so in the log;
//! - the device's used rings can be read back ([`Rings::used_index`])
//!   so a driver can tell a used index that jumps;
//! - reads of the device configuration give up after
//!   [`CONFIG_RETRIES`] generation changes (the crate would loop for as
//!   long as a device keeps changing it);
//! - the reset when it is dropped waits a bounded time for the device;
//! - a block device is never offered `VIRTIO_BLK_F_FLUSH`: without it the
//!   device keeps no write-back cache (VirtIO 1.2 §5.2.6.2: the cache is
//!   write-back after reset if and only if that feature is negotiated), so
//!   every completed write is durable and a flush has nothing to do. The
//!   crate's flush is blocking and spins for as long as the device does
//!   not answer; this way it is never sent.
#![forbid(unsafe_code)]

use super::{DriverError, Probe};
use crate::mm::dma::{KernelCam, KernelHal};
use crate::sync::{Signal, SpinLock};
use alloc::format;
use alloc::sync::Arc;
use virtio_drivers::transport::pci::bus::{DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus};
use virtio_drivers::{PhysAddr, Result as VirtioResult};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Configuration generation changes a read of the device configuration
/// survives.
pub const CONFIG_RETRIES: u32 = 64;
/// Queues whose used ring the wrapper remembers.
const QUEUES: usize = 8;
/// Polls of the device status after a reset.
const RESET_POLLS: u32 = 100_000;
/// `VIRTIO_BLK_F_FLUSH` (VirtIO 1.2 §5.2.3; `VIRTIO_BLK_F_WCE` in legacy
/// devices).
const BLK_F_FLUSH: u64 = 1 << 9;

/// `virtio_pci_common_cfg` offsets (VirtIO 1.2 §4.1.4.3).
const COMMON_QUEUE_SELECT: u64 = 0x16;
const COMMON_QUEUE_MSIX_VECTOR: u64 = 0x1a;
/// A common configuration structure is 0x38 bytes (§4.1.4.3).
const COMMON_LEN: u64 = 0x38;
/// `cfg_type` of the common configuration capability (§4.1.4).
const CAP_COMMON: u8 = 1;

/// Unclaimed interrupts in a row after which an INTx line is masked.
pub const UNCLAIMED_LIMIT: u32 = 10_000;
/// Devices that may share one INTx line.
const SHARERS: usize = 8;
/// `cfg_type` of the ISR status capability (§4.1.4).
const CAP_ISR: u8 = 3;

/// The signal each device vector raises.
static SIGNALS: SpinLock<[Option<Arc<Signal>>; 256]> = SpinLock::new([const { None }; 256]);

fn on_interrupt(vector: u8) {
    if let Some(s) = SIGNALS.lock()[usize::from(vector)].as_ref() {
        s.raise();
    }
}

/// One device on a shared INTx line.
struct Sharer {
    /// Physical address of its ISR status byte.
    isr: u64,
    signal: Arc<Signal>,
    rings: Arc<Rings>,
    /// For the checks.
    #[cfg_attr(not(feature = "milestones"), allow(dead_code))]
    name: alloc::string::String,
}

/// A GSI that VirtIO devices interrupt through.
struct Line {
    gsi: u32,
    vector: u8,
    trigger: crate::irq::Trigger,
    sharers: alloc::vec::Vec<Sharer>,
    /// Interrupts in a row that no sharer claimed.
    unclaimed: u32,
    /// Interrupts a sharer claimed, since the line was set up.
    claimed: u64,
}

/// Every INTx line in use. Lock order: `LINES`, then the BAR windows
/// (`mm::dma::with_bar`); signals are raised after it is released.
static LINES: SpinLock<alloc::vec::Vec<Line>> = SpinLock::new(alloc::vec::Vec::new());

/// An INTx line as the checks see it.
#[cfg(feature = "milestones")]
#[derive(Clone, Debug)]
pub struct IntxLine {
    /// The GSI.
    pub gsi: u32,
    /// Its vector.
    pub vector: u8,
    /// The names of the devices on it.
    pub devices: alloc::vec::Vec<alloc::string::String>,
    /// Interrupts a device claimed.
    pub claimed: u64,
}

/// The INTx lines VirtIO devices use now.
#[cfg(feature = "milestones")]
pub fn intx_lines() -> alloc::vec::Vec<IntxLine> {
    LINES
        .lock()
        .iter()
        .map(|l| IntxLine {
            gsi: l.gsi,
            vector: l.vector,
            devices: l.sharers.iter().map(|s| s.name.clone()).collect(),
            claimed: l.claimed,
        })
        .collect()
}

/// A device's ISR status byte (VirtIO 1.2 §4.1.4.5); reading it clears
/// it. 0 if it lies in no mapped BAR.
fn read_isr(isr: u64) -> u8 {
    crate::mm::dma::with_bar(isr, 1, |w, off| w.read8(off)).unwrap_or(0)
}

/// The checks' stand-in for a device that asserts its line with nothing
/// pending: the handler of this GSI reads no ISR status (so the line
/// stays asserted) while it is set.
#[cfg(feature = "milestones")]
static DEAF: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(u32::MAX);

fn deaf(gsi: u32) -> bool {
    #[cfg(feature = "milestones")]
    {
        DEAF.load(core::sync::atomic::Ordering::Acquire) == gsi
    }
    #[cfg(not(feature = "milestones"))]
    {
        let _ = gsi;
        false
    }
}

/// Makes the handler of `gsi` read no ISR status (`Some`), or read it
/// again (`None`; the line's devices are acknowledged and the line is
/// routed again, so it starts over unmasked).
#[cfg(feature = "milestones")]
pub fn intx_deafen(gsi: Option<u32>) -> core::result::Result<(), alloc::string::String> {
    use core::sync::atomic::Ordering;
    if let Some(g) = gsi {
        DEAF.store(g, Ordering::Release);
        return Ok(());
    }
    let g = DEAF.swap(u32::MAX, Ordering::AcqRel);
    let (vector, trigger) = {
        let mut lines = LINES.lock();
        let line = lines
            .iter_mut()
            .find(|l| l.gsi == g)
            .ok_or_else(|| format!("no INTx line on GSI {g}"))?;
        for s in &line.sharers {
            read_isr(s.isr);
            s.rings.interrupts.store(true, Ordering::Release);
        }
        line.unclaimed = 0;
        (line.vector, line.trigger)
    };
    crate::irq::route(g, vector, trigger).map_err(|e| format!("{e}"))
}

fn on_line(vector: u8) {
    let mut pending: [Option<Arc<Signal>>; SHARERS] = [const { None }; SHARERS];
    {
        let mut lines = LINES.lock();
        let Some(line) = lines.iter_mut().find(|l| l.vector == vector) else {
            return;
        };
        if !deaf(line.gsi) {
            for (slot, s) in pending.iter_mut().zip(&line.sharers) {
                if read_isr(s.isr) != 0 {
                    *slot = Some(s.signal.clone());
                }
            }
        }
        if pending.iter().any(Option::is_some) {
            line.unclaimed = 0;
            line.claimed += 1;
        } else {
            line.unclaimed += 1;
            if line.unclaimed == UNCLAIMED_LIMIT {
                crate::irq::mask(line.gsi);
                for s in &line.sharers {
                    s.rings
                        .interrupts
                        .store(false, core::sync::atomic::Ordering::Release);
                }
                log::error!(
                    "GSI {} fired {UNCLAIMED_LIMIT} times with no device's interrupt pending; masked, its devices are polled",
                    line.gsi
                );
            }
        }
    }
    for s in pending.iter().flatten() {
        s.raise();
    }
}

/// Takes `sharer` onto the INTx line of `route`, setting the line up if
/// it is the first; returns the line's vector.
fn join_line(
    route: dsdt::PciRoute,
    sharer: Sharer,
) -> core::result::Result<u8, alloc::string::String> {
    {
        let mut lines = LINES.lock();
        if let Some(line) = lines.iter_mut().find(|l| l.gsi == route.gsi) {
            if line.sharers.len() >= SHARERS {
                return Err(format!("GSI {} has {SHARERS} devices already", route.gsi));
            }
            line.sharers
                .try_reserve(1)
                .map_err(|_| alloc::string::String::from("no memory"))?;
            line.sharers.push(sharer);
            return Ok(line.vector);
        }
    }
    let trigger = crate::irq::Trigger {
        level: route.level,
        active_low: route.active_low,
    };
    let vector = crate::irq::allocate_vector(on_line).map_err(|e| format!("{e}"))?;
    let mut sharers = alloc::vec::Vec::new();
    let mut lines = LINES.lock();
    if sharers.try_reserve(SHARERS).is_err() || lines.try_reserve(1).is_err() {
        drop(lines);
        crate::irq::free(vector);
        return Err("no memory".into());
    }
    sharers.push(sharer);
    lines.push(Line {
        gsi: route.gsi,
        vector,
        trigger,
        sharers,
        unclaimed: 0,
        claimed: 0,
    });
    drop(lines);
    if let Err(e) = crate::irq::route(route.gsi, vector, trigger) {
        LINES.lock().retain(|l| l.vector != vector);
        crate::irq::free(vector);
        return Err(format!("{e}"));
    }
    Ok(vector)
}

/// Takes the device whose ISR byte is at `isr` off its line; the last one
/// off masks the GSI and frees the vector.
fn leave_line(gsi: u32, isr: u64) {
    let mut lines = LINES.lock();
    let Some(at) = lines.iter().position(|l| l.gsi == gsi) else {
        return;
    };
    lines[at].sharers.retain(|s| s.isr != isr);
    if lines[at].sharers.is_empty() {
        let line = lines.remove(at);
        drop(lines);
        crate::irq::mask(line.gsi);
        crate::irq::free(line.vector);
    }
}

/// A device's place on an INTx line.
struct Intx {
    at: pci::Bdf,
    gsi: u32,
    isr: u64,
}

/// MSI-X as one device uses it.
struct Msix {
    at: pci::Bdf,
    capability: pci::MsiX,
    /// Physical address of the common configuration structure.
    common: u64,
    vector: u8,
}

/// A VirtIO transport with the kernel's additions (see the module docs).
pub struct Transport<T: virtio_drivers::transport::Transport> {
    inner: core::mem::ManuallyDrop<T>,
    name: alloc::string::String,
    msix: Option<Msix>,
    intx: Option<Intx>,
    signal: Arc<Signal>,
    rings: Arc<Rings>,
}

/// Where a device's used rings are, shared with its driver (the crate's
/// device owns the transport).
pub struct Rings {
    /// Per queue: the physical address of its used ring.
    used: SpinLock<[Option<u64>; QUEUES]>,
    /// Whether queue interrupts arrive through MSI-X.
    interrupts: core::sync::atomic::AtomicBool,
}

impl Rings {
    /// The used index the device last wrote for `queue` (VirtIO 1.2
    /// §2.7.8), read from the ring itself; `None` for a queue not set up.
    pub fn used_index(&self, queue: u16) -> Option<u16> {
        let ring = (*self.used.lock().get(usize::from(queue))?)?;
        let mut idx = [0u8; 2];
        crate::mm::dma::read_dma(ring + 2, &mut idx).then(|| u16::from_le_bytes(idx))
    }

    /// Whether queue interrupts arrive (else the driver polls).
    pub fn interrupts(&self) -> bool {
        self.interrupts.load(core::sync::atomic::Ordering::Acquire)
    }
}

impl<T: virtio_drivers::transport::Transport> Transport<T> {
    /// Wraps `inner` (no interrupts: a simulated device raises
    /// [`Transport::signal`] itself).
    pub fn new(inner: T, name: &str) -> Self {
        Self {
            inner: core::mem::ManuallyDrop::new(inner),
            name: name.into(),
            msix: None,
            intx: None,
            signal: Arc::new(Signal::new()),
            rings: Arc::new(Rings {
                used: SpinLock::new([None; QUEUES]),
                interrupts: core::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// What the device's interrupt raises.
    pub fn signal(&self) -> Arc<Signal> {
        self.signal.clone()
    }

    /// Where its queues' used rings are.
    pub fn rings(&self) -> Arc<Rings> {
        self.rings.clone()
    }

    fn set_queue_vector(&mut self, queue: u16) {
        let Some(m) = &self.msix else { return };
        let common = m.common;
        let took = crate::mm::dma::with_bar(common, COMMON_LEN, |w, off| {
            w.write16(off + COMMON_QUEUE_SELECT, queue);
            w.write16(off + COMMON_QUEUE_MSIX_VECTOR, 0);
            w.read16(off + COMMON_QUEUE_MSIX_VECTOR)
        });
        if took != Some(0) {
            log::warn!(
                "{}: queue {queue} refused MSI-X entry 0 ({took:?}); it is polled",
                self.name
            );
            self.disable_msix();
        }
    }

    fn disable_msix(&mut self) {
        self.rings
            .interrupts
            .store(false, core::sync::atomic::Ordering::Release);
        if let Some(m) = self.msix.take() {
            super::pci::with_config(|cs| pci::disable_msix(cs, m.at, &m.capability));
            SIGNALS.lock()[usize::from(m.vector)] = None;
            crate::irq::free(m.vector);
        }
        if let Some(i) = self.intx.take() {
            super::pci::set_intx_disabled(i.at, true);
            leave_line(i.gsi, i.isr);
        }
    }
}

impl Transport<PciTransport> {
    /// Aims the function's MSI-X table entry 0 at this CPU on a fresh
    /// vector, for every queue set up later; without MSI-X, puts it on its
    /// INTx line. Without either the device is polled.
    fn enable_interrupts(&mut self, at: pci::Bdf) {
        let no_msix = match self.try_msix(at) {
            Ok(m) => {
                self.msix = Some(m);
                self.rings
                    .interrupts
                    .store(true, core::sync::atomic::Ordering::Release);
                return;
            }
            Err(why) => why,
        };
        match self.try_intx(at) {
            Ok((intx, route, vector)) => {
                log::info!(
                    "{}: no MSI-X ({no_msix}); queue interrupts through INTx on GSI {} ({}, active {}), vector {vector:#x}",
                    self.name,
                    route.gsi,
                    if route.level { "level" } else { "edge" },
                    if route.active_low { "low" } else { "high" },
                );
                self.intx = Some(intx);
                self.rings
                    .interrupts
                    .store(true, core::sync::atomic::Ordering::Release);
            }
            Err(why) => log::warn!(
                "{}: no MSI-X ({no_msix}) and no INTx ({why}); the device is polled",
                self.name
            ),
        }
    }

    fn try_intx(
        &mut self,
        at: pci::Bdf,
    ) -> core::result::Result<(Intx, dsdt::PciRoute, u8), alloc::string::String> {
        let f = super::pci::function(at).ok_or("no such function")?;
        let route = super::pci::intx_route(at)?;
        let isr = vendor_config(at, &f, CAP_ISR, 1).ok_or("no ISR status capability")?;
        let sharer = Sharer {
            isr,
            signal: self.signal.clone(),
            rings: self.rings.clone(),
            name: self.name.clone(),
        };
        let vector = join_line(route, sharer)?;
        super::pci::set_intx_disabled(at, false);
        Ok((
            Intx {
                at,
                gsi: route.gsi,
                isr,
            },
            route,
            vector,
        ))
    }

    fn try_msix(&mut self, at: pci::Bdf) -> core::result::Result<Msix, alloc::string::String> {
        let f = super::pci::function(at).ok_or("no such function")?;
        let capability = super::pci::with_config(|cs| pci::msix(cs, &f))
            .flatten()
            .ok_or("no MSI-X capability")?
            .map_err(|e| format!("{e}"))?;
        let common = vendor_config(at, &f, CAP_COMMON, COMMON_LEN)
            .ok_or("no common configuration capability")?;
        let table = f
            .bar(capability.table_bar)
            .map(|b| b.base + u64::from(capability.table_offset))
            .ok_or("no BAR for the MSI-X table")?;
        let vector = crate::irq::allocate_vector(on_interrupt).map_err(|e| format!("{e}"))?;
        SIGNALS.lock()[usize::from(vector)] = Some(self.signal.clone());
        let apic = crate::arch::lapic::id() as u8;
        let entry = pci::msix_entry(apic, vector);
        let written = crate::mm::dma::with_bar(table, 16, |w, off| {
            for (i, word) in entry.iter().enumerate() {
                w.write32(off + 4 * i as u64, *word);
            }
        });
        if written.is_none() {
            SIGNALS.lock()[usize::from(vector)] = None;
            crate::irq::free(vector);
            return Err("the MSI-X table lies in no mapped BAR".into());
        }
        super::pci::with_config(|cs| pci::enable_msix(cs, at, &capability));
        log::info!(
            "{}: queue interrupts on vector {vector:#x} (MSI-X entry 0)",
            self.name
        );
        Ok(Msix {
            at,
            capability,
            common,
            vector,
        })
    }
}

/// The physical address of `f`'s configuration structure of type
/// `cfg_type`, `len` bytes inside its BAR, from its VirtIO vendor
/// capabilities (VirtIO 1.2 §4.1.4: `cfg_type` at +3, `bar` at +4,
/// `offset` at +8).
fn vendor_config(at: pci::Bdf, f: &pci::Function, cfg_type: u8, len: u64) -> Option<u64> {
    use pci::ConfigSpace;
    f.capabilities
        .iter()
        .filter(|c| c.id == pci::Capability::VENDOR)
        .find_map(|c| {
            let at_cap = u16::from(c.offset);
            let (head, bar, offset) = super::pci::with_config(|cs| {
                (
                    cs.read32(at, at_cap),
                    cs.read32(at, at_cap + 4),
                    cs.read32(at, at_cap + 8),
                )
            })?;
            if (head >> 24) as u8 != cfg_type {
                return None;
            }
            let bar = f.bar(bar as u8)?;
            bar.contains(u64::from(offset), len)
                .then(|| bar.base + u64::from(offset))
        })
}

impl<T: virtio_drivers::transport::Transport> virtio_drivers::transport::Transport
    for Transport<T>
{
    fn device_type(&self) -> DeviceType {
        self.inner.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        let offered = self.inner.read_device_features();
        match self.inner.device_type() {
            DeviceType::Block => offered & !BLK_F_FLUSH,
            _ => offered,
        }
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.inner.write_driver_features(driver_features)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        let size = self.inner.max_queue_size(queue);
        if size == 0 {
            log::warn!("{}: queue {queue} has size 0", self.name);
        }
        size
    }
    fn notify(&mut self, queue: u16) {
        self.inner.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.inner.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.inner.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.inner.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.inner.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.set_queue_vector(queue);
        if let Some(slot) = self.rings.used.lock().get_mut(usize::from(queue)) {
            *slot = Some(device_area);
        }
        self.inner
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        if let Some(slot) = self.rings.used.lock().get_mut(usize::from(queue)) {
            *slot = None;
        }
        self.inner.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.inner.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.inner.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.inner.read_config_generation()
    }
    fn read_config_space<V: FromBytes + IntoBytes>(&self, offset: usize) -> VirtioResult<V> {
        self.inner.read_config_space(offset)
    }
    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: V,
    ) -> VirtioResult<()> {
        self.inner.write_config_space(offset, value)
    }
    fn read_consistent<V>(&self, f: impl Fn() -> VirtioResult<V>) -> VirtioResult<V> {
        for _ in 0..CONFIG_RETRIES {
            let before = self.read_config_generation();
            let result = f();
            if self.read_config_generation() == before {
                return result;
            }
        }
        log::error!(
            "{}: the configuration generation changed {CONFIG_RETRIES} times in a row",
            self.name
        );
        Err(virtio_drivers::Error::IoError)
    }
}

impl<T: virtio_drivers::transport::Transport> Drop for Transport<T> {
    /// Resets the device (it stops using the rings before they are freed)
    /// and turns MSI-X off. The inner transport is not dropped: the
    /// crate's own reset would wait for the device for ever.
    fn drop(&mut self) {
        self.inner.set_status(DeviceStatus::empty());
        let reset = (0..RESET_POLLS).any(|_| self.inner.get_status() == DeviceStatus::empty());
        if !reset {
            log::error!("{}: the device does not finish its reset", self.name);
        }
        self.disable_msix();
    }
}

/// The transport of the VirtIO PCI function `p` is bound to, named `name`
/// in the log, with its queue interrupts set up.
pub fn transport(p: &Probe, name: &str) -> Result<Transport<PciTransport>, DriverError> {
    let at = super::pci::address_of(&p.device)
        .ok_or_else(|| DriverError::Device(format!("{}: not a PCI function", p.device.name)))?;
    // The transport reads the BARs from configuration space and asks for
    // windows inside them: map every memory BAR whole, once.
    for r in &p.device.resources {
        if let super::Resource::Memory { base, len, .. } = *r {
            crate::mm::dma::map_bar(base, len).map_err(DriverError::Memory)?;
        }
    }
    crate::mm::dma::init_bounce().map_err(DriverError::Memory)?;
    super::pci::enable_bus_master(at);
    let mut root = PciRoot::new(KernelCam);
    let function = DeviceFunction {
        bus: at.bus,
        device: at.device,
        function: at.function,
    };
    let faults = crate::mm::dma::faults();
    let inner = PciTransport::new::<KernelHal, KernelCam>(&mut root, function)
        .map_err(|e| DriverError::Device(format!("virtio transport: {e}")))?;
    let mut transport = Transport::new(inner, name);
    if crate::mm::dma::faults() != faults {
        return Err(DriverError::Device(format!(
            "{name}: the device's registers lie outside its BARs"
        )));
    }
    transport.enable_interrupts(at);
    Ok(transport)
}
