//! Run with
//!
//! ```not_rust
//! cargo run -p relay --bin relay
//! ```
//!
//! `relay`: the playground's whole back end in one command.
//!
//! Serves the built playground (trunk's `dist/`), bridges `/ws?target=NAME`
//! WebSockets to named TCP targets, and by default runs the tutorial's
//! servers in-process on loopback as targets (`relay::embedded::EMBEDDED`:
//! `app`, `echo`, `blackhole`, `multiconn` and the framing lab's four).
//! Ctrl-C/SIGTERM: stop accepting, close sessions with 1001, exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use relay::config::{RelayConfig, DEFAULT_DIST, DEFAULT_LISTEN};
use relay::server::Relay;
use relay::targets::{TargetSpec, Targets};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tutorial::cli;
use tutorial::servers::net;

/// WebSocket-to-TCP relay for the wirelab playground.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to serve HTTP and WebSockets on (trunk's dev server uses 8080).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Directory of the built playground served at / (`trunk build` writes dist/).
    #[arg(long, default_value = DEFAULT_DIST)]
    dist: PathBuf,

    /// Register a TCP target the browser may pick by NAME (repeatable),
    /// e.g. --target py-app=127.0.0.1:65432.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<TargetSpec>,

    // The help names every embedded target, from `relay::embedded::EMBEDDED`.
    #[arg(long, help = relay::embedded::no_embedded_help())]
    no_embedded: bool,

    /// Also serve embedded target NAME at HOST:PORT (loopback only) for your
    /// own clients, e.g. --expose app=127.0.0.1:65432; the page's Watch tab
    /// (/ws?watch=NAME) shows each connection that arrives there
    /// (repeatable; app, echo, multiconn, fixed, lines, prefix, close;
    /// refused with --public-origin).
    #[arg(long = "expose", value_name = "NAME=HOST:PORT")]
    expose: Vec<TargetSpec>,

    #[command(flatten)]
    config: RelayConfig,

    #[command(flatten)]
    run: relay::run::RunArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return cli::fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => cli::fail(message),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let shutdown = cli::cancel_on_signal();
    let run_plan = args
        .run
        .plan(args.listen, !args.config.public_origins.is_empty())?;
    let servers_shutdown = CancellationToken::new();
    let mut targets = Targets::new();
    relay::expose::check(&args.expose, &args.config, !args.no_embedded)
        .map_err(|e| e.to_string())?;
    let mut servers = if args.no_embedded {
        JoinSet::new()
    } else {
        relay::embedded::start(&mut targets, &args.config, &servers_shutdown)
            .map_err(|e| format!("cannot start the embedded servers: {e}"))?
    };
    for spec in &args.expose {
        let addr = relay::expose::address(spec).map_err(|e| e.to_string())?;
        let listener = net::bind(addr, net::DEFAULT_BACKLOG)
            .map_err(|e| format!("--expose {spec}: cannot listen on {addr}: {e}"))?;
        let exposed = relay::embedded::expose(
            &targets,
            &mut servers,
            &spec.name,
            listener,
            &args.config,
            &servers_shutdown,
        )
        .map_err(|e| format!("--expose {spec}: {e}"))?;
        tracing::info!(
            "target {} also listens at {} for your own clients (the page's Watch tab, /ws?watch={})",
            spec.name,
            exposed.address,
            spec.name
        );
    }
    for spec in &args.targets {
        targets.add_spec(spec).await.map_err(|e| e.to_string())?;
    }
    let program = match &run_plan {
        Some(plan) => Some(start_program(plan, &mut targets).await?),
        None => None,
    };
    if targets.is_empty() {
        return Err("no targets: drop --no-embedded or add --target NAME=HOST:PORT".into());
    }

    if !args.dist.is_dir() {
        tracing::warn!(
            "{} is not a directory: run `trunk build` for the playground; /ws, /targets and /healthz work without it",
            args.dist.display()
        );
    }
    let listener = net::bind(args.listen, net::DEFAULT_BACKLOG)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    for target in targets.iter() {
        tracing::info!(
            "target {} at {}: {}",
            target.name,
            target.address,
            target.description
        );
    }
    tracing::info!("relay listening on http://{addr}/ (WebSocket: ws://{addr}/ws?target=NAME)");

    let relay = Relay::new(args.config, targets, Some(args.dist));
    relay
        .serve(listener, shutdown)
        .await
        .map_err(|e| format!("relay failed: {e}"))?;

    if let Some(program) = &program {
        program.stop(relay::run::STOP_GRACE).await;
    }
    servers_shutdown.cancel();
    while let Some(result) = servers.join_next().await {
        if let Ok(Err(e)) = result {
            tracing::warn!("embedded server: {e}");
        }
    }
    tracing::info!("relay stopped");
    Ok(())
}

/// Starts `--run`'s program and registers its target once it listens.
async fn start_program(
    plan: &relay::run::RunPlan,
    targets: &mut Targets,
) -> Result<relay::run::Program, String> {
    if targets.get(&plan.name).is_some() {
        return Err(format!("--run {}: the name is taken", plan.name));
    }
    let program = relay::run::start(plan, targets.hub().clone()).await?;
    let registered = targets.add_run(
        &plan.name,
        plan.address,
        program.description(),
        program.traced(),
        program.target().clone(),
    );
    if let Err(e) = registered {
        program.stop(std::time::Duration::from_secs(1)).await;
        return Err(e.to_string());
    }
    Ok(program)
}
