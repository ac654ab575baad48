//! Counts in words, for every panel and the reducer's summaries alike.

/// `n` and the noun that agrees with it: "1 call", "2 calls".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
