//! Where a request came from, as the server judges it: the client address that sign-in limits and the
//! audit log of failed sign-ins use.
//!
//! The TCP peer is the client, unless it is a reverse proxy the operator trusts (`--trusted-proxy`):
//! then the client is the right-most address of `X-Forwarded-For` that is not itself a trusted proxy
//! (each proxy appends the address it received the request from, so everything left of the first
//! untrusted hop could have been written by the client). Without trusted proxies the header is ignored:
//! anyone can send it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The client address of a request (a request extension the HTTP server sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// A proxy whose `X-Forwarded-For` is believed: one address, or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    bits: u8,
}

impl TrustedProxy {
    /// Whether `ip` is this proxy (or in this network).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix(u128::from(u32::from(n)) << 96, u128::from(u32::from(a)) << 96, self.bits)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix(u128::from(n), u128::from(a), self.bits),
            _ => false,
        }
    }
}

fn prefix(network: u128, address: u128, bits: u8) -> bool {
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
    network & mask == address & mask
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("'{text}' is not an IP address or a network such as 10.0.0.0/8 or fd00::/8");
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(format!("'{text}': a prefix is at most /{max}"));
        }
        Ok(TrustedProxy { network, bits })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.bits)
    }
}

impl ClientAddress {
    /// The client of a request that arrived from `peer` with these `X-Forwarded-For` values.
    pub fn judge<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[TrustedProxy]) -> Self {
        let peer = canonical(peer);
        let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
        if !is_trusted(peer) {
            return ClientAddress(peer);
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if is_trusted(ip) => continue,
                Ok(ip) => return ClientAddress(canonical(ip)),
                // A hop that is not an address (`unknown`, an obfuscated name) ends what can be
                // believed: the proxy before it is the client as far as we know.
                Err(_) => break,
            }
        }
        ClientAddress(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<TrustedProxy> = ["10.0.0.0/8", "fd00::/8"].iter().map(|t| t.parse().unwrap()).collect();
        // From a proxy: the right-most hop that is not a proxy.
        let judged = ClientAddress::judge(ip("10.1.2.3"), ["198.51.100.7, 10.9.9.9"].into_iter(), &trusted);
        assert_eq!(judged, ClientAddress(ip("198.51.100.7")));
        // A client that writes its own header cannot pick its address past the first untrusted hop.
        let judged = ClientAddress::judge(ip("10.1.2.3"), ["1.1.1.1", "203.0.113.9"].into_iter(), &trusted);
        assert_eq!(judged, ClientAddress(ip("203.0.113.9")));
        // Not from a proxy: the header is ignored.
        let judged = ClientAddress::judge(ip("203.0.113.9"), ["1.1.1.1"].into_iter(), &trusted);
        assert_eq!(judged, ClientAddress(ip("203.0.113.9")));
        // Nothing usable: the proxy itself.
        let judged = ClientAddress::judge(ip("10.1.2.3"), ["unknown"].into_iter(), &trusted);
        assert_eq!(judged, ClientAddress(ip("10.1.2.3")));
        let judged = ClientAddress::judge(ip("::ffff:10.1.2.3"), ["2001:db8::5"].into_iter(), &trusted);
        assert_eq!(judged, ClientAddress(ip("2001:db8::5")));
    }

    #[test]
    fn proxies_parse_as_addresses_or_networks() {
        assert!("10.0.0.1".parse::<TrustedProxy>().unwrap().contains(ip("10.0.0.1")));
        assert!(!"10.0.0.1".parse::<TrustedProxy>().unwrap().contains(ip("10.0.0.2")));
        assert!("0.0.0.0/0".parse::<TrustedProxy>().unwrap().contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().unwrap_err().contains("/32"));
        assert!("proxy.example".parse::<TrustedProxy>().unwrap_err().contains("not an IP address"));
    }
}
