//! The tracer: one thread that started the program and waits for its
//! stops. A seccomp stop is a socket call entering the kernel; if it is on
//! a claimed connection (or is an `accept()`), the thread is resumed with
//! `PTRACE_SYSCALL` to stop once more at the call's exit, where its result
//! and bytes are read; anything else is resumed with `PTRACE_CONT` at once.
//! Threads and child processes are followed (`PTRACE_O_TRACECLONE`,
//! `TRACEFORK`, `TRACEVFORK`); signals are passed on as they came.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use protocol::relay_api::{PendingCall, ProgramExit};
use tutorial::servers::observe::ConnectionSink;

use super::conns::{self, socket_inode, Conns, Outcome};
use super::gone::Exited;
use super::syscalls::{classify, restarts, Call};
use super::{ready, regs};

/// A call between its entry and exit stops, as the pending watcher sees it.
pub struct Pending {
    pub sink: Arc<dyn ConnectionSink>,
    pub call: PendingCall,
    pub asked: Option<u64>,
    pub since: Instant,
    /// `server_pending` went out already.
    pub reported: bool,
}

/// Calls in flight by thread, shared with the pending watcher.
pub type InFlight = Mutex<HashMap<Pid, Pending>>;

/// What a thread stopped in, kept for its exit stop.
struct Entered {
    call: Call,
    fd: i32,
    inode: u64,
    asked: u64,
    since: Instant,
}

/// The tracer's state.
pub struct Tracer {
    main: Pid,
    conns: Conns,
    entered: HashMap<Pid, Entered>,
    /// Threads seen (a new one's first stop is its attach `SIGSTOP`).
    known: HashMap<Pid, ()>,
    in_flight: Arc<InFlight>,
    exited: Exited,
}

/// What the tracer asks of the kernel for every traced thread and child.
pub fn options() -> Options {
    Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEEXIT
        | Options::PTRACE_O_EXITKILL
}

/// A wait status's exit, as the close reason says it.
fn exit_of(status: i32) -> ProgramExit {
    if libc::WIFSIGNALED(status) {
        ProgramExit::Signal(libc::WTERMSIG(status))
    } else {
        ProgramExit::Code(libc::WEXITSTATUS(status))
    }
}

impl Tracer {
    pub fn new(main: Pid, conns: Conns, in_flight: Arc<InFlight>, exited: Exited) -> Tracer {
        let mut known = HashMap::new();
        known.insert(main, ());
        Tracer {
            main,
            conns,
            entered: HashMap::new(),
            known,
            in_flight,
            exited,
        }
    }

    /// Runs until every traced thread is gone.
    pub fn run(mut self) {
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(status) => status,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => break,
                Err(e) => {
                    tracing::warn!("run: waitpid failed: {e}");
                    break;
                }
            };
            self.on(status);
        }
        self.conns.all_closed();
    }

    fn on(&mut self, status: WaitStatus) {
        match status {
            WaitStatus::PtraceEvent(tid, _, libc::PTRACE_EVENT_SECCOMP) => self.entry(tid),
            WaitStatus::PtraceSyscall(tid) => self.exit(tid),
            WaitStatus::PtraceEvent(tid, _, libc::PTRACE_EVENT_EXIT) => {
                // Before the program's descriptors close: its sessions
                // learn why they end before they see the connection go.
                if tid == self.main {
                    if let Ok(status) = ptrace::getevent(tid) {
                        self.exited.publish(exit_of(status as i32));
                    }
                }
                resume(tid, None);
            }
            WaitStatus::PtraceEvent(tid, _, _) => resume(tid, None),
            WaitStatus::Stopped(tid, signal) => {
                if self.known.insert(tid, ()).is_none() && signal == Signal::SIGSTOP {
                    // A new thread or child, attached by the kernel.
                    resume(tid, None);
                } else if self.entered.contains_key(&tid) {
                    // A signal came during a call we wait for the exit of:
                    // deliver it and still stop at that exit.
                    if ptrace::syscall(tid, Some(signal)).is_err() {
                        self.gone(tid);
                    }
                } else {
                    resume(tid, Some(signal));
                }
            }
            WaitStatus::Exited(tid, code) => {
                self.gone(tid);
                if tid == self.main {
                    self.exited.publish(ProgramExit::Code(code));
                }
            }
            WaitStatus::Signaled(tid, signal, _) => {
                self.gone(tid);
                if tid == self.main {
                    self.exited.publish(ProgramExit::Signal(signal as i32));
                }
            }
            _ => {}
        }
    }

    fn gone(&mut self, tid: Pid) {
        self.known.remove(&tid);
        self.entered.remove(&tid);
        self.lock_in_flight().remove(&tid);
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<Pid, Pending>> {
        self.in_flight.lock().expect("no panics under the lock")
    }

    /// A seccomp stop: a socket call entering the kernel.
    fn entry(&mut self, tid: Pid) {
        let Ok((nr, args)) = regs::entry(tid) else {
            return resume(tid, None);
        };
        let (call, fd) = classify(nr, args);
        let watched = match call {
            Call::Other => None,
            // The listening socket is nobody's session; the new one may be.
            Call::Accept => Some(0),
            _ => socket_inode(tid, fd).filter(|&inode| self.conns.claimed(inode).is_some()),
        };
        let Some(inode) = watched else {
            return resume(tid, None);
        };
        let asked = match call {
            Call::Recv(buffer) | Call::Send(buffer) => conns::asked(tid, buffer),
            _ => 0,
        };
        let since = Instant::now();
        let pending = match call {
            Call::Recv(_) => Some(PendingCall::Recv),
            Call::Send(_) => Some(PendingCall::Send),
            _ => None,
        };
        if let (Some(pending), Some(sink)) = (pending, self.conns.claimed(inode)) {
            let entry = Pending {
                sink: sink.clone(),
                call: pending,
                asked: Some(asked),
                since,
                reported: false,
            };
            self.lock_in_flight().insert(tid, entry);
        }
        self.entered.insert(
            tid,
            Entered {
                call,
                fd,
                inode,
                asked,
                since,
            },
        );
        if let Err(e) = ptrace::syscall(tid, None) {
            tracing::debug!("run: cannot resume {tid} to its call's exit: {e}");
            self.entered.remove(&tid);
            self.lock_in_flight().remove(&tid);
        }
    }

    /// A syscall-exit stop: the call's result is in.
    fn exit(&mut self, tid: Pid) {
        let entered = self.entered.remove(&tid);
        self.lock_in_flight().remove(&tid);
        let (Some(e), Ok(result)) = (entered, regs::result(tid)) else {
            return resume(tid, None);
        };
        if restarts(result) {
            return resume(tid, None);
        }
        let out = Outcome {
            result,
            blocked_us: e.since.elapsed().as_micros() as u64,
            asked: e.asked,
        };
        match e.call {
            Call::Accept if result >= 0 => self.conns.accepted(tid, result as i32),
            Call::Recv(buffer) => self.conns.recv(tid, e.fd, e.inode, buffer, out),
            Call::Send(_) => self.conns.send(tid, e.fd, e.inode, out),
            Call::Shutdown(how) => self.conns.shutdown(tid, e.fd, e.inode, how, result),
            // The last descriptor of the socket, or a copy (a forking
            // server's parent closing what its child serves)?
            Call::Close if result == 0 && !ready::held(e.inode) => self.conns.closed(e.inode),
            _ => {}
        }
        resume(tid, None);
    }
}

/// Lets a stopped thread go on (a thread that died meanwhile is ignored).
fn resume(tid: Pid, signal: Option<Signal>) {
    if let Err(e) = ptrace::cont(tid, signal) {
        if e != Errno::ESRCH {
            tracing::debug!("run: cannot resume {tid}: {e}");
        }
    }
}

/// Reports, once each, calls blocked longer than `after` (`server_pending`).
pub fn watch_pending(in_flight: &InFlight, after: std::time::Duration) {
    let mut in_flight = in_flight.lock().expect("no panics under the lock");
    for pending in in_flight.values_mut() {
        if !pending.reported && pending.since.elapsed() >= after {
            pending.reported = true;
            pending
                .sink
                .observe(protocol::relay_api::Observed::ServerPending {
                    call: pending.call,
                    asked: pending.asked,
                });
        }
    }
}
