//! The seccomp filter the traced program runs under: only socket-related
//! calls stop it (`SECCOMP_RET_TRACE`); every other call runs at full
//! speed, decided in the kernel by a few BPF instructions. `read()` and
//! `write()` on descriptors 0-2 (the terminal) are let through too: a
//! program that prints much would otherwise stop at every line.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// Calls that stop the program whatever their arguments.
const ALWAYS: [libc::c_long; 12] = [
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_recvfrom,
    libc::SYS_recvmsg,
    libc::SYS_recvmmsg,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_sendmmsg,
    libc::SYS_shutdown,
    libc::SYS_close,
    libc::SYS_connect,
    libc::SYS_listen,
];

/// Calls that stop it on a descriptor above 2: on a socket they are
/// `recv()`/`send()`; the tracer lets the others go at once.
const ABOVE_STDIO: [libc::c_long; 4] = [
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_write,
    libc::SYS_writev,
];

/// The filter for this machine's architecture.
pub fn compile() -> Result<BpfProgram, seccompiler::Error> {
    let above_stdio = || -> Result<Vec<SeccompRule>, seccompiler::Error> {
        let fd_above_2 = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Gt, 2)?;
        Ok(vec![SeccompRule::new(vec![fd_above_2])?])
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in ALWAYS {
        rules.insert(call, Vec::new());
    }
    for call in ABOVE_STDIO {
        rules.insert(call, above_stdio()?);
    }
    let arch = std::env::consts::ARCH.try_into()?;
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)?;
    Ok(filter.try_into()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_filter_compiles_for_this_machine() {
        let program = super::compile().unwrap();
        // A handful of instructions per call: the cost of an untraced call.
        assert!(program.len() < 200, "{}", program.len());
    }
}
