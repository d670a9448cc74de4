//! The milestone suite's boot volume: the milestone kernel, our loader, the
//! user programs and the test modules the checks look for.

use crate::images::{self, KernelFlavor, Volume};
use std::path::PathBuf;
use std::time::Duration;

/// The M0 test module: the kernel's `modules` check looks for this string
/// and these contents.
const M0_MODULE: (&str, &str) = ("boot/m0-module.txt", "m0-test-module");
const M0_MODULE_TEXT: &[u8] =
    b"Ferrite M0 test module\nThe kernel reads this file through the module response.\n";

/// Time limit of one boot (`FERRITE_BOOT_TIMEOUT` seconds, default 300).
pub fn boot_timeout() -> Duration {
    let secs = std::env::var("FERRITE_BOOT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// The fault programs: one file, loaded under each of these names.
const FAULT_NAMES: &[&str] = &[
    "fault-pf.exe",
    "fault-gp.exe",
    "fault-ud.exe",
    "fault-de.exe",
    "fault-kread.exe",
    "fault-peek.exe",
    "fault-ss.exe",
    "fault-sysret.exe",
    "fault-stack.exe",
    "fault-skip.exe",
];

/// Broken variants of hello.exe the kernel must refuse, each made by one
/// patch: (module name, bytes to find, replacement; empty = truncate).
fn broken_variants(hello: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    out.push((
        "broken-truncated.exe".to_string(),
        hello[..hello.len().min(200)].to_vec(),
    ));
    let mut magic = hello.to_vec();
    magic[..2].copy_from_slice(b"ZM");
    out.push(("broken-magic.exe".to_string(), magic));
    for (name, from, to) in [
        (
            "broken-missing-dll.exe",
            &b"runtime.dll"[..],
            &b"nosuchx.dll"[..],
        ),
        (
            "broken-missing-export.exe",
            &b"ExitProcess"[..],
            &b"ExitProcesz"[..],
        ),
    ] {
        let mut bytes = hello.to_vec();
        if images::patch_bytes(&mut bytes, from, to) == 0 {
            return Err(format!(
                "hello.exe has no '{}' to patch",
                String::from_utf8_lossy(from)
            ));
        }
        out.push((name.to_string(), bytes));
    }
    Ok(out)
}

/// Builds everything and writes the suite's boot volume; returns its path.
pub fn build_image() -> Result<PathBuf, String> {
    build_image_for("suite")
}

/// The suite's boot volume with `test=<scenario>` on the command line,
/// written to `<scenario>.img`.
pub fn build_image_for(scenario: &str) -> Result<PathBuf, String> {
    build_image_as(scenario, scenario)
}

/// Boots the suite's volume with `test=<scenario>` to its end (the
/// scenario's own boot, as the stress and fuzz tests make).
pub fn boot_scenario(scenario: &str) -> Result<crate::qemu::Run, String> {
    let image = build_image_for(scenario)?;
    crate::qemu::boot(&crate::qemu::Boot {
        medium: crate::qemu::Medium::Disk(&image),
        timeout: boot_timeout(),
        stop_on: None,
        name: scenario,
        extra_args: &[],
        script: &[],
    })
}

/// The suite's boot volume with `test=<scenario>`, written to
/// `<file>.img` (so two boots of one scenario never share an image).
pub fn build_image_as(scenario: &str, file: &str) -> Result<PathBuf, String> {
    let kernel = images::build_kernel(KernelFlavor::Milestones)?;
    let loader = images::build_loader()?;
    let user = images::build_user()?;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let hello = read(&user.hello)?;
    let faults = read(&user.faults)?;
    let broken = broken_variants(&hello)?;
    let (volume, programs) = Volume::new(&loader, &kernel, "")?
        .with_file(M0_MODULE.0, M0_MODULE_TEXT)
        .with_modules(
            [
                ("runtime.dll", read(&user.runtime_dll)?),
                ("hello.exe", hello.clone()),
                ("m2-tests.exe", read(&user.m2_tests)?),
                ("m3-tests.exe", read(&user.m3_tests)?),
                ("exit0.exe", read(&user.exit0)?),
                ("m4-tests.exe", read(&user.m4_tests)?),
                ("fuzz.exe", read(&user.fuzz)?),
                ("echo.exe", read(&user.echo)?),
            ]
            .into_iter()
            .chain(FAULT_NAMES.iter().map(|n| (*n, faults.clone())))
            .chain(broken.iter().map(|(n, d)| (n.as_str(), d.clone())))
            .map(|(n, d)| (n.to_string(), d)),
        );
    let mut modules = vec![(M0_MODULE.0.to_string(), M0_MODULE.1.to_string())];
    modules.extend(programs);
    let refs: Vec<(&str, &str)> = modules
        .iter()
        .map(|(p, n)| (p.as_str(), n.as_str()))
        .collect();
    let config = images::limine_conf(&format!("test={scenario}"), &refs);
    let image = images::scratch_dir().join(format!("{file}.img"));
    volume.with_file("limine.conf", config).write(&image)?;
    Ok(image)
}
