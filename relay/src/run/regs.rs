//! A stopped thread's system call: its number and arguments at entry, its
//! result at exit, from the registers (x86-64 and aarch64).

use std::io;

use nix::unistd::Pid;

/// Whether calls can be read on this architecture.
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// The call a thread stopped at: its number and six arguments.
#[cfg(target_arch = "x86_64")]
pub fn entry(tid: Pid) -> io::Result<(i64, [u64; 6])> {
    let r = nix::sys::ptrace::getregs(tid)?;
    Ok((r.orig_rax as i64, [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]))
}

/// What the call returned (a negative errno on failure).
#[cfg(target_arch = "x86_64")]
pub fn result(tid: Pid) -> io::Result<i64> {
    Ok(nix::sys::ptrace::getregs(tid)?.rax as i64)
}

#[cfg(target_arch = "aarch64")]
fn regs(tid: Pid) -> io::Result<[u64; 34]> {
    // struct user_pt_regs: x0-x30, sp, pc, pstate.
    let mut regs = [0u64; 34];
    let mut iov = libc::iovec {
        iov_base: regs.as_mut_ptr().cast(),
        iov_len: std::mem::size_of_val(&regs),
    };
    // SAFETY: the kernel writes at most iov_len bytes into `regs`.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            tid.as_raw(),
            libc::NT_PRSTATUS as usize,
            &mut iov as *mut libc::iovec,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(regs)
}

#[cfg(target_arch = "aarch64")]
pub fn entry(tid: Pid) -> io::Result<(i64, [u64; 6])> {
    let r = regs(tid)?;
    Ok((r[8] as i64, [r[0], r[1], r[2], r[3], r[4], r[5]]))
}

#[cfg(target_arch = "aarch64")]
pub fn result(tid: Pid) -> io::Result<i64> {
    Ok(regs(tid)?[0] as i64)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn entry(_tid: Pid) -> io::Result<(i64, [u64; 6])> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn result(_tid: Pid) -> io::Result<i64> {
    Err(io::ErrorKind::Unsupported.into())
}
