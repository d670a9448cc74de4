//! Link arguments for runtime.dll (PE32+ DLL, see `.cargo/config.toml`).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("msvc") {
        // No DllMain: the kernel binds runtime.dll and never calls into it
        // on load, so AddressOfEntryPoint is 0. Preferred base: lld's
        // default for DLLs (0x1_8000_0000); relocations stay (/DYNAMICBASE).
        println!("cargo:rustc-link-arg=/NOENTRY");
        // A COFF symbol table for the kernel's user call stacks (not
        // loaded; see user/program-build.rs).
        println!("cargo:rustc-link-arg=/DEBUG:SYMTAB");
    }
}
