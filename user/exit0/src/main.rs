//! exit0.exe: returns 0 at once (the process the spawn benchmarks start).
// A PE program for Ferrite, built for x86_64-pc-windows-msvc; on other
// targets (a host `cargo clippy --workspace`) it links std only to
// type-check.
#![cfg_attr(windows, no_std)]
#![no_main]

init::main!(run);

fn run() -> i32 {
    0
}
