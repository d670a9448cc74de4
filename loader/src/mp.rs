//! The MP request: finds the CPUs, starts and parks the APs (§5, §8).
//!
//! Before ExitBootServices [`prepare`] lists the CPUs from the MADT,
//! allocates the real-mode page, the AP stacks and the response, and
//! calibrates the TSC; [`Prepared::set_tables`] fills the trampoline's
//! fixed parameters once the page tables exist. After ExitBootServices
//! [`Prepared::start`] sends INIT-SIPI-SIPI to one AP after the other
//! (no firmware MP services: OVMF's re-INIT at ExitBootServices would
//! undo anything started earlier) and completes the response with the
//! CPUs that reported in.

use crate::ap_trampoline::{self, PARAMS_OFFSET};
use crate::arena::{hhdm, Arena};
use crate::console::say;
use crate::cpu;
use crate::error::LoaderError;
use crate::ipi::{self, Apic};
use crate::memory::{phys_bytes, Tracker};
use crate::serial::Com1;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::AtomicU64;
use handoff::cpus::madt_cpus;
use handoff::memmap::MemType;
use handoff::mp::{
    self, mtrr, ApParams, Ipi, MpPlan, MsrValue, TscRate, Unreachable, AP_MAX_MSRS, AP_MTRRS,
    AP_PAT, AP_X2APIC,
};
use handoff::responses::{MpResponse, SmpInfo, GDT, GDT_LIMIT, MP_X2APIC};
use handoff::{HHDM_OFFSET, PAGE_SIZE};

/// The real-mode page must end below the EBDA (conventional memory ends
/// at 0x9f000 or lower on PCs), so its page number is a SIPI vector.
const REAL_MODE_LIMIT: u64 = 0x9_efff;
/// TSC calibration interval against the firmware's Stall().
const CALIBRATION_US: u64 = 10_000;
/// Selectors of the §8 GDT used on the way up.
const CODE32: u16 = 0x18;
const CODE64: u16 = 0x28;
/// EFER.LME and EFER.NXE (SDM Vol. 3A §2.2.1).
const EFER_LME: u64 = 1 << 8;
const EFER_NXE: u64 = 1 << 11;

/// Where the response lives in the arena.
#[derive(Clone, Copy)]
pub struct Slots {
    /// The [`MpResponse`] (physical).
    response: u64,
    /// One [`SmpInfo`] a planned CPU (physical).
    infos: u64,
    /// The pointer array (physical), one slot a planned CPU.
    pointers: u64,
}

/// What the AP start needs, gathered while boot services run.
pub struct Prepared {
    plan: MpPlan,
    /// Real-mode page and its SIPI vector; `None`: start no AP (the
    /// response then lists the BSP alone).
    page: Option<(u64, u8)>,
    /// Per planned CPU: HHDM stack top (0 for the BSP and for APs that
    /// are not started).
    stacks: Vec<u64>,
    /// Per planned CPU: reported in (the BSP from the start).
    started: Vec<bool>,
    x2apic: bool,
    bsp_apic_id: u32,
    rate: Option<TscRate>,
}

/// Lists the CPUs and allocates everything the start needs. `None`
/// leaves the request unanswered (no local APIC or no MADT, as Limine).
pub fn prepare(
    request_flags: u64,
    madt: Option<&[u8]>,
    dmar: Option<&[u8]>,
    stack_size: u64,
    tracker: &mut Tracker,
) -> Result<Option<Prepared>, LoaderError> {
    if !cpu::has_apic() {
        say!("MP: no local APIC; MP request left unanswered");
        return Ok(None);
    }
    let Some(madt) = madt else {
        say!("MP: no MADT; MP request left unanswered");
        return Ok(None);
    };
    let found = madt_cpus(madt);
    #[cfg(feature = "mp-check")]
    let found = crate::mp_check::with_phantom(found);
    if let Some(e) = found.error {
        say!("MP: {e}; using the {} CPU(s) before it", found.cpus.len());
    }
    let x2apic = choose_x2apic(request_flags, dmar);
    let bsp_apic_id = cpu::apic_id(x2apic);
    let plan = mp::plan(&found.cpus, bsp_apic_id, x2apic);
    for (c, why) in &plan.unreachable {
        let why = match why {
            Unreachable::NeedsX2apic => "needs x2APIC mode",
            Unreachable::Broadcast => "is the broadcast id",
        };
        say!("MP: CPU with APIC id {} {why}; not started", c.apic_id);
    }
    if !plan.bsp_listed {
        say!("MP: the MADT does not list the BSP (APIC id {bsp_apic_id}); added it");
    }
    let mut page = None;
    let mut rate = None;
    if plan.aps().next().is_some() {
        rate = calibrate();
        page = match rate {
            Some(_) => real_mode_page(tracker),
            None => {
                say!("MP: no usable TSC for the start-up delays");
                None
            }
        };
        if page.is_none() {
            say!("MP: APs not started");
        }
    }
    let mut stacks = vec![0; plan.cpus.len()];
    let mut to_start = 0;
    if page.is_some() {
        for i in plan.aps() {
            let pages = stack_size / PAGE_SIZE;
            match tracker.alloc(pages, MemType::BootloaderReclaimable, false) {
                Ok(base) => stacks[i] = hhdm(base + stack_size),
                Err(e) => {
                    // A huge (or bogus) MADT must not stop the boot.
                    say!("MP: no memory for more AP stacks ({e}); starting {to_start} AP(s)");
                    break;
                }
            }
            to_start += 1;
        }
    }
    let started = plan.cpus.iter().map(|c| c.bsp).collect();
    say!(
        "MP: {} CPU(s) in the MADT, {to_start} AP(s) to start, BSP APIC id {bsp_apic_id}, x2APIC {}",
        found.cpus.len(),
        if x2apic { "on" } else { "off" }
    );
    Ok(Some(Prepared {
        plan,
        page,
        stacks,
        started,
        x2apic,
        bsp_apic_id,
        rate,
    }))
}

/// x2APIC mode when the kernel asks, the CPU has it and the DMAR does
/// not opt out (Intel VT-d §8.1); also when the firmware left it on,
/// since only a full APIC disable leads back to xAPIC mode (SDM Vol. 3A
/// §11.12.5).
fn choose_x2apic(request_flags: u64, dmar: Option<&[u8]>) -> bool {
    // SAFETY: the caller checked CPUID for a local APIC, so
    // IA32_APIC_BASE exists; reading it changes nothing.
    let base = unsafe { cpu::rdmsr(mp::IA32_APIC_BASE) };
    if base & mp::APIC_X2APIC_MODE != 0 {
        say!("MP: the firmware left the APIC in x2APIC mode; keeping it");
        return true;
    }
    if request_flags & u64::from(MP_X2APIC) == 0 {
        return false;
    }
    if !cpu::has_x2apic() {
        say!("MP: x2APIC asked for, but the CPU has none");
        return false;
    }
    if dmar.is_some_and(handoff::acpi::dmar_x2apic_opt_out) {
        say!("MP: x2APIC asked for, but the DMAR opts out");
        return false;
    }
    true
}

/// TSC ticks per µs over a 10 ms firmware stall.
fn calibrate() -> Option<TscRate> {
    let t0 = cpu::rdtsc();
    uefi::boot::stall(core::time::Duration::from_micros(CALIBRATION_US));
    let t1 = cpu::rdtsc();
    let rate = TscRate::measured(t1.wrapping_sub(t0), CALIBRATION_US)?;
    say!("MP: TSC runs at {} ticks/us", rate.ticks_per_us());
    Some(rate)
}

/// The page below 1 MiB the APs start in, with the trampoline copied in.
fn real_mode_page(tracker: &mut Tracker) -> Option<(u64, u8)> {
    let code = ap_trampoline::code();
    if code.bytes.len() as u64 > PARAMS_OFFSET {
        say!("MP: the AP trampoline is too long (bug)");
        return None;
    }
    let page = match tracker.alloc_below(1, REAL_MODE_LIMIT, MemType::BootloaderReclaimable) {
        Ok(p) => p,
        Err(e) => {
            say!("MP: no page below 1 MiB: {e}");
            return None;
        }
    };
    let Some(vector) = mp::sipi_vector(page) else {
        say!("MP: page {page:#x} cannot be a SIPI target");
        return None;
    };
    // SAFETY: a fresh tracked page, ours alone; the code fits before the
    // parameter block.
    let bytes = unsafe { phys_bytes(page, code.bytes.len()) };
    bytes.copy_from_slice(code.bytes);
    say!("MP: AP trampoline at {page:#x} (SIPI vector {vector:#x})");
    Some((page, vector))
}

impl Prepared {
    /// Arena bytes the response needs.
    pub fn arena_bytes(&self) -> u64 {
        let n = self.plan.cpus.len() as u64;
        64 + n * (core::mem::size_of::<SmpInfo>() as u64 + 8)
    }

    /// The real-mode page, to be identity-mapped in the kernel's tables.
    pub fn page(&self) -> Option<u64> {
        self.page.map(|(p, _)| p)
    }

    /// Reserves the response in the arena and fills what is known now:
    /// every `limine_smp_info` (goto_address 0) and a BSP-only answer.
    pub fn reserve(&self, arena: &mut Arena) -> Result<(u64, Slots), LoaderError> {
        let n = self.plan.cpus.len();
        let info_size = core::mem::size_of::<SmpInfo>() as u64;
        let slots = Slots {
            response: arena.reserve(core::mem::size_of::<MpResponse>() as u64)?,
            infos: arena.reserve(info_size * n as u64)?,
            pointers: arena.reserve(8 * n as u64)?,
        };
        for (i, c) in self.plan.cpus.iter().enumerate() {
            let info = SmpInfo {
                processor_id: c.uid,
                lapic_id: c.apic_id,
                reserved: self.stacks[i],
                goto_address: 0,
                extra_argument: 0,
            };
            // SAFETY: slot `i` of the reserved, 16-aligned info array.
            unsafe { (slots.infos as *mut SmpInfo).add(i).write(info) };
        }
        self.write_response(&slots, false);
        Ok((slots.response, slots))
    }

    /// Fills the trampoline's fixed parameters once the kernel's PML4
    /// (`pml4`, physical) and the GDTR image (`gdtr`, physical) exist.
    pub fn set_tables(&mut self, pml4: u64, gdtr: u64, nx: bool) {
        let Some((page, _)) = self.page else { return };
        if pml4 > u64::from(u32::MAX) {
            // The 32-bit step loads CR3 from a 32-bit register.
            say!("MP: PML4 at {pml4:#x} is above 4 GiB; APs not started");
            self.page = None;
            return;
        }
        let code = ap_trampoline::code();
        let linear = |off: u64| (page + off) as u32;
        let mut flags = 0;
        if cpu::has_pat() {
            flags |= AP_PAT;
        }
        if self.x2apic {
            flags |= AP_X2APIC;
        }
        let mut mtrrs = [MsrValue::default(); AP_MAX_MSRS];
        let mut mtrr_count = 0;
        if cpu::has_mtrr() {
            // SAFETY: CPUID says MTRRs exist, so IA32_MTRRCAP and every
            // MSR `mtrr::msrs` derives from it exist too.
            let cap = unsafe { cpu::rdmsr(mtrr::CAP) };
            if mtrr::msrs(cap).count() <= AP_MAX_MSRS {
                for (slot, msr) in mtrrs.iter_mut().zip(mtrr::msrs(cap)) {
                    // SAFETY: as above.
                    let value = unsafe { cpu::rdmsr(msr) };
                    *slot = MsrValue {
                        msr: u64::from(msr),
                        value,
                    };
                    mtrr_count += 1;
                }
                flags |= AP_MTRRS;
            } else {
                say!("MP: too many MTRRs to copy; APs keep their own");
            }
        }
        let gdt_at = PARAMS_OFFSET + core::mem::offset_of!(ApParams, gdt) as u64;
        let params = ApParams {
            gdtr_low: ApParams::gdtr(GDT_LIMIT, linear(gdt_at)),
            protected_entry: ApParams::far_pointer(CODE32, linear(code.protected)),
            long_entry: ApParams::far_pointer(CODE64, linear(code.long)),
            cr3: pml4,
            efer: EFER_LME | if nx { EFER_NXE } else { 0 },
            hhdm: HHDM_OFFSET,
            gdtr_hhdm: hhdm(gdtr),
            stack_top: 0,
            info: 0,
            flags,
            booted: 0,
            mtrr_count,
            gdt: GDT,
            pad: 0,
            mtrrs,
        };
        // SAFETY: the parameter block lies inside our real-mode page
        // (PARAMS_OFFSET + size_of::<ApParams>() <= 4096, a const assert
        // in ap_trampoline) and is 8-aligned; no AP runs yet.
        unsafe { ((page + PARAMS_OFFSET) as *mut ApParams).write(params) };
    }

    /// After ExitBootServices: x2APIC on the BSP if chosen, each AP
    /// started and waited for, then the response completed.
    pub fn start(&mut self, slots: &Slots) {
        let apic = Apic::new(self.x2apic);
        if let (Some((page, vector)), Some(rate)) = (self.page, self.rate) {
            let params = (page + PARAMS_OFFSET) as *mut ApParams;
            for i in 0..self.plan.cpus.len() {
                let c = self.plan.cpus[i];
                if c.bsp || self.stacks[i] == 0 {
                    continue;
                }
                let info = hhdm(slots.infos) + i as u64 * core::mem::size_of::<SmpInfo>() as u64;
                // SAFETY: the block set up in `set_tables`; the previous
                // AP has reported in (or was sent INIT), so no AP reads
                // it now.
                unsafe {
                    (*params).stack_top = self.stacks[i];
                    (*params).info = info;
                    (*params).booted = 0;
                }
                // SAFETY: `booted` is an aligned u64 inside the block; the
                // AP writes it while we read it, only atomically here.
                let booted = unsafe { AtomicU64::from_ptr(&raw mut (*params).booted) };
                self.started[i] = ipi::start_one(&apic, rate, c.apic_id, vector, booted);
                if !self.started[i] {
                    let _ = writeln!(Com1, "loader: CPU with APIC id {} did not start", c.apic_id);
                    // Stop it for good should it wake up late: it must
                    // not run in memory the kernel will reclaim, nor read
                    // the next AP's parameters.
                    apic.send(Ipi::Init, c.apic_id, rate);
                    ipi::spin(rate, mp::INIT_WAIT_US);
                }
            }
        }
        let count = self.write_response(slots, true);
        let _ = writeln!(
            Com1,
            "loader: MP: {count} of {} CPU(s) running, BSP APIC id {}, x2APIC {}",
            self.plan.cpus.len(),
            self.bsp_apic_id,
            if self.x2apic { "on" } else { "off" }
        );
    }

    /// Planned CPUs (the response's capacity).
    #[cfg(feature = "mp-check")]
    pub fn cpu_count(&self) -> usize {
        self.plan.cpus.len()
    }

    /// Check build: physical addresses the APs use (page, stack tops).
    #[cfg(feature = "mp-check")]
    pub fn places(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let page = self.page.map(|(p, _)| ("real-mode page", p));
        let stacks = self
            .stacks
            .iter()
            .filter(|&&t| t != 0)
            .map(|&t| ("AP stack top", t - 1 - HHDM_OFFSET));
        page.into_iter().chain(stacks)
    }

    /// Check build: sends the started APs through the probe, then INIT
    /// so they stay out of memory the kernel reclaims.
    #[cfg(feature = "mp-check")]
    pub fn check(
        &self,
        slots: &Slots,
        records: &crate::mp_check::Records,
        pml4: u64,
        gdt: u64,
        nx: bool,
    ) {
        let Some(rate) = self.rate else { return };
        let want = crate::mp_check::Expected {
            pml4,
            gdt,
            nx,
            x2apic: self.x2apic,
        };
        let info_size = core::mem::size_of::<SmpInfo>() as u64;
        let aps =
            || (0..self.plan.cpus.len()).filter(|&i| self.started[i] && !self.plan.cpus[i].bsp);
        let list = aps().map(|i| {
            (
                slots.infos + i as u64 * info_size,
                self.stacks[i],
                self.plan.cpus[i].apic_id,
            )
        });
        crate::mp_check::run(records, list, &want, rate.ticks_per_us());
        let apic = Apic::new(self.x2apic);
        for i in aps() {
            apic.send(Ipi::Init, self.plan.cpus[i].apic_id, rate);
        }
        let _ = writeln!(
            Com1,
            "loader: MP check: APs sent INIT (check build: none stays parked)"
        );
    }

    /// Writes the pointer array (only started CPUs) and the response;
    /// returns `cpu_count`. `final_state`: the APIC mode is in force.
    fn write_response(&self, slots: &Slots, final_state: bool) -> usize {
        let n = self.plan.cpus.len();
        let info_size = core::mem::size_of::<SmpInfo>() as u64;
        // SAFETY: the reserved pointer array of `n` slots, 16-aligned.
        let ptrs = unsafe { core::slice::from_raw_parts_mut(slots.pointers as *mut u64, n) };
        for (i, p) in ptrs.iter_mut().enumerate() {
            *p = hhdm(slots.infos + i as u64 * info_size);
        }
        let count = mp::compact(ptrs, &self.started);
        let r = MpResponse {
            revision: 0,
            flags: if final_state && self.x2apic {
                MP_X2APIC
            } else {
                0
            },
            bsp_lapic_id: self.bsp_apic_id,
            cpu_count: count as u64,
            cpus: hhdm(slots.pointers),
        };
        // SAFETY: the reserved response slot.
        unsafe { (slots.response as *mut MpResponse).write(r) };
        count
    }
}
