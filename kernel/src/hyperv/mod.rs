//! Hyper-V: detection, the primitives VMBus runs on, and the VMBus
//! connection itself ([`bus`]).
//!
//! Everything above the [`Hypervisor`] trait is the same on real Hyper-V
//! and under the milestone kernel's simulated host: the trait is the line
//! between them. [`Real`] serves it with CPUID, the synthetic MSRs and the
//! hypercall page (`arch::hyperv`); the M7 checks serve it with the
//! `vmbus-host` model on a thread of its own, whose synthetic interrupts
//! arrive through the IDT like Hyper-V's.
#![forbid(unsafe_code)]

pub mod bound;
pub mod bus;
pub mod channel;

use ::vmbus::synic;
use alloc::string::String;
use core::fmt;

/// Why a Hyper-V primitive failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HvError {
    /// The MSR does not exist (or is refused) on this hypervisor.
    Msr(u32),
    /// No memory for a page the hypervisor needs.
    Memory,
    /// The hypervisor lacks what the caller needs.
    Missing(&'static str),
    /// The hypervisor did not answer a request that gave it pages; it may
    /// still use them, so they are kept (see `channel::keep`).
    Unanswered(&'static str),
}

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Msr(m) => write!(f, "MSR {m:#x} refused"),
            Self::Memory => f.write_str("no memory for a hypervisor page"),
            Self::Missing(what) => write!(f, "the hypervisor lacks {what}"),
            Self::Unanswered(what) => write!(
                f,
                "the hypervisor did not answer {what} in time (the pages it was given are kept)"
            ),
        }
    }
}

/// The primitives VMBus needs of the hypervisor (sheet §1, §2).
pub trait Hypervisor: Send + Sync {
    /// What serves them, for the log.
    fn name(&self) -> &'static str;
    /// CPUID leaf `leaf` (EAX, EBX, ECX, EDX).
    fn cpuid(&self, leaf: u32) -> [u32; 4];
    /// Reads synthetic MSR `msr`.
    fn rdmsr(&self, msr: u32) -> Result<u64, HvError>;
    /// Writes synthetic MSR `msr`.
    fn wrmsr(&self, msr: u32, value: u64) -> Result<(), HvError>;
    /// A hypercall: `control` (code, flags), input and output GPAs (or, for
    /// a fast call, the input itself in `input`). Returns the result value.
    fn hypercall(&self, control: u64, input: u64, output: u64) -> u64;
    /// Sets the guest OS id and enables the hypercall page (sheet §1.3);
    /// once is enough, later calls do nothing.
    fn enable_hypercalls(&self) -> Result<(), HvError>;
}

/// What CPUID says about Hyper-V.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detection {
    /// No hypervisor bit, or another hypervisor (its vendor string).
    Absent(String),
    /// Hyper-V, with the privilege mask (CPUID 0x4000_0003 EAX) and the
    /// recommendations (0x4000_0004 EAX).
    HyperV {
        /// Partition privileges.
        privileges: u32,
        /// Recommendations.
        recommendations: u32,
    },
}

/// Reads CPUID through `hv` (sheet §1.1).
pub fn detect(hv: &dyn Hypervisor) -> Detection {
    let [_, _, ecx, _] = hv.cpuid(1);
    if ecx & synic::CPUID_HYPERVISOR_PRESENT_BIT == 0 {
        return Detection::Absent("no hypervisor bit".into());
    }
    let [max, b, c, d] = hv.cpuid(synic::CPUID_VENDOR_LEAF);
    let mut vendor = String::new();
    for word in [b, c, d] {
        for byte in word.to_le_bytes() {
            vendor.push(if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '.'
            });
        }
    }
    let [interface, ..] = hv.cpuid(synic::CPUID_INTERFACE_LEAF);
    if [b, c, d] != synic::CPUID_VENDOR_MICROSOFT
        || interface != synic::CPUID_INTERFACE_HV1
        || max < synic::CPUID_RECOMMENDATIONS_LEAF
    {
        return Detection::Absent(vendor);
    }
    Detection::HyperV {
        privileges: hv.cpuid(synic::CPUID_FEATURES_LEAF)[0],
        recommendations: hv.cpuid(synic::CPUID_RECOMMENDATIONS_LEAF)[0],
    }
}

/// How long the boot waits for the host's offers.
const OFFERS_NS: u64 = 5_000_000_000;

/// At boot: under Hyper-V, enables hypercalls and connects VMBus (its
/// offers become devices on the `vmbus` node); elsewhere says why not.
pub fn init() {
    let real = Real;
    let privileges = match detect(&real) {
        Detection::Absent(vendor) => {
            log::info!("hyperv: not running under Hyper-V ({vendor}); no VMBus");
            return;
        }
        Detection::HyperV { privileges, .. } => privileges,
    };
    if let Err(e) = check_privileges(privileges) {
        log::error!("hyperv: {e}; no VMBus");
        return;
    }
    let config = ::vmbus::ClientConfig {
        target_vcpu: real.rdmsr(synic::MSR_VP_INDEX).map_or(0, |v| v as u32),
        ..::vmbus::ClientConfig::default()
    };
    match bus::Connection::start(alloc::sync::Arc::new(Real), "vmbus", config) {
        Ok(c) => {
            if !c.bind_offers(OFFERS_NS) {
                log::warn!("hyperv: the host's offers did not all come in time");
            }
        }
        Err(e) => log::error!("hyperv: VMBus: {e}"),
    }
}

/// Checks that the partition may use the SynIC, the hypercall page and
/// its VP index (sheet §1.1).
pub fn check_privileges(privileges: u32) -> Result<(), HvError> {
    let need = [
        (synic::PRIVILEGE_SYNIC_MSRS, "the SynIC MSRs"),
        (synic::PRIVILEGE_HYPERCALL_MSRS, "the hypercall MSRs"),
        (synic::PRIVILEGE_VP_INDEX, "the VP index MSR"),
    ];
    match need.iter().find(|(bit, _)| privileges & bit == 0) {
        Some((_, what)) => Err(HvError::Missing(what)),
        None => Ok(()),
    }
}

/// Real Hyper-V: CPUID, the synthetic MSRs and the hypercall page.
pub struct Real;

impl Hypervisor for Real {
    fn name(&self) -> &'static str {
        "Hyper-V"
    }

    fn cpuid(&self, leaf: u32) -> [u32; 4] {
        let r = crate::arch::cpu::cpuid(leaf, 0);
        [r.eax, r.ebx, r.ecx, r.edx]
    }

    fn rdmsr(&self, msr: u32) -> Result<u64, HvError> {
        crate::arch::hyperv::read_synthetic_msr(msr).ok_or(HvError::Msr(msr))
    }

    fn wrmsr(&self, msr: u32, value: u64) -> Result<(), HvError> {
        crate::arch::hyperv::write_synthetic_msr(msr, value)
            .then_some(())
            .ok_or(HvError::Msr(msr))
    }

    fn hypercall(&self, control: u64, input: u64, output: u64) -> u64 {
        // HV_STATUS_INVALID_HYPERCALL_CODE (2) before the page exists.
        crate::arch::hyperv::hypercall(control, input, output).unwrap_or(2)
    }

    fn enable_hypercalls(&self) -> Result<(), HvError> {
        self.wrmsr(synic::MSR_GUEST_OS_ID, synic::GUEST_OS_ID_FERRITE)?;
        crate::arch::hyperv::enable_hypercall_page().map_err(|_| HvError::Memory)
    }
}
