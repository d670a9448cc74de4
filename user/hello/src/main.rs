//! hello.exe: greets the debug console through runtime.dll's printf.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

use init::rt;

init::main!(run);

fn run() -> i32 {
    let mut info = abi::ProcessInfo::default();
    // SAFETY: `info` is a writable ProcessInfo.
    unsafe { rt::GetProcessInfo(&mut info) };
    let name = &info.name;
    // SAFETY: the format's arguments match it: a string (the name has at
    // most 32 bytes, %.32s stops there even if there is no NUL) and a
    // 64-bit integer.
    unsafe {
        rt::printf(
            c"Hello from %.32s (pid %llu) through runtime.dll\n".as_ptr(),
            name.as_ptr(),
            info.process_id,
        )
    };
    0
}
