//! Which socket call a seccomp stop is, read from its number and arguments.

/// A socket-related call the filter stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `accept()`, `accept4()`: the result is a new descriptor.
    Accept,
    /// `recv()`, `recvfrom()`, `read()`, `readv()`, `recvmsg()`.
    Recv(Buffer),
    /// `send()`, `sendto()`, `write()`, `writev()`, `sendmsg()`.
    Send(Buffer),
    /// `shutdown(fd, how)`.
    Shutdown(u64),
    /// `close(fd)`.
    Close,
    /// Anything else the filter stops (`connect`, `listen`, `recvmmsg`,
    /// `sendmmsg`): let go at once.
    Other,
}

/// Where a call's bytes are in the program's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    /// One buffer: address and size.
    Plain(u64, u64),
    /// An `iovec` array: address and count.
    Vector(u64, u64),
    /// A `struct msghdr` (its `iovec`s).
    Message(u64),
}

/// The call `nr` with `args`, and the descriptor it is on.
pub fn classify(nr: i64, args: [u64; 6]) -> (Call, i32) {
    let fd = args[0] as i32;
    let call = match nr {
        libc::SYS_accept | libc::SYS_accept4 => Call::Accept,
        libc::SYS_recvfrom | libc::SYS_read => Call::Recv(Buffer::Plain(args[1], args[2])),
        libc::SYS_readv => Call::Recv(Buffer::Vector(args[1], args[2])),
        libc::SYS_recvmsg => Call::Recv(Buffer::Message(args[1])),
        libc::SYS_sendto | libc::SYS_write => Call::Send(Buffer::Plain(args[1], args[2])),
        libc::SYS_writev => Call::Send(Buffer::Vector(args[1], args[2])),
        libc::SYS_sendmsg => Call::Send(Buffer::Message(args[1])),
        libc::SYS_shutdown => Call::Shutdown(args[1]),
        libc::SYS_close => Call::Close,
        _ => Call::Other,
    };
    (call, fd)
}

/// The errno's name (`EAGAIN`), as the contract carries it.
pub fn errno_name(errno: i32) -> String {
    let name = format!("{:?}", nix::errno::Errno::from_raw(errno));
    if name.starts_with('E') {
        name
    } else {
        format!("errno {errno}")
    }
}

/// The kernel's "restart this call" results (`ERESTARTSYS` …
/// `ERESTART_RESTARTBLOCK`): a signal interrupted the call, which runs
/// again (and stops again) or fails with `EINTR`; no result to report yet.
pub fn restarts(result: i64) -> bool {
    (-516..=-512).contains(&result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_read_from_their_number_and_arguments() {
        let args = [7, 0x1000, 4096, 0, 0, 0];
        assert_eq!(
            classify(libc::SYS_recvfrom, args),
            (Call::Recv(Buffer::Plain(0x1000, 4096)), 7)
        );
        assert_eq!(
            classify(libc::SYS_writev, args),
            (Call::Send(Buffer::Vector(0x1000, 4096)), 7)
        );
        assert_eq!(
            classify(libc::SYS_shutdown, [3, 1, 0, 0, 0, 0]).0,
            Call::Shutdown(1)
        );
        assert_eq!(classify(libc::SYS_listen, args).0, Call::Other);
        assert_eq!(errno_name(libc::EAGAIN), "EAGAIN");
        assert_eq!(errno_name(libc::ECONNRESET), "ECONNRESET");
        assert!(restarts(-512) && !restarts(-4));
    }
}
