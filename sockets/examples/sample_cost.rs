//! What one sample costs: the fd sampler (TCP_INFO + two ioctls) against a
//! sock_diag lookup by 4-tuple (one netlink socket, request and reply), on
//! a loopback connection, with `BACKGROUND` other connections open (the
//! kernel's lookup is a hash lookup: their number should not matter).
//!
//! `cargo run --release -p sockets --example sample_cost [BACKGROUND]`

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

const ROUNDS: u32 = 20_000;

fn main() {
    let background: usize = std::env::args()
        .nth(1)
        .map_or(0, |n| n.parse().expect("a number of connections"));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut held = Vec::new();
    for _ in 0..background {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        held.push((client, server));
    }
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());

    let started = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(sockets::socket_info(&server));
    }
    let fd = started.elapsed() / ROUNDS;

    let started = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(sockets::lookup(local, remote).unwrap());
    }
    let diag = started.elapsed() / ROUNDS;

    let started = Instant::now();
    let rounds = 200;
    let mut listed = 0;
    for _ in 0..rounds {
        listed = sockets::dump().unwrap().len();
    }
    let dump = started.elapsed() / rounds;
    println!(
        "{background} other connections: fd sample {fd:?}, sock_diag lookup {diag:?}, dump of {listed} sockets {dump:?}"
    );
    drop((client, held));
}
