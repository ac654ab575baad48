//! Reading the traced program's memory: the bytes a `recv()` put in its
//! buffer, and the `iovec`s of `readv()`/`recvmsg()` (process_vm_readv: one
//! system call per piece, no stop of its own).

use std::io::{self, IoSliceMut};

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// Most `iovec`s read per call: a program passing more sees its call
/// reported with the bytes of these only.
const MAX_IOVECS: usize = 64;

/// `len` bytes at `addr` in `pid`'s memory.
pub fn read(pid: Pid, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    if len == 0 {
        return Ok(bytes);
    }
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut bytes)], &remote)?;
    bytes.truncate(got);
    Ok(bytes)
}

/// The (address, length) pieces of an `iovec` array of `count` at `addr`.
pub fn iovecs(pid: Pid, addr: u64, count: u64) -> io::Result<Vec<(u64, u64)>> {
    let count = (count as usize).min(MAX_IOVECS);
    let raw = read(pid, addr, count * 16)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| {
            let word = |i: usize| u64::from_ne_bytes(c[i..i + 8].try_into().expect("8 bytes"));
            (word(0), word(8))
        })
        .collect())
}

/// The first `len` bytes of the pieces, in order: what a vectored call
/// moved.
pub fn gather(pid: Pid, pieces: &[(u64, u64)], len: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for &(addr, size) in pieces {
        let want = (size as usize).min(len - out.len());
        if want == 0 {
            break;
        }
        out.extend(read(pid, addr, want)?);
    }
    Ok(out)
}

/// A `struct msghdr`'s `iovec` array: (address, count). Its layout on
/// 64-bit Linux: name, namelen (padded), iov, iovlen, …
pub fn msghdr_iov(pid: Pid, msghdr: u64) -> io::Result<(u64, u64)> {
    let raw = read(pid, msghdr, 32)?;
    if raw.len() < 32 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let word = |i: usize| u64::from_ne_bytes(raw[i..i + 8].try_into().expect("8 bytes"));
    Ok((word(16), word(24)))
}
