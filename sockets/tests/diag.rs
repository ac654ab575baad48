//! sock_diag against real loopback sockets: each side's state as the
//! kernel moves it through a close, and the queues `ss` shows.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use protocol::relay_api::TcpState;
use sockets::{lookup, socket_info, Diagnosed};

fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (listener, client, server)
}

fn ends(s: &TcpStream) -> (SocketAddr, SocketAddr) {
    (s.local_addr().unwrap(), s.peer_addr().unwrap())
}

/// Looks until `done` holds (the kernel moves states on its own time).
fn until(
    (local, remote): (SocketAddr, SocketAddr),
    done: impl Fn(Option<&Diagnosed>) -> bool,
) -> Option<Diagnosed> {
    let started = Instant::now();
    loop {
        let now = lookup(local, remote).unwrap();
        if done(now.as_ref()) || started.elapsed() > Duration::from_secs(5) {
            return now;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn state_is(s: TcpState) -> impl Fn(Option<&Diagnosed>) -> bool {
    move |d| d.is_some_and(|d| d.info.state == s)
}

#[test]
fn a_connection_is_found_by_its_four_tuple_from_both_ends_with_the_fd_samplers_answer() {
    let (_listener, mut client, server) = pair();
    client.write_all(&[1; 1000]).unwrap();
    let at_server = until(ends(&server), |d| d.is_some_and(|d| d.info.recv_q == 1000)).unwrap();
    assert_eq!(at_server.info.state, TcpState::Established);
    assert_eq!(at_server.info.recv_q, 1000);
    assert_eq!(at_server.local, server.local_addr().unwrap());
    assert_eq!(at_server.remote, client.local_addr().unwrap());
    assert_ne!(at_server.inode, 0, "a held socket has an inode");
    assert!(at_server.info.rtt_us.is_some(), "TCP_INFO came along");
    let by_fd = socket_info(&server).unwrap();
    assert_eq!(
        (by_fd.state, by_fd.recv_q, by_fd.send_q),
        (
            at_server.info.state,
            at_server.info.recv_q,
            at_server.info.send_q
        )
    );
    let at_client = lookup(client.local_addr().unwrap(), client.peer_addr().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(at_client.info.state, TcpState::Established);
}

#[test]
fn the_listener_behind_a_gone_connection_is_not_taken_for_it() {
    let (listener, client, server) = pair();
    let (local, remote) = ends(&server);
    drop(server);
    drop(client);
    // Whatever the kernel keeps of the server's side after this, a lookup
    // must never answer with the listener on the same port.
    if let Some(d) = lookup(local, remote).unwrap() {
        assert_ne!(d.info.state, TcpState::Listen);
        assert_eq!((d.local, d.remote), (local, remote));
    }
    let nobody: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(
        lookup(listener.local_addr().unwrap(), nobody).unwrap(),
        None
    );
}

#[test]
fn the_side_that_closes_first_goes_through_fin_wait_to_time_wait_and_the_other_through_close_wait_and_last_ack(
) {
    let (_listener, client, mut server) = pair();
    let client_ends = ends(&client);
    let server_ends = ends(&server);
    // The client closes first: FIN_WAIT2 once its FIN is acknowledged; the
    // server, which has not closed, sits in CLOSE_WAIT.
    drop(client);
    let client_now = until(client_ends, state_is(TcpState::FinWait2)).unwrap();
    assert_eq!(client_now.info.state, TcpState::FinWait2);
    assert_eq!(client_now.inode, 0, "nobody holds a closed socket");
    let server_now = until(server_ends, state_is(TcpState::CloseWait)).unwrap();
    assert_eq!(server_now.info.state, TcpState::CloseWait);
    // The server reads EOF and closes: the client's side waits in
    // TIME_WAIT (the kernel keeps it 60 s), the server's is gone after its
    // LAST_ACK is acknowledged.
    assert_eq!(server.read(&mut [0; 16]).unwrap(), 0);
    drop(server);
    let client_now = until(client_ends, state_is(TcpState::TimeWait)).unwrap();
    assert_eq!(client_now.info.state, TcpState::TimeWait);
    assert!(client_now.expires_ms > 0 && client_now.expires_ms <= 60_000);
    assert_eq!(
        client_now.info.rtt_us, None,
        "TIME_WAIT carries no TCP_INFO"
    );
    assert_eq!(until(server_ends, |d| d.is_none()), None);
}

#[test]
fn a_peer_that_never_reads_keeps_last_ack_with_the_unsent_bytes_in_its_send_q() {
    let (_listener, client, mut server) = pair();
    let server_ends = ends(&server);
    // Fill the client's receive buffer and then some, so the server's
    // close leaves bytes unacknowledged; the client half-closes first.
    client.shutdown(Shutdown::Write).unwrap();
    server.set_nonblocking(true).unwrap();
    let chunk = [7u8; 64 << 10];
    let mut sent = 0usize;
    while let Ok(n) = server.write(&chunk) {
        sent += n;
    }
    assert!(sent > 0);
    let before = until(server_ends, state_is(TcpState::CloseWait)).unwrap();
    assert!(before.info.send_q > 0, "the client is not reading");
    drop(server);
    let after = until(server_ends, state_is(TcpState::LastAck)).unwrap();
    assert_eq!(after.info.state, TcpState::LastAck);
    assert!(after.info.send_q > 0);
    drop(client);
}

#[test]
fn ipv6_and_v4_mapped_connections_are_found_too() {
    // A dual-stack listener's IPv4 connection is an IPv6 socket holding
    // ::ffff:127.0.0.1; the lookup takes and answers plain IPv4.
    let Ok(listener) = TcpListener::bind("[::]:0") else {
        return; // no IPv6 on this machine
    };
    let port = listener.local_addr().unwrap().port();
    for to in [format!("[::1]:{port}"), format!("127.0.0.1:{port}")] {
        let Ok(client) = TcpStream::connect(&to) else {
            continue; // IPV6_V6ONLY by sysctl, or no ::1
        };
        let (server, _) = listener.accept().unwrap();
        let d = lookup(client.peer_addr().unwrap(), client.local_addr().unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("server side of a connection to {to}"));
        assert_eq!(d.info.state, TcpState::Established);
        assert_eq!(d.remote, client.local_addr().unwrap());
        drop(server);
    }
}
