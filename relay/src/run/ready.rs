//! The kernel's table of TCP sockets (`/proc/net/tcp`, `/proc/net/tcp6`).
//! Waiting for the program to listen: the table lists a `LISTEN` socket at
//! the target's port, on its address or on the wildcard (reading it makes
//! no connection the program would have to accept). And whether a socket
//! is still open after a `close()`: a forking server's parent closes its
//! copy of a connection its child goes on serving.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const LISTEN: &str = "0A";

/// Whether some socket listens where a connection to `address` would go.
pub fn listening(address: SocketAddr) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .map(|text| table_lists(&text, address))
            .unwrap_or(false)
    })
}

/// Whether `table` (the text of `/proc/net/tcp` or `tcp6`) has a listening
/// socket that takes connections to `address`.
pub fn table_lists(table: &str, address: SocketAddr) -> bool {
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let (Some(_), Some(local), Some(_), Some(state)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        state == LISTEN
            && parse_local(local).is_some_and(|(ip, port)| {
                port == address.port() && (ip == address.ip() || ip.is_unspecified())
            })
    })
}

/// Whether a descriptor somewhere still holds socket `inode` (a socket
/// nobody holds is listed with inode 0 while it closes).
pub fn held(inode: u64) -> bool {
    let inode = inode.to_string();
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines()
                .skip(1)
                .any(|line| line.split_whitespace().nth(9) == Some(inode.as_str()))
        })
    })
}

/// `0100007F:FF98`: the address as the kernel prints it (32-bit words in
/// the machine's byte order), and the port.
fn parse_local(text: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Option<Vec<[u8; 4]>> = (0..ip.len() / 8)
        .map(|i| {
            u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16)
                .ok()
                .map(u32::to_ne_bytes)
        })
        .collect();
    let bytes: Vec<u8> = words?.concat();
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            // A dual-stack socket bound to 127.0.0.1 shows as ::ffff:127.0.0.1.
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some((ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_is_found_by_port_and_address() {
        let loopback = u32::from_ne_bytes([127, 0, 0, 1]);
        let table = format!(
            "  sl  local_address rem_address   st\n   0: {loopback:08X}:FF98 00000000:0000 0A 0\n   1: 00000000:1F90 00000000:0000 0A 0\n   2: {loopback:08X}:0050 {loopback:08X}:C000 01 0\n"
        );
        assert!(table_lists(&table, "127.0.0.1:65432".parse().unwrap()));
        // The wildcard takes connections to any address.
        assert!(table_lists(&table, "127.0.0.1:8080".parse().unwrap()));
        // Port 80 is a connection, not a listener.
        assert!(!table_lists(&table, "127.0.0.1:80".parse().unwrap()));
        assert!(!table_lists(&table, "127.0.0.1:1".parse().unwrap()));
    }

    #[test]
    fn this_machines_own_listener_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        assert!(listening(address));
        drop(listener);
        assert!(!listening(address));
    }
}
