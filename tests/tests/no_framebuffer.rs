//! Without a framebuffer (no GOP), our loader boots on and says so, and the
//! kernel runs without its screen console instead of failing.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium};
use ferrite_tests::transcript;
use std::time::Duration;

#[test]
fn boots_without_a_framebuffer() {
    let run = (|| {
        let kernel = images::build_kernel(KernelFlavor::Plain)?;
        let loader = images::build_loader()?;
        let image = images::scratch_dir().join("no-framebuffer.img");
        Volume::new(&loader, &kernel, &images::limine_conf("", &[]))?.write(&image)?;
        qemu::boot(&Boot {
            medium: Medium::Disk(&image),
            timeout: Duration::from_secs(300),
            stop_on: Some("boot complete; idle"),
            name: "no-framebuffer",
            extra_args: &["-vga", "none"],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    let text = transcript::clean(&run.serial);
    let mut problems = Vec::new();
    for needle in [
        "booting without a framebuffer",
        "console: not started (NoFramebuffer)",
        "framebuffer: none",
        "boot complete; idle",
    ] {
        if !text.contains(needle) {
            problems.push(format!("no line with '{needle}'"));
        }
    }
    if run.ending != Ending::Stopped {
        problems.push(format!(
            "the kernel did not reach idle (ending {:?})",
            run.ending
        ));
    }
    if !problems.is_empty() {
        panic!("{}", transcript::failure(&run, &problems));
    }
}
