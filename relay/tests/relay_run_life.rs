//! `relay --run`: the program's life. Its exit closes its sessions with
//! the exit code or signal, the relay's SIGTERM ends it (no orphan), and
//! the refusals: `--public-origin`, a program that never listens or exits
//! first, and `--run-no-trace`.
#![cfg(target_os = "linux")]

mod run_support;
mod support;

use protocol::relay_api::{CloseReason, Observed, ProgramExit};
use run_support::*;
use support::{connect, eventually, http_get, send, within};
use tokio::process::Command;

async fn close_of(ws: &mut support::Ws) -> CloseReason {
    let mut seen = Seen::default();
    read_to_close(ws, &mut seen).await;
    let (code, reason) = seen.close.expect("a close frame");
    CloseReason::parse(code, &reason)
}

#[tokio::test]
async fn a_program_that_exits_closes_its_sessions_with_its_exit_code() {
    let relay = RunRelay::python("exit_after_one.py", &[]).await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    // Once the program has accepted this one, a second connection waits
    // in its backlog, never accepted.
    let mut seen = Seen::default();
    let accepted = |s: &Seen| s.kinds().contains(&"server_accept".to_owned());
    read_until(&mut ws, &mut seen, accepted).await;
    let mut quiet = connect(relay.addr, "mine").await;
    send(&mut ws, b"goodbye").await;
    assert_eq!(
        close_of(&mut ws).await,
        CloseReason::ProgramExited(ProgramExit::Code(3))
    );
    // A session the program never accepted learns the same.
    assert_eq!(
        close_of(&mut quiet).await,
        CloseReason::ProgramExited(ProgramExit::Code(3))
    );
    // A new session finds nobody listening, and says why.
    let mut late = connect(relay.addr, "mine").await;
    assert_eq!(
        close_of(&mut late).await,
        CloseReason::ProgramExited(ProgramExit::Code(3))
    );
}

#[tokio::test]
async fn a_program_killed_by_a_signal_says_which() {
    let relay = RunRelay::python("never_close.py", &[]).await;
    let pid = relay.program_pid().await;
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"hi").await;
    read_until(&mut ws, &mut seen, |s| s.bytes == b"HI").await;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    read_to_close(&mut ws, &mut seen).await;
    let (code, reason) = seen.close.clone().unwrap();
    assert_eq!(
        CloseReason::parse(code, &reason),
        CloseReason::ProgramExited(ProgramExit::Signal(9))
    );
    assert_eq!(reason, "the program was killed by signal 9 (SIGKILL)");
}

#[tokio::test]
async fn sigterm_to_the_relay_ends_the_program_too() {
    let mut relay = RunRelay::python("never_close.py", &[]).await;
    let pid = relay.program_pid().await;
    assert!(!gone(pid));
    let mut ws = connect(relay.addr, "mine").await;
    send(&mut ws, b"hi").await;
    let relay_pid = nix::unistd::Pid::from_raw(relay.child.id().unwrap() as i32);
    nix::sys::signal::kill(relay_pid, nix::sys::signal::SIGTERM).unwrap();
    let status = within(relay.child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(0));
    // The relay has exited: the program and its group are gone with it.
    eventually(|| gone(pid)).await;
}

#[tokio::test]
async fn a_relay_killed_outright_takes_its_program_along() {
    let mut relay = RunRelay::python("never_close.py", &[]).await;
    let pid = relay.program_pid().await;
    // No shutdown code runs: PR_SET_PDEATHSIG and PTRACE_O_EXITKILL do it.
    relay.child.start_kill().unwrap();
    within(relay.child.wait()).await.unwrap();
    eventually(|| gone(pid)).await;
}

#[tokio::test]
async fn run_is_refused_with_a_public_origin() {
    let port = free_port().to_string();
    let output = within(
        Command::new(env!("CARGO_BIN_EXE_relay"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--public-origin",
                "https://wirelab.example",
            ])
            .args(["--run", &format!("mine=127.0.0.1:{port}"), "--"])
            .args(["python3", &program("echo_server.py"), "127.0.0.1", &port])
            .output(),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("--run is refused with --public-origin: a public relay never runs programs"),
        "{stderr}"
    );
    // Nothing was started: nobody listens at the program's port.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err());
}

async fn relay_error(argv: &[&str], flags: &[&str]) -> String {
    let port = free_port().to_string();
    let output = within(
        Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["--listen", "127.0.0.1:0", "--no-embedded"])
            .args(["--run", &format!("mine=127.0.0.1:{port}")])
            .args(flags)
            .arg("--")
            .args(argv)
            .output(),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_program_that_never_listens_or_exits_first_is_a_clear_error() {
    let stderr = relay_error(
        &["python3", "-c", "import time; time.sleep(30)"],
        &["--run-listen-timeout", "1s"],
    )
    .await;
    assert!(
        stderr.contains("did not listen at 127.0.0.1:")
            && stderr.contains("within 1s (--run-listen-timeout)"),
        "{stderr}"
    );
    let stderr = relay_error(&["python3", "-c", "import sys; sys.exit(4)"], &[]).await;
    assert!(
        stderr.contains("ended before it listened at 127.0.0.1:")
            && stderr.contains("the program exited with code 4"),
        "{stderr}"
    );
    let stderr = relay_error(&["/nonexistent/wirelab-program"], &[]).await;
    assert!(
        stderr.contains("cannot start /nonexistent/wirelab-program"),
        "{stderr}"
    );
}

#[tokio::test]
async fn where_ptrace_is_refused_the_relay_says_so_and_serves_the_program_untraced() {
    // The relay runs under a seccomp filter that fails ptrace() with EPERM,
    // as a container without CAP_SYS_PTRACE (or ptrace_scope=3) would.
    let no_ptrace: seccompiler::BpfProgram = seccompiler::SeccompFilter::new(
        [(libc::SYS_ptrace, vec![])].into_iter().collect(),
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(libc::EPERM as u32),
        std::env::consts::ARCH.try_into().unwrap(),
    )
    .unwrap()
    .try_into()
    .unwrap();
    let port = free_port();
    let argv = [
        "python3".to_owned(),
        program("echo_server.py"),
        "127.0.0.1".into(),
        port.to_string(),
    ];
    let mut relay = RunRelay::start_with(port, &argv, &[], &[], move |command| {
        // SAFETY: installing a filter is one prctl and one seccomp call.
        unsafe {
            command.pre_exec(move || {
                seccompiler::apply_filter(&no_ptrace).map_err(std::io::Error::other)
            });
        }
    })
    .await;
    let warning = relay.wait_for("without its socket calls").await;
    assert!(
        warning.contains("not permitted (ptrace: Operation not permitted"),
        "{warning}"
    );
    let (_, body) = http_get(relay.addr, "/targets", &[]).await;
    assert!(body.contains("not traced"), "{body}");
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"still served").await;
    read_until(&mut ws, &mut seen, |s| s.bytes == b"still served").await;
    assert_eq!(
        seen.events.first(),
        Some(&Observed::Observing {
            target: "mine".into(),
            server: false
        })
    );
}

#[tokio::test]
async fn without_tracing_the_program_is_served_and_its_end_still_told() {
    let relay = RunRelay::python("exit_after_one.py", &["--run-no-trace"]).await;
    let (_, body) = http_get(relay.addr, "/targets", &[]).await;
    assert!(body.contains("not traced"), "{body}");
    let mut ws = connect(relay.addr, "mine&observe=1").await;
    let mut seen = Seen::default();
    send(&mut ws, b"goodbye").await;
    read_to_close(&mut ws, &mut seen).await;
    assert_eq!(
        seen.events.first(),
        Some(&Observed::Observing {
            target: "mine".into(),
            server: false
        })
    );
    // No calls without tracing; the kernel's rows of the program's socket
    // still come, from sock_diag, as for any local target.
    assert!(
        !seen
            .kinds()
            .iter()
            .any(|k| k.starts_with("server_") && *k != "server_socket"),
        "{:?}",
        seen.kinds()
    );
    let (code, reason) = seen.close.unwrap();
    assert_eq!(
        CloseReason::parse(code, &reason),
        CloseReason::ProgramExited(ProgramExit::Code(3))
    );
}
