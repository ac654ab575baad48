//! The tutorial's app, echo, blackhole and event-loop servers and the
//! framing lab's `fixed`, `lines`, `prefix` and `close`, run in-process on
//! loopback and registered as the targets `app`, `echo`, `blackhole`,
//! `multiconn` and those four names, and lesson 12's `refused` (nothing
//! listens) and `reset` (closes with unread data):
//! what makes one `relay` command the whole back end. The relay binary and
//! the tests start them here. Each reports observed sessions' connections
//! to the registry's hub ([`Targets::hub`]).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use protocol::framing::{Framing, Strategy};
use tutorial::servers::observe::Hook;
use tutorial::servers::{app, blackhole, echo, event_loop, framing, net, reset};

use crate::targets::Targets;

/// Binds the app and echo servers, and a blackhole with its defaults, on
/// `127.0.0.1:0`, spawns them into the returned set, and registers them in
/// `targets`. They stop when `shutdown` is cancelled.
pub fn start(
    targets: &mut Targets,
    app_config: app::Config,
    echo_config: echo::Config,
    shutdown: &CancellationToken,
) -> io::Result<JoinSet<io::Result<()>>> {
    start_all(
        targets,
        app_config,
        echo_config,
        blackhole::Config::default(),
        shutdown,
    )
}

/// [`start`] with the blackhole's limits too.
pub fn start_all(
    targets: &mut Targets,
    app_config: app::Config,
    echo_config: echo::Config,
    blackhole_config: blackhole::Config,
    shutdown: &CancellationToken,
) -> io::Result<JoinSet<io::Result<()>>> {
    let mut servers = JoinSet::new();
    let hook = || Some(Hook(targets.hub().clone()));

    let app_listener = bind_loopback()?;
    let app_addr = app_listener.local_addr()?;
    servers.spawn(app::serve_observed(
        app_listener,
        app_config,
        hook(),
        shutdown.clone(),
    ));
    let echo_listener = bind_loopback()?;
    let echo_addr = echo_listener.local_addr()?;
    servers.spawn(echo::serve_observed(
        echo_listener,
        echo_config.clone(),
        hook(),
        shutdown.clone(),
    ));
    let blackhole_listener = bind_loopback()?;
    let blackhole_addr = blackhole_listener.local_addr()?;
    servers.spawn(blackhole::serve_observed(
        blackhole_listener,
        blackhole_config,
        hook(),
        shutdown.clone(),
    ));

    start_multiconn(targets, &mut servers, &echo_config, hook(), shutdown)?;

    register(
        targets,
        "app",
        app_addr,
        "the tutorial's application server (embedded): search requests and binary replies".into(),
    )?;
    register(
        targets,
        "echo",
        echo_addr,
        "echo server (embedded): every byte comes back".into(),
    )?;
    register(
        targets,
        "blackhole",
        blackhole_addr,
        "the tutorial's app-server-test (embedded): accepts and never reads, so the queues fill"
            .into(),
    )?;
    start_framing(targets, &mut servers, shutdown)?;
    start_errors(targets, &mut servers, shutdown)?;
    Ok(servers)
}

/// The event-loop lab's target `multiconn`: the tutorial's selectors
/// server, on a thread of its own. It takes the echo server's limits
/// (connections, idle timeout: the relay's `--max-sessions` and
/// `--idle-timeout`), and `event_loop`'s defaults for the rest.
fn start_multiconn(
    targets: &mut Targets,
    servers: &mut JoinSet<io::Result<()>>,
    echo_config: &echo::Config,
    hook: Option<Hook>,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    let config = event_loop::Config {
        max_connections: echo_config.max_connections,
        idle_timeout: echo_config.idle_timeout,
        ..event_loop::Config::default()
    };
    let listener = bind_loopback()?.into_std()?;
    let addr = listener.local_addr()?;
    servers.spawn(event_loop::serve(listener, config, hook, shutdown.clone()));
    register(
        targets,
        "multiconn",
        addr,
        "the tutorial's multi-connection server (embedded): one thread, a selectors-style event loop echoing every connection".into(),
    )
}

/// The framing lab's four servers (`fixed`, `lines`, `prefix`, `close`),
/// each echoing messages framed as they came, with the servers' defaults.
fn start_framing(
    targets: &mut Targets,
    servers: &mut JoinSet<io::Result<()>>,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    for strategy in Strategy::ALL {
        let framing = Framing::default_for(strategy);
        let listener = bind_loopback()?;
        let addr = listener.local_addr()?;
        servers.spawn(framing::serve_observed(
            listener,
            framing::Config::new(framing),
            Some(Hook(targets.hub().clone())),
            shutdown.clone(),
        ));
        let how = match framing {
            Framing::Fixed { len } => format!("every {len} bytes is a message"),
            Framing::Delimited { .. } => "a message ends at each b'\\n'".into(),
            Framing::LengthPrefixed => "a 2-byte big-endian length before each message".into(),
            Framing::UntilEof => {
                "the message ends at the client's FIN; answers, then closes".into()
            }
        };
        register(
            targets,
            strategy.name(),
            addr,
            format!("framing lab (embedded): {how}; echoes each message framed the same way"),
        )?;
    }
    Ok(())
}

/// Lesson 12's two errors: `refused`, a loopback port that is bound but
/// never listens (held until shutdown, so no other program takes it), and
/// `reset`, a server that closes with unread data.
fn start_errors(
    targets: &mut Targets,
    servers: &mut JoinSet<io::Result<()>>,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    let bound = tokio::net::TcpSocket::new_v4()?;
    bound.bind((Ipv4Addr::LOCALHOST, 0).into())?;
    let refused_addr = bound.local_addr()?;
    let held = shutdown.clone();
    servers.spawn(async move {
        held.cancelled().await;
        drop(bound);
        Ok(())
    });
    targets
        .add(
            "refused",
            refused_addr,
            format!("nothing listens at {refused_addr} (the port is bound, never listening): the kernel answers the SYN with RST, connect() fails with ECONNREFUSED"),
        )
        .map_err(|e| io::Error::other(format!("cannot register refused: {e}")))?;
    let listener = bind_loopback()?;
    let addr = listener.local_addr()?;
    servers.spawn(reset::serve_observed(
        listener,
        reset::Config::default(),
        Some(Hook(targets.hub().clone())),
        shutdown.clone(),
    ));
    register(
        targets,
        "reset",
        addr,
        format!("reset server (embedded, {addr}): reads {} bytes, then closes with the rest unread, so the kernel sends RST: ECONNRESET at the client", reset::READ),
    )
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
        .add_embedded(name, addr, description)
        .map_err(|e| io::Error::other(format!("cannot register {name}: {e}")))
}
