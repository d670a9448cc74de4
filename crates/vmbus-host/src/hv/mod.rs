//! The hypervisor layer: MSR numbers, HV_STATUS codes, CPUID, SynIC.
//!
//! Numbers come from sheet §1 (CPUID, MSRs, hypercalls) and §2 (SynIC).

pub mod cpuid;
pub(crate) mod hypercall;
pub(crate) mod partition;
pub(crate) mod synic;

/// HV_X64_MSR_GUEST_OS_ID (§1.2).
pub const MSR_GUEST_OS_ID: u32 = 0x4000_0000;
/// HV_X64_MSR_HYPERCALL (§1.2, §1.3).
pub const MSR_HYPERCALL: u32 = 0x4000_0001;
/// HV_X64_MSR_VP_INDEX (§1.2).
pub const MSR_VP_INDEX: u32 = 0x4000_0002;
/// HV_X64_MSR_TIME_REF_COUNT, 100 ns units (§1.2).
pub const MSR_TIME_REF_COUNT: u32 = 0x4000_0020;
/// SynIC control (§2.1).
pub const MSR_SCONTROL: u32 = 0x4000_0080;
/// SynIC version, read-only 1 (§2.1).
pub const MSR_SVERSION: u32 = 0x4000_0081;
/// Event-flags page (§2.1).
pub const MSR_SIEFP: u32 = 0x4000_0082;
/// Message page (§2.1).
pub const MSR_SIMP: u32 = 0x4000_0083;
/// End of message, write-only (§2.1, §2.4).
pub const MSR_EOM: u32 = 0x4000_0084;
/// SINT0; SINTn is `MSR_SINT0 + n` (§2.1).
pub const MSR_SINT0: u32 = 0x4000_0090;

/// HvPostMessage call code (§1.5).
pub const HVCALL_POST_MESSAGE: u16 = 0x005C;
/// HvSignalEvent call code (§1.6).
pub const HVCALL_SIGNAL_EVENT: u16 = 0x005D;

/// HV_STATUS values of §1.4.
pub mod status {
    /// The call succeeded.
    pub const SUCCESS: u16 = 0x0000;
    /// Unknown call code.
    pub const INVALID_HYPERCALL_CODE: u16 = 0x0002;
    /// Bad control value (fast bit, rep count, reserved bits).
    pub const INVALID_HYPERCALL_INPUT: u16 = 0x0003;
    /// Input block not 8-byte aligned or crossing a page.
    pub const INVALID_ALIGNMENT: u16 = 0x0004;
    /// A field of the input block is out of range.
    pub const INVALID_PARAMETER: u16 = 0x0005;
    /// Access denied.
    pub const ACCESS_DENIED: u16 = 0x0006;
    /// Out of memory (transient).
    pub const INSUFFICIENT_MEMORY: u16 = 0x000B;
    /// The connection id names no port.
    pub const INVALID_CONNECTION_ID: u16 = 0x0012;
    /// The target port's queue is full (transient).
    pub const INSUFFICIENT_BUFFERS: u16 = 0x0013;
}

/// The SINT VMBus uses for messages and channel events (§2.1).
pub const VMBUS_SINT: u8 = 2;

/// Why a `wrmsr`/`rdmsr` would raise #GP on real hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrError {
    /// The MSR is not implemented by this host.
    Unknown(u32),
    /// The MSR is read-only (SVERSION, VP_INDEX, TIME_REF_COUNT).
    ReadOnly(u32),
    /// Reserved bits were set (HYPERCALL bits 11:2, §1.3).
    ReservedBits(u32),
    /// The hypercall MSR is locked (bit 1, §1.3).
    Locked,
    /// A SINT was unmasked with a vector below 16 (§2.1).
    BadVector(u8),
    /// The VP index does not exist.
    NoSuchVp(u32),
}

/// Which instruction the hypercall page stub uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HypercallInstr {
    /// Intel VMX: `vmcall` (0F 01 C1).
    Vmcall,
    /// AMD SVM: `vmmcall` (0F 01 D9).
    Vmmcall,
}

impl HypercallInstr {
    /// The stub written at the start of the hypercall page: the call
    /// instruction followed by `ret` (C3). The sheet only says the
    /// hypervisor "overlays its hypercall code" (§1.3); the bytes are the
    /// x86 encodings of the two instructions.
    pub fn stub(self) -> [u8; 4] {
        match self {
            HypercallInstr::Vmcall => [0x0F, 0x01, 0xC1, 0xC3],
            HypercallInstr::Vmmcall => [0x0F, 0x01, 0xD9, 0xC3],
        }
    }
}
