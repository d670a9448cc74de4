//! CPUID leaves a Hyper-V guest sees (sheet §1.1).
//!
//! The kernel's simulated CPUID returns these for 0x4000_0000.. and ORs
//! [`LEAF1_ECX_HYPERVISOR`] into leaf 1 ECX.

/// CPUID.1:ECX bit 31, "a hypervisor is present" (§1.1).
pub const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;

/// EAX bit 1: TIME_REF_COUNT MSR available.
pub const PRIV_TIME_REF_COUNT: u32 = 1 << 1;
/// EAX bit 2: SynIC MSRs available.
pub const PRIV_SYNIC: u32 = 1 << 2;
/// EAX bit 5: hypercall MSRs available.
pub const PRIV_HYPERCALL: u32 = 1 << 5;
/// EAX bit 6: VP_INDEX MSR available.
pub const PRIV_VP_INDEX: u32 = 1 << 6;
/// EBX bit 4: HvPostMessage allowed.
pub const PRIV_POST_MESSAGES: u32 = 1 << 4;
/// EBX bit 5: HvSignalEvent allowed.
pub const PRIV_SIGNAL_EVENTS: u32 = 1 << 5;
/// Leaf 0x4000_0004 EAX bit 9: "AutoEOI deprecated, don't use it" (§1.1).
pub const RECOMMEND_NO_AUTO_EOI: u32 = 1 << 9;

/// The four registers of one CPUID leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuidLeaf {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Inputs that shape the hypervisor leaves.
#[derive(Debug, Clone, Copy)]
pub struct CpuidParams {
    /// Number of virtual processors (leaf 0x4000_0005).
    pub vp_count: u32,
    /// Set leaf 0x4000_0004 EAX bit 9.
    pub recommend_no_auto_eoi: bool,
}

/// The hypervisor leaf `leaf`, or `None` outside 0x4000_0000..=0x4000_0005.
pub fn hypervisor_leaf(leaf: u32, p: CpuidParams) -> Option<CpuidLeaf> {
    let l = match leaf {
        // Highest leaf 0x4000_0005 and "Microsoft Hv".
        0x4000_0000 => CpuidLeaf {
            eax: 0x4000_0005,
            ebx: 0x7263_694D,
            ecx: 0x666F_736F,
            edx: 0x7648_2074,
        },
        // "Hv#1".
        0x4000_0001 => CpuidLeaf {
            eax: 0x3123_7648,
            ..CpuidLeaf::default()
        },
        // Build 20348, version 10.0 (any value is allowed here).
        0x4000_0002 => CpuidLeaf {
            eax: 20348,
            ebx: 0x000A_0000,
            ..CpuidLeaf::default()
        },
        0x4000_0003 => CpuidLeaf {
            eax: PRIV_TIME_REF_COUNT | PRIV_SYNIC | PRIV_HYPERCALL | PRIV_VP_INDEX,
            ebx: PRIV_POST_MESSAGES | PRIV_SIGNAL_EVENTS,
            // No XMM hypercall input (EDX bit 4): this host reads memory only.
            ..CpuidLeaf::default()
        },
        0x4000_0004 => CpuidLeaf {
            eax: if p.recommend_no_auto_eoi {
                RECOMMEND_NO_AUTO_EOI
            } else {
                0
            },
            // Spinlock retry count "never notify".
            ebx: 0xFFFF_FFFF,
            ..CpuidLeaf::default()
        },
        0x4000_0005 => CpuidLeaf {
            eax: p.vp_count,
            ebx: p.vp_count,
            ..CpuidLeaf::default()
        },
        _ => return None,
    };
    Some(l)
}
