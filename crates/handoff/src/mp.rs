//! Planning the MP start-up: who to start, IPIs, the AP parameter block.
//!
//! The loader starts each application processor (AP) with INIT, SIPI,
//! SIPI (Intel SDM Vol. 3A §9.4.4.1) after ExitBootServices; this module
//! holds everything about that which needs no hardware (§5, §8 "MP").

use crate::cpus::MadtCpu;
use alloc::vec::Vec;

/// Wait after INIT before the first SIPI (SDM Vol. 3A §9.4.4.1: 10 ms).
pub const INIT_WAIT_US: u64 = 10_000;
/// Wait between the two SIPIs (SDM Vol. 3A §9.4.4.1: 200 µs).
pub const SIPI_WAIT_US: u64 = 200;
/// How long the BSP waits for one AP to report itself parked.
pub const AP_TIMEOUT_US: u64 = 100_000;

/// A CPU that goes into the MP response if it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedCpu {
    /// ACPI processor UID (`processor_id`).
    pub uid: u32,
    /// Local APIC id (`lapic_id`).
    pub apic_id: u32,
    /// The bootstrap CPU (already running, not started).
    pub bsp: bool,
}

/// Why a MADT processor is not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Its APIC id does not fit an xAPIC destination (8 bits, 0xff is
    /// the broadcast); it needs x2APIC mode.
    NeedsX2apic,
    /// Its id is the x2APIC broadcast 0xffff_ffff.
    Broadcast,
}

/// The CPU list of the MP response, before any AP is started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MpPlan {
    /// In MADT order, the BSP in its place (or first if the MADT does
    /// not list it).
    pub cpus: Vec<PlannedCpu>,
    /// Processors that cannot be started in the chosen APIC mode.
    pub unreachable: Vec<(MadtCpu, Unreachable)>,
    /// Whether the MADT listed the BSP.
    pub bsp_listed: bool,
}

impl MpPlan {
    /// Indices into `cpus` of the APs to start.
    pub fn aps(&self) -> impl Iterator<Item = usize> + '_ {
        self.cpus
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.bsp)
            .map(|(i, _)| i)
    }
}

/// Decides which MADT processors to start, given the BSP's APIC id and
/// whether x2APIC mode will be on.
#[must_use]
pub fn plan(madt: &[MadtCpu], bsp_apic_id: u32, x2apic: bool) -> MpPlan {
    let mut out = MpPlan::default();
    for cpu in madt {
        let bsp = cpu.apic_id == bsp_apic_id;
        if bsp {
            out.bsp_listed = true;
        } else if cpu.apic_id == u32::MAX {
            out.unreachable.push((*cpu, Unreachable::Broadcast));
            continue;
        } else if !x2apic && cpu.apic_id >= 0xff {
            out.unreachable.push((*cpu, Unreachable::NeedsX2apic));
            continue;
        }
        out.cpus.push(PlannedCpu {
            uid: cpu.uid,
            apic_id: cpu.apic_id,
            bsp,
        });
    }
    if !out.bsp_listed {
        out.cpus.insert(
            0,
            PlannedCpu {
                uid: 0,
                apic_id: bsp_apic_id,
                bsp: true,
            },
        );
    }
    out
}

/// Moves the pointers of CPUs that `started` to the front of `ptrs`,
/// keeping their order, and returns how many there are (the response's
/// `cpu_count`). Runs after ExitBootServices, so it works in place.
pub fn compact(ptrs: &mut [u64], started: &[bool]) -> usize {
    let mut kept = 0;
    for i in 0..ptrs.len() {
        if started.get(i).copied().unwrap_or(false) {
            ptrs[kept] = ptrs[i];
            kept += 1;
        }
    }
    kept
}

/// An inter-processor interrupt of the start-up sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipi {
    /// INIT, level assert.
    Init,
    /// Start-up (SIPI): the AP starts in real mode at `vector << 12`.
    Startup {
        /// Page number of the real-mode entry (below 1 MiB).
        vector: u8,
    },
}

impl Ipi {
    /// The ICR's low 32 bits (SDM Vol. 3A §11.6.1, Figure 11-12):
    /// delivery mode in bits 8–10 (INIT 101, start-up 110), level assert
    /// (bit 14), physical destination, no shorthand.
    #[must_use]
    pub const fn icr_low(self) -> u32 {
        const ASSERT: u32 = 1 << 14;
        match self {
            Self::Init => ASSERT | 0b101 << 8,
            Self::Startup { vector } => ASSERT | 0b110 << 8 | vector as u32,
        }
    }

    /// ICR as the x2APIC MSR 0x830 takes it: destination in bits 63:32
    /// (SDM Vol. 3A §11.12.9).
    #[must_use]
    pub const fn x2apic_icr(self, dest: u32) -> u64 {
        (dest as u64) << 32 | self.icr_low() as u64
    }

    /// ICR as the xAPIC takes it: the high word (destination in bits
    /// 31:24, written first) and the low word (written last, it sends).
    #[must_use]
    pub const fn xapic_icr(self, dest: u8) -> (u32, u32) {
        ((dest as u32) << 24, self.icr_low())
    }
}

/// xAPIC ICR low/high register offsets from the APIC base (SDM Vol. 3A
/// §11.4.1, Table 11-1).
pub const XAPIC_ICR_LOW: u64 = 0x300;
/// See [`XAPIC_ICR_LOW`].
pub const XAPIC_ICR_HIGH: u64 = 0x310;
/// xAPIC ICR delivery status bit: 1 while the IPI is being sent.
pub const XAPIC_ICR_PENDING: u32 = 1 << 12;
/// x2APIC ICR MSR (SDM Vol. 3A §11.12.1.2).
pub const X2APIC_ICR_MSR: u32 = 0x830;
/// IA32_APIC_BASE MSR and its bits (SDM Vol. 3A §11.4.4, §11.12.1):
/// bit 11 global enable, bit 10 x2APIC mode, bits 12+ the MMIO base.
pub const IA32_APIC_BASE: u32 = 0x1b;
/// IA32_APIC_BASE bit 11.
pub const APIC_GLOBAL_ENABLE: u64 = 1 << 11;
/// IA32_APIC_BASE bit 10.
pub const APIC_X2APIC_MODE: u64 = 1 << 10;

/// The SIPI vector for a real-mode entry page at `phys`: its page
/// number, if the page is 4 KiB aligned, not page 0 and below 1 MiB.
#[must_use]
pub fn sipi_vector(phys: u64) -> Option<u8> {
    if !phys.is_multiple_of(crate::PAGE_SIZE) || phys == 0 {
        return None;
    }
    u8::try_from(phys >> 12).ok()
}

/// TSC ticks per microsecond, measured against a firmware delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TscRate {
    ticks_per_us: u64,
}

impl TscRate {
    /// From `ticks` counted over `us` microseconds; `None` when the
    /// counter did not advance at least one tick per microsecond (no
    /// usable TSC).
    #[must_use]
    pub fn measured(ticks: u64, us: u64) -> Option<Self> {
        let ticks_per_us = ticks.checked_div(us)?;
        (ticks_per_us > 0).then_some(Self { ticks_per_us })
    }

    /// Ticks per microsecond.
    #[must_use]
    pub fn ticks_per_us(self) -> u64 {
        self.ticks_per_us
    }

    /// The TSC value `us` microseconds after `now` (saturating).
    #[must_use]
    pub fn deadline(self, now: u64, us: u64) -> u64 {
        now.saturating_add(self.ticks_per_us.saturating_mul(us))
    }
}

/// MTRR MSRs (SDM Vol. 3A §12.11.1, §12.11.2): capability, default type,
/// the fixed ranges and the first variable range base.
pub mod mtrr {
    /// IA32_MTRRCAP: VCNT in bits 0–7, fixed ranges supported in bit 8.
    pub const CAP: u32 = 0xfe;
    /// IA32_MTRR_DEF_TYPE.
    pub const DEF_TYPE: u32 = 0x2ff;
    /// IA32_MTRR_PHYSBASE0; PHYSMASKn follows each PHYSBASEn.
    pub const PHYS_BASE0: u32 = 0x200;
    /// The eleven fixed-range MTRRs.
    pub const FIXED: [u32; 11] = [
        0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
    ];

    /// The MSRs to copy from the BSP to an AP, given IA32_MTRRCAP: the
    /// variable pairs, the fixed ranges if supported, and the default
    /// type last (its enable bits switch the copied ranges on).
    pub fn msrs(cap: u64) -> impl Iterator<Item = u32> {
        let variable = (cap & 0xff) as u32;
        let fixed: &'static [u32] = if cap & (1 << 8) != 0 { &FIXED } else { &[] };
        (0..2 * variable)
            .map(|i| PHYS_BASE0 + i)
            .chain(fixed.iter().copied())
            .chain(core::iter::once(DEF_TYPE))
    }
}

/// One MSR the AP writes: number and value (16 bytes, the layout the
/// trampoline reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MsrValue {
    /// MSR number (ECX).
    pub msr: u64,
    /// Value (EDX:EAX).
    pub value: u64,
}

/// `ApParams::flags` bit 0: write IA32_PAT as the BSP does (§7).
pub const AP_PAT: u64 = 1 << 0;
/// `ApParams::flags` bit 1: switch the local APIC to x2APIC mode.
pub const AP_X2APIC: u64 = 1 << 1;
/// `ApParams::flags` bit 2: copy the `mtrrs` list with the SDM's
/// cache-disabled procedure (SDM Vol. 3A §12.11.8).
pub const AP_MTRRS: u64 = 1 << 2;

/// Room for MTRR values in the parameter block.
pub const AP_MAX_MSRS: usize = 96;

/// What the BSP hands the AP trampoline; it lives in the real-mode page
/// at a fixed offset, and the trampoline reads it by `offset_of!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ApParams {
    /// GDTR image for the first `lgdt`: limit in bits 0–15, the linear
    /// address of `gdt` above it.
    pub gdtr_low: u64,
    /// Far pointer (m16:32) to the 32-bit code: offset, then selector.
    pub protected_entry: u64,
    /// Far pointer (m16:32) to the 64-bit code at its low address.
    pub long_entry: u64,
    /// PML4 (physical, below 4 GiB).
    pub cr3: u64,
    /// EFER to write before paging: LME, and NXE like the BSP.
    pub efer: u64,
    /// HHDM offset (§7).
    pub hhdm: u64,
    /// HHDM address of the §8 GDTR image (the one the BSP loads).
    pub gdtr_hhdm: u64,
    /// This AP's stack top (HHDM, 16-byte aligned).
    pub stack_top: u64,
    /// This AP's `limine_smp_info` (HHDM).
    pub info: u64,
    /// [`AP_PAT`], [`AP_X2APIC`], [`AP_MTRRS`].
    pub flags: u64,
    /// The AP stores 1 here once parked; the BSP clears it per AP.
    pub booted: u64,
    /// Entries used in `mtrrs`.
    pub mtrr_count: u64,
    /// The §8 GDT, for the real → long mode steps.
    pub gdt: [u64; 7],
    /// Padding so `mtrrs` starts 16-byte aligned.
    pub pad: u64,
    /// MTRR values to copy.
    pub mtrrs: [MsrValue; AP_MAX_MSRS],
}

impl ApParams {
    /// The GDTR image for `limit` and linear `base` (below 4 GiB).
    #[must_use]
    pub const fn gdtr(limit: u16, base: u32) -> u64 {
        limit as u64 | (base as u64) << 16
    }

    /// An m16:32 far pointer.
    #[must_use]
    pub const fn far_pointer(selector: u16, offset: u32) -> u64 {
        offset as u64 | (selector as u64) << 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(uid: u32, apic_id: u32) -> MadtCpu {
        MadtCpu {
            uid,
            apic_id,
            x2apic_entry: apic_id > 0xfe,
        }
    }

    fn planned(uid: u32, apic_id: u32, bsp: bool) -> PlannedCpu {
        PlannedCpu { uid, apic_id, bsp }
    }

    #[test]
    fn plan_keeps_madt_order_and_marks_the_bsp() {
        let madt = [cpu(0, 0), cpu(1, 1), cpu(2, 2), cpu(3, 3)];
        let p = plan(&madt, 2, false);
        assert!(p.bsp_listed);
        assert_eq!(
            p.cpus,
            [
                planned(0, 0, false),
                planned(1, 1, false),
                planned(2, 2, true),
                planned(3, 3, false)
            ]
        );
        assert_eq!(p.aps().collect::<Vec<_>>(), [0, 1, 3]);
        assert!(p.unreachable.is_empty());
    }

    #[test]
    fn plan_adds_a_missing_bsp_first() {
        let p = plan(&[cpu(4, 1)], 0, false);
        assert!(!p.bsp_listed);
        assert_eq!(p.cpus, [planned(0, 0, true), planned(4, 1, false)]);
        let p = plan(&[], 7, true);
        assert_eq!(p.cpus, [planned(0, 7, true)]);
        assert_eq!(p.aps().count(), 0);
    }

    #[test]
    fn plan_leaves_out_ids_the_apic_mode_cannot_reach() {
        let madt = [cpu(0, 0), cpu(1, 0xff), cpu(2, 0x100), cpu(3, u32::MAX)];
        let p = plan(&madt, 0, false);
        assert_eq!(p.cpus, [planned(0, 0, true)]);
        assert_eq!(
            p.unreachable,
            [
                (cpu(1, 0xff), Unreachable::NeedsX2apic),
                (cpu(2, 0x100), Unreachable::NeedsX2apic),
                (cpu(3, u32::MAX), Unreachable::Broadcast)
            ]
        );
        let p = plan(&madt, 0, true);
        assert_eq!(p.cpus.len(), 3);
        assert_eq!(p.unreachable, [(cpu(3, u32::MAX), Unreachable::Broadcast)]);
    }

    #[test]
    fn compact_keeps_started_cpus_in_order() {
        let mut ptrs = [10, 11, 12, 13, 14];
        let n = compact(&mut ptrs, &[true, false, true, false, true]);
        assert_eq!(&ptrs[..n], [10, 12, 14]);
        let mut ptrs = [10, 11];
        assert_eq!(
            compact(&mut ptrs, &[false]),
            0,
            "missing flags: not started"
        );
        let mut ptrs = [10];
        assert_eq!(compact(&mut ptrs, &[true]), 1);
    }

    #[test]
    fn ipi_encodings() {
        assert_eq!(Ipi::Init.icr_low(), 0x4500);
        assert_eq!(Ipi::Startup { vector: 0x9e }.icr_low(), 0x469e);
        assert_eq!(Ipi::Init.xapic_icr(3), (0x0300_0000, 0x4500));
        assert_eq!(
            Ipi::Startup { vector: 8 }.x2apic_icr(0x1_0002),
            0x0001_0002_0000_4608
        );
    }

    #[test]
    fn sipi_vectors() {
        assert_eq!(sipi_vector(0x9e000), Some(0x9e));
        assert_eq!(sipi_vector(0x1000), Some(1));
        assert_eq!(sipi_vector(0), None);
        assert_eq!(sipi_vector(0x9e800), None);
        assert_eq!(sipi_vector(0x10_0000), None);
    }

    #[test]
    fn tsc_rate_and_deadlines() {
        assert_eq!(TscRate::measured(1000, 0), None);
        assert_eq!(TscRate::measured(5, 10), None);
        let r = TscRate::measured(30_000_123, 10_000).unwrap();
        assert_eq!(r.ticks_per_us(), 3000);
        assert_eq!(r.deadline(100, 2), 6100);
        assert_eq!(r.deadline(u64::MAX - 1, 5), u64::MAX);
    }

    #[test]
    fn mtrr_list_follows_the_capabilities() {
        let all: Vec<u32> = mtrr::msrs(0x508).collect();
        assert_eq!(all.len(), 16 + 11 + 1);
        assert_eq!(all[..3], [0x200, 0x201, 0x202]);
        assert_eq!(all[15], 0x20f);
        assert_eq!(all[16], 0x250);
        assert_eq!(*all.last().unwrap(), mtrr::DEF_TYPE);
        let none: Vec<u32> = mtrr::msrs(0).collect();
        assert_eq!(none, [mtrr::DEF_TYPE]);
        // VCNT 255 with fixed ranges still fits a u32 range and ends.
        assert_eq!(mtrr::msrs(0x1ff).count(), 510 + 11 + 1);
    }

    #[test]
    fn parameter_block_layout() {
        use core::mem::{offset_of, size_of};
        assert_eq!(offset_of!(ApParams, gdt) % 8, 0);
        assert_eq!(offset_of!(ApParams, mtrrs) % 16, 0);
        assert_eq!(size_of::<MsrValue>(), 16);
        assert!(size_of::<ApParams>() <= 0x800, "fits beside the code");
        assert_eq!(ApParams::gdtr(0x37, 0x9e000), 0x0009_e000_0037);
        assert_eq!(ApParams::far_pointer(0x18, 0x9e040), 0x0000_0018_0009_e040);
    }
}
