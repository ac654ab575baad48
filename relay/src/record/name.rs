//! A recording's file names: `20261127T152312.123456Z-app-7`, sorting by
//! time, the target's name kept to characters safe in a file name.

use tutorial::truncate::cut;

/// The stem of a session's files: its start (UTC), target and id.
pub(super) fn file_stem(started_unix_us: u64, target: &str, id: u64) -> String {
    let us = started_unix_us;
    let secs = us / 1_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    let target: String = cut(target, 40)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:06}Z-{target}-{id}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        us % 1_000_000
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// era-based method of Howard Hinnant's `chrono`-compatible date algorithms).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_are_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
    }

    #[test]
    fn file_names_sort_by_time_and_keep_only_safe_characters() {
        // `date -u -d @1795000000`: Wed Nov 18 11:06:40 UTC 2026
        assert_eq!(
            file_stem(1_795_000_000_123_456, "../a b", 7),
            "20261118T110640.123456Z-___a_b-7"
        );
    }
}
