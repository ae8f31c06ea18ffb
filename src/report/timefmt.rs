//! UTC timestamps for report names and fields, written by the `time` crate (the one that
//! also reads and writes the rate limits' reset times).

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// `t` to the whole second, in UTC.
fn whole_seconds(t: SystemTime) -> OffsetDateTime {
    let t = OffsetDateTime::from(t);
    t.replace_nanosecond(0).unwrap_or(t)
}

/// RFC 3339, e.g. `2026-11-22T18:04:05Z`.
pub fn rfc3339(t: SystemTime) -> String {
    whole_seconds(t).format(&Rfc3339).unwrap_or_default()
}

/// Compact form for folder names, e.g. `20261122T180405Z`.
pub fn compact(t: SystemTime) -> String {
    whole_seconds(t).format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn known_instants_format() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day in a century year divisible by 400) 12:34:56.
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56Z");
        assert_eq!(compact(t), "20000229T123456Z");
        // Fractions of a second are left out, as before.
        assert_eq!(rfc3339(t + Duration::from_millis(750)), "2000-02-29T12:34:56Z");
    }
}
