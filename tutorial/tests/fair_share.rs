//! Every server's per-address share (`--max-connections-per-ip`): one
//! client address holding its share cannot keep a client from another
//! address out (issue 23: one address with 512 connections to `multiconn`,
//! or 32 × 16 to the framing servers, locked everyone else out). Real
//! sockets; a second loopback address (127.0.0.2) is a second client.
//!
//! The servers: the one accept loop (echo and a framing server run it;
//! app and blackhole too) and the event loop, which keeps the same rule.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use common::HANG_GUARD;
use protocol::framing::Framing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tutorial::servers::observe::{ConnectionSink, Hook, ServerHook};
use tutorial::servers::{self, echo, event_loop, framing, net};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const NEWCOMER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Every server's connection cap in these tests...
const SLOTS: usize = 8;
/// ...and one address's share of it.
const SHARE: usize = 4;

async fn connect_from(source: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    tokio::time::timeout(HANG_GUARD, socket.connect(to))
        .await
        .expect("hang guard")
        .unwrap()
}

/// Sends `message` and reads back at least `want` bytes (the echo, framed
/// or not).
async fn round_trip(stream: &mut TcpStream, message: &[u8], want: usize) -> Vec<u8> {
    stream.write_all(message).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < want {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Whether the server closed `stream` (EOF or a reset) rather than serve it.
async fn closed_unserved(stream: &mut TcpStream) -> bool {
    let _ = stream.write_all(b"ping\n").await;
    let mut buf = [0u8; 64];
    matches!(stream.read(&mut buf).await, Ok(0) | Err(_))
}

/// The attack and the check, for a server on `addr` that answers `message`
/// with at least `want` bytes: the attacker opens every slot's worth of
/// connections, each served one holding its slot; the ones over its share
/// are closed at once; a newcomer from another address is served.
async fn one_address_cannot_lock_out_another(addr: SocketAddr, message: &[u8], want: usize) {
    tokio::time::timeout(HANG_GUARD, async {
        let mut held = Vec::new();
        let mut refused = 0;
        for _ in 0..SLOTS {
            let mut stream = connect_from(ATTACKER, addr).await;
            // Served (and so holding a slot), or closed unserved.
            if held.len() < SHARE {
                round_trip(&mut stream, message, want).await;
                held.push(stream);
            } else if closed_unserved(&mut stream).await {
                refused += 1;
            }
        }
        assert_eq!(held.len(), SHARE);
        assert_eq!(
            refused,
            SLOTS - SHARE,
            "over its share, an address is refused"
        );
        // Still connected, still served: the attacker keeps its share.
        round_trip(&mut held[0], message, want).await;
        let mut newcomer = connect_from(NEWCOMER, addr).await;
        round_trip(&mut newcomer, message, want).await;
    })
    .await
    .expect("the newcomer was served within the hang guard (not locked out)");
}

fn limits() -> servers::Limits {
    servers::Limits {
        max_connections: SLOTS,
        max_connections_per_ip: SHARE,
        ..servers::Limits::default()
    }
}

fn listener() -> tokio::net::TcpListener {
    net::bind("127.0.0.1:0".parse().unwrap(), net::DEFAULT_BACKLOG).unwrap()
}

#[tokio::test]
async fn the_accept_loop_keeps_a_second_address_in_while_the_first_holds_its_share() {
    let listener = listener();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(servers::serve(
        listener,
        limits(),
        echo::Config::default(),
        None,
        shutdown.clone(),
    ));
    one_address_cannot_lock_out_another(addr, b"hello", 5).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_framing_server_keeps_a_second_address_in_while_the_first_holds_its_share() {
    let listener = listener();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let lines = framing::Config::new(Framing::Delimited { byte: b'\n' })
        .handler()
        .unwrap();
    let server = tokio::spawn(servers::serve(
        listener,
        limits(),
        lines,
        None,
        shutdown.clone(),
    ));
    one_address_cannot_lock_out_another(addr, b"hello\n", 6).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_event_loop_keeps_a_second_address_in_while_the_first_holds_its_share() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let config = event_loop::Config {
        max_connections: SLOTS,
        max_connections_per_ip: SHARE,
        ..event_loop::Config::default()
    };
    let server = tokio::spawn(event_loop::serve(listener, config, None, shutdown.clone()));
    one_address_cannot_lock_out_another(addr, b"hello", 5).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// A hook that calls every connection relayed (as the relay's hub does for
/// its own sessions) and watches none.
struct AllRelayed;

impl ServerHook for AllRelayed {
    fn accepted(&self, _: SocketAddr, _: SocketAddr) -> Option<Arc<dyn ConnectionSink>> {
        None
    }
    fn is_relayed(&self, _: SocketAddr, _: SocketAddr) -> bool {
        true
    }
}

#[tokio::test]
async fn relayed_connections_take_no_part_of_the_share() {
    let listener = listener();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(servers::serve(
        listener,
        limits(),
        echo::Config::default(),
        Some(Hook(Arc::new(AllRelayed))),
        shutdown.clone(),
    ));
    tokio::time::timeout(HANG_GUARD, async {
        // Every slot from one address: the relay bounds its sessions itself.
        let mut held = Vec::new();
        for _ in 0..SLOTS {
            let mut stream = connect_from(ATTACKER, addr).await;
            round_trip(&mut stream, b"hello", 5).await;
            held.push(stream);
        }
    })
    .await
    .expect("hang guard");
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
