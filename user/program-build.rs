//! Link arguments of a Ferrite program (see the README, "Adding a user
//! program"): the Init library's entry points, console subsystem, and a
//! COFF symbol table (`/DEBUG:SYMTAB`: the kernel names the functions of a
//! faulting program's call stack from it; it is not loaded). Every
//! program's Cargo.toml names this one script (`build = "../program-build.rs"`).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("msvc") {
        for arg in [
            "/ENTRY:InitProcess",
            "/SUBSYSTEM:CONSOLE",
            "/EXPORT:InitThread",
            "/DEBUG:SYMTAB",
        ] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}
