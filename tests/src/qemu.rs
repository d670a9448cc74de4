//! Boots an image in QEMU (TCG) on OVMF and captures the serial port.

use crate::qmp::script::{QmpDriver, ScriptRun};
use crate::qmp::{ScriptError, Step};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// isa-debug-exit statuses the milestone kernel uses: `(code << 1) | 1`.
pub const EXIT_SUCCESS: i32 = (0x10 << 1) | 1;
/// Some check failed.
pub const EXIT_FAILURE: i32 = (0x11 << 1) | 1;
/// Panic or unrecoverable exception.
pub const EXIT_FATAL: i32 = (0x12 << 1) | 1;

/// OVMF firmware files.
#[derive(Clone, Debug)]
pub struct Firmware {
    /// Code volume (read-only pflash), or a combined image used with -bios.
    pub code: PathBuf,
    /// Variable store template, copied per run; `None` for a combined image.
    pub vars: Option<PathBuf>,
}

/// Finds OVMF: `$OVMF_CODE`/`$OVMF_VARS`, else Debian's `ovmf` package.
pub fn find_firmware() -> Result<Firmware, String> {
    if let Ok(code) = std::env::var("OVMF_CODE") {
        let vars = std::env::var("OVMF_VARS").ok().map(PathBuf::from);
        return Ok(Firmware {
            code: code.into(),
            vars,
        });
    }
    let pairs = [
        (
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "/usr/share/OVMF/OVMF_VARS_4M.fd",
        ),
        (
            "/usr/share/OVMF/OVMF_CODE.fd",
            "/usr/share/OVMF/OVMF_VARS.fd",
        ),
    ];
    for (code, vars) in pairs {
        if Path::new(code).exists() && Path::new(vars).exists() {
            return Ok(Firmware {
                code: code.into(),
                vars: Some(vars.into()),
            });
        }
    }
    if Path::new("/usr/share/ovmf/OVMF.fd").exists() {
        return Ok(Firmware {
            code: "/usr/share/ovmf/OVMF.fd".into(),
            vars: None,
        });
    }
    Err("OVMF not found: run `make deps` (Debian package `ovmf`) or set OVMF_CODE/OVMF_VARS".into())
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited by itself with this status.
    Exited(i32),
    /// QEMU was killed by a signal.
    Signalled,
    /// The stop pattern appeared and QEMU was stopped.
    Stopped,
    /// The time limit passed and QEMU was stopped.
    TimedOut,
}

/// The QEMU trace event logged for each shutdown request, with its cause.
const SHUTDOWN_TRACE: &str = "qemu_system_shutdown_request";

/// `ShutdownCause` `guest-shutdown` (QEMU's qapi/run-state.json, where it is
/// the seventh value): the guest powered off, e.g. by ACPI S5.
const CAUSE_GUEST_SHUTDOWN: u32 = 6;

/// Why the guest made QEMU exit with status 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestStop {
    /// The guest powered off: QEMU traced one shutdown request, with the
    /// cause `guest-shutdown`.
    PowerOff,
    /// The guest reset the machine: under `-no-reboot` QEMU exits at a
    /// reset without a shutdown request of its own. `triple_fault`: the
    /// CPU logged one (`-d cpu_reset`).
    Reset {
        /// The reset came from a triple fault.
        triple_fault: bool,
    },
}

/// For a run that ended `Exited(0)`, reads QEMU's log to tell a power-off
/// from a reset (QEMU exits with 0 at both).
pub fn guest_stop(run: &Run) -> Result<GuestStop, String> {
    if run.ending != Ending::Exited(0) {
        return Err(format!(
            "the run ended {:?}, not by the guest (QEMU exit status 0)",
            run.ending
        ));
    }
    let path = &run.log_paths.1;
    let log = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let causes: Vec<Option<u32>> = log
        .lines()
        .filter_map(|l| l.split_once(SHUTDOWN_TRACE))
        .map(|(_, rest)| rest.trim().strip_prefix("reason=")?.parse().ok())
        .collect();
    match causes[..] {
        [] => Ok(GuestStop::Reset {
            triple_fault: log.lines().any(|l| l.trim() == "Triple fault"),
        }),
        [Some(CAUSE_GUEST_SHUTDOWN)] => Ok(GuestStop::PowerOff),
        _ => Err(format!(
            "QEMU traced shutdown requests with causes {causes:?} (guest-shutdown is {CAUSE_GUEST_SHUTDOWN}); see {}",
            path.display()
        )),
    }
}

/// The outcome of one boot.
#[derive(Clone, Debug)]
pub struct Run {
    /// Everything the guest wrote to COM1.
    pub serial: String,
    /// How it ended.
    pub ending: Ending,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Where the serial transcript and QEMU's log were saved.
    pub log_paths: (PathBuf, PathBuf),
}

/// What the machine boots from (always through OVMF).
#[derive(Clone, Copy, Debug)]
pub enum Medium<'a> {
    /// A raw disk image (our FAT boot volume).
    Disk(&'a Path),
    /// An ISO as a CD-ROM.
    Cdrom(&'a Path),
    /// A Linux kernel with an initramfs, loaded by OVMF through fw_cfg
    /// (the benchmark peer).
    Linux {
        /// bzImage.
        kernel: &'a Path,
        /// newc cpio archive.
        initrd: &'a Path,
        /// Kernel command line.
        append: &'a str,
    },
}

/// What to boot and how long to wait.
pub struct Boot<'a> {
    /// What to boot.
    pub medium: Medium<'a>,
    /// Time limit.
    pub timeout: Duration,
    /// Stop as soon as the serial output contains this.
    pub stop_on: Option<&'a str>,
    /// Name for the saved logs.
    pub name: &'a str,
    /// More QEMU arguments (e.g. `-vga none`; an `-smp` here replaces the
    /// default `-smp 1`).
    pub extra_args: &'a [&'a str],
    /// Input and screendumps while the guest runs, driven over QMP (`&[]`:
    /// none, and no QMP socket). The stop pattern still ends the run; steps
    /// that had not run by then are reported.
    pub script: &'a [Step<'a>],
}

/// Boots and waits for QEMU to exit, the stop pattern, or the time limit.
///
/// A script step that failed or never ran makes this an `Err` naming each
/// one (use [`boot_scripted`] to get the run as well).
pub fn boot(b: &Boot<'_>) -> Result<Run, String> {
    let (run, errors) = boot_scripted(b)?;
    if errors.is_empty() {
        return Ok(run);
    }
    let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    Err(format!(
        "'{}': the script did not complete ({:?}; serial log {}):\n{}",
        b.name,
        run.ending,
        run.log_paths.0.display(),
        list.join("\n")
    ))
}

/// Like [`boot`], but returns the run together with the script's problems
/// (empty when every step ran).
pub fn boot_scripted(b: &Boot<'_>) -> Result<(Run, Vec<ScriptError>), String> {
    let fw = find_firmware()?;
    let dir = crate::images::scratch_dir();
    let serial_log = dir.join(format!("{}.serial.log", b.name));
    let qemu_log = dir.join(format!("{}.qemu.log", b.name));
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-machine", "q35", "-m", "512M"]);
    // xAPIC unless the boot asks otherwise: QEMU 9+'s TCG gives `max` an
    // x2APIC, whose MSR accesses cost more under TCG than the MMIO ones
    // (the `-smp 4` suite takes about 25 % longer); the x2APIC boots pass
    // their own `-cpu` (see `expected::X2APIC_ARGS`).
    if !b.extra_args.contains(&"-cpu") {
        cmd.args(["-cpu", "max,-x2apic"]);
    }
    if !b.extra_args.contains(&"-smp") {
        cmd.args(["-smp", "1"]);
    }
    // A monitor socket, used only when the run times out: the registers
    // of every CPU then go into `<name>.hang.log` (where each one was).
    let monitor = dir.join(format!("{}.monitor.sock", b.name));
    let _ = std::fs::remove_file(&monitor);
    cmd.args(["-display", "none", "-no-reboot", "-serial", "stdio"]);
    cmd.arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", monitor.display()));
    // A QMP socket for the script's actions (see `crate::qmp`).
    let mut script = None;
    if !b.script.is_empty() {
        let qmp = dir.join(format!("{}.qmp.sock", b.name));
        let _ = std::fs::remove_file(&qmp);
        cmd.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp.display()));
        script = Some(ScriptRun::new(b.script, QmpDriver::new(qmp, dir.clone())));
    }
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    cmd.args(["-d", "cpu_reset,guest_errors", "-D"])
        .arg(&qemu_log);
    // Records every shutdown request with its cause (see `guest_stop`).
    cmd.args(["-trace", SHUTDOWN_TRACE]);
    match &fw.vars {
        Some(vars) => {
            let copy = dir.join(format!("{}.vars.fd", b.name));
            std::fs::copy(vars, &copy).map_err(|e| format!("copy {}: {e}", vars.display()))?;
            cmd.arg("-drive").arg(format!(
                "if=pflash,format=raw,readonly=on,file={}",
                fw.code.display()
            ));
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,file={}", copy.display()));
        }
        None => {
            cmd.arg("-bios").arg(&fw.code);
        }
    }
    match b.medium {
        Medium::Disk(image) => {
            cmd.arg("-drive")
                .arg(format!("format=raw,file={}", image.display()));
        }
        Medium::Cdrom(iso) => {
            cmd.arg("-cdrom").arg(iso);
        }
        Medium::Linux {
            kernel,
            initrd,
            append,
        } => {
            cmd.arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(append);
        }
    }
    cmd.args(b.extra_args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64 (run `make deps`): {e}"))?;
    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let sink = Arc::clone(&output);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut out) = sink.lock() {
                out.extend_from_slice(&buf[..n]);
            }
        }
    });
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let ending = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break match status.code() {
                Some(code) => Ending::Exited(code),
                None => Ending::Signalled,
            };
        }
        if start.elapsed() > b.timeout {
            let hang = dir.join(format!("{}.hang.log", b.name));
            match registers_of_every_cpu(&monitor) {
                Ok(text) => {
                    let rips: Vec<&str> = text
                        .lines()
                        .filter(|l| l.starts_with("RIP="))
                        .map(|l| l.split_whitespace().next().unwrap_or(l))
                        .collect();
                    eprintln!(
                        "qemu: '{}' timed out; CPUs at {rips:?} (all registers in {})",
                        b.name,
                        hang.display()
                    );
                    let _ = std::fs::write(&hang, text);
                }
                Err(e) => eprintln!(
                    "qemu: '{}' timed out; no registers from the monitor: {e}",
                    b.name
                ),
            }
            let _ = child.kill();
            let _ = child.wait();
            break Ending::TimedOut;
        }
        // Steps first: a step and the stop pattern seen in one poll run the
        // step before the run stops.
        if let Some(script) = script.as_mut().filter(|s| !s.done()) {
            let so_far = output.lock().map(|o| o.clone()).unwrap_or_default();
            script.poll(&so_far);
        }
        if let Some(pattern) = b.stop_on {
            let seen = output
                .lock()
                .map(|o| String::from_utf8_lossy(&o).contains(pattern))
                .unwrap_or(false);
            if seen {
                // Let the rest of the line arrive.
                std::thread::sleep(Duration::from_millis(300));
                let _ = child.kill();
                let _ = child.wait();
                break Ending::Stopped;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    let stderr_text = err_reader.join().unwrap_or_default();
    let bytes = output.lock().map(|o| o.clone()).unwrap_or_default();
    let serial = String::from_utf8_lossy(&bytes).into_owned();
    let _ = std::fs::write(&serial_log, &bytes);
    if !stderr_text.trim().is_empty() {
        let _ = std::fs::write(
            dir.join(format!("{}.qemu-stderr.log", b.name)),
            &stderr_text,
        );
    }
    let errors = script.map(|s| s.finish(&bytes)).unwrap_or_default();
    let run = Run {
        serial,
        ending,
        elapsed: start.elapsed(),
        log_paths: (serial_log, qemu_log),
    };
    Ok((run, errors))
}

/// Asks a running QEMU's monitor for `info registers -a`.
fn registers_of_every_cpu(socket: &std::path::Path) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let mut stream = UnixStream::connect(socket).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"info registers -a\n")
        .map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}
