//! Who a client is, and how many sessions it holds.
//!
//! - [`client_ip`]: the TCP peer's address, or, only when that peer is a
//!   `--trusted-proxy`, the address the proxy says it forwarded for
//!   (`X-Forwarded-For`, else `X-Real-IP`). A client talking to the relay
//!   directly can write those headers too: they are ignored then, or one
//!   client could pose as many.
//! - [`PerClient`]: `--max-sessions-per-ip`, sessions counted per client
//!   address (an IPv6 client's whole /64, which one host usually holds).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

/// An address block, `ADDR` or `ADDR/BITS` (`--trusted-proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    bits: u8,
}

impl IpNet {
    /// Whether `ip` lies in this block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix(u32::from(net).into(), 32, self.bits)
                    == prefix(u32::from(ip).into(), 32, self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix(net.into(), 128, self.bits) == prefix(ip.into(), 128, self.bits)
            }
            _ => false,
        }
    }
}

fn prefix(value: u128, width: u8, bits: u8) -> u128 {
    match width - bits {
        128 => 0,
        shift => value >> shift,
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (text, None),
        };
        let addr = canonical(
            addr.parse::<IpAddr>()
                .map_err(|e| format!("{addr:?}: {e} (ADDR or ADDR/BITS)"))?,
        );
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => width,
            Some(bits) => match bits.parse::<u8>() {
                Ok(bits) if bits <= width => bits,
                _ => return Err(format!("/{bits}: a prefix length of 0 to {width}")),
            },
        };
        Ok(IpNet { addr, bits })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports)
/// as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The client's address: `peer` itself unless `peer` is a trusted proxy.
/// Then the right-most `X-Forwarded-For` entry that is not a trusted proxy
/// (each proxy appends the address it got the request from, so entries
/// further left were written by the client and prove nothing), else
/// `X-Real-IP`, else `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.trim().parse::<IpAddr>().map(canonical))
        .collect::<Result<_, _>>()
        // One unreadable entry and the chain proves nothing: the proxy is the client.
        .unwrap_or_default();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(**ip)) {
        return *ip;
    }
    if !forwarded.is_empty() {
        // Every hop trusted: the left-most is where the chain starts.
        return forwarded[0];
    }
    headers
        .get("x-real-ip")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .unwrap_or(peer)
}

/// The key sessions are counted under: the address, or for IPv6 its /64.
pub(crate) fn key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Sessions open per client, at most `max` each.
#[derive(Debug)]
pub struct PerClient {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One session counted for its client until dropped.
#[derive(Debug)]
pub struct ClientSlot {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerClient {
    /// At most `max` sessions per client.
    pub fn new(max: usize) -> PerClient {
        PerClient {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for one more session of `ip`, or `None` when it holds `max`.
    /// The map holds only clients with sessions open, so it is bounded by
    /// `--max-sessions`.
    pub fn try_take(&self, ip: IpAddr) -> Option<ClientSlot> {
        let key = key(ip);
        let mut open = self.open.lock().expect("per-client lock");
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            key,
            open: self.open.clone(),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("per-client lock");
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_hold_the_addresses_their_prefix_covers() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!("0.0.0.0/0"
            .parse::<IpNet>()
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!("::1".parse::<IpNet>().unwrap().contains(ip("::1")));
        assert!(!"::1".parse::<IpNet>().unwrap().contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "nginx", "::/129", "10.0.0.1/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.7")]);
        let trusted = nets(&["127.0.0.1"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &forwarded, &trusted),
            ip("203.0.113.7")
        );
        // Straight from a client: its own header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.1"), &forwarded, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &forwarded, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client wrote "1.2.3.4"; the proxy appended who really connected.
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &spoofed, &trusted),
            ip("203.0.113.7")
        );
        let two_lines = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.8"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &two_lines, &trusted),
            ip("203.0.113.8")
        );
        let real = headers(&[("x-real-ip", "203.0.113.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &real, &trusted),
            ip("203.0.113.9")
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, <script>")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &garbage, &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn sessions_per_client_are_capped_and_given_back() {
        let per = PerClient::new(2);
        let a = per.try_take(ip("192.0.2.1")).unwrap();
        let _b = per.try_take(ip("192.0.2.1")).unwrap();
        assert!(per.try_take(ip("192.0.2.1")).is_none());
        assert!(per.try_take(ip("192.0.2.2")).is_some());
        drop(a);
        assert!(per.try_take(ip("192.0.2.1")).is_some());
        // One IPv6 host's /64 is one client.
        let _c = per.try_take(ip("2001:db8::1")).unwrap();
        let _d = per.try_take(ip("2001:db8::2")).unwrap();
        assert!(per.try_take(ip("2001:db8::3")).is_none());
        assert!(per.try_take(ip("2001:db8:0:1::1")).is_some());
    }
}
