//! The application server over real loopback sockets: the tutorial's
//! exchanges byte for byte, malformed input, stalls, limits, shutdown and
//! keep-alive.

mod common;

use std::time::{Duration, Instant};

use common::{
    exchange, read_to_close, start_app, start_app_within, write_split, Process, Split, HANG_GUARD,
};
use protocol::{encode_raw, Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tutorial::servers::{self, app};

/// The tutorial's requests (from its big-endian client) and the replies its
/// little-endian server sent, as printed in the tutorial; the ring, miss and
/// invalid-action rows follow the same rules.
const TUTORIAL: [(&str, &[u8], &[u8]); 6] = [
    (
        "search morpheus",
        b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 41}{\"action\": \"search\", \"value\": \"morpheus\"}",
        b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 43}{\"result\": \"Follow the white rabbit. \xf0\x9f\x90\xb0\"}",
    ),
    (
        "search ring",
        b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}{\"action\": \"search\", \"value\": \"ring\"}",
        b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 60}{\"result\": \"In the caves beneath the Misty Mountains. \xf0\x9f\x92\x8d\"}",
    ),
    (
        "search dog emoji",
        b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}{\"action\": \"search\", \"value\": \"\xf0\x9f\x90\xb6\"}",
        b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}{\"result\": \"\xf0\x9f\x90\xbe Playing ball! \xf0\x9f\x8f\x90\"}",
    ),
    (
        "search miss",
        b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 36}{\"action\": \"search\", \"value\": \"neo\"}",
        b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 33}{\"result\": \"No match for 'neo'.\"}",
    ),
    (
        "invalid action",
        b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 34}{\"action\": \"find\", \"value\": \"neo\"}",
        b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 43}{\"result\": \"Error: invalid action 'find'.\"}",
    ),
    (
        "binary",
        b"\x00|{\"byteorder\": \"big\", \"content-type\": \"binary/custom-client-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}binary\xf0\x9f\x98\x83",
        b"\x00\x7f{\"byteorder\": \"little\", \"content-type\": \"binary/custom-server-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 37}First 10 bytes of request: binary\xf0\x9f\x98\x83",
    ),
];

const MORPHEUS: usize = 0;

fn config() -> app::Config {
    app::Config::default()
}

#[tokio::test]
async fn the_tutorials_exchanges_are_answered_byte_for_byte_whole_bytewise_and_in_random_splits() {
    let server = start_app(config());
    for (name, request, reply) in TUTORIAL {
        let splits = [
            Split::Whole,
            Split::ByteByByte,
            Split::Random(1),
            Split::Random(2),
            Split::Random(3),
        ];
        for split in splits {
            let got = exchange(server.addr, request, split).await;
            assert_eq!(
                protocol::python::python_bytes_repr(&got),
                protocol::python::python_bytes_repr(reply),
                "{name}, {split:?}"
            );
        }
    }
    server.stop().await;
}

/// A header object from (key, value) pairs, for frames that break the rules.
fn raw(fields: &[(&str, Json)], content: &[u8]) -> Vec<u8> {
    let header: Vec<(String, Json)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    encode_raw(&header, content).unwrap().bytes
}

fn header(content_type: &str, encoding: &str, length: Json) -> Vec<(&'static str, Json)> {
    vec![
        ("byteorder", Json::from("little")),
        ("content-type", Json::from(content_type)),
        ("content-encoding", Json::from(encoding)),
        ("content-length", length),
    ]
}

/// Each malformed request, and what the server's log must say about it.
fn malformed() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut missing = header("text/json", "utf-8", Json::from(2));
    missing.pop();
    vec![
        (
            "zero-length header",
            b"\x00\x00{}".to_vec(),
            "zero-length JSON header",
        ),
        (
            "header not UTF-8",
            b"\x00\x04\xff\xfe\xfd\xfc".to_vec(),
            "not valid UTF-8",
        ),
        (
            "header not JSON",
            b"\x00\x05{nope".to_vec(),
            "JSON header is not valid JSON",
        ),
        (
            "header not an object",
            b"\x00\x02[]".to_vec(),
            "JSON header is not a JSON object",
        ),
        (
            "missing content-length",
            raw(&missing, b"{}"),
            "missing required header \"content-length\"",
        ),
        (
            "content-length not a number",
            raw(&header("text/json", "utf-8", Json::from("2")), b"{}"),
            "content-length must be a non-negative integer",
        ),
        (
            "negative content-length",
            raw(&header("text/json", "utf-8", Json::from(-1)), b""),
            "content-length must be a non-negative integer",
        ),
        (
            "content-length over the limit, no content sent",
            raw(
                &header("text/json", "utf-8", Json::from(1_000_000_000_000)),
                b"",
            ),
            "above the limit of 1000 bytes",
        ),
        (
            "content not UTF-8",
            raw(&header("text/json", "utf-8", Json::from(2)), b"\xff\xfe"),
            "content is not valid",
        ),
        (
            "content not JSON",
            raw(&header("text/json", "utf-8", Json::from(5)), b"{nope"),
            "content is not valid JSON",
        ),
        (
            "request not an object",
            raw(&header("text/json", "utf-8", Json::from(3)), b"[1]"),
            "not an object",
        ),
        (
            "truncated then closed",
            TUTORIAL[MORPHEUS].1[..50].to_vec(),
            "stream ended inside a message",
        ),
    ]
}

#[test]
fn malformed_requests_close_only_their_connection_log_why_and_the_next_request_succeeds() {
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--max-content-length", "1000"],
    );
    let port = server.listening_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    for (name, bytes, reason) in malformed() {
        let (client_port, reply) = rt.block_on(async {
            tokio::time::timeout(HANG_GUARD, async {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let client_port = stream.local_addr().unwrap().port();
                stream.write_all(&bytes).await.unwrap();
                // Half-close: a truncated request ends here; the others have
                // been refused before this matters.
                let _ = stream.shutdown().await;
                (client_port, read_to_close(&mut stream).await)
            })
            .await
            .expect("hang guard")
        });
        assert!(reply.is_empty(), "{name}: got a reply {reply:?}");
        let peer = format!("('127.0.0.1', {client_port})");
        let logged = server.wait_for_line(|l| l.starts_with("warning: ") && l.contains(&peer));
        assert!(logged.contains(reason), "{name}: logged {logged:?}");
        server.wait_for_line(|l| l == format!("Closing connection to {peer}"));
        let good = rt.block_on(exchange(addr, TUTORIAL[MORPHEUS].1, Split::Whole));
        assert_eq!(good, TUTORIAL[MORPHEUS].2, "good request after {name}");
    }
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_any_content_arrives() {
    let server = start_app(app::Config {
        max_content_length: 1024,
        ..config()
    });
    let frame = raw(
        &header("binary/x", "binary", Json::from(1_000_000_000)),
        b"",
    );
    // No content is ever sent and the write side stays open: the close can
    // only come from the header check.
    let got = tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&frame).await.unwrap();
        read_to_close(&mut stream).await
    })
    .await
    .expect("closed within the hang guard");
    assert!(got.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_half_message_does_not_delay_a_concurrent_client() {
    let server = start_app(app::Config {
        idle_timeout: Duration::from_secs(60),
        ..config()
    });
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(&TUTORIAL[MORPHEUS].1[..30])
        .await
        .unwrap();
    let good = exchange(server.addr, TUTORIAL[MORPHEUS].1, Split::Whole).await;
    assert_eq!(good, TUTORIAL[MORPHEUS].2);
    // The stalled client is still connected, unanswered: the good reply came
    // while it held its half message.
    let mut byte = [0u8; 1];
    let pending = tokio::time::timeout(Duration::from_millis(100), stalled.read(&mut byte)).await;
    assert!(pending.is_err(), "the stalled connection got {pending:?}");
    // Finishing the stalled request still works.
    stalled
        .write_all(&TUTORIAL[MORPHEUS].1[30..])
        .await
        .unwrap();
    let late = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stalled))
        .await
        .unwrap();
    assert_eq!(late, TUTORIAL[MORPHEUS].2);
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_client_is_dropped_after_the_idle_timeout() {
    let server = start_app(app::Config {
        idle_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(&TUTORIAL[MORPHEUS].1[..1]).await.unwrap();
    // The server's last byte came after this: it may not close sooner.
    let wrote = Instant::now();
    let got = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stalled))
        .await
        .expect("dropped within the hang guard");
    assert!(got.is_empty());
    let waited = wrote.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}, before the idle timeout"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_clients_all_get_correct_replies() {
    // All from 127.0.0.1: over the default per-address cap (64).
    let server = start_app_within(
        config(),
        servers::Limits {
            max_connections_per_ip: 256,
            ..servers::Limits::default()
        },
    );
    let addr = server.addr;
    let clients: Vec<_> = (0..200u64)
        .map(|i| {
            tokio::spawn(async move {
                let (_, request, reply) = TUTORIAL[i as usize % TUTORIAL.len()];
                let got = exchange(addr, request, Split::Random(i)).await;
                (got == reply, i)
            })
        })
        .collect();
    for client in clients {
        let (ok, i) = client.await.unwrap();
        assert!(ok, "client {i} got a wrong reply");
    }
    server.stop().await;
}

/// Connects and returns the stream with the `('127.0.0.1', PORT)` the server logs for it.
async fn connect_logged(port: u16) -> (TcpStream, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let peer = format!("('127.0.0.1', {})", stream.local_addr().unwrap().port());
    (stream, peer)
}

#[test]
fn connections_over_the_cap_wait_in_the_backlog_until_a_slot_frees() {
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--max-connections", "1"],
    );
    let port = server.listening_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut first, first_peer) = connect_logged(port).await;
        first.write_all(&TUTORIAL[MORPHEUS].1[..10]).await.unwrap();
        // The first connection holds the only slot once it is accepted.
        server.wait_for_line(|l| l == format!("Accepted connection from {first_peer}"));
        let (mut second, second_peer) = connect_logged(port).await;
        second.write_all(TUTORIAL[MORPHEUS].1).await.unwrap();
        let mut byte = [0u8; 1];
        let waiting =
            tokio::time::timeout(Duration::from_millis(200), second.read(&mut byte)).await;
        assert!(waiting.is_err(), "over the cap, yet answered: {waiting:?}");
        assert!(
            !server
                .lines()
                .contains(&format!("Accepted connection from {second_peer}")),
            "accepted over the cap"
        );
        first.write_all(&TUTORIAL[MORPHEUS].1[10..]).await.unwrap();
        let a = tokio::time::timeout(HANG_GUARD, read_to_close(&mut first))
            .await
            .unwrap();
        let b = tokio::time::timeout(HANG_GUARD, read_to_close(&mut second))
            .await
            .unwrap();
        assert_eq!(a, TUTORIAL[MORPHEUS].2);
        assert_eq!(b, TUTORIAL[MORPHEUS].2);
    });
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_refuses_new_connections_and_exits_0() {
    let mut server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--grace-period", "30s"],
    );
    let port = server.listening_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Timers made outside block_on need the runtime's context.
    let _context = rt.enter();
    let (mut in_flight, peer) = rt.block_on(connect_logged(port));
    rt.block_on(in_flight.write_all(&TUTORIAL[MORPHEUS].1[..20]))
        .unwrap();
    server.wait_for_line(|l| l == format!("Accepted connection from {peer}"));
    server.signal("TERM");
    server.wait_for_line(|l| l == "Caught SIGTERM, exiting");
    // The listener is gone (bounded poll): new connections are refused.
    let refused = rt.block_on(tokio::time::timeout(HANG_GUARD, async {
        while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }));
    assert!(refused.is_ok(), "still accepting after SIGTERM");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    rt.block_on(in_flight.write_all(&TUTORIAL[MORPHEUS].1[20..]))
        .unwrap();
    let reply = rt
        .block_on(tokio::time::timeout(
            HANG_GUARD,
            read_to_close(&mut in_flight),
        ))
        .unwrap();
    assert_eq!(reply, TUTORIAL[MORPHEUS].2);
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn sigterm_drops_a_stalled_connection_when_the_grace_period_ends_and_exits_0() {
    // The idle timeout is far beyond the hang guard: only the grace period
    // can end the stalled connection in time.
    let mut server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &[
            "127.0.0.1",
            "0",
            "--grace-period",
            "200ms",
            "--idle-timeout",
            "600s",
        ],
    );
    let port = server.listening_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Timers made outside block_on need the runtime's context.
    let _context = rt.enter();
    let (mut stalled, peer) = rt.block_on(connect_logged(port));
    rt.block_on(stalled.write_all(&TUTORIAL[MORPHEUS].1[..5]))
        .unwrap();
    server.wait_for_line(|l| l == format!("Accepted connection from {peer}"));
    assert_eq!(server.terminate().code(), Some(0));
    let logged = server.wait_for_line(|l| l.contains(&peer) && l.starts_with("warning: "));
    assert!(logged.contains("grace period over"), "{logged}");
    let got = rt
        .block_on(tokio::time::timeout(
            HANG_GUARD,
            read_to_close(&mut stalled),
        ))
        .unwrap();
    assert!(got.is_empty());
}

#[test]
fn the_server_process_logs_the_tutorials_lines_and_exits_0_on_sigterm() {
    let mut server = Process::spawn(env!("CARGO_BIN_EXE_app-server"), &["127.0.0.1", "0"]);
    let port = server.listening_port();
    assert_eq!(
        server.lines()[0],
        format!("Listening on ('127.0.0.1', {port})")
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (client_port, reply) = rt.block_on(async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let client_port = stream.local_addr().unwrap().port();
        stream.write_all(TUTORIAL[MORPHEUS].1).await.unwrap();
        let reply = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
            .await
            .unwrap();
        (client_port, reply)
    });
    assert_eq!(reply, TUTORIAL[MORPHEUS].2);
    let peer = format!("('127.0.0.1', {client_port})");
    server.wait_for_line(|l| l == format!("Closing connection to {peer}"));
    let lines: Vec<String> = server
        .lines()
        .into_iter()
        .filter(|l| l.contains(&peer))
        .collect();
    assert_eq!(
        lines,
        [
            format!("Accepted connection from {peer}"),
            format!("Received request {{'action': 'search', 'value': 'morpheus'}} from {peer}"),
            format!(
                r#"Sending b'\x00g{{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 43}}{{"result": "Follow the white rabbit. \xf0\x9f\x90\xb0"}}' to {peer}"#
            ),
            format!("Closing connection to {peer}"),
        ]
    );
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

#[test]
fn a_port_in_use_is_a_one_line_error_and_a_non_zero_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (status, stdout, stderr) =
        common::run(env!("CARGO_BIN_EXE_app-server"), &["127.0.0.1", &port]);
    assert!(!status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot listen on ('127.0.0.1', {port}): ")),
        "{stderr}"
    );
}

/// All tutorial requests back to back, and the replies they must get, in order.
fn pipeline() -> (Vec<u8>, Vec<u8>) {
    let requests = TUTORIAL
        .iter()
        .flat_map(|(_, rq, _)| rq.iter().copied())
        .collect();
    let replies = TUTORIAL
        .iter()
        .flat_map(|(_, _, rp)| rp.iter().copied())
        .collect();
    (requests, replies)
}

#[tokio::test]
async fn keep_alive_answers_back_to_back_requests_in_order() {
    let server = start_app(app::Config {
        keep_alive: true,
        ..config()
    });
    let (requests, replies) = pipeline();
    for split in [Split::Whole, Split::ByteByByte, Split::Random(7)] {
        let got = tokio::time::timeout(HANG_GUARD, async {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            write_split(&mut stream, &requests, split).await;
            // Closing our side between requests ends the conversation cleanly.
            stream.shutdown().await.unwrap();
            read_to_close(&mut stream).await
        })
        .await
        .unwrap();
        assert_eq!(got, replies, "{split:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_answers_each_request_before_the_next_is_sent() {
    let server = start_app(app::Config {
        keep_alive: true,
        ..config()
    });
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for (name, request, reply) in TUTORIAL {
        stream.write_all(request).await.unwrap();
        let mut got = vec![0u8; reply.len()];
        tokio::time::timeout(HANG_GUARD, stream.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, reply, "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_closes_an_idle_connection_after_the_idle_timeout() {
    let server = start_app(app::Config {
        keep_alive: true,
        idle_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(TUTORIAL[MORPHEUS].1).await.unwrap();
    // The server's reply, its last activity, comes after this.
    let wrote = Instant::now();
    // The write side stays open: only the idle timeout can close this.
    let got = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
        .await
        .unwrap();
    assert_eq!(got, TUTORIAL[MORPHEUS].2);
    let waited = wrote.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}, before the idle timeout"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_keep_alive_only_the_first_of_back_to_back_requests_is_answered() {
    let server = start_app(config());
    let (requests, _) = pipeline();
    let got = exchange(server.addr, &requests, Split::Whole).await;
    assert_eq!(got, TUTORIAL[0].2);
    server.stop().await;
}

#[tokio::test]
async fn an_ipv6_loopback_server_answers_like_the_ipv4_one() {
    let listener = match tutorial::servers::net::bind("[::1]:0".parse().unwrap(), 16) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "SKIPPED an_ipv6_loopback_server_answers_like_the_ipv4_one: no ::1 here ({e})"
            );
            return;
        }
    };
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(servers::serve(
        listener,
        servers::Limits::default(),
        config(),
        None,
        shutdown.clone(),
    ));
    let got = exchange(addr, TUTORIAL[MORPHEUS].1, Split::Whole).await;
    assert_eq!(got, TUTORIAL[MORPHEUS].2);
    shutdown.cancel();
    tokio::time::timeout(HANG_GUARD, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_kept_alive_connections_without_waiting_for_the_grace_period() {
    let server = start_app_within(
        app::Config {
            keep_alive: true,
            idle_timeout: Duration::from_secs(600),
            ..config()
        },
        servers::Limits {
            // Longer than the hang guard: only closing the idle connection
            // at once lets stop() return in time.
            grace_period: Duration::from_secs(600),
            ..servers::Limits::default()
        },
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(TUTORIAL[MORPHEUS].1).await.unwrap();
    let mut reply = vec![0u8; TUTORIAL[MORPHEUS].2.len()];
    tokio::time::timeout(HANG_GUARD, stream.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, TUTORIAL[MORPHEUS].2);
    server.stop().await;
    let rest = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
        .await
        .unwrap();
    assert!(rest.is_empty());
}

#[test]
fn a_trickling_request_is_dropped_at_the_request_timeout_with_its_reason_while_a_good_client_is_answered(
) {
    // A byte every 100 ms never meets the 60 s idle timeout: only the
    // whole-request deadline ends it.
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &[
            "127.0.0.1",
            "0",
            "--request-timeout",
            "500ms",
            "--idle-timeout",
            "60s",
        ],
    );
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], server.listening_port()).into();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (client_port, mut reader) = rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let client_port = stream.local_addr().unwrap().port();
        let (reader, mut writer) = stream.into_split();
        tokio::spawn(async move {
            for byte in TUTORIAL[MORPHEUS].1 {
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        (client_port, reader)
    });
    let good = rt.block_on(async {
        tokio::time::timeout(
            HANG_GUARD,
            exchange(addr, TUTORIAL[MORPHEUS].1, Split::Whole),
        )
        .await
        .expect("hang guard")
    });
    assert_eq!(good, TUTORIAL[MORPHEUS].2);
    let peer = format!("('127.0.0.1', {client_port})");
    let logged = server.wait_for_line(|l| l.starts_with("warning: ") && l.contains(&peer));
    assert!(
        logged.contains("request not complete within 500ms"),
        "logged {logged:?}"
    );
    // The trickler got no reply, only the close.
    let rest = rt.block_on(async {
        tokio::time::timeout(HANG_GUARD, async {
            let mut got = Vec::new();
            let _ = reader.read_to_end(&mut got).await;
            got
        })
        .await
        .expect("hang guard")
    });
    assert!(rest.is_empty(), "the trickler got {rest:?}");
}

#[tokio::test]
async fn with_keep_alive_the_request_timeout_runs_per_request_from_its_first_byte() {
    let server = start_app(app::Config {
        keep_alive: true,
        request_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(60),
        ..config()
    });
    let (request, reply) = (TUTORIAL[MORPHEUS].1, TUTORIAL[MORPHEUS].2);
    tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        for _ in 0..2 {
            // Quiet between requests for longer than the request timeout:
            // no request is under way, so nothing is dropped.
            tokio::time::sleep(Duration::from_millis(500)).await;
            stream.write_all(request).await.unwrap();
            let mut got = vec![0u8; reply.len()];
            stream.read_exact(&mut got).await.unwrap();
            assert_eq!(got, reply);
        }
    })
    .await
    .expect("hang guard");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_per_ip_limit_are_closed_while_the_others_keep_working() {
    let server = start_app_within(
        app::Config {
            idle_timeout: Duration::from_secs(60),
            ..config()
        },
        servers::Limits {
            max_connections_per_ip: 2,
            ..servers::Limits::default()
        },
    );
    let (request, reply) = (TUTORIAL[MORPHEUS].1, TUTORIAL[MORPHEUS].2);
    tokio::time::timeout(HANG_GUARD, async {
        // Two connections hold their slots with half a request each.
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream.write_all(&request[..30]).await.unwrap();
            held.push(stream);
        }
        // The third from the same address is closed unanswered.
        let mut third = TcpStream::connect(server.addr).await.unwrap();
        let _ = third.write_all(request).await;
        assert!(read_to_close(&mut third).await.is_empty());
        // The two held ones still get their replies.
        for stream in &mut held {
            stream.write_all(&request[30..]).await.unwrap();
            assert_eq!(read_to_close(stream).await, reply);
        }
        drop(held);
        // Their slots come back once the server has closed them.
        loop {
            if exchange(server.addr, request, Split::Whole).await == reply {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("hang guard");
    server.stop().await;
}
