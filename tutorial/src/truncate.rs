//! Cutting a stranger's text before it is logged or reported: the one
//! helper every log line, refusal and observed text goes through, so that
//! a client cannot make the log (or an observation event) as large as what
//! it sends.

use std::borrow::Cow;

/// Longest stranger-controlled value in a log line, in bytes (a target
/// name, an Origin, a request's repr): the tutorial's exchanges are far
/// below it, so their lines read as the tutorial's.
pub const LOG_MAX: usize = 1024;

/// `text` whole when it has at most `max` bytes; else its first `max` bytes
/// (cut on a character boundary) followed by `… (N bytes)`, N being the
/// whole text's size.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} bytes)", &text[..end], text.len()))
}

/// [`cut`] for an owned text (no copy when it is short enough).
pub fn cut_owned(text: String, max: usize) -> String {
    match cut(&text, max) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cut) => cut,
    }
}

/// [`cut`] to [`LOG_MAX`]: for log lines.
pub fn for_log(text: &str) -> Cow<'_, str> {
    cut(text, LOG_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_kept_whole() {
        assert_eq!(cut("short", 5), "short");
        assert!(matches!(cut("short", 5), Cow::Borrowed(_)));
        assert_eq!(cut_owned("short".into(), 16), "short");
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_with_their_size() {
        let text = "é".repeat(100);
        let cut = cut(&text, 5);
        assert_eq!(cut, "éé… (200 bytes)");
        let big = "x".repeat(60_000);
        let logged = for_log(&big);
        assert!(logged.len() < LOG_MAX + 32, "{}", logged.len());
        assert!(logged.ends_with("… (60000 bytes)"));
    }
}
