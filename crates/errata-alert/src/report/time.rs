//! Times on the command line: RFC 3339, a date, `now`, or relative (`-1h`, `-30m`, `-7d`).

use chrono::{DateTime, NaiveDate, Utc};

/// Reads `input` relative to `now`; `None` when it is none of the accepted forms.
///
/// ```
/// use errata_alert::report::time::parse_time;
///
/// let now = "2026-03-01T12:00:00Z".parse().unwrap();
/// assert_eq!(parse_time("-1h", now).unwrap().to_rfc3339(), "2026-03-01T11:00:00+00:00");
/// assert_eq!(parse_time("-7d", now).unwrap().to_rfc3339(), "2026-02-22T12:00:00+00:00");
/// assert_eq!(parse_time("2026-02-01", now).unwrap().to_rfc3339(), "2026-02-01T00:00:00+00:00");
/// assert_eq!(parse_time("now", now), Some(now));
/// assert!(parse_time("yesterday-ish", now).is_none());
/// ```
pub fn parse_time(input: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let split = rest.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = rest.split_at(split);
    let n: i64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    let delta = chrono::Duration::try_seconds(n.checked_mul(secs)?.checked_mul(sign)?)?;
    now.checked_add_signed(delta)
}
