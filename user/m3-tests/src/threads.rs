//! Checks within one process: threads, waits, events, handles, memory.

use crate::sys;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use init::rt;
use testkit::{check, Report};

static SHARED: AtomicU64 = AtomicU64::new(0);
static STARTED: AtomicU32 = AtomicU32::new(0);

extern "C" fn add_and_return(arg: *mut c_void) -> u32 {
    SHARED.fetch_add(arg as u64, Ordering::SeqCst);
    42 + arg as u32
}

/// A thread shares the process's memory and its exit code reaches the
/// creator through its handle.
pub fn create_wait_exit_code(r: &mut Report) {
    SHARED.store(0, Ordering::SeqCst);
    let h = sys::thread(add_and_return, 7);
    let still = if h != 0 {
        sys::exit_code_thread(h)
    } else {
        None
    };
    let waited = rt_wait(h, 5000);
    let code = sys::exit_code_thread(h);
    let closed = rt_close(h);
    check!(
        r,
        "thread_create_wait_exit_code",
        h != 0 && waited == 0 && code == Some(49) && SHARED.load(Ordering::SeqCst) == 7 && closed,
        "handle {h:#x}, code before {still:?}, wait {waited:#x}, code {code:?}, shared {}, closed {closed}",
        SHARED.load(Ordering::SeqCst)
    );
}

fn rt_wait(h: u64, ms: u32) -> u32 {
    // SAFETY: WaitForSingleObject takes no pointers.
    unsafe { rt::WaitForSingleObject(h, ms) }
}

fn rt_close(h: u64) -> bool {
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(h) != 0 }
}

fn event(manual: bool, set: bool) -> u64 {
    // SAFETY: null attributes and name are allowed.
    unsafe {
        rt::CreateEventA(
            core::ptr::null(),
            i32::from(manual),
            i32::from(set),
            core::ptr::null(),
        )
    }
}

/// WaitForMultipleObjects times out after its time-out (by the
/// performance counter), then returns the index of the one set.
pub fn wait_multiple_timeout(r: &mut Report) {
    let hs = [event(true, false), event(true, false)];
    let t0 = sys::now_ns();
    // SAFETY: `hs` holds two handles.
    let timed_out = unsafe { rt::WaitForMultipleObjects(2, hs.as_ptr(), 0, 50) };
    let waited = sys::now_ns() - t0;
    // SAFETY: SetEvent takes no pointers.
    unsafe { rt::SetEvent(hs[1]) };
    // SAFETY: as above.
    let second = unsafe { rt::WaitForMultipleObjects(2, hs.as_ptr(), 0, 1000) };
    for h in hs {
        rt_close(h);
    }
    check!(
        r,
        "wait_multiple_timeout",
        timed_out == 0x102 && (50_000_000..80_000_000).contains(&waited) && second == 1,
        "timed out with {timed_out:#x} after {} us; after setting #1: {second}",
        waited / 1000
    );
}

extern "C" fn set_later(arg: *mut c_void) -> u32 {
    // SAFETY: Sleep and SetEvent take no pointers.
    unsafe {
        rt::Sleep(30);
        rt::SetEvent(arg as u64);
    }
    0
}

fn wait_all(hs: &[u64], ms: u32) -> u32 {
    // SAFETY: `hs` holds `hs.len()` handles.
    unsafe { rt::WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), 1, ms) }
}

/// WaitForMultipleObjects with wait-all: it times out while one is unset
/// (consuming nothing), wakes when the last one is set by another thread,
/// consumes every auto-reset event at once, and refuses a handle named
/// twice.
pub fn wait_all_objects(r: &mut Report) {
    let manual = [event(true, true), event(true, false)];
    let t0 = sys::now_ns();
    let partial = wait_all(&manual, 50);
    let waited = sys::now_ns() - t0;
    let setter = sys::thread(set_later, manual[1] as usize);
    let woken = wait_all(&manual, 2000);
    rt_wait(setter, u32::MAX);
    rt_close(setter);
    let auto = [event(false, true), event(false, false)];
    let one_set = wait_all(&auto, 0);
    let kept = rt_wait(auto[0], 0);
    // SAFETY: SetEvent takes no pointers.
    unsafe {
        rt::SetEvent(auto[0]);
        rt::SetEvent(auto[1]);
    }
    let both = wait_all(&auto, 0);
    let consumed = (rt_wait(auto[0], 0), rt_wait(auto[1], 0));
    let twice = wait_all(&[manual[0], manual[0]], 0);
    for h in manual.into_iter().chain(auto) {
        rt_close(h);
    }
    check!(
        r,
        "wait_all",
        partial == 0x102
            && waited >= 50_000_000
            && woken == 0
            && one_set == 0x102
            && kept == 0
            && both == 0
            && consumed == (0x102, 0x102)
            && twice == 0xffff_ffff,
        "one unset: {partial:#x} after {} us; set by a thread: {woken:#x}; auto, one set: {one_set:#x} (kept: {kept:#x}); both set: {both:#x}, then {consumed:x?}; a handle twice: {twice:#x}",
        waited / 1000
    );
}

/// Auto-reset events wake one wait each; manual-reset ones stay set until
/// reset.
pub fn events(r: &mut Report) {
    let auto = event(false, true);
    let manual = event(true, true);
    let a1 = rt_wait(auto, 0);
    let a2 = rt_wait(auto, 0);
    let m1 = rt_wait(manual, 0);
    let m2 = rt_wait(manual, 0);
    // SAFETY: ResetEvent takes no pointers.
    unsafe { rt::ResetEvent(manual) };
    let m3 = rt_wait(manual, 0);
    rt_close(auto);
    rt_close(manual);
    check!(
        r,
        "events",
        auto != 0 && manual != 0 && (a1, a2, m1, m2, m3) == (0, 0x102, 0, 0, 0x102),
        "auto: {a1:#x} then {a2:#x}; manual: {m1:#x}, {m2:#x}, after reset {m3:#x}"
    );
}

static GO: AtomicU64 = AtomicU64::new(0);

extern "C" fn wait_for_go(arg: *mut c_void) -> u32 {
    STARTED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: WaitForSingleObject takes no pointers.
    unsafe { rt::WaitForSingleObject(GO.load(Ordering::SeqCst), 0xFFFF_FFFF) };
    SHARED.fetch_add(1, Ordering::SeqCst);
    1000 + arg as u32
}

/// 64 threads block on one event, all wake when it is set, and each ends
/// with its own code.
pub fn sixty_four_threads(r: &mut Report) {
    STARTED.store(0, Ordering::SeqCst);
    SHARED.store(0, Ordering::SeqCst);
    GO.store(event(true, false), Ordering::SeqCst);
    let mut hs = [0u64; 64];
    for (i, h) in hs.iter_mut().enumerate() {
        *h = sys::thread(wait_for_go, i);
    }
    let created = hs.iter().filter(|&&h| h != 0).count();
    let t0 = sys::now_ns();
    while STARTED.load(Ordering::SeqCst) < created as u32 && sys::now_ns() - t0 < 5_000_000_000 {
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(1) };
    }
    let before = SHARED.load(Ordering::SeqCst);
    // SAFETY: SetEvent takes no pointers.
    unsafe { rt::SetEvent(GO.load(Ordering::SeqCst)) };
    let mut codes_ok = true;
    for (i, &h) in hs.iter().enumerate() {
        codes_ok &= rt_wait(h, 5000) == 0 && sys::exit_code_thread(h) == Some(1000 + i as u32);
        rt_close(h);
    }
    rt_close(GO.load(Ordering::SeqCst));
    let after = SHARED.load(Ordering::SeqCst);
    check!(
        r,
        "sixty_four_threads",
        created == 64 && before == 0 && after == 64 && codes_ok,
        "{created} created, {} blocked before the event, {before} woke early, {after} finished, codes {}",
        STARTED.load(Ordering::SeqCst),
        if codes_ok { "right" } else { "wrong" }
    );
}

/// Closed, forged and wrong-type handles are refused with an error.
pub fn handles_refused(r: &mut Report) {
    let e = event(true, false);
    let closed_once = rt_close(e);
    let closed_twice = rt_close(e);
    let wait_closed = rt_wait(e, 0);
    let forged = rt_wait(0x1234_5678, 0);
    let null = rt_wait(0, 0);
    let ev = event(true, true);
    let wrong_type = sys::exit_code_thread(ev);
    // A raw call with a forged handle gets the error code itself.
    // SAFETY: SET_EVENT reads no memory.
    let raw = unsafe { rt::syscall(abi::nr::SET_EVENT, [0xdead_beef_0000, 0, 0, 0, 0]) };
    let own = sys::exit_code_process(abi::CURRENT_PROCESS);
    rt_close(ev);
    check!(
        r,
        "handles_refused",
        closed_once
            && !closed_twice
            && wait_closed == 0xFFFF_FFFF
            && forged == 0xFFFF_FFFF
            && null == 0xFFFF_FFFF
            && wrong_type.is_none()
            && raw == Err(abi::Error::InvalidHandle)
            && own == Some(abi::STILL_ACTIVE as u32),
        "close twice {closed_once}/{closed_twice}, wait closed {wait_closed:#x}, forged {forged:#x}, null {null:#x}, event as thread {wrong_type:?}, raw {raw:?}, own exit code {own:?}"
    );
}

/// VirtualAlloc memory reads as zero, and each page takes a frame only
/// when first touched.
pub fn demand_zero(r: &mut Report) {
    const PAGES: usize = 256;
    let p = rt_virtual_alloc(PAGES * 4096);
    let after_alloc = sys::free_memory();
    let mut zero = true;
    if !p.is_null() {
        for i in 0..PAGES / 2 {
            // SAFETY: the page is inside the allocation (readable).
            zero &= unsafe { p.add(i * 4096).read_volatile() } == 0;
        }
        for i in 0..PAGES {
            // SAFETY: inside the allocation, writable.
            unsafe { p.add(i * 4096 + 8).write_volatile(0xa5) };
        }
    }
    let after_touch = sys::free_memory();
    let took = after_alloc.saturating_sub(after_touch) / 4096;
    // SAFETY: VirtualFree takes the address VirtualAlloc gave.
    let freed = unsafe { rt::VirtualFree(p.cast(), 0, 0x8000) } != 0;
    let back = sys::free_memory();
    check!(
        r,
        "demand_zero",
        !p.is_null() && zero && (PAGES as u64..PAGES as u64 + 8).contains(&took) && freed && back >= after_alloc,
        "{PAGES} pages at {p:?}: zero {zero}, touching took {took} frames, freed {freed} ({} KiB back)",
        back.saturating_sub(after_touch) >> 10
    );
}

fn rt_virtual_alloc(bytes: usize) -> *mut u8 {
    // SAFETY: VirtualAlloc takes no pointers to read.
    unsafe { rt::VirtualAlloc(core::ptr::null_mut(), bytes, 0x3000, 0x04) }.cast()
}

/// Sleep(50) lasts 50–60 ms by the performance counter: never less, and
/// the upper bound on the best of up to three (a loaded host wakes a
/// starved vCPU late).
pub fn sleep_by_counter(r: &mut Report) {
    let mut shortest = u64::MAX;
    let mut tries = 0;
    while tries < 3 && !(50_000..60_000).contains(&shortest) {
        tries += 1;
        let t0 = sys::now_ns();
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(50) };
        let us = (sys::now_ns() - t0) / 1000;
        if us < 50_000 {
            shortest = us;
            break;
        }
        shortest = shortest.min(us);
    }
    check!(
        r,
        "sleep_by_counter",
        (50_000..60_000).contains(&shortest),
        "Sleep(50) took {shortest} us (best of {tries})"
    );
}

/// The user-buffer rule: the whole range is checked before a byte moves.
/// DEBUG_WRITE of `u64::MAX` bytes is refused (it used to be cut to 16 KiB
/// first); GET_SYSTEM_INFO into a buffer that runs into an unmapped page
/// writes nothing; a zero-length buffer needs only a user address.
pub fn boundary_rules(r: &mut Report) {
    // A one-page region; the page after it belongs to no region.
    let one = sys::lazy(4096);
    if one.is_null() {
        check!(r, "user_buffer_rules", false, "no memory for the check");
        return;
    }
    // SAFETY: inside the region.
    unsafe { one.write_volatile(0x5a) };
    // SAFETY: a raw call with a deliberately impossible length.
    let huge = unsafe { rt::syscall(abi::nr::DEBUG_WRITE, [one as u64, u64::MAX, 0, 0, 0]) };
    // A length inside user space but far past any mapping: 1 TiB from a
    // mapped page. (The kernel once walked each of its 2^28 pages looking
    // for demand-zero ones before refusing it; the fuzzer found that.)
    let t0 = sys::now_ns();
    // SAFETY: a raw call with a deliberately impossible length.
    let tib = unsafe { rt::syscall(abi::nr::DEBUG_WRITE, [one as u64, 1 << 40, 0, 0, 0]) };
    let tib_us = (sys::now_ns() - t0) / 1000;
    let tail = one as u64 + 4096 - 16;
    // Fill the tail with a pattern, then ask for a SystemInfo (56 bytes)
    // there: 16 bytes fit, 40 would land past the region.
    for i in 0..16 {
        // SAFETY: the last 16 bytes of the one-page region.
        unsafe { (tail as *mut u8).add(i).write_volatile(0xa5) };
    }
    // SAFETY: as above.
    let info = unsafe { rt::syscall(abi::nr::GET_SYSTEM_INFO, [tail, 0, 0, 0, 0]) };
    let untouched = (0..16).all(|i| {
        // SAFETY: as above.
        unsafe { (tail as *const u8).add(i).read_volatile() == 0xa5 }
    });
    // SAFETY: zero-length writes: a user address is enough, a kernel one is not.
    let zero_user = unsafe { rt::syscall(abi::nr::DEBUG_WRITE, [0x7000_0000, 0, 0, 0, 0]) };
    // SAFETY: as above.
    let zero_kernel =
        unsafe { rt::syscall(abi::nr::DEBUG_WRITE, [0xffff_8000_0000_0000, 0, 0, 0, 0]) };
    sys::release(one);
    check!(
        r,
        "user_buffer_rules",
        huge == Err(abi::Error::BadPointer)
            && tib == Err(abi::Error::BadPointer)
            && tib_us < 100_000
            && info == Err(abi::Error::BadPointer)
            && untouched
            && zero_user == Ok(0)
            && zero_kernel == Err(abi::Error::BadPointer),
        "DEBUG_WRITE(p, u64::MAX) {huge:?}, (p, 1 TiB) {tib:?} in {tib_us} us; SYSTEM_INFO across the end {info:?}, bytes before the end untouched {untouched}; zero length at a user address {zero_user:?}, at a kernel address {zero_kernel:?}"
    );
}
