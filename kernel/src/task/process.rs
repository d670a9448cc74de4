//! A process: its address space, images, stack and exit status.

use super::object::{Object, Waiters};
use super::thread::Thread;
use crate::mm::user_space::{Access, UserSpace};
use crate::mm::MmError;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use handles::{HandleTable, Rights};
use vrange::RangeAllocator;

const PAGE: u64 = 4096;
/// Top of the user stack (the page above it stays unmapped).
pub const USER_STACK_TOP: u64 = 0x0000_7fff_0000_0000;
/// Reserved user stack of the main thread.
pub const USER_STACK_BYTES: u64 = 1024 * 1024;
/// Committed at the start; below it the stack grows a page at a time, and
/// only through its guard page (the page just below the committed part),
/// as on Windows: a frame that skips pages without probing them
/// (`__chkstk`) faults.
pub const USER_STACK_COMMIT: u64 = 16 * 1024;
/// Window for `ALLOCATE_PAGES`.
const USER_HEAP: (u64, u64) = (0x0000_1000_0000_0000, 0x0000_1000_0000_0000);
/// Default limit on the memory a process may commit with ALLOCATE_PAGES.
pub const DEFAULT_COMMIT_LIMIT: u64 = 256 << 20;
/// Handles a process may hold at once.
pub const HANDLE_LIMIT: usize = 4096;
/// Threads a process may run at once.
pub const THREAD_LIMIT: usize = 256;
/// Default user stack of a thread created with CREATE_THREAD.
pub const THREAD_STACK_BYTES: u64 = 64 * 1024;
/// Debug output kept per process (the rest still goes to serial).
const OUTPUT_LIMIT: usize = 64 * 1024;

static NEXT_PID: AtomicU64 = AtomicU64::new(1);

/// Why a process could not be created.
#[derive(Clone, Debug)]
pub enum ProcessError {
    /// Memory management refused.
    Memory(MmError),
    /// An image does not fit the user half or overlaps another.
    BadLayout(String),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory(e) => write!(f, "{e}"),
            Self::BadLayout(s) => f.write_str(s),
        }
    }
}

impl From<MmError> for ProcessError {
    fn from(e: MmError) -> Self {
        Self::Memory(e)
    }
}

/// One image to map: its bytes as they sit in memory and per-page access.
pub struct Image<'a> {
    /// Module name (e.g. `runtime.dll`).
    pub name: &'a str,
    /// Load address.
    pub base: u64,
    /// The image, `size_of_image` bytes.
    pub memory: &'a [u8],
    /// Access of each 4 KiB page of `memory` (`None`: left unmapped).
    pub pages: &'a [Option<Access>],
}

/// A loaded image, as the process remembers it.
#[derive(Clone, Debug)]
pub struct LoadedImage {
    /// Module name.
    pub name: String,
    /// Load address.
    pub base: u64,
    /// Size in memory.
    pub size: u64,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitStatus {
    /// Exit code, or the NTSTATUS of the fault that ended it.
    pub code: u32,
    /// The fault, if one ended it: (vector, faulting address for #PF or 0,
    /// RIP).
    pub fault: Option<(u8, u64, u64)>,
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fault {
            Some((vector, address, rip)) => {
                let (mnemonic, _) = crate::arch::exceptions::vector_name(vector);
                write!(f, "ended by {mnemonic} at RIP {rip:#x}")?;
                if vector == 14 {
                    write!(f, " (address {address:#x})")?;
                }
                write!(f, ": status {:#010x}", self.code)
            }
            None => write!(
                f,
                "exited with code {} ({:#x})",
                self.code as i32, self.code
            ),
        }
    }
}

/// A process.
pub struct Process {
    id: u64,
    name: String,
    space: UserSpace,
    images: Vec<LoadedImage>,
    entry: u64,
    /// Threads started and not yet ended.
    live_threads: u32,
    heap: RangeAllocator,
    /// Bytes committed through `allocate` and the limit on them.
    committed: u64,
    commit_limit: u64,
    allocations: BTreeMap<u64, u64>,
    output: String,
    fault: Option<(u8, u64, u64)>,
    /// The call stack of the fault that ended the process.
    fault_stack: Vec<String>,
    exit: Option<ExitStatus>,
    /// The process's handles.
    handles: HandleTable<Object>,
    /// Its threads (weak: a thread lives as long as it runs or a handle
    /// to it is open).
    threads: Vec<Weak<Thread>>,
    /// Threads waiting for it to end.
    waiters: Waiters,
    /// The program's `InitThread`, where further threads start.
    init_thread: Option<u64>,
    /// Arguments after the program name.
    cmdline: String,
    /// Demand-zero regions: start → (bytes, access).
    lazy: BTreeMap<u64, (u64, Access)>,
    /// TerminateProcess/ExitProcess code, once asked.
    terminating: Option<u32>,
    /// Lowest committed address of the main thread's stack.
    stack_low: u64,
    /// What owns the frames of shared image pages (kept while this
    /// process maps them).
    keep_alive: Option<Arc<dyn core::any::Any + Send + Sync>>,
}

impl Process {
    /// Creates a process from mapped images, entering at `entry`.
    pub fn new(name: &str, images: &[Image<'_>], entry: u64) -> Result<Self, ProcessError> {
        Self::with_shared(name, images, &[], entry)
    }

    /// Like [`new`](Self::new), but page `p` of image `i` maps the frame
    /// `shared[i][p]` where one is given (a read-only page of a loaded
    /// program, shared between its processes, see [`Self::keep_alive`])
    /// instead of a private copy.
    pub fn with_shared(
        name: &str,
        images: &[Image<'_>],
        shared: &[&[Option<u64>]],
        entry: u64,
    ) -> Result<Self, ProcessError> {
        let mut space = UserSpace::new()?;
        let mut loaded = Vec::new();
        for (n, image) in images.iter().enumerate() {
            let frames = shared.get(n).copied().unwrap_or(&[]);
            let size = (image.memory.len() as u64).next_multiple_of(PAGE);
            let end = image.base.saturating_add(size);
            if image.base < abi::USER_MIN || end > USER_HEAP.0 || image.base % PAGE != 0 {
                return Err(ProcessError::BadLayout(alloc::format!(
                    "{} at {:#x}+{size:#x} does not fit the image area",
                    image.name,
                    image.base
                )));
            }
            if loaded
                .iter()
                .any(|l: &LoadedImage| image.base < l.base + l.size && l.base < end)
            {
                return Err(ProcessError::BadLayout(alloc::format!(
                    "{} overlaps another image",
                    image.name
                )));
            }
            for (i, chunk) in image.memory.chunks(PAGE as usize).enumerate() {
                let Some(access) = image.pages.get(i).copied().flatten() else {
                    continue;
                };
                let at = image.base + i as u64 * PAGE;
                match frames.get(i).copied().flatten() {
                    Some(frame) if !access.write => space.map_shared(at, frame, access)?,
                    _ => space.map_page(at, chunk, access)?,
                }
            }
            loaded.push(LoadedImage {
                name: image.name.into(),
                base: image.base,
                size,
            });
        }
        space.map_zeroed(
            USER_STACK_TOP - USER_STACK_COMMIT,
            USER_STACK_COMMIT,
            Access::READ_WRITE,
        )?;
        Ok(Self {
            id: NEXT_PID.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            space,
            images: loaded,
            entry,
            live_threads: 0,
            heap: RangeAllocator::new(USER_HEAP.0, USER_HEAP.1),
            committed: 0,
            commit_limit: DEFAULT_COMMIT_LIMIT,
            allocations: BTreeMap::new(),
            output: String::new(),
            fault: None,
            fault_stack: Vec::new(),
            exit: None,
            handles: HandleTable::new(HANDLE_LIMIT),
            threads: Vec::new(),
            waiters: Vec::new(),
            init_thread: None,
            cmdline: String::new(),
            lazy: BTreeMap::new(),
            terminating: None,
            stack_low: USER_STACK_TOP - USER_STACK_COMMIT,
            keep_alive: None,
        })
    }

    /// Process id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Program name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Entry point (user address).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Where the thread starts: 16-byte aligned minus 8 (as after a call),
    /// with the Win64 home space above (abi crate, "Process start").
    pub fn initial_stack_pointer(&self) -> u64 {
        USER_STACK_TOP - abi::ENTRY_STACK_RESERVE - 8
    }

    /// Records a thread that starts in this process (refused once the
    /// process is ending or has [`THREAD_LIMIT`] threads).
    pub fn thread_started(&mut self, thread: &Arc<Thread>) -> Result<(), abi::Error> {
        if self.terminating.is_some() || self.exit.is_some() {
            return Err(abi::Error::NotFound);
        }
        self.threads.retain(|t| t.strong_count() > 0);
        if self.threads.len() >= THREAD_LIMIT {
            return Err(abi::Error::NoMemory);
        }
        self.threads
            .try_reserve(1)
            .map_err(|_| abi::Error::NoMemory)?;
        self.threads.push(Arc::downgrade(thread));
        self.live_threads += 1;
        Ok(())
    }

    /// Counts a thread that ended; true if it was the last.
    pub fn thread_ended(&mut self) -> bool {
        self.live_threads = self.live_threads.saturating_sub(1);
        self.live_threads == 0
    }

    /// Its threads that still exist.
    pub fn threads(&self) -> impl Iterator<Item = Arc<Thread>> + '_ {
        self.threads.iter().filter_map(Weak::upgrade)
    }

    /// Marks the process as ending with `code` (the first request wins);
    /// returns the code that stands.
    pub fn set_terminating(&mut self, code: u32) -> u32 {
        *self.terminating.get_or_insert(code)
    }

    /// The code it is ending with, once asked.
    pub fn terminating(&self) -> Option<u32> {
        self.terminating
    }

    /// Threads waiting for the process to end.
    pub fn waiters_mut(&mut self) -> &mut Waiters {
        &mut self.waiters
    }

    /// Adds a handle.
    pub fn add_handle(&mut self, object: Object, rights: Rights) -> Result<u64, abi::Error> {
        self.handles.insert(object, rights).map_err(handle_error)
    }

    /// The object behind `handle` if it has `need`.
    pub fn handle(&self, handle: u64, need: Rights) -> Result<Object, abi::Error> {
        self.handles
            .get(handle, need)
            .cloned()
            .map_err(handle_error)
    }

    /// Closes `handle`; returns the object so the caller drops it outside
    /// the process lock.
    pub fn close_handle(&mut self, handle: u64) -> Result<Object, abi::Error> {
        self.handles.remove(handle).map_err(handle_error)
    }

    /// Takes one handle out (teardown: the caller drops it unlocked).
    pub fn pop_handle(&mut self) -> Option<Object> {
        self.handles.pop_any()
    }

    /// Where further threads start.
    pub fn init_thread(&self) -> Option<u64> {
        self.init_thread
    }

    /// Keeps `owner` (the owner of the frames given to
    /// [`with_shared`](Self::with_shared)) alive as long as the process.
    pub fn keep_alive(&mut self, owner: Arc<dyn core::any::Any + Send + Sync>) {
        self.keep_alive = Some(owner);
    }

    /// Sets where further threads start.
    pub fn set_init_thread(&mut self, at: u64) {
        self.init_thread = Some(at);
    }

    /// The command line (arguments after the program name).
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// Sets the command line.
    pub fn set_cmdline(&mut self, cmdline: String) {
        self.cmdline = cmdline;
    }

    /// Maps a user stack for a new thread (`bytes` above an unmapped guard
    /// page) and returns its top.
    pub fn allocate_stack(&mut self, bytes: u64) -> Result<u64, abi::Error> {
        let bytes = bytes
            .clamp(PAGE, 16 << 20)
            .checked_next_multiple_of(PAGE)
            .ok_or(abi::Error::InvalidArgument)?;
        if self.committed.saturating_add(bytes) > self.commit_limit {
            return Err(abi::Error::NoMemory);
        }
        let base = self
            .heap
            .alloc(bytes + PAGE, PAGE)
            .map_err(|_| abi::Error::NoMemory)?;
        if self
            .space
            .map_zeroed(base + PAGE, bytes, Access::READ_WRITE)
            .is_err()
        {
            let _ = self.heap.free(base, bytes + PAGE);
            return Err(abi::Error::NoMemory);
        }
        self.committed += bytes;
        Ok(base + PAGE + bytes)
    }

    /// Rounds `bytes` up to pages, checks them against the commit limit
    /// and reserves an address range for them (not committed yet).
    fn reserve(&mut self, bytes: u64) -> Result<(u64, u64), abi::Error> {
        let bytes = bytes
            .checked_next_multiple_of(PAGE)
            .ok_or(abi::Error::InvalidArgument)?;
        if self.committed.saturating_add(bytes) > self.commit_limit {
            return Err(abi::Error::NoMemory);
        }
        let at = self
            .heap
            .alloc(bytes, PAGE)
            .map_err(|_| abi::Error::NoMemory)?;
        Ok((at, bytes))
    }

    /// Reserves and commits `bytes` of demand-zero memory with `access`.
    pub fn allocate_lazy(&mut self, bytes: u64, access: Access) -> Result<u64, abi::Error> {
        let (at, bytes) = self.reserve(bytes)?;
        self.lazy.insert(at, (bytes, access));
        self.committed += bytes;
        Ok(at)
    }

    /// Resolves a fault at `addr` in a demand-zero region: maps a zeroed
    /// page (`spare`, a zeroed frame the caller allocated, if it has one;
    /// it is taken only if used). Ok(false) if `addr` is in no such region
    /// (or the access is not allowed there).
    pub fn demand_fault(
        &mut self,
        addr: u64,
        write: bool,
        spare: &mut Option<u64>,
    ) -> Result<bool, crate::mm::MmError> {
        let stack_bottom = USER_STACK_TOP - USER_STACK_BYTES;
        if (stack_bottom..self.stack_low).contains(&addr) {
            // Only the guard page grows the stack; the last reserved page
            // stays a guard for good (its touch is a stack overflow).
            let guard = self.stack_low - PAGE;
            if addr & !(PAGE - 1) != guard
                || guard == stack_bottom
                || self.committed.saturating_add(PAGE) > self.commit_limit
            {
                return Ok(false);
            }
            self.space.map_page(guard, &[], Access::READ_WRITE)?;
            self.stack_low = guard;
            self.committed += PAGE;
            return Ok(true);
        }
        let Some((&start, &(bytes, access))) = self.lazy.range(..=addr).next_back() else {
            return Ok(false);
        };
        if addr >= start + bytes || (write && !access.write) {
            return Ok(false);
        }
        let page = addr & !(PAGE - 1);
        // With a frame in hand the mapping is tried at once: one walk of
        // the page tables under the process lock, not two. A page that is
        // there already is refused, and its frame kept.
        if let Some(frame) = spare.take() {
            let Err(e) = self.space.map_zeroed_frame(page, frame, access) else {
                return Ok(true);
            };
            *spare = Some(frame);
            if !matches!(
                e,
                crate::mm::MmError::Map(paging::MapError::AlreadyMapped { .. })
            ) {
                return Err(e);
            }
        }
        if let Some(t) = self.space.translate(page) {
            // Another thread of the process (on another CPU) touched the
            // page first: the access is retried if the page allows it.
            let user = t.flags.contains(paging::Flags::USER);
            return Ok(user && (!write || t.flags.contains(paging::Flags::WRITABLE)));
        }
        self.space.map_page(page, &[], access)?;
        Ok(true)
    }

    /// Maps every untouched demand-zero page of `[addr, addr + len)` (so
    /// the kernel can copy into it), up to the first page that is neither
    /// present nor demand-zero: the buffer's check refuses it there, and
    /// nothing past it needs a frame. (Walking on would take a hostile
    /// length of 2^40 bytes 2^28 steps, under the process lock.)
    pub fn fault_in(&mut self, addr: u64, len: u64, write: bool) -> Result<(), abi::Error> {
        if len == 0 {
            return Ok(());
        }
        let last = addr.checked_add(len - 1).ok_or(abi::Error::BadPointer)?;
        let mut page = addr & !(PAGE - 1);
        while page <= last {
            if self.space.translate(page).is_none() {
                match self.demand_fault(page, write, &mut None) {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(_) => return Err(abi::Error::NoMemory),
                }
            }
            page = match page.checked_add(PAGE) {
                Some(p) => p,
                None => break,
            };
        }
        Ok(())
    }

    /// Frees the address space once no thread runs in it (called when the
    /// last thread is gone and its address space is no longer loaded).
    pub fn release_space(&mut self) {
        if self.live_threads == 0 {
            self.space.release();
        }
    }

    /// PML4 physical address.
    pub fn root(&self) -> u64 {
        self.space.root()
    }

    /// The address space (for inspection).
    pub fn space(&self) -> &UserSpace {
        &self.space
    }

    /// Mutable address space (to map pages into it from the kernel).
    pub fn space_mut(&mut self) -> &mut UserSpace {
        &mut self.space
    }

    /// Loaded images.
    pub fn images(&self) -> &[LoadedImage] {
        &self.images
    }

    /// The image called `name`.
    pub fn image(&self, name: &str) -> Option<&LoadedImage> {
        self.images
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }

    /// Fills the ABI's process information for a thread at `rsp`.
    pub fn info(&self) -> abi::ProcessInfo {
        let mut name = [0u8; 32];
        let n = self.name.len().min(31);
        name[..n].copy_from_slice(&self.name.as_bytes()[..n]);
        let main = self.images.first();
        abi::ProcessInfo {
            process_id: self.id,
            thread_id: self.id,
            image_base: main.map_or(0, |i| i.base),
            image_size: main.map_or(0, |i| i.size),
            runtime_base: self.image("runtime.dll").map_or(0, |i| i.base),
            stack_top: USER_STACK_TOP,
            stack_size: USER_STACK_BYTES,
            name,
        }
    }

    /// Commits `bytes` of zeroed pages with `access`; returns the address.
    pub fn allocate(&mut self, bytes: u64, access: Access) -> Result<u64, abi::Error> {
        let (at, bytes) = self.reserve(bytes)?;
        if self.space.map_zeroed(at, bytes, access).is_err() {
            let _ = self.heap.free(at, bytes);
            return Err(abi::Error::NoMemory);
        }
        self.allocations.insert(at, bytes);
        self.committed += bytes;
        Ok(at)
    }

    /// Releases an allocation made by [`allocate`](Self::allocate) or
    /// [`allocate_lazy`](Self::allocate_lazy).
    pub fn release(&mut self, at: u64, bytes: u64) -> Result<(), abi::Error> {
        let size = bytes
            .checked_next_multiple_of(PAGE)
            .ok_or(abi::Error::InvalidArgument)?;
        if let Some(&(lazy_size, _)) = self.lazy.get(&at) {
            // Size 0 releases the whole region (VirtualFree's MEM_RELEASE).
            let size = if size == 0 { lazy_size } else { size };
            if lazy_size != size {
                return Err(abi::Error::NotFound);
            }
            self.lazy.remove(&at);
            self.committed -= size;
            self.space
                .unmap_present(at, size)
                .map_err(|_| abi::Error::InvalidArgument)?;
            return self
                .heap
                .free(at, size)
                .map_err(|_| abi::Error::InvalidArgument);
        }
        match self.allocations.get(&at) {
            Some(&allocated) if allocated == size => {}
            _ => return Err(abi::Error::NotFound),
        }
        self.allocations.remove(&at);
        self.committed -= size;
        self.space
            .unmap_range(at, size)
            .map_err(|_| abi::Error::InvalidArgument)?;
        self.heap
            .free(at, size)
            .map_err(|_| abi::Error::InvalidArgument)
    }

    /// Sets the limit on memory committed with [`allocate`](Self::allocate).
    pub fn set_commit_limit(&mut self, bytes: u64) {
        self.commit_limit = bytes;
    }

    /// Bytes committed with [`allocate`](Self::allocate) now.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Appends debug output (kept up to a limit).
    pub fn record_output(&mut self, text: &str) {
        let room = OUTPUT_LIMIT.saturating_sub(self.output.len());
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        // Output is kept only while memory allows: never a reason to fail.
        if self.output.try_reserve(take).is_ok() {
            self.output.push_str(&text[..take]);
        }
    }

    /// Everything the process wrote to the debug console (up to the limit).
    pub fn output(&self) -> &str {
        &self.output
    }

    /// Whether `addr` is where a stack overflow lands: the last reserved
    /// page of the main stack (never committed) or the page below it.
    pub fn in_stack_guard(&self, addr: u64) -> bool {
        let bottom = USER_STACK_TOP - USER_STACK_BYTES;
        (bottom - PAGE..bottom + PAGE).contains(&addr)
    }

    /// Records the fault that is ending the process.
    pub fn set_fault(&mut self, vector: u8, address: u64, rip: u64) {
        self.fault = Some((vector, address, rip));
    }

    /// Keeps the call stack of the fault that ended the process (one line
    /// per frame, as logged).
    pub fn set_fault_stack(&mut self, frames: Vec<String>) {
        self.fault_stack = frames;
    }

    /// The call stack of the fault that ended the process, if one did.
    pub fn fault_stack(&self) -> &[String] {
        &self.fault_stack
    }

    pub(super) fn set_exit(&mut self, code: u32) {
        if self.exit.is_some() {
            return;
        }
        self.exit = Some(ExitStatus {
            code,
            fault: self.fault,
        });
    }

    /// How it ended (None while it has not run).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit
    }
}

fn handle_error(e: handles::HandleError) -> abi::Error {
    match e {
        handles::HandleError::Invalid => abi::Error::InvalidHandle,
        handles::HandleError::AccessDenied => abi::Error::AccessDenied,
        handles::HandleError::TableFull | handles::HandleError::NoMemory => abi::Error::NoMemory,
    }
}
