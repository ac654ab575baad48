//! The threads a running program needs: the one that starts it and then
//! traces it (ptrace requests come from the thread the tracee's
//! `PTRACE_TRACEME` named, and `PR_SET_PDEATHSIG` watches that thread), one
//! reading its output, and one reporting blocked calls.

use std::collections::HashMap;
use std::io;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use protocol::relay_api::ProgramExit;
use tutorial::servers::observe::ServerHook;

use super::conns::{Conns, Open};
use super::gone::{self, Exited, Gone};
use super::spawn::{read_report, spawn, Failed, Spawned, Stage};
use super::tracer::{self, InFlight, Tracer};
use super::{filter, regs, RunPlan};

/// A started program.
pub struct Started {
    pub pid: u32,
    pub gone: Gone,
    pub untraced_because: Option<String>,
}

/// Starts the program on a thread of its own.
pub async fn launch(plan: &RunPlan, hook: Arc<dyn ServerHook>) -> io::Result<Started> {
    let (exited, gone) = gone::channel();
    let open: Arc<Open> = Arc::new(Mutex::new(HashMap::new()));
    let in_flight: Arc<InFlight> = Arc::new(Mutex::new(HashMap::new()));
    let (tx, rx) = mpsc::channel();
    let argv = plan.argv.clone();
    let trace = plan.trace;
    let conns = Conns::new(hook, open.clone());
    let flights = in_flight.clone();
    std::thread::Builder::new()
        .name(format!("run-{}", plan.name))
        .spawn(move || {
            let (spawned, untraced_because) = match start(&argv, trace) {
                Ok(started) => started,
                Err(failed) => {
                    let _ = tx.send(Err(io::Error::other(failed.to_string())));
                    return;
                }
            };
            let pid = spawned.pid;
            let traced = untraced_because.is_none();
            let _ = tx.send(Ok((spawned, untraced_because)));
            if traced {
                Tracer::new(pid, conns, flights, exited).run();
            } else {
                wait_untraced(pid, &exited);
            }
        })?;
    let (spawned, untraced_because) = tokio::task::spawn_blocking(move || rx.recv())
        .await
        .map_err(io::Error::other)?
        .map_err(|_| io::Error::other("the program's thread ended"))??;
    let Spawned {
        pid,
        output,
        mut report,
    } = spawned;
    // The report pipe closes at the exec, or says why there was none.
    let failed = tokio::task::spawn_blocking(move || read_report(&mut report))
        .await
        .map_err(io::Error::other)?;
    if let Some(failed) = failed {
        return Err(io::Error::other(failed.to_string()));
    }
    let pid = pid.as_raw() as u32;
    let name = plan.name.clone();
    std::thread::Builder::new()
        .name(format!("run-{}-out", plan.name))
        .spawn(move || super::output::forward(&name, output, &open))?;
    if untraced_because.is_none() {
        let after = plan.pending_after;
        let watching = gone.clone();
        std::thread::Builder::new()
            .name(format!("run-{}-pending", plan.name))
            .spawn(move || {
                let tick = (after / 4).clamp(Duration::from_millis(10), Duration::from_millis(100));
                while watching.now().is_none() {
                    std::thread::sleep(tick);
                    tracer::watch_pending(&in_flight, after);
                }
            })?;
    }
    Ok(Started {
        pid,
        gone,
        untraced_because,
    })
}

/// Spawns traced if asked and possible, else untraced, saying why.
fn start(argv: &[String], trace: bool) -> Result<(Spawned, Option<String>), Failed> {
    if !trace {
        return Ok((spawn(argv, None)?, Some("--run-no-trace".into())));
    }
    if !regs::SUPPORTED {
        let why = format!(
            "tracing calls is not supported on {}",
            std::env::consts::ARCH
        );
        return Ok((spawn(argv, None)?, Some(why)));
    }
    let filter = match filter::compile() {
        Ok(filter) => filter,
        Err(e) => return Ok((spawn(argv, None)?, Some(format!("no seccomp filter: {e}")))),
    };
    match spawn(argv, Some(&filter)) {
        Ok(spawned) => Ok((spawned, None)),
        Err(refused @ Failed(Stage::Trace | Stage::Filter, _)) => {
            Ok((spawn(argv, None)?, Some(not_permitted(&refused))))
        }
        Err(failed) => Err(failed),
    }
}

/// Why tracing was refused, with what a user can do about it.
fn not_permitted(e: &Failed) -> String {
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .map(|s| format!(", kernel.yama.ptrace_scope={}", s.trim()))
        .unwrap_or_default();
    format!(
        "not permitted ({e}{scope}); see docs/own-programs.md: a container needs CAP_SYS_PTRACE, and ptrace_scope must be 2 or less (2 needs CAP_SYS_PTRACE)"
    )
}

/// Waits for an untraced program's end.
fn wait_untraced(pid: Pid, exited: &Exited) {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return exited.publish(ProgramExit::Code(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return exited.publish(ProgramExit::Signal(signal as i32))
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                tracing::warn!("run: waitpid failed: {e}");
                return;
            }
        }
    }
}
