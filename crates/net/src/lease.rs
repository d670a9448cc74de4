//! The interface's IPv4 configuration: from DHCP, or set by hand.

use core::net::Ipv4Addr;

use smoltcp::socket::dhcpv4;
use smoltcp::wire::{IpCidr, Ipv4Cidr};

use crate::device::NetDevice;
use crate::error::NetError;
use crate::stack::Stack;
use crate::udp::DHCP_CLIENT_PORT;

/// DNS servers a lease keeps.
pub const MAX_DNS_SERVERS: usize = 3;

/// Where a configuration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A DHCP server's ACK.
    Dhcp,
    /// [`Stack::set_static`].
    Static,
}

/// The interface's IPv4 configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The interface's address.
    pub address: Ipv4Addr,
    /// The subnet's prefix length (24 for 255.255.255.0).
    pub prefix_len: u8,
    /// The default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// DNS servers in the server's order; the first `None` ends the list.
    pub dns: [Option<Ipv4Addr>; MAX_DNS_SERVERS],
    /// Where it came from.
    pub origin: Origin,
}

impl Lease {
    /// The subnet mask.
    pub fn netmask(&self) -> Ipv4Addr {
        let bits = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len.min(32)))
            .unwrap_or(0);
        Ipv4Addr::from(bits)
    }

    /// Whether `dst` is on the local subnet (reached without the gateway).
    pub fn on_link(&self, dst: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask());
        u32::from(dst) & mask == u32::from(self.address) & mask
    }

    /// The DNS servers.
    pub fn dns_servers(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.dns.iter().map_while(|d| *d)
    }
}

impl<D: NetDevice> Stack<D> {
    /// The current configuration, or `None` while DHCP has none (at start,
    /// or after a lease expired).
    pub fn lease(&self) -> Option<Lease> {
        self.lease
    }

    /// Stops DHCP and configures `address/prefix_len` with an optional
    /// gateway (which must be on the subnet).
    pub fn set_static(
        &mut self,
        address: Ipv4Addr,
        prefix_len: u8,
        gateway: Option<Ipv4Addr>,
    ) -> Result<(), NetError> {
        let unicast = |a: Ipv4Addr| {
            !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback())
        };
        if prefix_len > 32 || !unicast(address) {
            return Err(NetError::InvalidArgument);
        }
        let lease = Lease {
            address,
            prefix_len,
            gateway,
            dns: [None; MAX_DNS_SERVERS],
            origin: Origin::Static,
        };
        if let Some(gw) = gateway {
            if !unicast(gw) || !lease.on_link(gw) || gw == address {
                return Err(NetError::InvalidArgument);
            }
        }
        if let Some(h) = self.dhcp.take() {
            self.sockets.remove(h);
        }
        self.apply(Some(lease));
        Ok(())
    }

    /// Drops any static configuration and (re)starts the DHCP client;
    /// fails with [`NetError::PortInUse`] while a UDP socket holds the
    /// client port 68.
    pub fn start_dhcp(&mut self) -> Result<(), NetError> {
        if self.dhcp.is_none() && self.udp_port_in_use(DHCP_CLIENT_PORT) {
            return Err(NetError::PortInUse);
        }
        if let Some(h) = self.dhcp {
            self.sockets.get_mut::<dhcpv4::Socket>(h).reset();
        } else {
            self.dhcp = Some(self.sockets.add(dhcpv4::Socket::new()));
        }
        self.apply(None);
        Ok(())
    }

    /// Applies what the DHCP client learned; returns whether it changed.
    pub(crate) fn service_dhcp(&mut self) -> bool {
        let Some(h) = self.dhcp else {
            return false;
        };
        let lease = match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            None => return false,
            Some(dhcpv4::Event::Deconfigured) => None,
            Some(dhcpv4::Event::Configured(config)) => {
                let mut dns = [None; MAX_DNS_SERVERS];
                for (slot, server) in dns.iter_mut().zip(config.dns_servers.iter()) {
                    *slot = Some(*server);
                }
                Some(Lease {
                    address: config.address.address(),
                    prefix_len: config.address.prefix_len(),
                    gateway: config.router,
                    dns,
                    origin: Origin::Dhcp,
                })
            }
        };
        self.apply(lease);
        true
    }

    /// Puts `lease` on the interface (address and default route), or
    /// takes the configuration off.
    fn apply(&mut self, mut lease: Option<Lease>) {
        self.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            if let Some(l) = &lease {
                let cidr = Ipv4Cidr::new(l.address, l.prefix_len);
                // The list holds two addresses; it is empty here.
                let _ = addrs.push(IpCidr::Ipv4(cidr));
            }
        });
        let routes = self.iface.routes_mut();
        match lease.and_then(|l| l.gateway) {
            Some(gw) => {
                if routes.add_default_ipv4_route(gw).is_err() {
                    // The table holds two routes and this replaces the only
                    // default route, so it is never full; if it were, go
                    // without a gateway rather than claim one.
                    if let Some(l) = lease.as_mut() {
                        l.gateway = None;
                    }
                }
            }
            None => {
                routes.remove_default_ipv4_route();
            }
        }
        self.lease = lease;
    }
}
