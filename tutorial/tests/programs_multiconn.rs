//! The echo pair and the multi-connection pair over real loopback sockets.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{echoes_every_byte, read_to_close, run, start_echo, Process, HANG_GUARD};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tutorial::servers::echo;

#[test]
fn multiconn_client_and_server_processes_echo_fifty_connections_intact() {
    let server = Process::spawn(env!("CARGO_BIN_EXE_multiconn-server"), &["127.0.0.1", "0"]);
    let port = server.listening_port().to_string();
    let (status, stdout, stderr) = run(
        env!("CARGO_BIN_EXE_multiconn-client"),
        &["127.0.0.1", &port, "50"],
    );
    assert!(status.success(), "{stderr}");
    // Reassemble what each connection received from its "Received b'…'" lines.
    let mut received: BTreeMap<usize, String> = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("Received b'") {
            let (bytes, connid) = rest
                .rsplit_once("' from connection ")
                .expect("tutorial line");
            received
                .entry(connid.parse().unwrap())
                .or_default()
                .push_str(bytes);
        }
    }
    assert_eq!(received.len(), 50);
    for (connid, bytes) in &received {
        assert_eq!(
            bytes, "Message 1 from client.Message 2 from client.",
            "connection {connid}"
        );
        for line in [
            format!("Starting connection {connid} to ('127.0.0.1', {port})"),
            format!("Sending b'Message 1 from client.' to connection {connid}"),
            format!("Sending b'Message 2 from client.' to connection {connid}"),
            format!("Closing connection {connid}"),
        ] {
            assert!(stdout.lines().any(|l| l == line), "missing {line:?}");
        }
    }
    server.wait_for_nth(49, |l| l.starts_with("Closing connection to"));
    let lines = server.lines();
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("Accepted connection from ('127.0.0.1', "), 50);
    assert_eq!(count("Closing connection to ('127.0.0.1', "), 50);
    assert!(
        count("Echoing b'Message 1 from client.") >= 50,
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_connections_get_every_byte_back() {
    let server = start_echo(echo::Config::default());
    echoes_every_byte(server.addr, 50, |i| 20_000 + i as usize * 997).await;
    server.stop().await;
}

#[test]
fn echo_client_and_server_processes_exchange_hello_world() {
    let mut server = Process::spawn(env!("CARGO_BIN_EXE_echo-server"), &["127.0.0.1", "0"]);
    let port = server.listening_port().to_string();
    let (status, stdout, stderr) = run(env!("CARGO_BIN_EXE_echo-client"), &["127.0.0.1", &port]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "Received b'Hello, world'\n");
    // The tutorial's echo server serves one client, then exits.
    assert_eq!(server.wait().code(), Some(0));
    let connected = server.wait_for_line(|l| l.starts_with("Connected by "));
    assert!(
        connected.starts_with("Connected by ('127.0.0.1', "),
        "{connected}"
    );
}

#[test]
fn echo_client_reads_a_long_message_until_all_of_it_is_back() {
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_multiconn-server"),
        &["127.0.0.1", "0", "--quiet"],
    );
    let port = server.listening_port().to_string();
    let long = "x".repeat(120_000);
    let (status, stdout, stderr) = run(
        env!("CARGO_BIN_EXE_echo-client"),
        &["127.0.0.1", &port, "--message", &long],
    );
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, format!("Received b'{long}'\n"));
}

#[test]
fn echo_client_exits_non_zero_with_one_line_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let (status, stdout, stderr) = run(env!("CARGO_BIN_EXE_echo-client"), &["127.0.0.1", &port]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
}

#[tokio::test]
async fn the_echo_server_closes_a_connection_idle_past_its_timeout() {
    let server = start_echo(echo::Config {
        idle_timeout: Duration::from_millis(200),
    });
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let got = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
        .await
        .unwrap();
    assert_eq!(got, b"ping");
    server.stop().await;
}
