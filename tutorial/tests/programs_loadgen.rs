//! loadgen as a real process against real servers: it counts only checked
//! replies and reads the server's CPU time. (It measures; nothing here
//! asserts a speed.)

mod common;

use common::{example, run, Process};

fn loadgen(port: u16, pid: u32, extra: &[&str]) -> String {
    let port = port.to_string();
    let pid = pid.to_string();
    let mut args = vec![
        "127.0.0.1",
        &port,
        "--duration",
        "300ms",
        "--clients",
        "4",
        "--pid",
        &pid,
    ];
    args.extend_from_slice(extra);
    let (status, stdout, stderr) = run(env!("CARGO_BIN_EXE_loadgen"), &args);
    assert!(status.success(), "{stderr}");
    stdout
}

#[test]
fn loadgen_reports_checked_requests_and_server_cpu_one_per_connection_and_kept_alive() {
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--quiet"],
    );
    let out = loadgen(server.listening_port(), server.child.id(), &[]);
    assert!(
        out.contains(" req/s; p50 ") && out.contains("; errors 0; server CPU "),
        "{out}"
    );

    let kept = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--quiet", "--keep-alive"],
    );
    let out = loadgen(
        kept.listening_port(),
        kept.child.id(),
        &["--per-connection", "0"],
    );
    assert!(out.contains("; errors 0; server CPU "), "{out}");
}

#[test]
fn loadgen_counts_a_one_shot_server_as_errors_when_asked_for_kept_alive_connections() {
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_app-server"),
        &["127.0.0.1", "0", "--quiet"],
    );
    let out = loadgen(
        server.listening_port(),
        server.child.id(),
        &["--per-connection", "2"],
    );
    // Every second request on a connection finds it closed.
    assert!(!out.contains("; errors 0;"), "{out}");
    assert!(out.contains("first error: "), "{out}");
}

#[test]
fn loadgen_checks_echoed_bytes_against_the_echo_servers() {
    let ours = Process::spawn(
        env!("CARGO_BIN_EXE_multiconn-server"),
        &["127.0.0.1", "0", "--quiet"],
    );
    let out = loadgen(
        ours.listening_port(),
        ours.child.id(),
        &["--mode", "echo", "--per-connection", "0"],
    );
    assert!(out.contains("; errors 0;"), "{out}");
    let bare = Process::spawn(&example("bare-server"), &["127.0.0.1", "0", "--echo"]);
    let out = loadgen(
        bare.listening_port(),
        bare.child.id(),
        &["--mode", "echo", "--per-connection", "0"],
    );
    assert!(out.contains("; errors 0;"), "{out}");
}
