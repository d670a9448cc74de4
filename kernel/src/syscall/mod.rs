//! System-call dispatch over the numbers of the `abi` crate.
#![forbid(unsafe_code)]

use crate::arch::syscall::SyscallFrame;
use crate::arch::{serial, tsc};
use crate::mm::user_copy;
use crate::mm::user_space::Access;
use crate::task;
use abi::{nr, protection, Error, SysResult};

mod file;
mod objects;
mod socket;
mod window;

/// Longest single DEBUG_WRITE (longer writes are cut, not refused).
const DEBUG_WRITE_MAX: u64 = 16 * 1024;

/// Installs the dispatcher as the SYSCALL handler.
pub fn init() {
    crate::arch::syscall::init(dispatch, before_return);
}

/// After every system call, interrupts off: a pending reschedule, an exit
/// request, or a return address SYSRET cannot take ends here.
fn before_return(frame: &mut SyscallFrame) {
    if !crate::arch::syscall::sysret_safe(frame.rip) {
        if let Some(t) = task::sched::current() {
            t.request_exit(abi::status::ACCESS_VIOLATION);
        }
    }
    task::sched::after_interrupt(true, false);
}

fn dispatch(frame: &mut SyscallFrame) {
    #[cfg(feature = "milestones")]
    crate::fault::entry_flags::record(crate::fault::entry_flags::Entry::Syscall, frame.rflags);
    // The null call needs none of the large frame the other calls' stack
    // buffers make.
    if frame.number() == nr::NOP {
        frame.rax = 0;
        return;
    }
    dispatch_call(frame);
}

#[inline(never)]
fn dispatch_call(frame: &mut SyscallFrame) {
    let [a0, a1, a2, a3, a4] = frame.args();
    let result: SysResult = match frame.number() {
        nr::NOP => Ok(0),
        nr::EXIT_PROCESS => objects::exit_process(a0 as u32).and_then(|_| exit(a0 as u32)),
        nr::EXIT_THREAD => exit(a0 as u32),
        nr::DEBUG_WRITE => debug_write(a0, a1),
        nr::GET_SYSTEM_INFO => system_info(a0),
        nr::GET_PROCESS_INFO => process_info(a0),
        nr::SLEEP => sleep(a0),
        nr::ALLOCATE_PAGES => allocate_pages(a0, a1),
        nr::FREE_PAGES => free_pages(a0, a1),
        nr::REPORT_CHECK => report_check(a0, a1, a2, a3, a4),
        nr::REPORT_BENCH => report_bench(a0, a1, a2, a3),
        nr::REPORT_BENCH_MARK => report_bench_mark(a0, a1, a2),
        nr::CREATE_THREAD => objects::create_thread(a0, a1, a2),
        nr::WAIT_MULTIPLE => objects::wait_multiple(a0, a1, a2, a3),
        nr::GET_EXIT_CODE => objects::exit_code(a0),
        nr::TERMINATE_PROCESS => objects::terminate_process(a0, a1),
        nr::CLOSE_HANDLE => objects::close_handle(a0),
        nr::YIELD => objects::yield_now(),
        nr::GET_TIME => objects::get_time(a0),
        nr::CREATE_EVENT => objects::create_event(a0, a1),
        nr::SET_EVENT => objects::set_event(a0),
        nr::RESET_EVENT => objects::reset_event(a0),
        nr::CREATE_PROCESS => objects::create_process(a0, a1, a2, a3, a4),
        nr::GET_COMMAND_LINE => objects::command_line(a0, a1),
        nr::OPEN_PIPE => objects::open_pipe(a0, a1),
        nr::PIPE_WRITE => objects::pipe_write(a0, a1, a2),
        nr::PIPE_READ => objects::pipe_read(a0, a1, a2),
        nr::ALLOCATE_LAZY => allocate_lazy(a0, a1),
        nr::SET_THREAD_AFFINITY => objects::set_thread_affinity(a0, a1),
        nr::GET_CPU_NUMBER => Ok(task::sched::cpu_number() as u64),
        nr::GET_DEVICE => device_record(a0, a1),
        nr::CREATE_WINDOW => window::create_window(a0, a1, a2, a3, a4),
        nr::GET_WINDOW_RECT => window::window_rect(a0, a1),
        nr::GET_MESSAGE => window::get_message(a0, a1, a2, a3),
        nr::SET_SCREEN_BUFFER => window::set_screen_buffer(a0, a1, a2, a3, a4),
        nr::POST_QUIT => window::post_quit(a0),
        nr::OPEN_FILE => file::open_file(a0, a1, a2),
        nr::WRITE_FILE => file::write_file(a0, a1, a2),
        nr::FILE_INFO => file::file_info(a0, a1, a2),
        nr::READ_DIRECTORY => file::read_directory(a0, a1, a2, a3),
        nr::DELETE_FILE => file::delete_file(a0, a1),
        nr::RENAME_FILE => file::rename_file(a0, a1, a2, a3),
        nr::CREATE_DIRECTORY => file::create_directory(a0, a1),
        nr::UDP_BIND => socket::udp_bind(a0),
        nr::UDP_SEND_TO => socket::udp_send_to(a0, a1, a2, a3, a4),
        nr::UDP_RECEIVE_FROM => socket::udp_receive_from(a0, a1, a2, a3, a4),
        nr::TCP_LISTEN => socket::tcp_listen(a0),
        nr::TCP_ACCEPT => socket::tcp_accept(a0, a1),
        nr::TCP_CONNECT => socket::tcp_connect(a0, a1, a2),
        nr::TCP_SEND => socket::tcp_send(a0, a1, a2, a3),
        nr::TCP_RECEIVE => socket::tcp_receive(a0, a1, a2, a3),
        nr::READ_FILE => file::read_file(a0, a1, a2),
        nr::SEEK_FILE => file::seek_file(a0, a1, a2),
        nr::FILE_SIZE => file::file_size(a0),
        _ => Err(Error::BadSyscall),
    };
    frame.rax = abi::encode(result);
}

/// Makes the untouched demand-zero pages of a user buffer present (they
/// get their frame now).
fn fault_in(ptr: u64, len: u64, write: bool) -> Result<(), Error> {
    user_copy::check_range(ptr, usize::try_from(len).map_err(|_| Error::BadPointer)?)?;
    task::with_current(|p| p.fault_in(ptr, len, write))
        .transpose()
        .map(|_| ())
}

/// Runs `op` (which checks the buffer by the rule of `mm::user_copy`); if
/// it finds a page missing, faults the demand-zero pages in and runs it
/// again. The common case, a mapped buffer, costs one check.
fn with_user<R>(
    ptr: u64,
    len: u64,
    write: bool,
    mut op: impl FnMut() -> Result<R, Error>,
) -> Result<R, Error> {
    match op() {
        Err(Error::BadPointer) => {
            fault_in(ptr, len, write)?;
            op()
        }
        other => other,
    }
}

/// Checks a whole user buffer, faulting its demand-zero pages in.
fn check_user(ptr: u64, len: u64, write: bool) -> Result<(), Error> {
    with_user(ptr, len, write, || user_copy::check_buffer(ptr, len, write))
}

/// Reads a user buffer.
fn uread(ptr: u64, buf: &mut [u8]) -> Result<(), Error> {
    let len = buf.len() as u64;
    with_user(ptr, len, false, || user_copy::read(ptr, buf))
}

/// Writes a user buffer.
fn uwrite(ptr: u64, data: &[u8]) -> Result<(), Error> {
    with_user(ptr, data.len() as u64, true, || user_copy::write(ptr, data))
}

/// Ends the calling thread on its way back to ring 3.
fn exit(code: u32) -> SysResult {
    if let Some(t) = task::sched::current() {
        t.request_exit(code);
    }
    Ok(0)
}

/// Writes the text at `[ptr, ptr + len)`: the whole buffer is checked
/// first; at most [`DEBUG_WRITE_MAX`] bytes are shown, copied through a
/// stack buffer (nothing is allocated). Returns the bytes shown.
fn debug_write(ptr: u64, len: u64) -> SysResult {
    #[cfg(feature = "milestones")]
    crate::milestones::bugcheck::syscall_hook();
    check_user(ptr, len, false)?;
    let shown = len.min(DEBUG_WRITE_MAX);
    let pid = task::with_current(|p| p.id()).unwrap_or(u64::MAX);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < shown {
        let n = (shown - done).min(chunk.len() as u64) as usize;
        user_copy::read(ptr + done, &mut chunk[..n])?;
        serial::write_user(pid, &chunk[..n]);
        for piece in chunk[..n].utf8_chunks() {
            for text in [
                piece.valid(),
                if piece.invalid().is_empty() {
                    ""
                } else {
                    "\u{fffd}"
                },
            ] {
                crate::console::write_str(text);
                task::with_current(|p| p.record_output(text));
            }
        }
        done += n as u64;
    }
    Ok(shown)
}

fn system_info(out: u64) -> SysResult {
    let frames = crate::mm::frame_alloc::stats();
    let info = abi::SystemInfo {
        abi_version: abi::ABI_VERSION,
        page_size: 4096,
        processor_count: crate::arch::percpu::online_count() as u32,
        reserved: 0,
        tsc_frequency: tsc::frequency(),
        total_memory: frames.map_or(0, |f| f.free + f.used),
        free_memory: frames.map_or(0, |f| f.free),
        user_min: abi::USER_MIN,
        user_end: abi::USER_END,
    };
    let size = core::mem::size_of_val(&info) as u64;
    with_user(out, size, true, || user_copy::write_value(out, &info))?;
    Ok(0)
}

fn device_record(index: u64, out: u64) -> SysResult {
    let size = core::mem::size_of::<abi::DeviceRecord>() as u64;
    // The pointer is checked before the tree is looked at, so a bad one
    // gives BadPointer whatever the index.
    user_copy::check_range(out, size as usize)?;
    let index = usize::try_from(index).map_err(|_| Error::NotFound)?;
    let record = crate::drivers::record(index).ok_or(Error::NotFound)?;
    with_user(out, size, true, || user_copy::write_value(out, &record))?;
    Ok(0)
}

fn process_info(out: u64) -> SysResult {
    let mut info = task::with_current(|p| p.info()).ok_or(Error::NotFound)?;
    info.thread_id = task::sched::current().map_or(0, |t| t.id());
    let size = core::mem::size_of_val(&info) as u64;
    with_user(out, size, true, || user_copy::write_value(out, &info))?;
    Ok(0)
}

/// Blocks the calling thread for at least `ms` milliseconds.
fn sleep(ms: u64) -> SysResult {
    task::sched::sleep_ns(ms.saturating_mul(1_000_000)).map_err(|_| Error::NoMemory)?;
    Ok(0)
}

fn access(prot: u64) -> Result<Access, Error> {
    let known = protection::READ | protection::WRITE | protection::EXECUTE;
    if prot == 0 || prot & !known != 0 {
        return Err(Error::InvalidArgument);
    }
    let write = prot & protection::WRITE != 0;
    let execute = prot & protection::EXECUTE != 0;
    if write && execute {
        return Err(Error::InvalidArgument); // W^X
    }
    Ok(Access { write, execute })
}

fn allocate_pages(bytes: u64, prot: u64) -> SysResult {
    let access = access(prot)?;
    if bytes == 0 || bytes > 1 << 30 {
        return Err(Error::InvalidArgument);
    }
    task::with_current(|p| p.allocate(bytes, access)).ok_or(Error::NotFound)?
}

fn allocate_lazy(bytes: u64, prot: u64) -> SysResult {
    let access = access(prot)?;
    if bytes == 0 || bytes > 1 << 32 {
        return Err(Error::InvalidArgument);
    }
    task::with_current(|p| p.allocate_lazy(bytes, access)).ok_or(Error::NotFound)?
}

fn free_pages(at: u64, bytes: u64) -> SysResult {
    task::with_current(|p| p.release(at, bytes)).ok_or(Error::NotFound)??;
    Ok(0)
}

fn user_string(ptr: u64, len: u64, max: u64) -> Result<alloc::string::String, Error> {
    if len > max {
        return Err(Error::InvalidArgument);
    }
    let mut buf = alloc::vec::Vec::new();
    buf.try_reserve_exact(len as usize)
        .map_err(|_| Error::NoMemory)?;
    buf.resize(len as usize, 0);
    uread(ptr, &mut buf)?;
    alloc::string::String::from_utf8(buf).map_err(|_| Error::InvalidArgument)
}

/// Names in protocol lines: letters, digits and `_` only, so a user
/// program cannot smuggle a line break or a second field into them.
fn is_protocol_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg_attr(not(feature = "milestones"), allow(unused_variables))]
fn report_check(name: u64, name_len: u64, passed: u64, detail: u64, detail_len: u64) -> SysResult {
    if !cfg!(feature = "milestones") {
        return Err(Error::NotSupported);
    }
    let name = user_string(name, name_len, 64)?;
    let detail = user_string(detail, detail_len, 400)?;
    if !is_protocol_name(&name) {
        return Err(Error::InvalidArgument);
    }
    #[cfg(feature = "milestones")]
    crate::milestones::user_check(&name, passed != 0, &detail);
    Ok(0)
}

#[cfg_attr(not(feature = "milestones"), allow(unused_variables))]
fn report_bench(name: u64, name_len: u64, iterations: u64, ticks: u64) -> SysResult {
    if !cfg!(feature = "milestones") {
        return Err(Error::NotSupported);
    }
    let name = user_string(name, name_len, 64)?;
    if iterations == 0 || !is_protocol_name(&name) {
        return Err(Error::InvalidArgument);
    }
    #[cfg(feature = "milestones")]
    crate::milestones::bench_line(&name, iterations, ticks);
    Ok(0)
}

#[cfg_attr(not(feature = "milestones"), allow(unused_variables))]
fn report_bench_mark(name: u64, name_len: u64, id: u64) -> SysResult {
    if !cfg!(feature = "milestones") {
        return Err(Error::NotSupported);
    }
    let name = user_string(name, name_len, 64)?;
    if !is_protocol_name(&name) || id > 255 {
        return Err(Error::InvalidArgument);
    }
    #[cfg(feature = "milestones")]
    crate::milestones::raw_line(format_args!("INFO bench={name} mark_id={id}\n"));
    Ok(0)
}
