//! `--max-http-connections` shared fairly between addresses: the
//! connections that have not upgraded (yet) are counted per client address
//! (an IPv6 client's /64, as `clients` counts), and when all are taken a
//! connection from an address holding fewer than the address holding the
//! most takes the place of that address's oldest, which is closed. So 8
//! addresses holding 32 unfinished request heads each cannot keep a
//! ninth address out; a ninth address with as many as the most cannot
//! push anyone out.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::clients::key;

/// The pre-upgrade connections, at most `max`.
#[derive(Debug)]
pub(super) struct Pool {
    max: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    total: usize,
    /// Each address's connections, oldest first: (id, cancelled to evict it).
    by_key: HashMap<IpAddr, VecDeque<(u64, CancellationToken)>>,
}

/// One connection's place until dropped; `evicted` is cancelled when a
/// less-served address took it.
#[derive(Debug)]
pub(super) struct PoolSlot {
    pool: Arc<Pool>,
    key: IpAddr,
    id: u64,
    pub evicted: CancellationToken,
}

impl Pool {
    pub fn new(max: usize) -> Arc<Pool> {
        Arc::new(Pool {
            max,
            state: Mutex::default(),
        })
    }

    /// A place for a connection from `ip`, taking the oldest of the
    /// address holding the most if all are taken and that address holds
    /// at least two more than `ip` would; `None` otherwise.
    pub fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<PoolSlot> {
        let key = key(ip);
        let mut state = self.state.lock().expect("no panics under the lock");
        if state.total >= self.max {
            let mine = state.by_key.get(&key).map_or(0, VecDeque::len);
            let (top, most) = state
                .by_key
                .iter()
                .map(|(k, q)| (*k, q.len()))
                .max_by_key(|(_, n)| *n)?;
            if most <= mine + 1 {
                return None;
            }
            let queue = state.by_key.get_mut(&top).expect("just found");
            let (_, token) = queue.pop_front().expect("not empty");
            token.cancel();
            if queue.is_empty() {
                state.by_key.remove(&top);
            }
            state.total -= 1;
        }
        state.total += 1;
        state.next_id += 1;
        let id = state.next_id;
        let evicted = CancellationToken::new();
        state
            .by_key
            .entry(key)
            .or_default()
            .push_back((id, evicted.clone()));
        Some(PoolSlot {
            pool: self.clone(),
            key,
            id,
            evicted,
        })
    }

    /// Connections holding a place now.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.state.lock().unwrap().total
    }
}

impl Drop for PoolSlot {
    fn drop(&mut self) {
        let mut state = self.pool.state.lock().expect("no panics under the lock");
        let Some(queue) = state.by_key.get_mut(&self.key) else {
            return;
        };
        let Some(at) = queue.iter().position(|(id, _)| *id == self.id) else {
            return; // evicted: counted out already
        };
        queue.remove(at);
        if queue.is_empty() {
            state.by_key.remove(&self.key);
        }
        state.total -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn a_full_pool_makes_room_for_a_new_address_from_the_one_holding_the_most() {
        let pool = Pool::new(4);
        let a: Vec<PoolSlot> = (0..3).map(|_| pool.try_take(ip(2)).unwrap()).collect();
        let b = pool.try_take(ip(3)).unwrap();
        assert_eq!(pool.total(), 4);
        let c = pool.try_take(ip(4)).expect("a third address gets in");
        assert!(
            a[0].evicted.is_cancelled(),
            "the oldest of the biggest holder"
        );
        assert!(!a[1].evicted.is_cancelled() && !b.evicted.is_cancelled());
        assert_eq!(pool.total(), 4);
        // 2 (a), 1 (b), 1 (c): nobody holds two more than b would.
        assert!(pool.try_take(ip(3)).is_none());
        assert!(
            pool.try_take(ip(2)).is_none(),
            "the biggest holder cannot grow"
        );
        drop(a);
        assert_eq!(pool.total(), 2);
        drop((b, c));
        assert_eq!(pool.total(), 0);
    }
}
