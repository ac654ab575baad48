//! Close requests that overtake a session's queued bytes
//! (`POST /ws/close?key=HEX`, `protocol::relay_api::CLOSE_PATH`).
//!
//! A browser's WebSocket close frame waits behind every byte the browser
//! queued before it: during a flood to a server that never reads, that is
//! megabytes the relay cannot write, so the relay would learn of the close
//! only when its idle timeout ended the session. The page names each
//! session with a random key in the `/ws` URL; posting that key here asks
//! the relay to close the session's TCP connection now. The key is 128
//! random bits the page chose, so nobody else can close the session.
//!
//! Bounded: one entry per open session that gave a key (`--max-sessions`),
//! removed when the session ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use protocol::relay_api::valid_key;
use tokio_util::sync::CancellationToken;

/// The open sessions' keys.
#[derive(Debug, Default)]
pub struct CloseRequests {
    keys: Mutex<HashMap<String, CancellationToken>>,
}

impl CloseRequests {
    /// Registers a session's `key`; `None` if it is malformed or another
    /// open session has it.
    pub fn register(self: &Arc<Self>, key: &str) -> Option<Registered> {
        if !valid_key(key) {
            return None;
        }
        let mut keys = self.keys.lock().expect("no panics under the lock");
        if keys.contains_key(key) {
            return None;
        }
        let token = CancellationToken::new();
        keys.insert(key.to_owned(), token.clone());
        Some(Registered {
            requests: self.clone(),
            key: key.to_owned(),
            token,
        })
    }

    /// Asks the session with `key` to close; false if no open session has it.
    pub fn request(&self, key: &str) -> bool {
        let keys = self.keys.lock().expect("no panics under the lock");
        match keys.get(key) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Open sessions with a key.
    pub fn len(&self) -> usize {
        self.keys.lock().expect("no panics under the lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One session's key, removed when the session ends (drop).
#[derive(Debug)]
pub struct Registered {
    requests: Arc<CloseRequests>,
    key: String,
    token: CancellationToken,
}

impl Registered {
    /// Cancelled once the browser asks for the close.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.requests
            .keys
            .lock()
            .expect("no panics under the lock")
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_key_closes_its_own_session_once_registered_and_is_gone_with_it() {
        let requests = Arc::new(CloseRequests::default());
        assert!(!requests.request(KEY), "nobody has it yet");
        let session = requests.register(KEY).unwrap();
        assert!(requests.register(KEY).is_none(), "one session per key");
        assert!(!session.token().is_cancelled());
        assert!(requests.request(KEY));
        assert!(session.token().is_cancelled());
        drop(session);
        assert!(requests.is_empty());
        assert!(!requests.request(KEY));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let requests = Arc::new(CloseRequests::default());
        for bad in [
            "",
            "short",
            &KEY.to_uppercase(),
            &format!("{KEY}0"),
            "../../etc/passwd0123456789abcdef",
        ] {
            assert!(requests.register(bad).is_none(), "{bad}");
        }
    }
}
