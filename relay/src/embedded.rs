//! The tutorial's app and echo servers, run in-process on loopback and
//! registered as the targets `app` and `echo`: what makes one `relay` command
//! the whole back end. The relay binary and the tests start them here.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use tutorial::servers::{app, echo, net};

use crate::targets::Targets;

/// Binds both servers on `127.0.0.1:0`, spawns them into the returned set,
/// and registers them in `targets`. They stop when `shutdown` is cancelled.
pub fn start(
    targets: &mut Targets,
    app_config: app::Config,
    echo_config: echo::Config,
    shutdown: &CancellationToken,
) -> io::Result<JoinSet<io::Result<()>>> {
    let mut servers = JoinSet::new();

    let app_listener = bind_loopback()?;
    let app_addr = app_listener.local_addr()?;
    servers.spawn(app::serve(app_listener, app_config, shutdown.clone()));
    register(
        targets,
        "app",
        app_addr,
        format!("the tutorial's application server (embedded, {app_addr}): search requests and binary replies"),
    )?;

    let echo_listener = bind_loopback()?;
    let echo_addr = echo_listener.local_addr()?;
    servers.spawn(echo::serve(echo_listener, echo_config, shutdown.clone()));
    register(
        targets,
        "echo",
        echo_addr,
        format!("echo server (embedded, {echo_addr}): every byte comes back"),
    )?;

    Ok(servers)
}

fn bind_loopback() -> io::Result<tokio::net::TcpListener> {
    net::bind((Ipv4Addr::LOCALHOST, 0).into(), net::DEFAULT_BACKLOG)
}

fn register(
    targets: &mut Targets,
    name: &str,
    addr: SocketAddr,
    description: String,
) -> io::Result<()> {
    targets
        .add(name, addr, description)
        .map_err(|e| io::Error::other(format!("cannot register {name}: {e}")))
}
