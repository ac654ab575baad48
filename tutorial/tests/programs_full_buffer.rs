//! The tutorial's troubleshooting programs as processes: `app-client-test`
//! sends to `app-server-test`, which never reads, until `send()` would block.

mod common;

use common::{run, Process};

const SERVER: &str = env!("CARGO_BIN_EXE_app-server-test");
const CLIENT: &str = env!("CARGO_BIN_EXE_app-client-test");

#[test]
fn app_client_test_against_app_server_test_prints_the_blocking_error_and_exits_cleanly() {
    let server = Process::spawn(SERVER, &["127.0.0.1", "0"]);
    let port = server.listening_port().to_string();
    let (status, stdout, stderr) = run(
        CLIENT,
        &["127.0.0.1", &port, "binary", "test", "--blocked", "2"],
    );
    assert!(status.success(), "{status}: {stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let error = format!("Error: socket.send() blocking io exception for ('127.0.0.1', {port}):");
    let at = lines
        .iter()
        .position(|l| *l == error)
        .unwrap_or_else(|| panic!("no blocking line in {stdout}"));
    assert_eq!(
        lines[at + 1],
        "BlockingIOError(11, 'Resource temporarily unavailable')"
    );
    // The kernel took something (both queues) before the send blocked.
    let taken: u64 = lines[at + 2]
        .strip_prefix("(the kernel took ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in {:?}", lines[at + 2]));
    assert!(taken > 10_000, "{taken}");
    assert_eq!(lines.iter().filter(|l| **l == error).count(), 2);
    assert_eq!(
        lines.last(),
        Some(&format!("Closing connection to ('127.0.0.1', {port})").as_str())
    );
    server.wait_for_line(|l| l.starts_with("Accepted connection from ('127.0.0.1', "));
}

#[test]
fn app_client_test_exits_on_its_own_against_a_server_that_reads() {
    let server = Process::spawn(env!("CARGO_BIN_EXE_echo-server"), &["127.0.0.1", "0"]);
    let port = server.listening_port().to_string();
    let (status, stdout, _) = run(
        CLIENT,
        &[
            "127.0.0.1",
            &port,
            "binary",
            "test",
            "--time-limit",
            "300ms",
        ],
    );
    assert!(status.success());
    assert!(
        stdout.contains("send() never blocked within") || stdout.contains("Error: socket.send()"),
        "{stdout}"
    );
}
