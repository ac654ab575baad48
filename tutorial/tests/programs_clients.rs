//! app-client as a real process: the tutorial's output for every request
//! kind, several requests on one connection, its errors and exit status; and
//! interop both ways with a Python rendering of the tutorial's programs.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::{python3, python_fixture, run, Process};

const CLIENT: &str = env!("CARGO_BIN_EXE_app-client");
const SERVER: &str = env!("CARGO_BIN_EXE_app-server");

/// Replaces the port in every `('host', PORT…)` tuple with `P`, so that
/// transcripts from different runs compare.
fn mask_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("', ") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with([')', ',']) {
            out.push('P');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn client(port: u16, args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let port = port.to_string();
    let mut all = vec!["127.0.0.1", &port];
    all.extend_from_slice(args);
    run(CLIENT, &all)
}

#[test]
fn app_client_prints_the_tutorials_lines_for_each_request_kind() {
    let server = Process::spawn(SERVER, &["127.0.0.1", "0"]);
    let port = server.listening_port();
    let s = format!("('127.0.0.1', {port})");
    let cases: [(&[&str], String); 5] = [
        (
            &["search", "morpheus"],
            format!(
                "Starting connection to {s}\n\
                 Sending b'\\x00g{{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 41}}{{\"action\": \"search\", \"value\": \"morpheus\"}}' to {s}\n\
                 Received response {{'result': 'Follow the white rabbit. 🐰'}} from {s}\n\
                 Got result: Follow the white rabbit. 🐰\n\
                 Closing connection to {s}\n"
            ),
        ),
        (
            &["search", "🐶"],
            format!(
                "Starting connection to {s}\n\
                 Sending b'\\x00g{{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}}{{\"action\": \"search\", \"value\": \"\\xf0\\x9f\\x90\\xb6\"}}' to {s}\n\
                 Received response {{'result': '🐾 Playing ball! 🏐'}} from {s}\n\
                 Got result: 🐾 Playing ball! 🏐\n\
                 Closing connection to {s}\n"
            ),
        ),
        (
            &["binary", "😃"],
            format!(
                "Starting connection to {s}\n\
                 Sending b'\\x00\\x7f{{\"byteorder\": \"little\", \"content-type\": \"binary/custom-client-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}}binary\\xf0\\x9f\\x98\\x83' to {s}\n\
                 Received binary/custom-server-binary-type response from {s}\n\
                 Got response: b'First 10 bytes of request: binary\\xf0\\x9f\\x98\\x83'\n\
                 Closing connection to {s}\n"
            ),
        ),
        (
            &["search", "ring"],
            format!("Got result: In the caves beneath the Misty Mountains. 💍\nClosing connection to {s}\n"),
        ),
        (
            &["search", "neo"],
            format!(
                "Received response {{'result': \"No match for 'neo'.\"}} from {s}\n\
                 Got result: No match for 'neo'.\n\
                 Closing connection to {s}\n"
            ),
        ),
    ];
    for (args, expected) in cases {
        let (status, stdout, stderr) = client(port, args);
        assert!(status.success(), "{args:?}: {stderr}");
        assert!(
            stdout.ends_with(&expected),
            "{args:?}:\n{stdout}\nexpected to end with:\n{expected}"
        );
        assert!(
            stdout.starts_with(&format!("Starting connection to {s}\n")),
            "{stdout}"
        );
        assert_eq!(stderr, "");
    }
}

#[test]
fn app_client_exits_non_zero_with_one_line_when_nothing_listens() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (status, _, stderr) = client(port, &["search", "morpheus"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot connect to ('127.0.0.1', {port}): ")),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

/// A one-connection server that reads the request's first bytes, then does `then`.
fn fake_server(then: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 2];
        let _ = stream.read_exact(&mut buf);
        then(stream);
    });
    port
}

/// Sends FIN, then reads until the client has closed too: closing with the
/// request unread would reset the connection instead.
fn close_after_client(mut stream: std::net::TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(common::HANG_GUARD));
    let _ = stream.read_to_end(&mut Vec::new());
}

#[test]
fn app_client_reports_a_malformed_reply_in_one_line_and_exits_non_zero() {
    let port = fake_server(|mut stream| {
        let _ = stream.write_all(b"\x00\x02[]");
        close_after_client(stream);
    });
    let (status, _, stderr) = client(port, &["search", "morpheus"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("error: malformed reply from ('127.0.0.1', {port}): JSON header is not a JSON object but array\n")
    );
}

#[test]
fn app_client_gives_up_after_its_timeout_when_no_reply_comes() {
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let port = fake_server(move |stream| {
        // Hold the connection open, silent, until the test ends.
        let _ = hold_rx.recv_timeout(common::HANG_GUARD);
        drop(stream);
    });
    let (status, _, stderr) = client(port, &["search", "morpheus", "--timeout", "300ms"]);
    drop(hold_tx);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("error: no complete reply from ('127.0.0.1', {port}) within 300ms (have 0 of 2 header-length bytes)\n")
    );
}

#[test]
fn app_client_reports_a_server_that_closes_mid_reply() {
    let port = fake_server(|mut stream| {
        let _ = stream.write_all(b"\x00\x10{\"byteorder\"");
        close_after_client(stream);
    });
    let (status, _, stderr) = client(port, &["binary", "x"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("error: ('127.0.0.1', {port}) closed the connection before the reply was complete (JSON header: 12 of 16 bytes)\n")
    );
}

#[test]
fn app_client_sends_several_requests_on_one_kept_alive_connection() {
    let server = Process::spawn(SERVER, &["127.0.0.1", "0", "--keep-alive"]);
    let port = server.listening_port();
    for extra in [&[][..], &["--pipeline"][..]] {
        let mut args = vec!["search", "morpheus", "binary", "😃", "search", "neo"];
        args.extend_from_slice(extra);
        let (status, stdout, stderr) = client(port, &args);
        assert!(status.success(), "{stderr}");
        let got: Vec<&str> = stdout.lines().filter(|l| l.starts_with("Got ")).collect();
        assert_eq!(
            got,
            [
                "Got result: Follow the white rabbit. 🐰",
                r"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'",
                "Got result: No match for 'neo'.",
            ],
            "{extra:?}"
        );
        assert_eq!(stdout.matches("Starting connection").count(), 1);
    }
    server.wait_for_line(|l| l.starts_with("Closing connection"));
    let accepted = server
        .lines()
        .iter()
        .filter(|l| l.starts_with("Accepted connection"))
        .count();
    assert_eq!(accepted, 2, "one connection per app-client run");
}

#[test]
fn several_requests_against_a_one_shot_server_fail_with_a_hint() {
    let server = Process::spawn(SERVER, &["127.0.0.1", "0"]);
    let port = server.listening_port();
    let (status, stdout, stderr) = client(port, &["search", "morpheus", "search", "ring"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stdout.contains("Got result: Follow the white rabbit. 🐰"),
        "{stdout}"
    );
    assert!(
        stderr.contains("unless started with --keep-alive"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

/// The requests the interop tests make (argv of both clients).
const INTEROP: [[&str; 2]; 6] = [
    ["search", "morpheus"],
    ["search", "ring"],
    ["search", "🐶"],
    ["search", "neo"],
    ["binary", "😃"],
    ["whatever", "0123456789abcdef"],
];

fn python_or_skip(test: &str) -> Option<&'static str> {
    let python = python3();
    if python.is_none() {
        eprintln!("\n!!! SKIPPED {test}: python3 is not installed; the Python interop is NOT tested !!!\n");
    }
    python
}

/// Runs `client_argv` + host, port, action, value against each server and
/// returns (client stdout, the server's lines for that connection), ports masked.
fn transcript(
    client_argv: &[&str],
    server: &Process,
    port: u16,
    request: &[&str; 2],
) -> (String, Vec<String>) {
    let port_text = port.to_string();
    let mut args: Vec<&str> = client_argv[1..].to_vec();
    args.extend_from_slice(&["127.0.0.1", &port_text, request[0], request[1]]);
    let closings = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("Closing connection to"))
            .cloned()
            .collect()
    };
    let before = closings(&server.lines()).len();
    let (status, stdout, stderr) = run(client_argv[0], &args);
    assert!(status.success(), "{client_argv:?} {request:?}: {stderr}");
    // The server serves one connection at a time here: the next closing line is ours.
    let closing = server.wait_for_nth(before, |l| l.starts_with("Closing connection to"));
    let peer = closing
        .trim_start_matches("Closing connection to ")
        .to_owned();
    let lines = server
        .lines()
        .iter()
        .filter(|l| l.ends_with(&peer))
        .map(|l| mask_ports(l))
        .collect();
    (mask_ports(&stdout), lines)
}

#[test]
fn python_and_rust_programs_interoperate_with_identical_transcripts() {
    let Some(python) =
        python_or_skip("python_and_rust_programs_interoperate_with_identical_transcripts")
    else {
        return;
    };
    let ours = Process::spawn(SERVER, &["127.0.0.1", "0"]);
    let our_port = ours.listening_port();
    let theirs = Process::spawn(
        python,
        &[&python_fixture("app_server.py"), "127.0.0.1", "0"],
    );
    let their_port = theirs.listening_port();
    let py_client = [python, &python_fixture("app_client.py")];
    let rust_client = [CLIENT];
    for request in &INTEROP {
        // Python client: our server and the Python server must look the same
        // to it, and log the same lines (the reply bytes are in "Sending b'…'").
        let (py_vs_ours, our_log) = transcript(&py_client, &ours, our_port, request);
        let (py_vs_theirs, their_log) = transcript(&py_client, &theirs, their_port, request);
        assert_eq!(py_vs_ours, py_vs_theirs, "Python client, {request:?}");
        assert_eq!(our_log, their_log, "server logs, {request:?}");
        assert_eq!(our_log.len(), 4, "{our_log:#?}");
        // Our client: the Python server must look to it as ours does, and it
        // must print what the Python client prints (request bytes included).
        let (rust_vs_theirs, their_log) = transcript(&rust_client, &theirs, their_port, request);
        let (rust_vs_ours, our_log) = transcript(&rust_client, &ours, our_port, request);
        assert_eq!(rust_vs_theirs, rust_vs_ours, "our client, {request:?}");
        assert_eq!(
            rust_vs_theirs, py_vs_theirs,
            "our client vs the Python client, {request:?}"
        );
        assert_eq!(
            our_log, their_log,
            "server logs with our client, {request:?}"
        );
    }
}

#[test]
fn the_python_client_works_against_a_keep_alive_server() {
    let Some(python) = python_or_skip("the_python_client_works_against_a_keep_alive_server") else {
        return;
    };
    let server = Process::spawn(
        SERVER,
        &["127.0.0.1", "0", "--keep-alive", "--idle-timeout", "30s"],
    );
    let port = server.listening_port().to_string();
    let (status, stdout, stderr) = run(
        python,
        &[
            &python_fixture("app_client.py"),
            "127.0.0.1",
            &port,
            "search",
            "ring",
        ],
    );
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains("Got result: In the caves beneath the Misty Mountains. 💍"),
        "{stdout}"
    );
    // The Python client closes after its reply; the server follows at once,
    // not after the idle timeout.
    server.wait_for_line(|l| l.starts_with("Closing connection to"));
}

#[test]
fn mask_ports_hides_only_tuple_ports() {
    assert_eq!(
        mask_ports("Sending b'x' to ('127.0.0.1', 5000)\n('::1', 61354, 0, 0) 12"),
        "Sending b'x' to ('127.0.0.1', P)\n('::1', P, 0, 0) 12"
    );
}
