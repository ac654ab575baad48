//! The tutorial's app, echo, blackhole and event-loop servers and the
//! framing lab's `fixed`, `lines`, `prefix` and `close`, run in-process on
//! loopback and registered as the targets `app`, `echo`, `blackhole`,
//! `multiconn` and those four names:
//! what makes one `relay` command the whole back end. The relay binary and
//! the tests start them here. Each reports observed sessions' connections
//! to the registry's hub ([`Targets::hub`]).
//!
//! [`expose`] (`--expose NAME=HOST:PORT`) starts one of them a second time,
//! with the same limits, on a listener of its own for the learner's
//! clients, and registers that listener in the hub.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use protocol::framing::{Framing, Strategy};
use tutorial::servers::observe::Hook;
use tutorial::servers::{app, blackhole, echo, event_loop, framing, net};

use crate::observe::watch::Exposed;
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
        format!("the tutorial's application server (embedded, {app_addr}): search requests and binary replies"),
    )?;
    register(
        targets,
        "echo",
        echo_addr,
        format!("echo server (embedded, {echo_addr}): every byte comes back"),
    )?;
    register(
        targets,
        "blackhole",
        blackhole_addr,
        format!("the tutorial's app-server-test (embedded, {blackhole_addr}): accepts and never reads, so the queues fill"),
    )?;
    start_framing(targets, &mut servers, shutdown)?;
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
    let listener = bind_loopback()?.into_std()?;
    let addr = listener.local_addr()?;
    servers.spawn(event_loop::serve(
        listener,
        multiconn_config(echo_config),
        hook,
        shutdown.clone(),
    ));
    register(
        targets,
        "multiconn",
        addr,
        format!("the tutorial's multi-connection server (embedded, {addr}): one thread, a selectors-style event loop echoing every connection"),
    )
}

fn multiconn_config(echo_config: &echo::Config) -> event_loop::Config {
    event_loop::Config {
        max_connections: echo_config.max_connections,
        idle_timeout: echo_config.idle_timeout,
        ..event_loop::Config::default()
    }
}

/// `--expose NAME=HOST:PORT`: the embedded server of target `name` (one of
/// [`crate::expose::EXPOSABLE`]) also serves `listener`, as a second
/// instance with the limits `start_all` gave the first; the connections
/// it accepts there go to `/ws?watch=NAME`'s watchers.
pub fn expose(
    targets: &Targets,
    servers: &mut JoinSet<io::Result<()>>,
    name: &str,
    listener: tokio::net::TcpListener,
    app_config: &app::Config,
    echo_config: &echo::Config,
    shutdown: &CancellationToken,
) -> io::Result<Arc<Exposed>> {
    let address = listener.local_addr()?;
    let hook = Some(Hook(targets.hub().clone()));
    let shutdown = shutdown.clone();
    match name {
        "app" => servers.spawn(app::serve_observed(
            listener,
            app_config.clone(),
            hook,
            shutdown,
        )),
        "echo" => servers.spawn(echo::serve_observed(
            listener,
            echo_config.clone(),
            hook,
            shutdown,
        )),
        "multiconn" => servers.spawn(event_loop::serve(
            listener.into_std()?,
            multiconn_config(echo_config),
            hook,
            shutdown,
        )),
        other => {
            let strategy = Strategy::ALL
                .into_iter()
                .find(|s| s.name() == other)
                .ok_or_else(|| io::Error::other(format!("{other:?} cannot be exposed")))?;
            servers.spawn(framing::serve_observed(
                listener,
                framing::Config::new(Framing::default_for(strategy)),
                hook,
                shutdown,
            ))
        }
    };
    let exposed = Exposed::new(name, address);
    targets.hub().expose(exposed.clone());
    Ok(exposed)
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
            format!(
                "framing lab (embedded, {addr}): {how}; echoes each message framed the same way"
            ),
        )?;
    }
    Ok(())
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
