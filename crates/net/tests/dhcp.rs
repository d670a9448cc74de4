//! DHCP: a minimal server in front of a gateway stack hands the guest a
//! lease; losing the server loses the lease, its return restores it.

mod common;

use std::net::Ipv4Addr;

use common::frames::{ethernet, ipv4, udp, BROADCAST};
use common::{advance, MAC_A, MAC_B};
use net::loopback::{pair, WireEnd};
use net::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet,
    UdpPacket,
};
use net::{DeviceError, NetDevice, NetError, Origin, Stack};

const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const OFFERED: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 2, 3), Ipv4Addr::new(9, 9, 9, 9)];
const LEASE_SECS: u32 = 60;

/// The gateway's device: DHCP client messages are answered here (when
/// `answering`), everything else goes to the gateway's own stack.
struct DhcpGateway {
    end: WireEnd,
    answering: bool,
    discovers: u32,
    acks: u32,
}

impl DhcpGateway {
    /// Answers `frame` if it is a DHCP DISCOVER or REQUEST; returns
    /// whether it was DHCP at all.
    fn serve(&mut self, frame: &[u8]) -> bool {
        let Some(repr_bytes) = dhcp_payload(frame) else {
            return false;
        };
        let packet = DhcpPacket::new_checked(repr_bytes).unwrap();
        let req = DhcpRepr::parse(&packet).unwrap();
        let reply_type = match req.message_type {
            DhcpMessageType::Discover => {
                self.discovers += 1;
                2
            }
            DhcpMessageType::Request => {
                self.acks += 1;
                5
            }
            other => panic!("unexpected {other:?}"),
        };
        if self.answering {
            let bootp = bootp_reply(
                reply_type,
                req.transaction_id,
                req.client_hardware_address.0,
            );
            let reply = ethernet(
                BROADCAST,
                MAC_B,
                0x0800,
                &ipv4(GATEWAY, Ipv4Addr::BROADCAST, 17, &udp(67, 68, &bootp)),
            );
            self.end.transmit(&reply).unwrap();
        }
        true
    }
}

/// The DHCP message in `frame`, if it is UDP to port 67.
fn dhcp_payload(frame: &[u8]) -> Option<&[u8]> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    (udp.dst_port() == 67).then(|| udp.payload())
}

/// A BOOTREPLY (RFC 2131 §2, options RFC 2132) offering `OFFERED`.
fn bootp_reply(message_type: u8, xid: u32, chaddr: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 2; // op: BOOTREPLY
    p[1] = 1; // htype: Ethernet
    p[2] = 6; // hlen
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[16..20].copy_from_slice(&OFFERED.octets()); // yiaddr
    p[20..24].copy_from_slice(&GATEWAY.octets()); // siaddr
    p[28..34].copy_from_slice(&chaddr);
    p.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    p.extend_from_slice(&[53, 1, message_type]);
    p.extend_from_slice(&[54, 4]);
    p.extend_from_slice(&GATEWAY.octets()); // server identifier
    p.extend_from_slice(&[51, 4]);
    p.extend_from_slice(&LEASE_SECS.to_be_bytes());
    p.extend_from_slice(&[1, 4, 255, 255, 255, 0]); // subnet mask
    p.extend_from_slice(&[3, 4]);
    p.extend_from_slice(&GATEWAY.octets()); // router
    p.extend_from_slice(&[6, 8]);
    p.extend_from_slice(&DNS[0].octets());
    p.extend_from_slice(&DNS[1].octets());
    p.push(255);
    p
}

impl NetDevice for DhcpGateway {
    fn mac(&self) -> [u8; 6] {
        self.end.mac()
    }
    fn mtu(&self) -> usize {
        self.end.mtu()
    }
    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        loop {
            let Some(n) = self.end.receive(buf)? else {
                return Ok(None);
            };
            if !self.serve(&buf[..n]) {
                return Ok(Some(n));
            }
        }
    }
    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        self.end.transmit(frame)
    }
    fn can_transmit(&self) -> bool {
        self.end.can_transmit()
    }
}

struct Lan {
    guest: Stack<WireEnd>,
    gateway: Stack<DhcpGateway>,
    now: u64,
}

impl Lan {
    fn new() -> Self {
        let (g, s) = pair(MAC_A, MAC_B);
        let guest = Stack::with_seed(g, 0, 7).unwrap();
        let device = DhcpGateway {
            end: s,
            answering: true,
            discovers: 0,
            acks: 0,
        };
        let mut gateway = Stack::with_seed(device, 0, 8).unwrap();
        gateway.set_static(GATEWAY, 24, None).unwrap();
        Self {
            guest,
            gateway,
            now: 0,
        }
    }

    fn run_until(&mut self, max_ms: u64, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let end = self.now + max_ms;
        while self.now <= end {
            self.guest.poll(self.now);
            self.gateway.poll(self.now);
            if done(self) {
                return true;
            }
            let mut step = advance(&mut [&mut self.guest], self.now);
            if self.gateway.device().end.pending() > 0 {
                step = 1;
            } else if let Some(d) = self.gateway.poll_delay(self.now) {
                step = step.min(d.max(1));
            }
            self.now += step;
        }
        false
    }
}

#[test]
fn the_guest_gets_the_offered_lease_and_pings_the_gateway() {
    let mut lan = Lan::new();
    assert_eq!(lan.guest.lease(), None);
    assert!(lan.run_until(5_000, |l| l.guest.lease().is_some()));
    let lease = lan.guest.lease().unwrap();
    assert_eq!(lease.address, OFFERED);
    assert_eq!(lease.prefix_len, 24);
    assert_eq!(lease.netmask(), Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(lease.gateway, Some(GATEWAY));
    assert_eq!(lease.dns_servers().collect::<Vec<_>>(), DNS);
    assert_eq!(lease.origin, Origin::Dhcp);
    assert_eq!(
        (lan.gateway.device().discovers, lan.gateway.device().acks),
        (1, 1)
    );
    // The DHCP client's port is taken while it runs.
    assert_eq!(lan.guest.udp_bind(68), Err(NetError::PortInUse));

    lan.guest.ping(GATEWAY, 1, 1, b"hello").unwrap();
    assert!(lan.run_until(2_000, |l| l.guest.take_echo_reply().is_some()));
    // Off the subnet goes through the gateway (the route exists).
    lan.guest
        .ping(Ipv4Addr::new(1, 1, 1, 1), 1, 2, b"")
        .unwrap();
}

#[test]
fn a_lease_is_renewed_lost_with_its_server_and_regained() {
    let mut lan = Lan::new();
    assert!(lan.run_until(5_000, |l| l.guest.lease().is_some()));
    let got = lan.now;
    // Renewal at half the lease keeps the address.
    assert!(lan.run_until(40_000, |l| l.gateway.device().acks == 2));
    assert!(lan.now - got >= u64::from(LEASE_SECS) * 500);
    assert_eq!(lan.guest.lease().unwrap().address, OFFERED);

    // The server goes quiet: the lease runs out and the address goes.
    lan.gateway.device_mut().answering = false;
    let quiet = lan.now;
    assert!(lan.run_until(120_000, |l| l.guest.lease().is_none()));
    assert!(lan.now - quiet <= u64::from(LEASE_SECS) * 1000);
    assert_eq!(lan.guest.ping(GATEWAY, 1, 1, b""), Err(NetError::NoAddress));
    assert_eq!(lan.guest.tcp_connect(GATEWAY, 80), Err(NetError::NoAddress));

    // It comes back: discovery starts over and the lease returns.
    lan.gateway.device_mut().answering = true;
    assert!(lan.run_until(30_000, |l| l.guest.lease().is_some()));
    assert_eq!(lan.guest.lease().unwrap().gateway, Some(GATEWAY));
}

#[test]
fn a_static_address_stops_dhcp_and_dhcp_can_start_again() {
    let mut lan = Lan::new();
    lan.guest
        .set_static(Ipv4Addr::new(10, 0, 2, 50), 24, Some(GATEWAY))
        .unwrap();
    lan.run_until(15_000, |_| false);
    assert_eq!(lan.gateway.device().discovers, 0);
    assert_eq!(lan.guest.lease().unwrap().origin, Origin::Static);
    let port68 = lan.guest.udp_bind(68).unwrap();
    lan.guest.ping(GATEWAY, 1, 1, b"").unwrap();
    assert!(lan.run_until(2_000, |l| l.guest.take_echo_reply().is_some()));

    assert_eq!(lan.guest.start_dhcp(), Err(NetError::PortInUse));
    lan.guest.close(port68).unwrap();
    lan.guest.start_dhcp().unwrap();
    assert_eq!(lan.guest.lease(), None);
    assert!(lan.run_until(5_000, |l| l.guest.lease().is_some()));
    assert_eq!(lan.guest.lease().unwrap().address, OFFERED);
}
