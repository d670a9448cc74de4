//! Hypervisor-level facts: synthetic MSRs, hypercalls, SynIC pages.
//!
//! Follows facts sheet §1 (CPUID, MSRs, hypercall calling convention,
//! HvPostMessage, HvSignalEvent) and §2 (SynIC MSRs, the message page and
//! the event-flags page). Nothing here touches hardware: the kernel's arch
//! layer reads and writes the MSRs and pages, and uses these constants and
//! pure helpers to compute the values.

mod event_flags;
mod slot;
mod status;

pub use event_flags::{event_bit, pending_relids, set_event, test_and_clear};
pub use slot::{post_message_input, SynicError, SynicMessage, MESSAGE_PENDING};
pub use status::HvStatus;

/// CPUID leaf 1, ECX bit 31: a hypervisor is present (§1.1).
pub const CPUID_HYPERVISOR_PRESENT_BIT: u32 = 1 << 31;
/// CPUID leaf with the vendor signature and the highest hypervisor leaf.
pub const CPUID_VENDOR_LEAF: u32 = 0x4000_0000;
/// CPUID leaf with the interface signature.
pub const CPUID_INTERFACE_LEAF: u32 = 0x4000_0001;
/// CPUID leaf with the partition privileges (EAX low, EBX high).
pub const CPUID_FEATURES_LEAF: u32 = 0x4000_0003;
/// CPUID leaf with the hypervisor's recommendations.
pub const CPUID_RECOMMENDATIONS_LEAF: u32 = 0x4000_0004;
/// "Micr" "osof" "t Hv" in EBX, ECX, EDX of leaf 0x40000000.
pub const CPUID_VENDOR_MICROSOFT: [u32; 3] = [0x7263_694D, 0x666F_736F, 0x7648_2074];
/// "Hv#1" in EAX of leaf 0x40000001.
pub const CPUID_INTERFACE_HV1: u32 = 0x3123_7648;
/// Leaf 0x40000003 EAX bit 2: SynIC MSRs available.
pub const PRIVILEGE_SYNIC_MSRS: u32 = 1 << 2;
/// Leaf 0x40000003 EAX bit 5: hypercall MSRs available.
pub const PRIVILEGE_HYPERCALL_MSRS: u32 = 1 << 5;
/// Leaf 0x40000003 EAX bit 6: VP_INDEX MSR available.
pub const PRIVILEGE_VP_INDEX: u32 = 1 << 6;
/// Leaf 0x40000004 EAX bit 9: do not use auto-EOI (§2.1).
pub const RECOMMEND_NO_AUTO_EOI: u32 = 1 << 9;

/// HV_X64_MSR_GUEST_OS_ID (§1.2).
pub const MSR_GUEST_OS_ID: u32 = 0x4000_0000;
/// HV_X64_MSR_HYPERCALL.
pub const MSR_HYPERCALL: u32 = 0x4000_0001;
/// HV_X64_MSR_VP_INDEX.
pub const MSR_VP_INDEX: u32 = 0x4000_0002;
/// HV_X64_MSR_TIME_REF_COUNT (100 ns units).
pub const MSR_TIME_REF_COUNT: u32 = 0x4000_0020;
/// SynIC control: bit 0 enables the SynIC (§2.1).
pub const MSR_SCONTROL: u32 = 0x4000_0080;
/// SynIC version (read-only, 1).
pub const MSR_SVERSION: u32 = 0x4000_0081;
/// Event-flags page location.
pub const MSR_SIEFP: u32 = 0x4000_0082;
/// Message page location.
pub const MSR_SIMP: u32 = 0x4000_0083;
/// End of message: write 0 to get the next queued message (§2.4).
pub const MSR_EOM: u32 = 0x4000_0084;
/// SINT0; SINTn is `MSR_SINT0 + n`.
pub const MSR_SINT0: u32 = 0x4000_0090;
/// Synthetic timer 0 configuration (not needed for VMBus).
pub const MSR_STIMER0_CONFIG: u32 = 0x4000_00B0;
/// Synthetic timer 0 count.
pub const MSR_STIMER0_COUNT: u32 = 0x4000_00B1;

/// A guest OS id usable by a hobby kernel (§1.2: any non-zero value).
pub const GUEST_OS_ID_FERRITE: u64 = 0x8000_0000_0000_0001;

/// The SINT that VMBus uses (§2.1).
pub const VMBUS_SINT: u8 = 2;
/// Bytes in a SynIC page.
pub const PAGE_SIZE: usize = 4096;
/// Bytes in one message slot or one event-flags bitmap.
pub const SLOT_SIZE: usize = 256;
/// Most payload bytes in a SynIC message (§1.5, §2.2).
pub const MAX_PAYLOAD: usize = 240;
/// Offset of the VMBus slot in the message page (SINT2 → 0x200).
pub const VMBUS_SLOT_OFFSET: usize = VMBUS_SINT as usize * SLOT_SIZE;
/// Offset of the VMBus bitmap in the event-flags page.
pub const VMBUS_EVENT_FLAGS_OFFSET: usize = VMBUS_SINT as usize * SLOT_SIZE;
/// Message type of VMBus channel messages, posted and received (§3.1).
pub const MESSAGE_TYPE_VMBUS: u32 = 1;

/// HvPostMessage call code (§1.5).
pub const HVCALL_POST_MESSAGE: u16 = 0x005C;
/// HvSignalEvent call code (§1.6).
pub const HVCALL_SIGNAL_EVENT: u16 = 0x005D;
/// Control value bit 16: fast (register) call.
pub const HYPERCALL_FAST: u64 = 1 << 16;
/// Size of the HvPostMessage input block.
pub const POST_MESSAGE_INPUT_SIZE: usize = 256;

/// SINTx bit 16: masked.
pub const SINT_MASKED: u64 = 1 << 16;
/// SINTx bit 17: auto-EOI.
pub const SINT_AUTO_EOI: u64 = 1 << 17;
/// SIMP/SIEFP/HYPERCALL bit 0: enable.
pub const PAGE_MSR_ENABLE: u64 = 1;

/// The control value (RCX) of a simple, non-rep hypercall (§1.4).
pub const fn hypercall_control(code: u16, fast: bool) -> u64 {
    code as u64 | if fast { HYPERCALL_FAST } else { 0 }
}

/// The status in bits 15:0 of a hypercall result value (RAX).
pub fn hypercall_status(result: u64) -> HvStatus {
    HvStatus::from_code(result as u16)
}

/// RDX of a fast HvSignalEvent: `connection_id | flag_number << 32` (§1.6).
pub const fn signal_event_input(connection_id: u32, flag_number: u16) -> u64 {
    (connection_id & CONNECTION_ID_MASK) as u64 | (flag_number as u64) << 32
}

/// Only bits 23:0 of a connection id are the id (§1.5).
pub const CONNECTION_ID_MASK: u32 = 0x00FF_FFFF;

/// New value for SIMP, SIEFP or HYPERCALL: enable a page at `pfn`, keeping
/// the old value's preserved bits 11:1 (§1.3, §2.1).
pub const fn page_msr_value(old: u64, pfn: u64) -> u64 {
    (old & 0xFFE) | pfn << 12 | PAGE_MSR_ENABLE
}

/// New value for a SINTx MSR: `vector`, unmasked, with or without auto-EOI,
/// keeping the old value's reserved bits (read-modify-write, §2.1).
pub const fn sint_value(old: u64, vector: u8, auto_eoi: bool) -> u64 {
    let cleared = old & !(0xFF | SINT_MASKED | SINT_AUTO_EOI);
    cleared | vector as u64 | if auto_eoi { SINT_AUTO_EOI } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_values() {
        assert_eq!(hypercall_control(HVCALL_POST_MESSAGE, false), 0x5C);
        assert_eq!(hypercall_control(HVCALL_SIGNAL_EVENT, true), 0x1_005D);
        assert_eq!(signal_event_input(0x2008, 0), 0x2008);
        assert_eq!(signal_event_input(0x2008, 3), 0x3_0000_2008);
        assert_eq!(
            hypercall_status(0x0000_0001_0000_0012),
            HvStatus::InvalidConnectionId
        );
    }

    #[test]
    fn msr_values() {
        // Bits 11:1 preserved, old PFN replaced.
        assert_eq!(page_msr_value(0xABC0_0FFE, 0x1234), 0x123_4FFF);
        let v = sint_value(0x1_0000 | 0x8000_0000_0000, 0x30, true);
        assert_eq!(v, 0x8000_0000_0000 | SINT_AUTO_EOI | 0x30);
    }
}
