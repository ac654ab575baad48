//! A fixed amount of protocol work, for counting instructions: a machine
//! shared with other builds moves wall-clock figures 2-3x, while callgrind's
//! count for the same binary and input stays put.
//!
//! Run with
//!
//! ```not_rust
//! cargo build --release -p protocol --example instructions
//! valgrind --tool=callgrind target/release/examples/instructions 1000
//! valgrind --tool=callgrind target/release/examples/instructions 11000
//! ```
//!
//! (second count - first count) / 10000 is the cost of one decode plus one
//! encode of the tutorial's search request, start-up excluded.

use protocol::{encode, Decoder, DecoderConfig, Event};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of rounds"))
        .unwrap_or(10_000);
    let message = protocol::app::request("search", "morpheus");
    let bytes = encode(&message).expect("the search request encodes").bytes;
    // Summed and printed so the optimiser cannot drop the work.
    let mut total = 0usize;
    for _ in 0..rounds {
        // Layout off: the servers' path, not the playground's.
        let mut decoder = Decoder::new(DecoderConfig {
            layout: false,
            ..DecoderConfig::default()
        });
        decoder.push(&bytes);
        while let Some(event) = decoder.poll().expect("a valid frame") {
            if let Event::Message(decoded) = event {
                total += decoded.frame_len;
            }
        }
    }
    for _ in 0..rounds {
        total += encode(&message).expect("encodes").bytes.len();
    }
    println!("{total}");
}
