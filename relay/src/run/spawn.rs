//! Starting the program: its own session and process group (so the relay
//! can end it and everything it started), a pseudo-terminal for stdout and
//! stderr (so Python and C line-buffer: a print arrives when it happens),
//! `PR_SET_PDEATHSIG` (so it dies with the thread that started it), and,
//! when traced, `PTRACE_TRACEME` and the seccomp filter, installed between
//! fork and exec so the program's first instruction already runs under them.
//!
//! The child stops itself (`SIGSTOP`) once traced and filtered, before
//! `exec`: the tracer sets its options (`PTRACE_O_TRACESECCOMP` first of
//! all) while nothing can yet reach the filter. Whatever fails in the child
//! is written to a close-on-exec pipe as (stage, errno), so the parent
//! tells "tracing is not permitted here" from "no such program".

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use seccompiler::BpfProgram;

use super::tracer;

/// A started program.
pub struct Spawned {
    /// Its process id, also its process group's.
    pub pid: Pid,
    /// The pseudo-terminal's master side: what it prints.
    pub output: OwnedFd,
    /// Closes at a successful `exec`; carries (stage, errno) if it failed.
    pub report: File,
}

/// Where in the child something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Setting up its session, terminal or death signal.
    Setup = 1,
    /// `PTRACE_TRACEME`.
    Trace = 2,
    /// Installing the seccomp filter.
    Filter = 3,
    /// `exec`: no such program, not executable, …
    Exec = 4,
}

/// Why a start failed: the stage and the error.
#[derive(Debug)]
pub struct Failed(pub Stage, pub io::Error);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.0 {
            Stage::Setup => "setting up its terminal",
            Stage::Trace => "ptrace",
            Stage::Filter => "the seccomp filter",
            Stage::Exec => "exec",
        };
        write!(f, "{what}: {}", self.1)
    }
}

/// Reads a child's report: `None` when the pipe closed empty (exec went
/// through), else what failed.
pub fn read_report(report: &mut File) -> Option<Failed> {
    let mut raw = [0u8; 8];
    let mut got = 0;
    while got < raw.len() {
        match report.read(&mut raw[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Some(Failed(Stage::Setup, e)),
        }
    }
    if got < raw.len() {
        return None;
    }
    let stage = match u32::from_ne_bytes(raw[..4].try_into().expect("4 bytes")) {
        2 => Stage::Trace,
        3 => Stage::Filter,
        4 => Stage::Exec,
        _ => Stage::Setup,
    };
    let errno = i32::from_ne_bytes(raw[4..].try_into().expect("4 bytes"));
    Some(Failed(stage, io::Error::from_raw_os_error(errno)))
}

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

fn set_cloexec(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

/// Starts `argv`. With a `filter` the child is traced by the calling
/// thread (which must then run the tracer): when this returns it has its
/// options set and is on its way to `exec`.
pub fn spawn(argv: &[String], filter: Option<&BpfProgram>) -> Result<Spawned, Failed> {
    let setup = |e: io::Error| Failed(Stage::Setup, e);
    if argv.is_empty() {
        return Err(setup(io::ErrorKind::InvalidInput.into()));
    }
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|e| setup(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let mut pointers: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    let pty = nix::pty::openpty(None, None).map_err(|e| setup(e.into()))?;
    set_cloexec(&pty.master).map_err(setup)?;
    set_cloexec(&pty.slave).map_err(setup)?;
    let null = File::open("/dev/null").map_err(setup)?;
    let (report_rd, report_wr) = cloexec_pipe().map_err(setup)?;
    let (slave, null_fd, report_fd) = (
        pty.slave.as_raw_fd(),
        null.as_raw_fd(),
        report_wr.as_raw_fd(),
    );
    // SAFETY: the child only makes async-signal-safe calls on memory
    // prepared before the fork, then execs or exits.
    match unsafe { nix::unistd::fork() }.map_err(|e| setup(e.into()))? {
        ForkResult::Child => unsafe {
            child(&pointers, slave, null_fd, report_fd, filter);
        },
        ForkResult::Parent { child } => {
            drop((pty.slave, null, report_wr));
            let mut report = File::from(report_rd);
            if filter.is_some() {
                await_stop(child, &mut report)?;
            }
            Ok(Spawned {
                pid: child,
                output: pty.master,
                report,
            })
        }
    }
}

/// The child's side: never returns.
unsafe fn child(
    argv: &[*const libc::c_char],
    slave: i32,
    null: i32,
    report: i32,
    filter: Option<&BpfProgram>,
) -> ! {
    let fail = |stage: u32| -> ! {
        let errno = *libc::__errno_location();
        let mut raw = [0u8; 8];
        raw[..4].copy_from_slice(&stage.to_ne_bytes());
        raw[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(report, raw.as_ptr().cast(), raw.len());
        libc::_exit(127)
    };
    if libc::setsid() < 0
        || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
        || libc::dup2(null, 0) < 0
        || libc::dup2(slave, 1) < 0
        || libc::dup2(slave, 2) < 0
    {
        fail(Stage::Setup as u32);
    }
    if let Some(filter) = filter {
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            fail(Stage::Trace as u32);
        }
        if seccompiler::apply_filter(filter).is_err() {
            fail(Stage::Filter as u32);
        }
        libc::raise(libc::SIGSTOP);
    }
    libc::execvp(argv[0], argv.as_ptr());
    fail(Stage::Exec as u32)
}

/// Waits for the traced child's own `SIGSTOP` and sets the trace options;
/// a child that exits first says why in its report.
fn await_stop(pid: Pid, report: &mut File) -> Result<(), Failed> {
    loop {
        match waitpid(pid, Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => break,
            Ok(WaitStatus::Stopped(_, signal)) => {
                let _ = ptrace::cont(pid, signal);
            }
            Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) => {
                return Err(read_report(report).unwrap_or_else(|| {
                    Failed(Stage::Setup, io::Error::other("the child ended at once"))
                }));
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Failed(Stage::Trace, e.into())),
        }
    }
    ptrace::setoptions(pid, tracer::options()).map_err(|e| Failed(Stage::Trace, e.into()))?;
    ptrace::cont(pid, None).map_err(|e| Failed(Stage::Trace, e.into()))?;
    Ok(())
}
