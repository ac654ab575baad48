//! `relay --run NAME=HOST:PORT -- PROGRAM [ARGS…]`: a learner's own server,
//! started by the relay and seen from the inside.
//!
//! The program runs as the relay's child, in its own process group, with
//! a pseudo-terminal for its output. On Linux it runs under ptrace with a
//! seccomp filter that stops it only at socket calls ([`filter`]); the
//! tracer ([`tracer`]) reads each call on a connection an observed session
//! claimed and turns it into the `server_*` events the embedded servers
//! send ([`conns`]): `server_accept`, `server_recv` (with the size asked,
//! the time blocked, the errno, and `protocol::Decoder`'s state over the
//! bytes the program actually read), `server_send` (a short send is
//! visible), `server_shutdown`, `server_close`, `server_pending` for a call
//! still blocked, and the program's printed lines as `server_log`
//! ([`output`]). The target is registered once the program listens at its
//! address ([`ready`]). Where tracing is impossible (ptrace not permitted,
//! another architecture) or turned off (`--run-no-trace`), the program is
//! served without its calls.
//!
//! When the program exits, its sessions close with its exit code or
//! signal ([`Gone`]); when the relay stops, it ends the program's process
//! group ([`Program::stop`]); if the relay dies, `PR_SET_PDEATHSIG` and
//! `PTRACE_O_EXITKILL` take the program with it.
//!
//! - `args`: the flags and the refusals ([`RunArgs::plan`]);
//! - `gone`: the program's end, shared with its sessions;
//! - `spawn`, `filter`: starting it under the filter and the tracer;
//! - `tracer`, `syscalls`, `regs`, `memory`: its stops, calls, registers, buffers;
//! - `conns`: the 4-tuple → session mapping and the events;
//! - `output`, `ready`: its lines, and waiting for it to listen.

mod args;
mod gone;

#[cfg(target_os = "linux")]
mod conns;
#[cfg(target_os = "linux")]
mod filter;
#[cfg(target_os = "linux")]
mod memory;
#[cfg(target_os = "linux")]
mod output;
#[cfg(target_os = "linux")]
mod ready;
#[cfg(target_os = "linux")]
mod regs;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod syscalls;
#[cfg(target_os = "linux")]
mod tracer;

use std::sync::Arc;
use std::time::Duration;

use protocol::relay_api::ProgramInfo;
use tutorial::servers::observe::ServerHook;

pub use args::{RunArgs, RunPlan, DEFAULT_LISTEN_TIMEOUT, DEFAULT_PENDING_AFTER};
pub use gone::Gone;

/// How long the relay's shutdown waits for the program after `SIGTERM`
/// before `SIGKILL` ([`Program::stop`]).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// What a `--run` target carries for its sessions and `/targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTarget {
    /// Its pid and command line, for the picker.
    pub info: ProgramInfo,
    /// Its end, which ends its sessions.
    pub gone: Gone,
}

/// The running program.
#[derive(Debug)]
pub struct Program {
    target: RunTarget,
    traced: bool,
    /// Why its calls are not traced, when they are not.
    untraced_because: Option<String>,
}

impl Program {
    /// What its target carries.
    pub fn target(&self) -> &RunTarget {
        &self.target
    }

    /// Whether its calls are traced.
    pub fn traced(&self) -> bool {
        self.traced
    }

    /// Why its calls are not traced, when they are not.
    pub fn untraced_because(&self) -> Option<&str> {
        self.untraced_because.as_deref()
    }

    /// One line for the picker.
    pub fn description(&self) -> String {
        let info = &self.target.info;
        let calls = if self.traced {
            "its socket calls traced"
        } else {
            "not traced"
        };
        format!("your program: {} (pid {}), {calls}", info.command, info.pid)
    }

    /// Ends the program and everything it started: `SIGTERM` to its
    /// process group, `SIGKILL` if it is still there after `grace`.
    pub async fn stop(&self, grace: Duration) {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::signal::{killpg, Signal};
            let group = nix::unistd::Pid::from_raw(self.target.info.pid as i32);
            if self.target.gone.now().is_none() {
                let _ = killpg(group, Signal::SIGTERM);
                if self.target.gone.within(grace).await.is_some() {
                    // What it started may linger in the group.
                    let _ = killpg(group, Signal::SIGKILL);
                    return;
                }
            }
            let _ = killpg(group, Signal::SIGKILL);
            let _ = self.target.gone.within(grace).await;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = grace;
    }
}

/// The command line as `ps` shows it.
fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts the plan's program (its observed connections reported to
/// `hook`) and waits until it listens at its address.
#[cfg(target_os = "linux")]
pub async fn start(plan: &RunPlan, hook: Arc<dyn ServerHook>) -> Result<Program, String> {
    let command = command_line(&plan.argv);
    let started = launch::launch(plan, hook)
        .await
        .map_err(|e| format!("--run: cannot start {command}: {e}"))?;
    let program = Program {
        target: RunTarget {
            info: ProgramInfo {
                pid: started.pid,
                command: command.clone(),
            },
            gone: started.gone,
        },
        traced: started.untraced_because.is_none(),
        untraced_because: started.untraced_because,
    };
    if let Some(why) = program.untraced_because() {
        tracing::warn!(
            "--run {}: serving {command} without its socket calls: {why}",
            plan.name
        );
    }
    let deadline = tokio::time::Instant::now() + plan.listen_timeout;
    loop {
        if ready::listening(plan.address) {
            return Ok(program);
        }
        if let Some(exit) = program.target.gone.now() {
            return Err(format!(
                "--run {}: {command} ended before it listened at {}: {exit}",
                plan.name, plan.address
            ));
        }
        if tokio::time::Instant::now() >= deadline {
            program.stop(Duration::from_secs(1)).await;
            return Err(format!(
                "--run {}: {command} did not listen at {} within {} (--run-listen-timeout)",
                plan.name,
                plan.address,
                tutorial::cli::duration_text(plan.listen_timeout)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `--run` is Linux only; [`RunArgs::plan`] refuses it elsewhere.
#[cfg(not(target_os = "linux"))]
pub async fn start(_plan: &RunPlan, _hook: Arc<dyn ServerHook>) -> Result<Program, String> {
    Err("--run works on Linux only: it traces the program with ptrace and seccomp".into())
}

#[cfg(target_os = "linux")]
mod launch;
