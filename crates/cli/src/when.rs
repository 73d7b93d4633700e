//! Dates and times as the commands take them, checked before anything is sent, so that a bad one is
//! named with its flag and the format expected (clap prints `invalid value '3pm' for '--at <AT>': ...`).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

const DATE_EXAMPLE: &str = "2027-01-04";
const TIME_EXAMPLE: &str = "2027-01-04T09:00:00Z";

/// A calendar day: `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<String, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| format!("'{text}' is not a date; use YYYY-MM-DD such as {DATE_EXAMPLE}"))
}

/// A moment: RFC 3339 with a zone (`Z` or an offset).
pub fn time(text: &str) -> Result<String, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .map_err(|_| {
            format!("'{text}' is not a time; use RFC 3339 such as {TIME_EXAMPLE} (a zone, Z or +02:00, is required)")
        })
}

/// A moment as [`time`], or from now: `+30s`, `+10m`, `+2h`, `+1d` (sent as RFC 3339, to the second).
pub fn time_or_from_now(text: &str) -> Result<String, String> {
    at(text, Utc::now())
}

fn at(text: &str, now: DateTime<Utc>) -> Result<String, String> {
    let hint =
        || format!("'{text}' is not a time; use RFC 3339 such as {TIME_EXAMPLE}, or from now: +30s, +10m, +2h, +1d");
    let Some(rest) = text.trim().strip_prefix('+') else { return time(text).map_err(|_| hint()) };
    let unit_at = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (number, unit) = rest.split_at(unit_at);
    let n: i64 = number.parse().map_err(|_| hint())?;
    let delta = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    };
    let when = delta.and_then(|d| now.checked_add_signed(d)).ok_or_else(hint)?;
    Ok(when.to_rfc3339_opts(SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn times_from_now_or_as_written() {
        let now = Utc.with_ymd_and_hms(2027, 3, 6, 20, 59, 30).unwrap();
        assert_eq!(at("+30s", now).unwrap(), "2027-03-06T21:00:00Z");
        assert_eq!(at("+10m", now).unwrap(), "2027-03-06T21:09:30Z");
        assert_eq!(at("+2h", now).unwrap(), "2027-03-06T22:59:30Z");
        assert_eq!(at("+1d", now).unwrap(), "2027-03-07T20:59:30Z");
        assert_eq!(at("2027-03-06T21:00:00Z", now).unwrap(), "2027-03-06T21:00:00Z");
        assert_eq!(at("2027-03-06T23:00:00+02:00", now).unwrap(), "2027-03-06T21:00:00Z");
        for bad in ["+", "+10", "+m", "+10w", "+-5m", "+99999999999999999999s", "+9999999999999d", "3pm", ""] {
            let err = at(bad, now).unwrap_err();
            assert!(err.contains("RFC 3339 such as 2027-01-04T09:00:00Z") && err.contains("+10m"), "{bad}: {err}");
        }
    }

    #[test]
    fn dates_and_times_name_the_format_expected() {
        assert_eq!(date("2027-01-04").unwrap(), "2027-01-04");
        assert_eq!(date("2027-1-4").unwrap(), "2027-01-04");
        for bad in ["04/01/2027", "2027-02-30", "tomorrow", "2027-01-04T09:00:00Z"] {
            assert_eq!(date(bad).unwrap_err(), format!("'{bad}' is not a date; use YYYY-MM-DD such as 2027-01-04"));
        }
        assert_eq!(time("2027-01-04T09:00:00Z").unwrap(), "2027-01-04T09:00:00Z");
        for bad in ["2027-01-04", "2027-01-04T09:00:00", "9am"] {
            assert!(time(bad).unwrap_err().starts_with(&format!("'{bad}' is not a time; use RFC 3339")), "{bad}");
        }
    }
}
