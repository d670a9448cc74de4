//! The simulated host as one pure step machine (sheet §8.4 items 1–2).
//!
//! Guest actions come in as calls ([`Host::wrmsr`], [`Host::rdmsr`],
//! [`Host::hypercall`], [`Host::eom`]); [`Host::step`] lets devices make
//! progress; every effect leaves through the embedder's [`Platform`].

use alloc::boxed::Box;

use crate::device::{Device, DeviceId};
use crate::env::Env;
use crate::hostile::{Hostile, HostileConfig};
use crate::hv::cpuid::{self, CpuidLeaf, CpuidParams};
use crate::hv::hypercall::{decode_control, read_post_input, signal_input};
use crate::hv::partition::Partition;
use crate::hv::{status, HypercallInstr, MsrError, HVCALL_POST_MESSAGE, HVCALL_SIGNAL_EVENT};
use crate::hv::{MSR_EOM, VMBUS_SINT};
use crate::notes::{Note, Notes};
use crate::platform::Platform;
use crate::vmbus::channels::{ChannelFailure, ChannelPhase};
use crate::vmbus::server::{Connection, Server, ServerConfig};
use crate::vmbus::version;

/// How the simulated host behaves.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Virtual processors (SynIC instances), at least 1.
    pub vp_count: u32,
    /// Highest VMBus version accepted; newer requests get the all-zero
    /// VERSION_RESPONSE. Below 5.0 the host also stops listening on
    /// connection id 4 (§1.5, §3.1).
    pub highest_version: u32,
    /// 6.0 feature flags the host supports (§3.4): client id (0x08) and
    /// guest-specified signal parameters (0x01) by default.
    pub features_supported: u32,
    /// The instruction of the hypercall page stub.
    pub hypercall_instr: HypercallInstr,
    /// Set CPUID 0x4000_0004 EAX bit 9 (§1.1).
    pub recommend_no_auto_eoi: bool,
    /// Read guest → host rings on every step even without HvSignalEvent.
    /// Off by default, so a guest that forgets to signal fails its test.
    pub poll_rings_without_signal: bool,
    /// Hostile mode.
    pub hostile: HostileConfig,
    /// Journal size.
    pub note_limit: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            vp_count: 1,
            highest_version: version::V6_0,
            features_supported: crate::vmbus::feature::CLIENT_ID
                | crate::vmbus::feature::GUEST_SPECIFIED_SIGNAL_PARAMETERS,
            hypercall_instr: HypercallInstr::Vmcall,
            recommend_no_auto_eoi: false,
            poll_rings_without_signal: false,
            hostile: HostileConfig::default(),
            note_limit: 512,
        }
    }
}

impl HostConfig {
    /// The default host, but refusing VMBus 6.0 (highest version 5.3),
    /// to test a guest's fallback.
    pub fn refusing_v6() -> Self {
        HostConfig {
            highest_version: version::V5_3,
            ..HostConfig::default()
        }
    }
}

/// The simulated Hyper-V host.
pub struct Host<P: Platform> {
    platform: P,
    cpuid: CpuidParams,
    poll_rings: bool,
    hv: Partition,
    server: Server,
    notes: Notes,
    hostile: Hostile,
}

macro_rules! env {
    ($s:ident) => {
        Env {
            mem: &mut $s.platform,
            hv: &mut $s.hv,
            notes: &mut $s.notes,
            hostile: &mut $s.hostile,
        }
    };
}

impl<P: Platform> Host<P> {
    /// A host in reset state over `platform`.
    pub fn new(cfg: HostConfig, platform: P) -> Self {
        Host {
            platform,
            cpuid: CpuidParams {
                vp_count: cfg.vp_count.max(1),
                recommend_no_auto_eoi: cfg.recommend_no_auto_eoi,
            },
            poll_rings: cfg.poll_rings_without_signal,
            hv: Partition::new(cfg.vp_count, cfg.hypercall_instr),
            server: Server::new(ServerConfig {
                highest_version: cfg.highest_version,
                features_supported: cfg.features_supported,
            }),
            notes: Notes::new(cfg.note_limit),
            hostile: Hostile::new(cfg.hostile),
        }
    }

    /// The embedder's platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The embedder's platform, mutably (tests poke guest memory here).
    pub fn platform_mut(&mut self) -> &mut P {
        &mut self.platform
    }

    /// The hypervisor CPUID leaf `leaf` (0x4000_0000..=0x4000_0005).
    pub fn cpuid(&self, leaf: u32) -> Option<CpuidLeaf> {
        cpuid::hypervisor_leaf(leaf, self.cpuid)
    }

    /// WRMSR on `vp`. `Err` is where real hardware raises #GP.
    pub fn wrmsr(&mut self, vp: u32, msr: u32, value: u64) -> Result<(), MsrError> {
        self.hv
            .wrmsr(vp, msr, value, &mut self.platform, &mut self.notes)
    }

    /// RDMSR on `vp`. `Err` is where real hardware raises #GP.
    pub fn rdmsr(&self, vp: u32, msr: u32) -> Result<u64, MsrError> {
        self.hv.rdmsr(vp, msr)
    }

    /// Writes 0 to the EOM MSR of `vp` (§2.4 step 4).
    pub fn eom(&mut self, vp: u32) {
        let _ = self.wrmsr(vp, MSR_EOM, 0);
    }

    /// Advances HV_X64_MSR_TIME_REF_COUNT by `ticks` × 100 ns.
    pub fn advance_time(&mut self, ticks: u64) {
        self.hv.advance_time(ticks);
    }

    /// A hypercall from `vp`: RCX = `control`, RDX, R8 (§1.4). Returns RAX
    /// (status in bits 15:0). Before the hypercall page is enabled real
    /// hardware raises #UD; this host answers INVALID_HYPERCALL_CODE and
    /// notes it.
    pub fn hypercall(&mut self, vp: u32, control: u64, rdx: u64, _r8: u64) -> u64 {
        u64::from(self.hypercall_status(vp, control, rdx))
    }

    fn hypercall_status(&mut self, vp: u32, control: u64, rdx: u64) -> u16 {
        if vp as usize >= self.hv.vps.len() {
            return 0x000E; // HV_STATUS_INVALID_VP_INDEX
        }
        if !self.hv.hypercalls_enabled() {
            self.notes.push(Note::HypercallWithoutPage);
            return status::INVALID_HYPERCALL_CODE;
        }
        let ctl = match decode_control(control) {
            Ok(c) => c,
            Err(s) => return s,
        };
        match ctl.code {
            HVCALL_POST_MESSAGE => {
                if ctl.fast {
                    return status::INVALID_HYPERCALL_INPUT;
                }
                let input = match read_post_input(&self.platform, rdx) {
                    Ok(i) => i,
                    Err(s) => return s,
                };
                if !self.server.listens_on(input.connection_id) {
                    return status::INVALID_CONNECTION_ID;
                }
                if self.hostile.fail_this_post() {
                    return status::INSUFFICIENT_BUFFERS;
                }
                if input.message_type != 1 {
                    self.notes.push(Note::Unsupported {
                        msgtype: input.message_type,
                    });
                    return status::SUCCESS;
                }
                let mut env = env!(self);
                self.server
                    .handle(&mut env, input.connection_id, &input.payload);
                status::SUCCESS
            }
            HVCALL_SIGNAL_EVENT => match signal_input(&self.platform, ctl.fast, rdx) {
                Ok((conn, flag)) => match self.server.signal(conn, flag) {
                    Ok(()) => status::SUCCESS,
                    Err(s) => s,
                },
                Err(s) => s,
            },
            _ => status::INVALID_HYPERCALL_CODE,
        }
    }

    /// One step: every open channel reads its guest → host ring (if
    /// signalled), its device runs, and queued packets go out. Returns
    /// true if anything moved.
    pub fn step(&mut self) -> bool {
        let mut env = env!(self);
        self.server.pump(&mut env, self.poll_rings)
    }

    /// Steps until nothing moves or `max` steps ran; returns the count.
    pub fn run_until_idle(&mut self, max: usize) -> usize {
        let mut n = 0;
        while n < max && self.step() {
            n += 1;
        }
        n
    }

    /// Adds a device. Once offers were sent it is offered at once (§3.5).
    pub fn add_device(&mut self, device: Box<dyn Device>) -> DeviceId {
        let idx = self.server.add(device);
        let mut env = env!(self);
        self.server.offer_late(&mut env, idx);
        DeviceId(idx)
    }

    /// Rescinds a device (hot removal, §3.8). Returns false if unknown or
    /// already rescinded.
    pub fn rescind(&mut self, id: DeviceId) -> bool {
        match self.server.channels.get(id.0) {
            Some(ch) if !ch.removed => {}
            _ => return false,
        }
        let mut env = env!(self);
        self.server.rescind(&mut env, id.0);
        true
    }

    /// The device `id` as its concrete type.
    pub fn device<T: Device>(&self, id: DeviceId) -> Option<&T> {
        self.server
            .channels
            .get(id.0)?
            .device
            .as_any()
            .downcast_ref()
    }

    /// The device `id` as its concrete type, mutably (to inject input).
    pub fn device_mut<T: Device>(&mut self, id: DeviceId) -> Option<&mut T> {
        self.server
            .channels
            .get_mut(id.0)?
            .device
            .as_any_mut()
            .downcast_mut()
    }

    /// The relid device `id` was offered with, if offered.
    pub fn relid(&self, id: DeviceId) -> Option<u32> {
        self.server.channels.get(id.0)?.relid
    }

    /// The connection id of device `id`'s offer (for HvSignalEvent).
    pub fn connection_id(&self, id: DeviceId) -> Option<u32> {
        let ch = self.server.channels.get(id.0)?;
        ch.relid.map(|_| ch.conn_id)
    }

    /// Where device `id`'s channel is in its life.
    pub fn phase(&self, id: DeviceId) -> Option<ChannelPhase> {
        Some(self.server.channels.get(id.0)?.phase())
    }

    /// Why device `id`'s channel stopped, if it did.
    pub fn channel_failure(&self, id: DeviceId) -> Option<ChannelFailure> {
        self.server.channels.get(id.0)?.failure
    }

    /// The current connection, if INITIATE_CONTACT succeeded.
    pub fn connection(&self) -> Option<&Connection> {
        self.server.conn.as_ref()
    }

    /// Complete GPADLs of the connection.
    pub fn gpadl_count(&self) -> usize {
        self.server.gpadls.len()
    }

    /// Frame numbers of every page under a complete GPADL the host holds,
    /// in GPADL order: pages the guest must not have given back to its
    /// own allocator.
    pub fn gpadl_pfns(&self) -> alloc::vec::Vec<u64> {
        self.server
            .gpadls
            .iter()
            .flat_map(|g| g.ranges.iter().flat_map(|r| r.pfns.iter().copied()))
            .collect()
    }

    /// Control messages waiting for `vp`'s SIMP slot 2.
    pub fn queued_messages(&self, vp: u32) -> usize {
        self.hv
            .vps
            .get(vp as usize)
            .map_or(0, |s| s.queued(VMBUS_SINT))
    }

    /// The journal.
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// Empties the journal.
    pub fn clear_notes(&mut self) {
        self.notes.clear();
    }
}
