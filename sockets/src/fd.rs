//! A socket we hold, by its descriptor: the state, the two queues and
//! TCP_INFO's round-trip time, unacknowledged segments and retransmissions.
//!
//! Read with `getsockopt(TCP_INFO)` and the `SIOCINQ`/`SIOCOUTQ` ioctls, so
//! both the relay (its socket to a target) and the tutorial's servers (their
//! accepted sockets) sample the same way. Linux only: elsewhere
//! [`socket_info`] returns `None`.

#[cfg(unix)]
use std::os::fd::AsRawFd;

use protocol::relay_api::SocketInfo;

/// The socket's state and queues now, or `None` where the platform (or the
/// socket, if it is already closed) cannot say.
#[cfg(unix)]
pub fn socket_info<S: AsRawFd>(socket: &S) -> Option<SocketInfo> {
    sample_fd(socket.as_raw_fd())
}

/// [`socket_info`] for a platform without file descriptors.
#[cfg(not(unix))]
pub fn socket_info<S>(_socket: &S) -> Option<SocketInfo> {
    None
}

/// Samples a descriptor the caller keeps open for the duration of the call.
#[cfg(target_os = "linux")]
pub fn sample_fd(fd: std::os::fd::RawFd) -> Option<SocketInfo> {
    use protocol::relay_api::TcpState;

    // SAFETY: tcp_info is plain old data; the kernel fills at most `len`
    // bytes of it and we read nothing it did not write (len is checked).
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: fd is open (the caller's contract); the pointers are to live locals.
    let got = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    // Older kernels fill a shorter struct.
    if got != 0 || (len as usize) < TCP_INFO_MIN {
        return None;
    }
    let state = TcpState::from_linux(info.tcpi_state)?;
    let (rtt_us, unacked, retransmits) = from_tcp_info(&info);
    let mut recv_q: libc::c_int = 0;
    let mut send_q: libc::c_int = 0;
    // SAFETY: both ioctls write one int to a live local. SIOCINQ is FIONREAD
    // and SIOCOUTQ is TIOCOUTQ for sockets (linux/sockios.h).
    let queues = unsafe {
        libc::ioctl(fd, libc::FIONREAD, &mut recv_q) == 0
            && libc::ioctl(fd, libc::TIOCOUTQ, &mut send_q) == 0
    };
    // A listening socket refuses SIOCINQ (EINVAL): its queues are not bytes.
    let (recv_q, send_q) = if queues {
        (recv_q.max(0) as u64, send_q.max(0) as u64)
    } else {
        (0, 0)
    };
    Some(SocketInfo {
        state,
        recv_q,
        send_q,
        rtt_us,
        unacked,
        retransmits,
    })
}

/// TCP_INFO's round-trip time, unacknowledged segments and
/// retransmissions, as `SocketInfo` carries them (the fd sampler and
/// sock_diag's `INET_DIAG_INFO` read the same struct).
#[cfg(target_os = "linux")]
pub(crate) fn from_tcp_info(info: &libc::tcp_info) -> (Option<u32>, Option<u32>, Option<u32>) {
    (
        Some(info.tcpi_rtt),
        Some(info.tcpi_unacked),
        Some(info.tcpi_total_retrans),
    )
}

/// The bytes of TCP_INFO every kernel since 2.6 writes (through
/// `tcpi_total_retrans`): anything shorter is not TCP.
#[cfg(target_os = "linux")]
pub(crate) const TCP_INFO_MIN: usize = std::mem::offset_of!(libc::tcp_info, tcpi_total_retrans) + 4;

/// No TCP_INFO here: nothing to say.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn sample_fd(_fd: std::os::fd::RawFd) -> Option<SocketInfo> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    use protocol::relay_api::TcpState;

    use super::*;

    #[test]
    fn unread_bytes_show_in_the_receivers_recv_q() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(&[7; 1000]).unwrap();
        // Loopback delivers synchronously, but give the ACK a moment.
        let mut info = socket_info(&server).unwrap();
        for _ in 0..100 {
            if info.recv_q == 1000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            info = socket_info(&server).unwrap();
        }
        assert_eq!(info.state, TcpState::Established);
        assert_eq!(info.recv_q, 1000);
        assert_eq!(socket_info(&client).unwrap().state, TcpState::Established);
        drop(client);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(socket_info(&server).unwrap().state, TcpState::CloseWait);
    }
}
