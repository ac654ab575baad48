//! Sockets as the tutorial sets them up, and addresses as Python prints them.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use protocol::python::python_str_repr;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;

/// Default listen backlog: connections over the server's cap wait here.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// The address to listen on for `host` as the tutorial's servers take it:
/// `''` means every IPv4 interface, IP literals (`::1` too) are used as they
/// are, anything else is resolved.
pub fn listen_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    resolve(host, port)
}

/// The first address `host` resolves to (IP literals, with or without
/// brackets, need no resolver).
pub fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (bare, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host:?} resolves to no address"),
        )
    })
}

/// A listening socket with SO_REUSEADDR, so a restarted server can bind
/// while old connections sit in TIME_WAIT. Must run inside a tokio runtime.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    TcpListener::from_std(socket.into())
}

/// A socket address shown as Python shows the tuple `accept()` returns:
/// `('127.0.0.1', 61354)`, or `('::1', 61354, 0, 0)` for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyAddr(pub SocketAddr);

impl fmt::Display for PyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SocketAddr::V4(a) => write!(f, "('{}', {})", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(
                f,
                "('{}', {}, {}, {})",
                a.ip(),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
        }
    }
}

/// `(host, port)` as the tutorial prints what it was given:
/// `('', 65432)`, `('127.0.0.1', 65432)`.
pub fn py_host_port(host: &str, port: u16) -> String {
    format!("({}, {port})", python_str_repr(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_python_tuples() {
        let v4: SocketAddr = "127.0.0.1:61354".parse().unwrap();
        assert_eq!(PyAddr(v4).to_string(), "('127.0.0.1', 61354)");
        let v6: SocketAddr = "[::1]:61354".parse().unwrap();
        assert_eq!(PyAddr(v6).to_string(), "('::1', 61354, 0, 0)");
        assert_eq!(py_host_port("", 65432), "('', 65432)");
    }

    #[test]
    fn empty_host_means_all_interfaces_and_ipv6_literals_parse() {
        assert_eq!(
            listen_addr("", 7).unwrap(),
            "0.0.0.0:7".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            listen_addr("::1", 7).unwrap(),
            "[::1]:7".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            resolve("[::1]", 7).unwrap(),
            "[::1]:7".parse::<SocketAddr>().unwrap()
        );
    }
}
