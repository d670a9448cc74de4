//! A process's address space: user half private, kernel half shared.

use super::frame_alloc::{self, TableFrames, TableFramesOnDemand};
use super::phys::{zero_frame, Hhdm};
use super::{kernel_space, MmError};
use crate::arch::tlb::{self, Space};
use paging::{AddressSpace, Flags, PageSize};

const PAGE: u64 = 4096;

/// What a user page may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Writable (never together with `execute`).
    pub write: bool,
    /// Executable.
    pub execute: bool,
}

impl Access {
    /// Read-only data.
    pub const READ: Self = Self {
        write: false,
        execute: false,
    };
    /// Read-write data.
    pub const READ_WRITE: Self = Self {
        write: true,
        execute: false,
    };
    /// Code.
    pub const EXECUTE: Self = Self {
        write: false,
        execute: true,
    };

    fn flags(self) -> Flags {
        let mut f = Flags::USER;
        if self.write {
            f |= Flags::WRITABLE;
        }
        if !self.execute {
            f |= Flags::NO_EXECUTE;
        }
        f
    }
}

/// A user address space. Dropping it unmaps and frees every user page and
/// the user half's page tables; it must not be loaded in CR3 then.
pub struct UserSpace {
    space: Option<AddressSpace>,
    pages: u64,
}

impl UserSpace {
    /// A new space: empty user half, the kernel's upper half.
    pub fn new() -> Result<Self, MmError> {
        let space = kernel_space::new_sharing()?;
        Ok(Self {
            space: Some(space),
            pages: 0,
        })
    }

    fn space(&mut self) -> Result<&mut AddressSpace, MmError> {
        self.space
            .as_mut()
            .ok_or(MmError::NotInitialised("user space"))
    }

    /// Physical address of its PML4 (for CR3).
    pub fn root(&self) -> u64 {
        self.space.as_ref().map_or(0, |s| s.pml4())
    }

    /// Maps a fresh page at `virt` holding `contents` (zero-filled past its
    /// end).
    pub fn map_page(&mut self, virt: u64, contents: &[u8], access: Access) -> Result<(), MmError> {
        if virt >= abi::USER_END || !virt.is_multiple_of(PAGE) || contents.len() > PAGE as usize {
            return Err(MmError::Map(paging::MapError::Misaligned { addr: virt }));
        }
        let frame = frame_alloc::alloc_user()?;
        // A full page of contents overwrites the whole frame; anything
        // shorter is zero-filled first.
        if contents.len() < PAGE as usize {
            zero_frame(frame);
        }
        if !contents.is_empty() {
            super::phys::write_frame(frame, contents);
        }
        self.map_frame(virt, frame, access.flags())
            .inspect_err(|_| {
                let _ = frame_alloc::free(frame);
            })
    }

    /// Maps `frame`, which the caller allocated (user frame) and zeroed,
    /// at `virt`; on success the space owns it.
    pub fn map_zeroed_frame(
        &mut self,
        virt: u64,
        frame: u64,
        access: Access,
    ) -> Result<(), MmError> {
        if virt >= abi::USER_END || !virt.is_multiple_of(PAGE) {
            return Err(MmError::Map(paging::MapError::Misaligned { addr: virt }));
        }
        self.map_frame(virt, frame, access.flags())
    }

    /// Maps `frame` at `virt` (4 KiB) with `flags` and counts the page.
    fn map_frame(&mut self, virt: u64, frame: u64, flags: Flags) -> Result<(), MmError> {
        let space = self.space()?;
        space.map(
            &mut Hhdm,
            &mut TableFramesOnDemand,
            virt,
            frame,
            PageSize::Size4K,
            flags,
        )?;
        self.pages += 1;
        Ok(())
    }

    /// Maps the frame `frame`, owned by someone else (a loaded program's
    /// read-only page), at `virt` with `access` (never writable): the space
    /// does not free it at unmap or teardown.
    pub fn map_shared(&mut self, virt: u64, frame: u64, access: Access) -> Result<(), MmError> {
        if virt >= abi::USER_END || !virt.is_multiple_of(PAGE) || access.write {
            return Err(MmError::Map(paging::MapError::Misaligned { addr: virt }));
        }
        self.map_frame(virt, frame, access.flags() | Flags::SHARED)
    }

    /// Maps `bytes` (page multiple) of zeroed pages from `virt`.
    pub fn map_zeroed(&mut self, virt: u64, bytes: u64, access: Access) -> Result<(), MmError> {
        for page in (virt..virt + bytes).step_by(PAGE as usize) {
            if let Err(e) = self.map_page(page, &[], access) {
                let _ = self.unmap_range(virt, page - virt);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unmaps and frees the pages of `[virt, virt + bytes)`; all must be
    /// mapped. The TLB entries go on every CPU that has this space loaded,
    /// one shootdown a batch, before the frames are freed.
    pub fn unmap_range(&mut self, virt: u64, bytes: u64) -> Result<(), MmError> {
        const BATCH: usize = 16;
        let root = self.root();
        let mut page = virt;
        let end = virt + bytes;
        while page < end {
            let start = page;
            // (frame, shared) of each page unmapped in this batch.
            let mut batch = [(0u64, false); BATCH];
            let mut taken = 0;
            let mut failed = None;
            while taken < BATCH && page < end {
                let shared = self
                    .translate(page)
                    .is_some_and(|t| t.flags.contains(Flags::SHARED));
                let unmapped = self.space().and_then(|space| {
                    Ok(frame_alloc::with(|fa| {
                        space.unmap(&mut Hhdm, &mut TableFrames(fa), page)
                    })??)
                });
                match unmapped {
                    Ok(u) => {
                        u.flush.ignore();
                        batch[taken] = (u.phys, shared);
                        taken += 1;
                        page += PAGE;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            tlb::shootdown(Space::User(root), start, taken as u64);
            for &(frame, shared) in &batch[..taken] {
                if !shared {
                    frame_alloc::free(frame)?;
                }
                self.pages -= 1;
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Translates a user address (physical address and flags).
    pub fn translate(&self, virt: u64) -> Option<paging::Translation> {
        self.space.as_ref()?.translate(&Hhdm, virt)
    }
}

impl UserSpace {
    /// Frees every user page and the user half's tables in one walk that
    /// allocates nothing (teardown must work when memory is exhausted).
    /// Afterwards the space is empty; a loaded space is never freed.
    pub fn release(&mut self) {
        if self.is_loaded() {
            return;
        }
        let Some(space) = self.space.take() else {
            return;
        };
        let result = frame_alloc::with(|fa| {
            let mut frames = TableFrames(fa);
            space.destroy_with_leaves(&mut Hhdm, &mut frames, |frames, phys, _, flags| {
                if flags.contains(Flags::SHARED) {
                    return;
                }
                if let Err(e) = frames.0.free(phys) {
                    log::error!("user frame {phys:#x}: {e} (bug)");
                }
            })
        });
        if result.is_err() {
            log::error!("user space teardown without a frame allocator (bug)");
        }
        self.pages = 0;
    }

    /// Unmaps and frees whichever pages of `[virt, virt + bytes)` are
    /// mapped (demand-zero regions have holes).
    pub fn unmap_present(&mut self, virt: u64, bytes: u64) -> Result<(), MmError> {
        for page in (virt..virt + bytes).step_by(PAGE as usize) {
            if self.translate(page).is_some() {
                self.unmap_range(page, PAGE)?;
            }
        }
        Ok(())
    }
}

impl UserSpace {
    /// Whether this space is in CR3 right now.
    pub fn is_loaded(&self) -> bool {
        self.space
            .as_ref()
            .is_some_and(|s| tlb::is_loaded_anywhere(s.pml4()))
    }
}

impl Drop for UserSpace {
    fn drop(&mut self) {
        if self.is_loaded() {
            log::error!("dropping the loaded address space (bug); leaking it");
            return;
        }
        self.release();
    }
}

/// Whether `virt` is mapped user-accessible in `space`.
pub fn is_user_mapped(space: &UserSpace, virt: u64) -> bool {
    space
        .translate(virt)
        .is_some_and(|t| t.flags.contains(Flags::USER))
}
