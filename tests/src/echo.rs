//! The host side of the M6 network checks: QEMU's user network with a
//! `hostfwd` of a free 127.0.0.1 port to the guest's echo port 7 (UDP and
//! TCP), and a client that talks to `echo.exe` through it while the suite
//! boots. Only loopback traffic, and every loop is bounded.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// The guest's echo port (echo.exe).
const GUEST_PORT: u16 = 7;
/// The guest's benchmark port (the kernel's `bench_net`).
const BENCH_PORT: u16 = 8;
/// Bytes of the TCP exchange (several segments, more than one window).
pub const TCP_BYTES: usize = 100_000;
/// How long the client keeps trying.
const TRY_FOR: Duration = Duration::from_secs(600);

/// A free loopback port (UDP and TCP) for the forward.
pub fn free_port() -> Result<u16, String> {
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = tcp.local_addr().map_err(|e| e.to_string())?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free loopback port for UDP and TCP".into())
}

/// QEMU arguments: a user network forwarding `port` on 127.0.0.1 to the
/// guest's port 7 and `bench` to its port 8, and a virtio-net device on
/// it.
pub fn network_args(port: u16, bench: u16) -> Vec<String> {
    vec![
        "-netdev".into(),
        format!(
            "user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT},hostfwd=udp:127.0.0.1:{port}-:{GUEST_PORT},hostfwd=tcp:127.0.0.1:{bench}-:{BENCH_PORT},hostfwd=udp:127.0.0.1:{bench}-:{BENCH_PORT}"
        ),
        "-device".into(),
        "virtio-net-pci,netdev=net0".into(),
    ]
}

/// What the client saw.
#[derive(Clone, Debug, Default)]
pub struct EchoResult {
    /// The UDP datagram came back unchanged (and its round trip, µs).
    pub udp_rtt_us: Option<u128>,
    /// All of [`TCP_BYTES`] came back unchanged (and how long it took, ms).
    pub tcp_ms: Option<u128>,
    /// Attempts made before both worked.
    pub attempts: u32,
    /// The last thing that went wrong.
    pub last_error: String,
}

fn pattern() -> Vec<u8> {
    (0..TCP_BYTES).map(|i| (i * 31 + i / 1024) as u8).collect()
}

fn udp_once(port: u16, n: u32) -> Result<u128, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .map_err(|e| e.to_string())?;
    let msg = format!("ferrite udp echo {n}");
    let t0 = Instant::now();
    s.send_to(msg.as_bytes(), ("127.0.0.1", port))
        .map_err(|e| format!("udp send: {e}"))?;
    let mut buf = [0u8; 256];
    let (len, _) = s
        .recv_from(&mut buf)
        .map_err(|e| format!("udp receive: {e}"))?;
    let rtt = t0.elapsed().as_micros();
    if &buf[..len] != msg.as_bytes() {
        return Err(format!(
            "udp: got {:?}",
            String::from_utf8_lossy(&buf[..len])
        ));
    }
    Ok(rtt)
}

fn tcp_once(port: u16) -> Result<u128, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let t0 = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("tcp connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let data = pattern();
    // Write and read at once (the guest's windows are smaller than the
    // whole exchange).
    let mut writer = s.try_clone().map_err(|e| e.to_string())?;
    let sender = std::thread::spawn(move || {
        let r = writer.write_all(&data);
        let _ = writer.shutdown(Shutdown::Write);
        r
    });
    let mut back = Vec::new();
    let read = s.read_to_end(&mut back);
    let wrote = sender
        .join()
        .map_err(|_| "tcp writer panicked".to_string())?;
    wrote.map_err(|e| format!("tcp write: {e}"))?;
    read.map_err(|e| format!("tcp read after {} bytes: {e}", back.len()))?;
    if back != pattern() {
        return Err(format!(
            "tcp: {} bytes came back, not the {TCP_BYTES} sent",
            back.len()
        ));
    }
    Ok(t0.elapsed().as_millis())
}

/// Starts the client: it tries UDP, then TCP, every 300 ms until each has
/// worked once (or [`TRY_FOR`] passes, or `stop` is dropped); the result
/// comes through the returned channel.
pub fn start_client(port: u16) -> (mpsc::Sender<()>, mpsc::Receiver<EchoResult>) {
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = EchoResult::default();
        let start = Instant::now();
        while start.elapsed() < TRY_FOR && (r.udp_rtt_us.is_none() || r.tcp_ms.is_none()) {
            if !matches!(stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                break;
            }
            r.attempts += 1;
            if r.udp_rtt_us.is_none() {
                match udp_once(port, r.attempts) {
                    Ok(rtt) => r.udp_rtt_us = Some(rtt),
                    Err(e) => r.last_error = e,
                }
            }
            if r.udp_rtt_us.is_some() && r.tcp_ms.is_none() {
                match tcp_once(port) {
                    Ok(ms) => r.tcp_ms = Some(ms),
                    Err(e) => r.last_error = e,
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = tx.send(r);
    });
    (stop_tx, rx)
}

/// How long the benchmark peer serves at most.
const PEER_FOR: Duration = Duration::from_secs(900);

/// The peer of the kernel's network benchmarks: through the forward of
/// `port` to the guest's port 8 it sends a UDP hello until a datagram
/// comes back and connects over TCP until the guest accepts, and echoes
/// whatever arrives on either until `stop` is set (or [`PEER_FOR`]).
fn start_bench_peer(port: u16, stop: Arc<AtomicBool>) {
    let udp_stop = stop.clone();
    std::thread::spawn(move || {
        let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
        let start = Instant::now();
        let mut answered = false;
        let mut buf = [0u8; 2048];
        while !udp_stop.load(Ordering::Relaxed) && start.elapsed() < PEER_FOR {
            if !answered {
                let _ = s.send_to(b"ferrite bench peer", ("127.0.0.1", port));
            }
            if let Ok((len, from)) = s.recv_from(&mut buf) {
                answered = true;
                let _ = s.send_to(&buf[..len], from);
            }
        }
    });
    std::thread::spawn(move || {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) && start.elapsed() < PEER_FOR {
            let Ok(mut c) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
                std::thread::sleep(Duration::from_millis(300));
                continue;
            };
            let _ = c.set_nodelay(true);
            let _ = c.set_read_timeout(Some(Duration::from_millis(300)));
            let mut served = false;
            let mut idle = 0;
            loop {
                if stop.load(Ordering::Relaxed) || start.elapsed() >= PEER_FOR {
                    return;
                }
                match c.read(&mut buf) {
                    // Closed: by the guest after the benchmark, or by
                    // QEMU because nothing listened yet.
                    Ok(0) => break,
                    Ok(n) => {
                        served = true;
                        idle = 0;
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    // Idle for 1.5 s after serving: the benchmark is over;
                    // this end closes first (the guest then has no
                    // TIME-WAIT to sit out).
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        idle += 1;
                        if served && idle >= 5 {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            if served {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
}

/// A running client (see [`start_client`]) and benchmark peer.
pub struct Client {
    stop: mpsc::Sender<()>,
    result: mpsc::Receiver<EchoResult>,
    peer_stop: Arc<AtomicBool>,
}

impl Client {
    /// Picks two free ports, adds the network with their forwards to
    /// `args` and starts the client and the benchmark peer for them.
    pub fn start(args: &mut Vec<String>) -> Result<Self, String> {
        let port = free_port()?;
        let mut bench = free_port()?;
        while bench == port {
            bench = free_port()?;
        }
        args.extend(network_args(port, bench));
        let (stop, result) = start_client(port);
        let peer_stop = Arc::new(AtomicBool::new(false));
        start_bench_peer(bench, peer_stop.clone());
        Ok(Self {
            stop,
            result,
            peer_stop,
        })
    }

    /// Stops trying (the boot is over) and says what the client saw.
    pub fn finish(self) -> EchoResult {
        self.peer_stop.store(true, Ordering::Relaxed);
        drop(self.stop);
        self.result
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| EchoResult {
                last_error: "the client did not stop".into(),
                ..EchoResult::default()
            })
    }
}
