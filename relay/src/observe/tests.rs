//! The observation queue's bounds and merges, and the hub's pairing.
