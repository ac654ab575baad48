//! `relay --run`: real programs (small Python servers in the tutorial's
//! style, and a Rust one) run under the relay, their own socket calls seen
//! by observed sessions as `server_*` events.
#![cfg(target_os = "linux")]

mod run_support;
mod support;

use std::time::Duration;

use protocol::relay_api::{DecoderState, Observed, PendingCall, ShutdownHow};
use protocol::{encode, Decoder, Event};
use run_support::*;
use support::{connect, send};

fn decoder_of(event: &Observed) -> Option<&DecoderState> {
    match event {
        Observed::ServerRecv { decoder, .. } => decoder.as_ref(),
        _ => None,
    }
}

#[tokio::test]
async fn a_blocking_echo_servers_calls_arrive_as_it_made_them() {
    let relay = RunRelay::python("echo_server.py", &[]).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"hello").await;
    // The program prints as it accepts; its line reaches the open session.
    let said = |s: &Seen| s.lines().iter().any(|l| l.starts_with("Connected by"));
    read_until(&mut ws, &mut seen, |s| s.bytes == b"hello" && said(s)).await;
    // The browser's half-close (an empty message): the program's recv()
    // gets b'', it closes, and the session ends normally.
    send(&mut ws, b"").await;
    read_to_close(&mut ws, &mut seen).await;
    assert_eq!(
        seen.close,
        Some((1000, "upstream closed".into())),
        "{seen:#?}"
    );
    assert_eq!(
        seen.events.first(),
        Some(&Observed::Observing {
            target: "mine".into(),
            server: true
        })
    );
    // The program's peer is the relay's own socket: the 4-tuple matched.
    let relay_local = seen.relay_local();
    let accepted = seen.find(|e| match e {
        Observed::ServerAccept { local, peer } => Some((local.clone(), peer.clone())),
        _ => None,
    });
    assert_eq!(
        accepted,
        Some((format!("127.0.0.1:{}", relay.port), relay_local.clone()))
    );
    let port = relay_local.rsplit(':').next().unwrap();
    let printed = format!("Connected by ('127.0.0.1', {port})");
    assert!(seen.lines().contains(&printed), "{:?}", seen.lines());
    let recvs = seen.all(|e| match e {
        Observed::ServerRecv {
            len,
            asked,
            blocked_us,
            error,
            ..
        } => Some((*len, *asked, blocked_us.is_some(), error.clone())),
        _ => None,
    });
    assert_eq!(
        recvs,
        [(5, Some(1024), true, None), (0, Some(1024), true, None)],
        "{seen:#?}"
    );
    // Read as the tutorial's protocol, "he" is a header length (0x6865):
    // the decoder waits for it, and the end of the stream shows the bytes
    // were not this protocol.
    let states: Vec<_> = seen.events.iter().filter_map(decoder_of).collect();
    assert_eq!(
        states[0],
        &DecoderState::Waiting(protocol::Need {
            part: protocol::Part::Header,
            have: 3,
            need: 0x6865
        })
    );
    assert!(
        matches!(states[1], DecoderState::Failed { error } if error.starts_with("not this protocol")),
        "{states:?}"
    );
    let sends = seen.all(|e| match e {
        Observed::ServerSend {
            len, sent, error, ..
        } => Some((*len, *sent, error.clone())),
        _ => None,
    });
    assert_eq!(sends, [(5, 5, None)]);
    let kinds = seen.kinds();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("no {k}: {kinds:?}"))
    };
    // (The relay's connect and the program's accept complete together,
    // in either order.)
    assert!(at("server_accept") < at("server_recv"));
    assert!(at("server_recv") < at("server_send"));
    assert!(at("server_send") < at("server_close"), "{kinds:?}");
    assert!(kinds.contains(&"server_socket".to_owned()), "{kinds:?}");
}

/// The tutorial's request for `value`, encoded.
fn search(value: &str) -> Vec<u8> {
    encode(&protocol::app::request("search", value))
        .unwrap()
        .bytes
}

/// The reply's content, decoded by the protocol crate.
fn reply_repr(bytes: &[u8]) -> String {
    let mut decoder = Decoder::default();
    decoder.push(bytes);
    loop {
        match decoder.poll().expect("the reply decodes") {
            Some(Event::Message(decoded)) => {
                return protocol::python::content_repr(&decoded.message.content)
            }
            Some(_) => {}
            None => panic!("an incomplete reply"),
        }
    }
}

#[tokio::test]
async fn a_selectors_app_server_serves_two_sessions_each_seeing_its_own_connection() {
    let relay = RunRelay::python("app_server.py", &[]).await;
    let mut a = connect(relay.addr, "mine&observe=1").await;
    let mut b = connect(relay.addr, "mine&observe=1").await;
    let (mut seen_a, mut seen_b) = (Seen::default(), Seen::default());
    // Both connections are accepted before either request is complete.
    let morpheus = search("morpheus");
    send(&mut a, &morpheus[..10]).await;
    let accepted = |s: &Seen| s.kinds().contains(&"server_accept".to_owned());
    read_until(&mut a, &mut seen_a, accepted).await;
    read_until(&mut b, &mut seen_b, accepted).await;
    send(&mut b, &search("ring")).await;
    read_to_close(&mut b, &mut seen_b).await;
    send(&mut a, &morpheus[10..]).await;
    read_to_close(&mut a, &mut seen_a).await;

    assert_eq!(
        reply_repr(&seen_a.bytes),
        "{'result': 'Follow the white rabbit. 🐰'}"
    );
    assert_eq!(
        reply_repr(&seen_b.bytes),
        "{'result': 'In the caves beneath the Misty Mountains. 💍'}"
    );
    for (seen, request_len, value) in [
        (&seen_a, morpheus.len() as u64, "morpheus"),
        (&seen_b, search("ring").len() as u64, "ring"),
    ] {
        assert_eq!(seen.close, Some((1000, "upstream closed".into())));
        let peer = seen.find(|e| match e {
            Observed::ServerAccept { peer, .. } => Some(peer.clone()),
            _ => None,
        });
        assert_eq!(peer, Some(seen.relay_local()), "4-tuple → session");
        // Each session sees only its own connection's bytes: every recv
        // asked 4096, and they add up to its own request.
        let recvs = seen.all(|e| match e {
            Observed::ServerRecv { len, asked, .. } if *len > 0 => Some((*len, *asked)),
            _ => None,
        });
        assert!(
            recvs.iter().all(|(_, asked)| *asked == Some(4096)),
            "{recvs:?}"
        );
        assert_eq!(recvs.iter().map(|(len, _)| len).sum::<u64>(), request_len);
        let states: Vec<_> = seen.events.iter().filter_map(decoder_of).collect();
        assert_eq!(states.last(), Some(&&DecoderState::Complete), "{states:?}");
        let request = seen.find(|e| match e {
            Observed::ServerRequest { repr } => Some(repr.clone()),
            _ => None,
        });
        assert_eq!(
            request,
            Some(format!("{{'action': 'search', 'value': '{value}'}}"))
        );
        let sent: u64 = seen
            .all(|e| match e {
                Observed::ServerSend { sent, .. } => Some(*sent),
                _ => None,
            })
            .iter()
            .sum();
        assert_eq!(sent, seen.bytes.len() as u64);
        assert!(seen.kinds().contains(&"server_close".to_owned()));
    }
    // The session split mid-request saw the decoder wait for the rest.
    let first = seen_a.events.iter().find_map(decoder_of);
    assert!(matches!(first, Some(DecoderState::Waiting(_))), "{first:?}");
}

#[tokio::test]
async fn a_send_whose_return_value_is_ignored_shows_the_short_send_and_a_recv_its_eagain() {
    let relay = RunRelay::python("short_send.py", &[]).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"give me everything").await;
    read_to_close(&mut ws, &mut seen).await;
    // Its non-blocking recv() found nothing: EAGAIN, which Python raises
    // as BlockingIOError.
    let failed = seen.find(|e| match e {
        Observed::ServerRecv {
            len: 0,
            asked,
            error: Some(errno),
            ..
        } => Some((*asked, errno.clone())),
        _ => None,
    });
    assert_eq!(failed, Some((Some(1024), "EAGAIN".to_owned())));
    assert_eq!(
        protocol::relay_api::python_exception("EAGAIN"),
        "BlockingIOError"
    );
    // Its line is in the relay's log (a session that ends at once may
    // close before the terminal delivers it).
    let mut relay = relay;
    relay
        .wait_for("mine: BlockingIOError: nothing to read yet")
        .await;
    let sends = seen.all(|e| match e {
        Observed::ServerSend {
            len, sent, error, ..
        } => Some((*len, *sent, error.clone())),
        _ => None,
    });
    let [(len, sent, None)] = sends[..] else {
        panic!("one send: {sends:?}");
    };
    assert_eq!(len, 8_000_000);
    assert!(sent > 0 && sent < len, "a short send: {sent} of {len}");
    // The browser gets exactly what the kernel took, no more.
    assert_eq!(seen.bytes.len() as u64, sent);
    assert_eq!(seen.close, Some((1000, "upstream closed".into())));
}

#[tokio::test]
async fn a_server_that_never_closes_shows_its_blocked_recv_and_no_close() {
    let relay = RunRelay::python("never_close.py", &["--run-pending-after", "200ms"]).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"hi").await;
    let pending = |s: &Seen| {
        s.events
            .iter()
            .any(|e| matches!(e, Observed::ServerPending { .. }))
    };
    read_until(&mut ws, &mut seen, pending).await;
    assert_eq!(seen.bytes, b"HI");
    assert_eq!(
        seen.find(|e| match e {
            Observed::ServerPending { call, asked } => Some((*call, *asked)),
            _ => None,
        }),
        Some((PendingCall::Recv, Some(4096)))
    );
    // The blocked recv() returns b'' after the browser's half-close, a
    // long wait later; the program keeps its socket: no server_close.
    send(&mut ws, b"").await;
    let zero = |s: &Seen| {
        s.events
            .iter()
            .any(|e| matches!(e, Observed::ServerRecv { len: 0, .. }))
    };
    let said = "The client is done; the socket stays open".to_owned();
    read_until(&mut ws, &mut seen, |s| zero(s) && s.lines().contains(&said)).await;
    let blocked = seen.find(|e| match e {
        Observed::ServerRecv {
            len: 0, blocked_us, ..
        } => *blocked_us,
        _ => None,
    });
    assert!(blocked.unwrap() >= 200_000, "{blocked:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut after = Seen::default();
    read_until(&mut ws, &mut after, |s| !s.events.is_empty()).await;
    assert!(
        !seen.kinds().contains(&"server_close".to_owned())
            && !after.kinds().contains(&"server_close".to_owned()),
        "{:?} {:?}",
        seen.kinds(),
        after.kinds()
    );
    drop(relay);
}

#[tokio::test]
async fn shutdown_is_reported_with_its_how() {
    // Python's socket.shutdown(SHUT_WR) after the reply, on the echo server's
    // protocol: a program of its own, passed inline.
    let port = free_port();
    let code = format!(
        "import socket\ns = socket.create_server(('127.0.0.1', {port}))\nc, a = s.accept()\nc.sendall(c.recv(64))\nc.shutdown(socket.SHUT_WR)\nc.recv(64)\nc.close()\n"
    );
    let argv = ["python3".to_owned(), "-c".into(), code];
    let relay = RunRelay::start(port, &argv, &[], &[]).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"bye").await;
    read_to_close(&mut ws, &mut seen).await;
    assert_eq!(seen.bytes, b"bye");
    assert!(
        seen.events.contains(&Observed::ServerShutdown {
            how: ShutdownHow::Write
        }),
        "{:?}",
        seen.kinds()
    );
}

/// The Rust program the last test runs under `--run`: this test binary,
/// started again with `WIRELAB_RUST_ECHO=HOST:PORT` and this test's name.
/// Without the variable (a normal test run) it returns at once.
#[test]
fn rust_echo_program() {
    use std::io::{Read, Write};
    let Ok(address) = std::env::var("WIRELAB_RUST_ECHO") else {
        return;
    };
    let listener = std::net::TcpListener::bind(address).unwrap();
    for stream in listener.incoming() {
        let mut stream = stream.unwrap();
        println!("Accepted connection from {}", stream.peer_addr().unwrap());
        let mut buf = [0u8; 512];
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n]).unwrap();
        }
    }
}

#[tokio::test]
async fn a_rust_program_is_traced_like_a_python_one() {
    let port = free_port();
    let me = std::env::current_exe().unwrap().display().to_string();
    let argv = [
        me,
        "--exact".into(),
        "rust_echo_program".into(),
        "--nocapture".into(),
    ];
    let env = [("WIRELAB_RUST_ECHO", format!("127.0.0.1:{port}"))];
    let relay = RunRelay::start(port, &argv, &[], &env).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"ferris").await;
    read_until(&mut ws, &mut seen, |s| s.bytes == b"ferris").await;
    send(&mut ws, b"").await;
    read_to_close(&mut ws, &mut seen).await;
    let recvs = seen.all(|e| match e {
        Observed::ServerRecv { len, asked, .. } => Some((*len, *asked)),
        _ => None,
    });
    assert_eq!(recvs, [(6, Some(512)), (0, Some(512))]);
    let peer = seen.find(|e| match e {
        Observed::ServerAccept { peer, .. } => Some(peer.clone()),
        _ => None,
    });
    assert_eq!(peer, Some(seen.relay_local()));
    assert!(seen.kinds().contains(&"server_close".to_owned()));
}

#[tokio::test]
async fn threads_and_child_processes_are_followed() {
    for how in ["thread", "fork"] {
        let port = free_port();
        let argv = [
            "python3".to_owned(),
            program("threads_and_forks.py"),
            "127.0.0.1".into(),
            port.to_string(),
            how.into(),
        ];
        let relay = RunRelay::start(port, &argv, &[], &[]).await;
        let mut ws = connect(relay.addr, "mine&observe=1").await;
        let mut seen = Seen::default();
        send(&mut ws, b"who serves me?").await;
        read_until(&mut ws, &mut seen, |s| s.bytes == b"who serves me?").await;
        send(&mut ws, b"").await;
        read_to_close(&mut ws, &mut seen).await;
        let recvs = seen.all(|e| match e {
            Observed::ServerRecv { len, asked, .. } => Some((*len, *asked)),
            _ => None,
        });
        assert_eq!(
            recvs,
            [(14, Some(1024)), (0, Some(1024))],
            "{how}: {seen:#?}"
        );
        let kinds = seen.kinds();
        let closes = kinds.iter().filter(|k| *k == "server_close").count();
        // The forking parent's close() of its copy is not the socket's close.
        assert_eq!(closes, 1, "{how}: {kinds:?}");
        let last_recv = kinds.iter().rposition(|k| k == "server_recv").unwrap();
        let close = kinds.iter().position(|k| k == "server_close").unwrap();
        assert!(last_recv < close, "{how}: {kinds:?}");
    }
}
