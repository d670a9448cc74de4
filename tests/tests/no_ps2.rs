//! A machine without a PS/2 controller (`-machine i8042=off`, so QEMU's
//! FADT clears the "8042" boot flag): the kernel says there is no keyboard
//! or mouse, lists no i8042 devices, and boots on.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium};
use ferrite_tests::transcript;
use std::time::Duration;

#[test]
fn boots_without_a_ps2_controller() {
    let run = (|| {
        let kernel = images::build_kernel(KernelFlavor::Plain)?;
        let loader = images::build_loader()?;
        let image = images::scratch_dir().join("no-ps2.img");
        Volume::new(&loader, &kernel, &images::limine_conf("", &[]))?.write(&image)?;
        qemu::boot(&Boot {
            medium: Medium::Disk(&image),
            timeout: Duration::from_secs(300),
            stop_on: Some("boot complete; idle"),
            name: "no-ps2",
            extra_args: &["-machine", "i8042=off"],
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    let needles = [
        (
            "the FADT reports no PS/2 controller; no keyboard or mouse",
            "the kernel did not say that there is no PS/2 controller",
        ),
        ("pci0 [platform]", "the device tree was not listed"),
        ("boot complete; idle", "the kernel did not reach idle"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Stopped) {
        panic!("{report}");
    }
    let listed = transcript::clean(&run.serial);
    let stray: Vec<&str> = listed
        .lines()
        .filter(|l| l.contains("PNP0303") || l.contains("i8042 [isa]"))
        .collect();
    assert!(
        stray.is_empty(),
        "i8042 devices listed without a controller: {stray:?}"
    );
}
