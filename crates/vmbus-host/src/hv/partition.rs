//! Partition-wide MSRs (guest OS id, hypercall page, VP index, reference
//! time) and the per-VP SynICs (sheet §1.2, §1.3, §2.1).

use alloc::vec::Vec;

use super::synic::Synic;
use super::{HypercallInstr, MsrError};
use crate::notes::{MemoryUse, Note, Notes};
use crate::platform::Platform;

/// HYPERCALL MSR bit 0: enable (§1.3).
const HC_ENABLE: u64 = 1;
/// HYPERCALL MSR bit 1: locked (§1.3, OpenVMM's name).
const HC_LOCKED: u64 = 1 << 1;
/// HYPERCALL MSR bits 11:2, refused by OpenVMM (§1.3).
const HC_RESERVED: u64 = 0xFFC;

/// The hypervisor state of one partition.
#[derive(Debug)]
pub(crate) struct Partition {
    guest_os_id: u64,
    hypercall: u64,
    instr: HypercallInstr,
    time: u64,
    pub(crate) vps: Vec<Synic>,
}

impl Partition {
    /// A partition with `vp_count` VPs (at least one).
    pub(crate) fn new(vp_count: u32, instr: HypercallInstr) -> Self {
        Partition {
            guest_os_id: 0,
            hypercall: 0,
            instr,
            time: 0,
            vps: (0..vp_count.max(1)).map(Synic::new).collect(),
        }
    }

    /// True once the guest enabled the hypercall page.
    pub(crate) fn hypercalls_enabled(&self) -> bool {
        self.hypercall & HC_ENABLE != 0
    }

    /// Advances the reference counter by `ticks` of 100 ns.
    pub(crate) fn advance_time(&mut self, ticks: u64) {
        self.time = self.time.wrapping_add(ticks);
    }

    /// RDMSR on `vp`.
    pub(crate) fn rdmsr(&self, vp: u32, msr: u32) -> Result<u64, MsrError> {
        let synic = self.vps.get(vp as usize).ok_or(MsrError::NoSuchVp(vp))?;
        match msr {
            super::MSR_GUEST_OS_ID => Ok(self.guest_os_id),
            super::MSR_HYPERCALL => Ok(self.hypercall),
            super::MSR_VP_INDEX => Ok(u64::from(vp)),
            super::MSR_TIME_REF_COUNT => Ok(self.time),
            m => synic.rdmsr(m),
        }
    }

    /// WRMSR on `vp`.
    pub(crate) fn wrmsr(
        &mut self,
        vp: u32,
        msr: u32,
        value: u64,
        mem: &mut dyn Platform,
        notes: &mut Notes,
    ) -> Result<(), MsrError> {
        if vp as usize >= self.vps.len() {
            return Err(MsrError::NoSuchVp(vp));
        }
        match msr {
            super::MSR_GUEST_OS_ID => {
                self.guest_os_id = value;
                if value == 0 {
                    // TLFS: a zero id disables the hypercall page (§1.2).
                    self.hypercall &= !HC_ENABLE;
                }
                Ok(())
            }
            super::MSR_HYPERCALL => self.write_hypercall(value, mem, notes),
            super::MSR_VP_INDEX | super::MSR_TIME_REF_COUNT => Err(MsrError::ReadOnly(msr)),
            m => self.vps[vp as usize].wrmsr(m, value, mem, notes),
        }
    }

    fn write_hypercall(
        &mut self,
        value: u64,
        mem: &mut dyn Platform,
        notes: &mut Notes,
    ) -> Result<(), MsrError> {
        if self.hypercall & HC_LOCKED != 0 {
            return Err(MsrError::Locked);
        }
        if value & HC_RESERVED != 0 {
            return Err(MsrError::ReservedBits(super::MSR_HYPERCALL));
        }
        let mut v = value;
        if self.guest_os_id == 0 {
            // TLFS: the page stays disabled until a guest OS id is set.
            v &= !HC_ENABLE;
        }
        self.hypercall = v;
        if v & HC_ENABLE != 0 {
            let gpa = v & !0xFFF;
            let mut page = alloc::vec![0u8; 4096];
            page[..4].copy_from_slice(&self.instr.stub());
            if mem.write_guest(gpa, &page).is_err() {
                notes.push(Note::MemoryFault {
                    what: MemoryUse::HypercallPage,
                    gpa,
                });
            }
        }
        Ok(())
    }
}
