//! Starting the program: its own session and process group (so the relay
//! can end it and everything it started), a pseudo-terminal for stdout and
//! stderr (so Python and C line-buffer: a print arrives when it happens),
//! `PR_SET_PDEATHSIG` (so it dies with the thread that started it), and,
//! when traced, `PTRACE_TRACEME` and the seccomp filter, installed between
//! fork and exec so the program's first instruction already runs under them.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::unistd::Pid;
use seccompiler::BpfProgram;

/// A started program.
pub struct Spawned {
    /// Its process id, also its process group's.
    pub pid: Pid,
    /// The pseudo-terminal's master side: what it prints.
    pub output: OwnedFd,
}

/// Starts `argv`. With a `filter` the child asks to be traced by the
/// calling thread (which must then run the tracer) and installs the filter;
/// its exec then stops it with `SIGTRAP` until the tracer continues it.
pub fn spawn(argv: &[String], filter: Option<BpfProgram>) -> io::Result<Spawned> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no program"))?;
    let pty = nix::pty::openpty(None, None).map_err(io::Error::from)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone()?))
        .stderr(Stdio::from(pty.slave));
    // The child runs this between fork and exec: only async-signal-safe
    // calls, nothing allocated (the filter was compiled before the fork).
    let pre_exec = move || -> io::Result<()> {
        // SAFETY: plain system calls on the child's own state.
        unsafe {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if filter.is_some() && libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(filter) = &filter {
            seccompiler::apply_filter(filter).map_err(io::Error::other)?;
        }
        Ok(())
    };
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe { command.pre_exec(pre_exec) };
    let child = command.spawn()?;
    // The child is reaped by the tracer's (or waiter's) waitpid, not by std.
    Ok(Spawned {
        pid: Pid::from_raw(child.id() as i32),
        output: pty.master,
    })
}
