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
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    let needles = [
        ("booting without a framebuffer", "the loader did not say so"),
        (
            "console: not started (NoFramebuffer)",
            "the kernel tried a console",
        ),
        ("framebuffer: none", "the banner did not say so"),
        ("boot complete; idle", "the kernel did not reach idle"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Stopped) {
        panic!("{report}");
    }
}
