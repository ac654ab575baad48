//! The deployment, with real parts (issue #13): a real nginx running
//! `deploy/nginx/wirelab.conf` in front of two relays. Sessions work and
//! are shared by both relays; per-client limits see the client's address
//! through the trusted proxy only; a foreign Origin and a rebinding Host
//! are refused through the proxy as they are without it.
//!
//! nginx runs unprivileged-style in a temporary directory (`-p`, pid, logs
//! and temp paths there, one process). Without nginx the tests fail when
//! `CI=true` and are skipped with a message otherwise (`apt-get install
//! nginx`; .ci/lib.sh installs it for CI).

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use relay::config::RelayConfig;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SITE: &str = "wirelab.example.edu";
const ORIGIN: &str = "https://wirelab.example.edu";

/// nginx's program, or why the test cannot run.
fn nginx_program() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        let message = "SKIP relay_nginx: nginx not installed (apt-get install nginx)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("{message}");
    }
    found
}

/// Ports free a moment ago, all different (nginx binds them by number):
/// held together until all are chosen, since a port given back can be the
/// kernel's next answer.
fn free_ports<const N: usize>() -> [u16; N] {
    let held: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    held.map(|listener| listener.local_addr().unwrap().port())
}

struct Nginx {
    child: Child,
    dir: PathBuf,
    at: Listeners,
}

/// Where the site listens in the test (port 443's and 80's stand-ins).
struct Listeners {
    /// The TLS server's plain twin (the same server block, no TLS).
    plain: SocketAddr,
    tls: SocketAddr,
    redirect: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// deploy/nginx/wirelab.conf with the test's ports and certificate: the
/// marked lines the file says the test rewrites, each of which must be there.
fn site_config(
    relays: [SocketAddr; 2],
    dir: &Path,
    at: &Listeners,
    tweaks: &[(&str, String)],
) -> String {
    let mut site = site_template();
    let dir = dir.display();
    for (from, to) in [
        ("server 127.0.0.1:8781 ", format!("server {} ", relays[0])),
        ("server 127.0.0.1:8782 ", format!("server {} ", relays[1])),
        ("listen 80; # plain", format!("listen {};", at.redirect)),
        ("listen [::]:80;", String::new()),
        (
            "listen 443 ssl; # tls",
            format!("listen {} ssl; listen {};", at.tls, at.plain),
        ),
        ("listen [::]:443 ssl;", String::new()),
        (
            "/etc/letsencrypt/live/wirelab.example.edu/fullchain.pem; # cert",
            format!("{dir}/cert.pem;"),
        ),
        (
            "/etc/letsencrypt/live/wirelab.example.edu/privkey.pem; # key",
            format!("{dir}/key.pem;"),
        ),
    ]
    .into_iter()
    .chain(tweaks.iter().cloned())
    {
        assert!(site.contains(from), "the template lost {from:?}");
        site = site.replace(from, &to);
    }
    site
}

/// The site as the deployment guide installs it.
fn site_template() -> String {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx/wirelab.conf");
    std::fs::read_to_string(template).unwrap()
}

/// Starts nginx in front of `relays`, or `None` without nginx.
async fn start_nginx(relays: [SocketAddr; 2]) -> Option<Nginx> {
    start_nginx_with(relays, &[]).await
}

/// [`start_nginx`] with more of the site's lines rewritten (`from`, `to`).
async fn start_nginx_with(relays: [SocketAddr; 2], tweaks: &[(&str, String)]) -> Option<Nginx> {
    let program = nginx_program()?;
    let dir = std::env::temp_dir().join(format!(
        "wirelab-nginx-{}-{}",
        std::process::id(),
        free_ports::<1>()[0]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", &format!("/CN={SITE}")])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(certified.success(), "openssl made no certificate");
    let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let [plain, tls, redirect] = free_ports();
    let at = Listeners {
        plain: loopback(plain),
        tls: loopback(tls),
        redirect: loopback(redirect),
    };
    std::fs::write(
        dir.join("wirelab.conf"),
        site_config(relays, &dir, &at, tweaks),
    )
    .unwrap();
    let d = dir.display();
    let main = format!(
        "master_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
         include {d}/wirelab.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let child = Command::new(program)
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .spawn()
        .expect("nginx starts");
    let mut nginx = Nginx { child, dir, at };
    let plain = nginx.at.plain;
    within(async {
        while TcpStream::connect(plain).await.is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited with {status}: {log}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    Some(nginx)
}

/// Two relays as a deployment runs them: behind the proxy, knowing their
/// public origin and trusting the proxy's address.
async fn two_relays() -> [TestRelay; 2] {
    two_relays_with(|config| config).await
}

/// [`two_relays`] with their configuration changed by `change`.
async fn two_relays_with(change: impl Fn(RelayConfig) -> RelayConfig) -> [TestRelay; 2] {
    let config = || {
        change(RelayConfig {
            public_origins: vec![ORIGIN.to_owned()],
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            max_sessions_per_ip: 2,
            ..test_config()
        })
    };
    [start(config(), &[]).await, start(config(), &[]).await]
}

/// An upgrade to `echo` from `source` through `to` with these header lines.
async fn upgrade(source: &str, to: SocketAddr, headers: &[&str]) -> (u16, String, TcpStream) {
    let stream = connect_from(source.parse().unwrap(), to).await;
    raw_upgrade(stream, &upgrade_request("/ws?target=echo", headers)).await
}

/// What a page served from the public origin sends.
const PAGE: [&str; 2] = [
    "Host: wirelab.example.edu",
    "Origin: https://wirelab.example.edu",
];

/// One masked binary message out, its echo back.
async fn echo_round_trip(ws: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_head(payload.len());
    frame.extend_from_slice(payload);
    within(ws.write_all(&frame)).await.unwrap();
    let mut head = [0u8; 2];
    within(ws.read_exact(&mut head)).await.unwrap();
    assert_eq!(head[0], 0x82, "a binary frame");
    let mut body = vec![0; (head[1] & 0x7f) as usize];
    within(ws.read_exact(&mut body)).await.unwrap();
    body
}

#[tokio::test]
async fn sessions_through_nginx_work_and_both_relays_serve_them() {
    let relays = two_relays().await;
    let Some(nginx) = start_nginx([relays[0].addr, relays[1].addr]).await else {
        return;
    };
    let mut sessions = Vec::new();
    for i in 0..4u8 {
        let source = format!("127.0.0.{}", 10 + i);
        let (status, head, mut ws) = upgrade(&source, nginx.at.plain, &PAGE).await;
        assert_eq!(status, 101, "{head}");
        let payload = format!("hello from {source}");
        assert_eq!(
            echo_round_trip(&mut ws, payload.as_bytes()).await,
            payload.as_bytes()
        );
        sessions.push(ws);
    }
    for relay in &relays {
        assert_eq!(relay.metrics.total_sessions(), 2, "round robin");
    }

    // The TLS listener reaches the relays too (the page's /targets), and
    // plain http is sent there.
    // tokio's Command: the relays answer on this test's own runtime.
    let curl = tokio::process::Command::new("curl")
        // The stand-in port is not 443: send the Host a browser sends there.
        .args(["-sk", "-H", "Host: wirelab.example.edu", "--resolve"])
        .arg(format!("{SITE}:{}:127.0.0.1", nginx.at.tls.port()))
        .arg(format!("https://{SITE}:{}/targets", nginx.at.tls.port()))
        .output();
    let Ok(curl) = within(curl).await else {
        eprintln!("curl not installed: TLS listener not checked");
        return;
    };
    let body = String::from_utf8_lossy(&curl.stdout);
    assert!(body.contains("\"echo\""), "{body}");
    let redirect = upgrade_request("/", &["Host: wirelab.example.edu"]);
    let (status, response) = raw_request(nginx.at.redirect, &redirect).await;
    assert_eq!(status, 301, "{response}");
    assert!(
        response.contains("Location: https://wirelab.example.edu/"),
        "{response}"
    );
}

#[tokio::test]
async fn per_client_limits_see_the_client_through_the_trusted_proxy_only() {
    let relays = two_relays().await;
    let Some(nginx) = start_nginx([relays[0].addr, relays[1].addr]).await else {
        return;
    };
    // --max-sessions-per-ip 2 on each of two relays: four, then 429.
    let mut held = Vec::new();
    for _ in 0..4 {
        let (status, head, ws) = upgrade("127.0.0.2", nginx.at.plain, &PAGE).await;
        assert_eq!(status, 101, "{head}");
        held.push(ws);
    }
    let (status, head, _) = upgrade("127.0.0.2", nginx.at.plain, &PAGE).await;
    assert_eq!(status, 429, "{head}");
    // What the client writes in X-Forwarded-For does not make it another.
    let spoofed = [PAGE[0], PAGE[1], "X-Forwarded-For: 127.0.0.77"];
    for _ in 0..2 {
        assert_eq!(upgrade("127.0.0.2", nginx.at.plain, &spoofed).await.0, 429);
    }
    // Another client behind the same proxy has sessions of its own.
    let (status, head, _other) = upgrade("127.0.0.3", nginx.at.plain, &PAGE).await;
    assert_eq!(status, 101, "{head}");

    // Straight to a relay, not through the proxy: the headers are the
    // client's own, ignored; the peer address is the client.
    let relay = relays[0].addr;
    let direct_host = format!("Host: {relay}");
    let direct = [direct_host.as_str(), "X-Forwarded-For: 127.0.0.77"];
    assert_eq!(upgrade("127.0.0.2", relay, &direct).await.0, 429);
    assert_eq!(upgrade("127.0.0.4", relay, &direct).await.0, 101);
}

#[tokio::test]
async fn a_foreign_origin_and_a_rebinding_host_are_refused_through_nginx() {
    let relays = two_relays().await;
    let Some(nginx) = start_nginx([relays[0].addr, relays[1].addr]).await else {
        return;
    };
    let foreign = ["Host: wirelab.example.edu", "Origin: https://evil.example"];
    let (status, head, _) = upgrade("127.0.0.5", nginx.at.plain, &foreign).await;
    assert_eq!(status, 403, "{head}");
    let rebinding = ["Host: evil.example", "Origin: http://evil.example"];
    for _ in 0..2 {
        let (status, head, _) = upgrade("127.0.0.5", nginx.at.plain, &rebinding).await;
        assert_eq!(status, 421, "{head}");
    }
    let targets = upgrade_request("/targets", &["Host: evil.example"]);
    assert_eq!(raw_request(nginx.at.plain, &targets).await.0, 421);
    // The site's own page still gets in.
    let (status, head, _) = upgrade("127.0.0.5", nginx.at.plain, &PAGE).await;
    assert_eq!(status, 101, "{head}");
    for relay in &relays {
        assert!(relay.metrics.refused() >= 1, "both relays refused");
    }
}

#[tokio::test]
async fn a_public_origin_on_a_port_other_than_443_works_through_nginx() {
    // A class hosted at https://wirelab.example.edu:8443: the browser's Host
    // carries the port, and the relay compares it with its public origin.
    let origin = "https://wirelab.example.edu:8443";
    let relays = two_relays_with(|config| RelayConfig {
        public_origins: vec![origin.to_owned()],
        ..config
    })
    .await;
    let Some(nginx) = start_nginx([relays[0].addr, relays[1].addr]).await else {
        return;
    };
    let page = [
        "Host: wirelab.example.edu:8443",
        "Origin: https://wirelab.example.edu:8443",
    ];
    let (status, head, mut ws) = upgrade("127.0.0.6", nginx.at.plain, &page).await;
    assert_eq!(status, 101, "nginx must pass the Host's port on: {head}");
    assert_eq!(echo_round_trip(&mut ws, b"port 8443").await, b"port 8443");
    let targets = upgrade_request("/targets", &[page[0]]);
    let (status, body) = raw_request(nginx.at.plain, &targets).await;
    assert_eq!(status, 200, "{body}");
}

/// Seconds in the site's `proxy_read_timeout` line for `/ws`.
fn site_read_timeout() -> u64 {
    let site = site_template();
    let line = site
        .lines()
        .find(|l| l.contains("# read timeout"))
        .expect("the /ws read timeout is marked");
    let value = line.split_whitespace().nth(1).unwrap();
    value
        .trim_end_matches(';')
        .trim_end_matches('s')
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_relay_closes_a_quiet_session_before_nginx_cuts_it_so_the_page_reads_why() {
    // The site's read timeout sits above the relay's own idle timeout, as
    // its comment says: the relay's close frame then reaches the page.
    let defaults = relay::config::RelayConfig::default();
    assert!(
        site_read_timeout() > defaults.idle_timeout.as_secs(),
        "proxy_read_timeout {}s must stay above --idle-timeout {:?}",
        site_read_timeout(),
        defaults.idle_timeout
    );
    // The same rule with the idle timeout raised (to 2 s here, the site's
    // read timeout raised with it to 4 s, scaled down from 60 s and 75 s):
    // the session ends with the relay's 1008 and its reason, through nginx.
    let relays = two_relays_with(|config| RelayConfig {
        idle_timeout: std::time::Duration::from_secs(2),
        ..config
    })
    .await;
    let tweak = [(
        "proxy_read_timeout 75s; # read timeout",
        "proxy_read_timeout 4s;".to_owned(),
    )];
    let Some(nginx) = start_nginx_with([relays[0].addr, relays[1].addr], &tweak).await else {
        return;
    };
    let (status, head, mut ws) = upgrade("127.0.0.7", nginx.at.plain, &PAGE).await;
    assert_eq!(status, 101, "{head}");
    let started = std::time::Instant::now();
    let (code, reason) = read_close(&mut ws).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("idle"), "{reason}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
}
