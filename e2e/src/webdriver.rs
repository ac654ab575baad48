//! chromedriver and Chromium: started per test, flags this machine needs,
//! and the browser console read back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// Polls of a condition before giving up (a hang guard, 100 ms apart).
pub const POLLS: usize = 200;

/// Where chromedriver is (`CHROMEDRIVER` overrides).
pub fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// Where Chromium is (`CHROME` overrides; chromedriver's own choice otherwise).
fn chrome_path() -> Option<String> {
    std::env::var("CHROME").ok().or_else(|| {
        Path::new("/usr/bin/chromium")
            .is_file()
            .then(|| "/usr/bin/chromium".into())
    })
}

pub use crate::dirs::download_dir;

/// A loopback port nobody listens on (for chromedriver, and for a target
/// that refuses connections).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// chromedriver on a loopback port; killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver and waits until it accepts connections.
    pub fn start() -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port };
        for _ in 0..POLLS {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not listen on port {port}");
    }

    /// A new headless Chromium session with a window of this size. The flags
    /// keep Chromium off the network this machine does not have.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                format!("--window-size={width},{height}")
            ]
        });
        if let Some(chrome) = chrome_path() {
            options["binary"] = json!(chrome);
        }
        // Files the page offers (a.download) land here without a prompt;
        // chromedriver passes the folder on to headless Chromium too.
        options["prefs"] = json!({
            "download.default_directory": download_dir(),
            "download.prompt_for_download": false,
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("start a Chromium session through chromedriver")
    }

    /// Browser console entries at level SEVERE, read from chromedriver's log
    /// endpoint (fantoccini has no call for it). Blocking: call it from
    /// `spawn_blocking`.
    pub fn console_errors(&self, session: &str) -> Vec<String> {
        let body = r#"{"type": "browser"}"#;
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("reach chromedriver");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // chromedriver keeps the connection open: read the head, then Content-Length bytes.
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        let body_start = loop {
            let n = stream.read(&mut buf).expect("read chromedriver's answer");
            assert!(n > 0, "chromedriver closed before answering");
            raw.extend_from_slice(&buf[..n]);
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&raw[..body_start]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("chromedriver's answer has a Content-Length");
        while raw.len() < body_start + length {
            let n = stream.read(&mut buf).expect("read chromedriver's answer");
            assert!(n > 0, "chromedriver closed mid-answer");
            raw.extend_from_slice(&buf[..n]);
        }
        let body = String::from_utf8_lossy(&raw[body_start..body_start + length]).into_owned();
        let value: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("chromedriver's log answer is not JSON ({e}): {body}"));
        value["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}
