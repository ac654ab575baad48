//! The server's socket calls in the words their author would write them:
//! `recv(4096) → 10 B after 48 ms`, `send(200) → 120 B (short send)`,
//! `recv(4096) → BlockingIOError (EAGAIN)`, and a call still inside the
//! kernel, `recv(4096) waiting for over 2.4 s`. The size asked and the time a
//! call blocked show only where the relay reported them; whose calls they
//! are comes from `/targets` (a `--run` program's pid and command line).

use super::clock::fixed;
use protocol::relay_api::{python_exception, Observed, PendingCall, ProgramInfo, TargetInfo};

/// `recv(4096)`, or `recv()` when the size asked is not known.
fn call(name: &str, asked: Option<u64>) -> String {
    match asked {
        Some(n) => format!("{name}({n})"),
        None => format!("{name}()"),
    }
}

/// A duration as a learner reads it: `48 ms`, `2.4 s`.
pub fn duration_words(us: u64) -> String {
    if us < 1_000_000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{} s", fixed(us as f64 / 1e6, true))
    }
}

/// ` after 48 ms` for a call that blocked a millisecond or more.
fn after(blocked_us: Option<u64>) -> String {
    match blocked_us {
        Some(us) if us >= 1000 => format!(" after {}", duration_words(us)),
        _ => String::new(),
    }
}

/// `BlockingIOError (EAGAIN)`: what Python raises, and the errno.
fn raised(errno: &str) -> String {
    format!("{} ({errno})", python_exception(errno))
}

/// One server event as the call the server made, if it is one (its
/// `accept()` has a line of its own in the panel).
pub fn call_words(event: &Observed) -> Option<String> {
    Some(match event {
        Observed::ServerRecv {
            len,
            count,
            asked,
            blocked_us,
            error,
            ..
        } => match (error, count) {
            (Some(errno), _) => format!("{} → {}", call("recv", *asked), raised(errno)),
            (None, 1) if *len == 0 => format!(
                "{} → b'' (the peer closed its side){}",
                call("recv", *asked),
                after(*blocked_us)
            ),
            (None, 1) => format!("{} → {len} B{}", call("recv", *asked), after(*blocked_us)),
            (None, n) => format!("{n} × recv() → {len} B in all{}", after(*blocked_us)),
        },
        Observed::ServerSend {
            len,
            sent,
            count,
            blocked_us,
            error,
        } => match (error, count) {
            (Some(errno), _) => format!("send({len}) → {}", raised(errno)),
            (None, 1) if sent < len => {
                format!("send({len}) → {sent} B (short send){}", after(*blocked_us))
            }
            (None, 1) => format!("send({len}) → {sent} B{}", after(*blocked_us)),
            (None, n) => format!("{n} × send() → {sent} of {len} B{}", after(*blocked_us)),
        },
        Observed::ServerShutdown { how } => format!("shutdown({})", how.name()),
        Observed::ServerClose => "close()".to_owned(),
        _ => return None,
    })
}

/// A call still waiting in the kernel: the relay reports one once it has
/// blocked a while, and the page counts from the report, so `waited_us`
/// is a lower bound and said as one.
pub fn pending_words(call_: PendingCall, asked: Option<u64>, waited_us: u64) -> String {
    let name = match call_ {
        PendingCall::Accept => "accept()".to_owned(),
        other => call(other.name(), asked),
    };
    format!("{name} waiting for over {}", duration_words(waited_us))
}

/// A `--run` program as the page names it: `your program, pid 1234: python3 server.py`.
pub fn program_words(p: &ProgramInfo) -> String {
    format!("your program, pid {}: {}", p.pid, p.command)
}

/// Whose calls a target's server panel shows: the learner's program under
/// `relay --run`, or one of wirelab's own servers.
pub fn whose_calls(target: &str, targets: &[TargetInfo]) -> String {
    match targets
        .iter()
        .find(|t| t.name == target)
        .and_then(|t| t.program.as_ref())
    {
        Some(p) => program_words(p),
        None => format!("wirelab's {target} server"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::relay_api::ShutdownHow;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn recv(len: u64, blocked_us: Option<u64>, error: Option<&str>) -> Observed {
        Observed::ServerRecv {
            len,
            count: 1,
            decoder: None,
            asked: Some(4096),
            blocked_us,
            error: error.map(Into::into),
            data: None,
        }
    }

    fn send(len: u64, sent: u64, error: Option<&str>) -> Observed {
        Observed::ServerSend {
            len,
            sent,
            count: 1,
            blocked_us: None,
            error: error.map(Into::into),
        }
    }

    #[test]
    fn each_call_reads_as_the_program_made_it() {
        let words = |e: &Observed| call_words(e).unwrap();
        assert_eq!(
            words(&recv(10, Some(48_200), None)),
            "recv(4096) → 10 B after 48 ms"
        );
        assert_eq!(words(&recv(10, Some(300), None)), "recv(4096) → 10 B");
        assert_eq!(
            words(&recv(0, None, Some("EAGAIN"))),
            "recv(4096) → BlockingIOError (EAGAIN)"
        );
        assert_eq!(
            words(&recv(0, None, Some("ECONNRESET"))),
            "recv(4096) → ConnectionResetError (ECONNRESET)"
        );
        assert_eq!(
            words(&recv(0, Some(2_000_000), None)),
            "recv(4096) → b'' (the peer closed its side) after 2.0 s"
        );
        assert_eq!(
            words(&send(200, 120, None)),
            "send(200) → 120 B (short send)"
        );
        assert_eq!(words(&send(200, 200, None)), "send(200) → 200 B");
        assert_eq!(
            words(&send(200, 0, Some("EPIPE"))),
            "send(200) → BrokenPipeError (EPIPE)"
        );
        assert_eq!(
            words(&Observed::ServerShutdown {
                how: ShutdownHow::Write
            }),
            "shutdown(SHUT_WR)"
        );
        let embedded = Observed::ServerRecv {
            len: 146,
            count: 3,
            decoder: None,
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        };
        assert_eq!(words(&embedded), "3 × recv() → 146 B in all");
        assert_eq!(call_words(&Observed::Eof), None);
    }

    #[test]
    fn a_waiting_call_says_how_long_so_far() {
        assert_eq!(
            pending_words(PendingCall::Recv, Some(4096), 2_400_000),
            "recv(4096) waiting for over 2.4 s"
        );
        assert_eq!(
            pending_words(PendingCall::Accept, None, 350_000),
            "accept() waiting for over 350 ms"
        );
    }

    #[test]
    fn the_calls_are_a_run_programs_or_wirelabs() {
        let targets = [
            TargetInfo {
                name: "mine".into(),
                description: String::new(),
                address: None,
                program: Some(ProgramInfo {
                    pid: 1234,
                    command: "python3 server.py".into(),
                }),
                exposed: None,
            },
            TargetInfo {
                name: "app".into(),
                description: String::new(),
                address: None,
                program: None,
                exposed: None,
            },
        ];
        assert_eq!(
            whose_calls("mine", &targets),
            "your program, pid 1234: python3 server.py"
        );
        assert_eq!(whose_calls("app", &targets), "wirelab's app server");
    }
}
