//! `--run NAME=HOST:PORT -- PROGRAM [ARGS…]` and its knobs, and the
//! refusals checked before anything starts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tutorial::cli::parse_duration;

use crate::spec::TargetSpec;

/// Default `--run-listen-timeout`.
pub const DEFAULT_LISTEN_TIMEOUT: &str = "10s";
/// Default `--run-pending-after`.
pub const DEFAULT_PENDING_AFTER: &str = "500ms";

/// The `--run` flags, flattened into the relay binary's arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Run PROGRAM (given after `--`) under the relay as target NAME, which
    /// it must listen at (loopback only). Sessions with `observe=1` see the
    /// program's own socket calls (Linux, ptrace):
    /// `relay --run mine=127.0.0.1:65432 -- python3 app-server.py 127.0.0.1 65432`.
    #[arg(long = "run", value_name = "NAME=HOST:PORT")]
    pub run: Option<TargetSpec>,

    /// The program `--run` starts, and its arguments (everything after `--`).
    #[arg(last = true, value_name = "PROGRAM")]
    pub program: Vec<String>,

    /// How long `--run` waits for the program to listen at HOST:PORT
    /// before the relay gives up (e.g. 10s, 500ms).
    #[arg(long, default_value = DEFAULT_LISTEN_TIMEOUT, value_parser = parse_duration)]
    pub run_listen_timeout: Duration,

    /// A traced `recv()`/`send()` still blocked after this long is shown
    /// while it waits (`server_pending`).
    #[arg(long, default_value = DEFAULT_PENDING_AFTER, value_parser = parse_duration)]
    pub run_pending_after: Duration,

    /// Serve the `--run` program without tracing its calls (no ptrace, no
    /// seccomp filter): its output and exit are still reported.
    #[arg(long)]
    pub run_no_trace: bool,
}

/// A `--run` that passed every refusal: what to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// The target's name.
    pub name: String,
    /// Where the program must listen (a loopback address).
    pub address: SocketAddr,
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// `--run-listen-timeout`.
    pub listen_timeout: Duration,
    /// `--run-pending-after`.
    pub pending_after: Duration,
    /// Trace the program's calls (not `--run-no-trace`).
    pub trace: bool,
}

impl RunArgs {
    /// Checks the refusals: Linux only, a program after `--`, never with
    /// `--public-origin`, loopback only (the relay's `--listen` and the
    /// target's address). `None` without `--run`.
    pub fn plan(&self, listen: SocketAddr, public: bool) -> Result<Option<RunPlan>, String> {
        let Some(spec) = &self.run else {
            if let Some(program) = self.program.first() {
                return Err(format!(
                    "{program:?} after `--` needs --run NAME=HOST:PORT: relay --run NAME=HOST:PORT -- PROGRAM [ARGS…]"
                ));
            }
            return Ok(None);
        };
        if !cfg!(target_os = "linux") {
            return Err(
                "--run works on Linux only: it traces the program with ptrace and seccomp".into(),
            );
        }
        if self.program.is_empty() {
            return Err(format!(
                "--run {spec} needs the program after `--`: relay --run {spec} -- PROGRAM [ARGS…]"
            ));
        }
        if public {
            return Err(
                "--run is refused with --public-origin: a public relay never runs programs".into(),
            );
        }
        if !listen.ip().is_loopback() {
            return Err(format!(
                "--run listens on loopback only: --listen {listen} is not a loopback address"
            ));
        }
        let ip = loopback(&spec.host).ok_or_else(|| {
            format!(
                "--run {spec}: the program must listen on loopback (127.0.0.1, ::1 or localhost), not {:?}",
                spec.host
            )
        })?;
        Ok(Some(RunPlan {
            name: spec.name.clone(),
            address: SocketAddr::new(ip, spec.port),
            argv: self.program.clone(),
            listen_timeout: self.run_listen_timeout,
            pending_after: self.run_pending_after,
            trace: !self.run_no_trace,
        }))
    }
}

fn loopback(host: &str) -> Option<IpAddr> {
    if host == "localhost" {
        return Some(Ipv4Addr::LOCALHOST.into());
    }
    host.parse::<IpAddr>().ok().filter(IpAddr::is_loopback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> RunArgs {
        Cli::try_parse_from(std::iter::once("relay").chain(args.iter().copied()))
            .unwrap()
            .run
    }

    const LOOPBACK: &str = "127.0.0.1:8780";

    #[test]
    fn the_program_is_everything_after_the_double_dash() {
        let args = parse(&[
            "--run",
            "mine=127.0.0.1:65432",
            "--",
            "python3",
            "app-server.py",
            "--verbose",
        ]);
        let plan = args
            .plan(LOOPBACK.parse().unwrap(), false)
            .unwrap()
            .unwrap();
        assert_eq!(plan.name, "mine");
        assert_eq!(plan.address, "127.0.0.1:65432".parse().unwrap());
        assert_eq!(plan.argv, ["python3", "app-server.py", "--verbose"]);
        assert!(plan.trace);
        assert_eq!(plan.listen_timeout, Duration::from_secs(10));
        let localhost = parse(&["--run", "x=localhost:9", "--", "prog"]);
        let plan = localhost
            .plan(LOOPBACK.parse().unwrap(), false)
            .unwrap()
            .unwrap();
        assert_eq!(plan.address, "127.0.0.1:9".parse().unwrap());
    }

    #[test]
    fn run_is_refused_off_loopback_without_a_program_and_with_a_public_origin() {
        let listen = LOOPBACK.parse().unwrap();
        let refusals = [
            (
                parse(&["--run", "x=127.0.0.1:9", "--", "p"]).plan(listen, true),
                "--run is refused with --public-origin",
            ),
            (
                parse(&["--run", "x=127.0.0.1:9"]).plan(listen, false),
                "needs the program after `--`",
            ),
            (
                parse(&["--run", "x=0.0.0.0:9", "--", "p"]).plan(listen, false),
                "must listen on loopback",
            ),
            (
                parse(&["--run", "x=127.0.0.1:9", "--", "p"])
                    .plan("0.0.0.0:8780".parse().unwrap(), false),
                "--run listens on loopback only",
            ),
            (
                parse(&["--", "python3"]).plan(listen, false),
                "needs --run NAME=HOST:PORT",
            ),
        ];
        for (result, words) in refusals {
            let err = result.unwrap_err();
            assert!(err.contains(words), "{err}");
        }
        assert_eq!(parse(&[]).plan(listen, true), Ok(None));
    }

    #[test]
    fn the_docs_give_the_defaults_and_bounds_the_code_has() {
        let docs = include_str!("../../../docs/own-programs.md");
        for fact in [
            format!("| `--run-listen-timeout` | {DEFAULT_LISTEN_TIMEOUT} |"),
            format!("| `--run-pending-after` | {DEFAULT_PENDING_AFTER} |"),
            format!("cut to {} bytes", tutorial::servers::observe::MAX_TEXT),
            #[cfg(target_os = "linux")]
            format!("cut every {} bytes", super::super::output::MAX_LINE),
            format!(
                "`SIGKILL` {} seconds later",
                match super::super::STOP_GRACE.as_secs() {
                    2 => "two",
                    n => panic!("say {n} seconds in the docs"),
                }
            ),
        ] {
            assert!(docs.contains(&fact), "docs/own-programs.md lacks {fact:?}");
        }
    }
}
