//! The simulated Hyper-V host of the M7 checks: the `vmbus-host` model
//! behind the kernel's `hyperv::Hypervisor` trait.
//!
//! This is the whole of what is simulated: CPUID's hypervisor leaves, the
//! synthetic MSRs and the hypercalls are calls into the model; the model
//! reaches guest memory by physical address (only frames the kernel
//! allocated, and the firmware framebuffer as synthvid's VRAM) and
//! delivers its synthetic interrupts as real ones, a self-IPI on the
//! vector the guest programmed into SINT2, through the IDT. Everything above the trait — the VMBus connection, the device
//! tree, the drivers — is the code that runs on real Hyper-V. The model
//! makes progress on a thread of its own ("hv-host"), woken by every
//! guest call and every 2 ms.

use crate::hyperv::{HvError, Hypervisor};
use crate::mm::frame_alloc::OwnedFrames;
use crate::sync::{Signal, SpinLock};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use vmbus_host::{DeviceId, Host, HostConfig, MemError, Platform, SintInterrupt};

/// How long the host thread sleeps between steps when nobody calls.
const STEP_NS: u64 = 2_000_000;
/// Steps per wake-up at most (the model says when it is idle).
const STEPS: usize = 256;

/// Guest memory and interrupts for the model.
pub struct KernelPlatform {
    /// SINT interrupts delivered.
    pub interrupts: u64,
}

impl Platform for KernelPlatform {
    fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        // The host's VRAM is the framebuffer QEMU scans out, so the model
        // finds it where the guest's firmware framebuffer is: synthvid
        // works only if the guest names that GPA (as Hyper-V's UEFI does).
        crate::mm::phys::read_allocated(gpa, buf)
            .or_else(|e| crate::window::read_back(gpa, buf).then_some(()).ok_or(e))
            .map_err(|e| MemError { gpa: e.0 })
    }

    fn write_guest(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemError> {
        crate::mm::phys::write_allocated(gpa, data).map_err(|e| MemError { gpa: e.0 })
    }

    fn raise_sint(&mut self, irq: SintInterrupt) {
        self.interrupts += 1;
        let cpu = (irq.vp as usize).min(crate::arch::percpu::online_count().saturating_sub(1));
        crate::arch::lapic::send_ipi(crate::arch::percpu::apic_id_of(cpu), irq.vector);
    }

    fn fetch_or_u8(&mut self, gpa: u64, mask: u8) -> Result<u8, MemError> {
        crate::mm::phys::fetch_or_allocated(gpa, mask).map_err(|e| MemError { gpa: e.0 })
    }
}

/// The model as a hypervisor.
pub struct Simulated {
    host: SpinLock<Host<KernelPlatform>>,
    kick: Signal,
    stop: AtomicBool,
    /// The hypercall page the guest gave the model (a frame of ours).
    hypercall_page: SpinLock<Option<OwnedFrames>>,
}

/// The running model, for its thread.
static RUNNING: SpinLock<Option<Arc<Simulated>>> = SpinLock::new(None);
/// Whether a model thread is running.
static ALIVE: AtomicBool = AtomicBool::new(false);

impl Simulated {
    /// Starts a model configured by `config` with `devices`, and its
    /// thread.
    pub fn start(
        config: HostConfig,
        devices: impl IntoIterator<Item = Box<dyn vmbus_host::Device>>,
    ) -> Result<(Arc<Self>, Vec<DeviceId>), HvError> {
        let mut host = Host::new(config, KernelPlatform { interrupts: 0 });
        let ids = devices.into_iter().map(|d| host.add_device(d)).collect();
        let sim = Arc::new(Self {
            host: SpinLock::new(host),
            kick: Signal::new(),
            stop: AtomicBool::new(false),
            hypercall_page: SpinLock::new(None),
        });
        {
            let mut running = RUNNING.lock();
            if running.is_some() {
                return Err(HvError::Missing("a free host model slot"));
            }
            *running = Some(sim.clone());
        }
        let thread = crate::task::Thread::new(
            "hv-host",
            None,
            crate::task::Entry::Kernel(host_thread, 0),
            crate::task::priority::HIGH,
        )
        .and_then(crate::task::sched::start);
        if thread.is_err() {
            *RUNNING.lock() = None;
            return Err(HvError::Memory);
        }
        ALIVE.store(true, Ordering::Release);
        Ok((sim, ids))
    }

    /// Runs `f` on the model (to inject input or look at a device).
    pub fn with_host<R>(&self, f: impl FnOnce(&mut Host<KernelPlatform>) -> R) -> R {
        let r = f(&mut self.host.lock());
        self.kick.raise();
        r
    }

    /// Stops the model's thread (and waits, at most a second, until it
    /// has gone).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.kick.raise();
        *RUNNING.lock() = None;
        for _ in 0..1000 {
            if !ALIVE.load(Ordering::Acquire) {
                return;
            }
            let _ = crate::task::sched::sleep_ns(1_000_000);
        }
        log::warn!("hv-host: the model's thread did not stop");
    }
}

impl Hypervisor for Simulated {
    fn name(&self) -> &'static str {
        "the simulated Hyper-V host"
    }

    fn cpuid(&self, leaf: u32) -> [u32; 4] {
        if let Some(l) = self.host.lock().cpuid(leaf) {
            return [l.eax, l.ebx, l.ecx, l.edx];
        }
        let r = crate::arch::cpu::cpuid(leaf, 0);
        let ecx = if leaf == 1 {
            r.ecx | vmbus::synic::CPUID_HYPERVISOR_PRESENT_BIT
        } else {
            r.ecx
        };
        [r.eax, r.ebx, ecx, r.edx]
    }

    fn rdmsr(&self, msr: u32) -> Result<u64, HvError> {
        self.host
            .lock()
            .rdmsr(0, msr)
            .map_err(|_| HvError::Msr(msr))
    }

    fn wrmsr(&self, msr: u32, value: u64) -> Result<(), HvError> {
        let r = self.host.lock().wrmsr(0, msr, value);
        self.kick.raise();
        r.map_err(|_| HvError::Msr(msr))
    }

    fn hypercall(&self, control: u64, input: u64, output: u64) -> u64 {
        let r = self.host.lock().hypercall(0, control, input, output);
        self.kick.raise();
        r
    }

    /// As a guest does it (sheet §1.3): the guest OS id, then the
    /// hypercall MSR pointed at a page of ours, which the model fills in.
    fn enable_hypercalls(&self) -> Result<(), HvError> {
        let mut page = self.hypercall_page.lock();
        if page.is_some() {
            return Ok(());
        }
        let frame = OwnedFrames::new(1, 4096).map_err(|_| HvError::Memory)?;
        self.wrmsr(
            vmbus::synic::MSR_GUEST_OS_ID,
            vmbus::synic::GUEST_OS_ID_FERRITE,
        )?;
        let old = self.rdmsr(vmbus::synic::MSR_HYPERCALL)?;
        self.wrmsr(
            vmbus::synic::MSR_HYPERCALL,
            vmbus::synic::page_msr_value(old, frame.phys() >> 12),
        )?;
        *page = Some(frame);
        Ok(())
    }
}

/// The model's thread: steps it whenever the guest calls, and every
/// [`STEP_NS`], until it is stopped.
fn host_thread(_: u64) {
    ALIVE.store(true, Ordering::Release);
    serve();
    ALIVE.store(false, Ordering::Release);
}

fn serve() {
    loop {
        let Some(sim) = RUNNING.lock().clone() else {
            return;
        };
        if sim.stop.load(Ordering::Acquire) {
            return;
        }
        for _ in 0..STEPS {
            if !sim.host.lock().step() {
                break;
            }
        }
        let deadline = crate::time::now_ns().saturating_add(STEP_NS);
        sim.kick.wait_until(deadline);
    }
}
