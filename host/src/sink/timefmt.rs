//! Time for the time-based partitioner: Joda-Time's `path.format` patterns
//! and Joda's local-time arithmetic, so the directories match what Kafka
//! Connect's `TimeBasedPartitioner` writes.
//!
//! This module owns two pure jobs and no I/O:
//! - [`PathFormat`]: a compiled Joda `DateTimeFormat` pattern
//!   (`'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`, `yyyy-MM-dd`, ...) rendered
//!   for an instant in a time zone and a locale. Letters are fields, `'...'`
//!   is quoted text (`''` is a quote), anything else is copied; an unknown
//!   letter is refused when the pattern is compiled, naming it.
//! - [`bucket_start`]: Connect's `TimeBasedPartitioner.getPartition`: the
//!   instant is moved to local time, truncated to a multiple of
//!   `partition.duration.ms` there, and moved back with Joda's
//!   `convertLocalToUTC(.., false)`. Truncating in *local* time is what makes
//!   daily and hourly buckets follow the wall clock on DST days (a New York
//!   day is 23 or 25 hours long; its bucket still starts at local midnight).
//!
//! Text fields (month and weekday names, AM/PM, era) exist for English and
//! Korean; a pattern using them with another locale is refused rather than
//! silently printed in English. Numeric fields work with every locale.

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::{OffsetName, Tz};

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathFormatError {
    /// A letter Joda does not define as a field.
    #[error("unknown pattern letter `{0}` (quote literal text: 'text')")]
    UnknownLetter(char),
    /// A `'` without its closing quote.
    #[error("unterminated quote in the pattern")]
    UnterminatedQuote,
    /// A text field (month/day names, AM/PM, era) in a locale without names.
    #[error("pattern field `{field}` needs names in locale `{locale}`; supported: en, ko")]
    UnsupportedLocale { field: String, locale: String },
    /// An empty pattern would put every file in the topic directory.
    #[error("the pattern is empty")]
    Empty,
}

/// The languages with month and weekday names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ko,
    /// Any other locale: numeric fields only.
    Other,
}

fn lang_of(locale: &str) -> Lang {
    let language = locale
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match language.as_str() {
        "en" | "" => Lang::En,
        "ko" => Lang::Ko,
        _ => Lang::Other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Field { letter: char, count: usize },
}

/// A compiled `path.format`.
#[derive(Debug, Clone)]
pub struct PathFormat {
    tokens: Vec<Token>,
    lang: Lang,
}

/// Letters Joda's `DateTimeFormat` defines.
const FIELD_LETTERS: &str = "GCYxwewDdMyEaKhHkmsSzZ";
/// Fields printed as text (names), which need a locale with names.
fn is_text(letter: char, count: usize) -> bool {
    matches!(letter, 'G' | 'E' | 'a') || (letter == 'M' && count >= 3)
}

impl PathFormat {
    /// Compile `pattern` for `locale` (`en-US`, `ko_KR`, ...).
    pub fn compile(pattern: &str, locale: &str) -> Result<Self, PathFormatError> {
        let lang = lang_of(locale);
        let mut tokens = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut literal = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // `''` outside quotes is one quote.
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(PathFormatError::UnterminatedQuote),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !FIELD_LETTERS.contains(c) {
                    return Err(PathFormatError::UnknownLetter(c));
                }
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                if is_text(c, count) && lang == Lang::Other {
                    return Err(PathFormatError::UnsupportedLocale {
                        field: std::iter::repeat_n(c, count).collect(),
                        locale: locale.to_string(),
                    });
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Field { letter: c, count });
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        if tokens.is_empty() {
            return Err(PathFormatError::Empty);
        }
        Ok(Self { tokens, lang })
    }

    /// The text for `instant_ms` (milliseconds since the epoch) in `tz`.
    pub fn render(&self, instant_ms: i64, tz: Tz) -> String {
        let Some(time) = DateTime::from_timestamp_millis(instant_ms) else {
            // Out of chrono's range (hundreds of thousands of years): print
            // the raw number rather than panic.
            return instant_ms.to_string();
        };
        let local = time.with_timezone(&tz);
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Field { letter, count } => {
                    self.push_field(&mut out, &local, tz, *letter, *count)
                }
            }
        }
        out
    }

    fn push_field(&self, out: &mut String, t: &DateTime<Tz>, tz: Tz, letter: char, count: usize) {
        let num = |out: &mut String, value: i64, width: usize| {
            if value < 0 {
                out.push('-');
            }
            out.push_str(&format!("{:0width$}", value.unsigned_abs(), width = width));
        };
        match letter {
            'G' => out.push_str(match (self.lang, t.year() > 0) {
                (Lang::Ko, true) => "서기",
                (Lang::Ko, false) => "기원전",
                (_, true) => "AD",
                (_, false) => "BC",
            }),
            'C' => num(out, i64::from(t.year().abs() / 100), count),
            'y' | 'Y' | 'x' => {
                let year = match letter {
                    'x' => t.iso_week().year(),
                    'Y' if t.year() <= 0 => 1 - t.year(),
                    _ => t.year(),
                };
                if count == 2 {
                    // Joda's two-digit year: the last two digits.
                    num(out, i64::from(year.rem_euclid(100)), 2);
                } else {
                    num(out, i64::from(year), count);
                }
            }
            'w' => num(out, i64::from(t.iso_week().week()), count),
            'e' => num(out, i64::from(t.weekday().number_from_monday()), count),
            'E' => {
                let i = t.weekday().num_days_from_monday() as usize;
                out.push_str(match (self.lang, count >= 4) {
                    (Lang::Ko, true) => KO_DAYS_FULL[i],
                    (Lang::Ko, false) => KO_DAYS_SHORT[i],
                    (_, true) => EN_DAYS_FULL[i],
                    (_, false) => EN_DAYS_SHORT[i],
                });
            }
            'D' => num(out, i64::from(t.ordinal()), count),
            'M' if count >= 3 => {
                let i = t.month0() as usize;
                match (self.lang, count >= 4) {
                    (Lang::Ko, _) => out.push_str(&format!("{}월", i + 1)),
                    (_, true) => out.push_str(EN_MONTHS_FULL[i]),
                    (_, false) => out.push_str(&EN_MONTHS_FULL[i][..3]),
                }
            }
            'M' => num(out, i64::from(t.month()), count),
            'd' => num(out, i64::from(t.day()), count),
            'a' => {
                let pm = t.hour() >= 12;
                out.push_str(match (self.lang, pm) {
                    (Lang::Ko, false) => "오전",
                    (Lang::Ko, true) => "오후",
                    (_, false) => "AM",
                    (_, true) => "PM",
                });
            }
            'K' => num(out, i64::from(t.hour() % 12), count),
            'h' => num(out, i64::from((t.hour() + 11) % 12 + 1), count),
            'H' => num(out, i64::from(t.hour()), count),
            'k' => num(
                out,
                i64::from(if t.hour() == 0 { 24 } else { t.hour() }),
                count,
            ),
            'm' => num(out, i64::from(t.minute()), count),
            's' => num(out, i64::from(t.second()), count),
            'S' => {
                // Fraction of a second: the leading `count` digits of the millis.
                let millis = format!("{:03}", t.timestamp_subsec_millis());
                let mut digits: String = millis.chars().take(count).collect();
                while digits.len() < count {
                    digits.push('0');
                }
                out.push_str(&digits);
            }
            'Z' => {
                if count >= 3 {
                    out.push_str(tz.name());
                } else {
                    let secs = t.offset().fix().local_minus_utc();
                    let sign = if secs < 0 { '-' } else { '+' };
                    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
                    if count == 2 {
                        out.push_str(&format!("{sign}{h:02}:{m:02}"));
                    } else {
                        out.push_str(&format!("{sign}{h:02}{m:02}"));
                    }
                }
            }
            'z' => {
                let offset = t.offset();
                match offset.abbreviation() {
                    Some(abbr) => out.push_str(abbr),
                    None => out.push_str(tz.name()),
                }
            }
            // `compile` admits only the letters above.
            _ => {}
        }
    }
}

const EN_MONTHS_FULL: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const EN_DAYS_FULL: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const EN_DAYS_SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const KO_DAYS_FULL: [&str; 7] = [
    "월요일",
    "화요일",
    "수요일",
    "목요일",
    "금요일",
    "토요일",
    "일요일",
];
const KO_DAYS_SHORT: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];

/// Parse an IANA zone name (`Asia/Seoul`, `UTC`, `America/New_York`).
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The zone's offset from UTC at `instant_ms`, in milliseconds (Joda's
/// `DateTimeZone.getOffset`).
pub fn offset_ms(tz: Tz, instant_ms: i64) -> i64 {
    let secs = instant_ms.div_euclid(1000);
    match DateTime::from_timestamp(secs, 0) {
        Some(t) => {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        }
        None => 0,
    }
}

/// Joda's `convertUTCToLocal`: the local wall-clock time as if it were UTC.
pub fn utc_to_local(tz: Tz, instant_ms: i64) -> i64 {
    instant_ms.saturating_add(offset_ms(tz, instant_ms))
}

/// Whether local wall-clock time `local_ms` does not exist in `tz` (it falls
/// in a spring-forward gap).
fn in_gap(tz: Tz, local_ms: i64) -> bool {
    let Some(t) = DateTime::from_timestamp_millis(local_ms) else {
        return false;
    };
    let naive: NaiveDateTime = t.naive_utc();
    matches!(tz.from_local_datetime(&naive), LocalResult::None)
}

/// Joda's `convertLocalToUTC(instantLocal, strict = false)`: the UTC instant
/// of a local wall-clock time. In an overlap the first estimate wins (as
/// Joda); in a gap west of Greenwich the offset before the gap is used (as
/// Joda's non-strict mode).
pub fn local_to_utc(tz: Tz, local_ms: i64) -> i64 {
    let offset_local = offset_ms(tz, local_ms);
    let mut offset = offset_ms(tz, local_ms - offset_local);
    if offset_local != offset && offset_local < 0 && in_gap(tz, local_ms) {
        offset = offset_local;
    }
    local_ms - offset
}

/// Connect's `TimeBasedPartitioner.getPartition`: the start (UTC millis) of
/// the `duration_ms` bucket holding `instant_ms`, buckets counted in local
/// time of `tz`. Division truncates toward zero, as Java's `/`.
pub fn bucket_start(instant_ms: i64, duration_ms: i64, tz: Tz) -> i64 {
    let local = utc_to_local(tz, instant_ms);
    let truncated = (local / duration_ms.max(1)) * duration_ms.max(1);
    local_to_utc(tz, truncated)
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Connect's `DateTimeUtils.getNextTimeAdjustedByDay`: the next multiple of
/// `interval_ms` after `now_ms`, counted from local midnight in `tz` (so a
/// 6-hour schedule fires at 00:00, 06:00, 12:00 and 18:00 local time).
pub fn next_aligned(now_ms: i64, interval_ms: i64, tz: Tz) -> i64 {
    let interval = interval_ms.max(1);
    let start_of_day = local_to_utc(tz, utc_to_local(tz, now_ms).div_euclid(DAY_MS) * DAY_MS);
    let elapsed = now_ms - start_of_day;
    elapsed.div_euclid(interval) * interval + interval + start_of_day
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ms(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        let naive = NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap();
        tz.from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        ms(Tz::UTC, y, mo, d, h, mi)
    }

    fn render(pattern: &str, locale: &str, instant: i64, tz: Tz) -> String {
        PathFormat::compile(pattern, locale)
            .unwrap()
            .render(instant, tz)
    }

    const HOURLY: &str = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";

    #[test]
    fn hourly_preset_in_seoul() {
        // 2024-08-20 23:30 UTC is 2024-08-21 08:30 in Seoul (UTC+9, no DST).
        let t = utc(2024, 8, 20, 23, 30);
        assert_eq!(
            render(HOURLY, "ko-KR", t, chrono_tz::Asia::Seoul),
            "year=2024/month=08/day=21/hour=08"
        );
        assert_eq!(
            render(HOURLY, "en-US", t, Tz::UTC),
            "year=2024/month=08/day=20/hour=23"
        );
        assert_eq!(
            render("yyyy-MM-dd", "ko", t, chrono_tz::Asia::Seoul),
            "2024-08-21"
        );
    }

    #[test]
    fn seoul_daily_bucket_starts_at_local_midnight() {
        let seoul = chrono_tz::Asia::Seoul;
        // 2024-08-20 16:00 UTC = 2024-08-21 01:00 KST.
        let start = bucket_start(utc(2024, 8, 20, 16, 0), DAY_MS, seoul);
        assert_eq!(start, ms(seoul, 2024, 8, 21, 0, 0));
        assert_eq!(start, utc(2024, 8, 20, 15, 0));
        // One minute before local midnight belongs to the previous day.
        let before = bucket_start(utc(2024, 8, 20, 14, 59), DAY_MS, seoul);
        assert_eq!(render("yyyy-MM-dd", "ko-KR", before, seoul), "2024-08-20");
    }

    #[test]
    fn new_york_spring_forward_day() {
        let ny = chrono_tz::America::New_York;
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT; the day has 23 hours.
        let day = ms(ny, 2024, 3, 10, 0, 0);
        let late = ms(ny, 2024, 3, 10, 23, 30);
        // 00:00 EST to 23:30 EDT is 22.5 real hours.
        assert_eq!(late - day, 22 * 3_600_000 + 30 * 60_000);
        // Both instants are in the same daily bucket, starting at local midnight.
        assert_eq!(bucket_start(late, DAY_MS, ny), day);
        assert_eq!(bucket_start(day + 1, DAY_MS, ny), day);
        assert_eq!(
            render("yyyy-MM-dd", "en", bucket_start(late, DAY_MS, ny), ny),
            "2024-03-10"
        );
        // Hourly buckets around the gap: 01:30 EST -> hour 01; 03:30 EDT -> hour 03.
        let h = 3_600_000;
        let a = ms(ny, 2024, 3, 10, 1, 30);
        let b = a + h; // one real hour later is 03:30 EDT
        assert_eq!(
            render(HOURLY, "en", bucket_start(a, h, ny), ny),
            "year=2024/month=03/day=10/hour=01"
        );
        assert_eq!(
            render(HOURLY, "en", bucket_start(b, h, ny), ny),
            "year=2024/month=03/day=10/hour=03"
        );
        assert_eq!(bucket_start(b, h, ny), ms(ny, 2024, 3, 10, 3, 0));
    }

    #[test]
    fn new_york_fall_back_day() {
        let ny = chrono_tz::America::New_York;
        let h = 3_600_000;
        // 2024-11-03: 01:00-02:00 happens twice (EDT, then EST); 25 hours.
        let first_one_thirty = ms(ny, 2024, 11, 3, 1, 30); // earliest = EDT
        let second_one_thirty = first_one_thirty + h; // EST
        let r1 = render(HOURLY, "en", bucket_start(first_one_thirty, h, ny), ny);
        let r2 = render(HOURLY, "en", bucket_start(second_one_thirty, h, ny), ny);
        assert_eq!(r1, "year=2024/month=11/day=03/hour=01");
        assert_eq!(r2, "year=2024/month=11/day=03/hour=01");
        // The daily bucket still starts at local midnight (EDT) and the day
        // has 25 hours: 23:30 EST is in it.
        let day = ms(ny, 2024, 11, 3, 0, 0);
        let late = ms(ny, 2024, 11, 3, 23, 30);
        // 00:00 EDT to 23:30 EST is 24.5 real hours.
        assert_eq!(late - day, 24 * h + 30 * 60_000);
        assert_eq!(bucket_start(late, DAY_MS, ny), day);
        assert_eq!(
            bucket_start(ms(ny, 2024, 11, 4, 0, 10), DAY_MS, ny),
            ms(ny, 2024, 11, 4, 0, 0)
        );
    }

    #[test]
    fn berlin_offsets_and_zone_fields() {
        let berlin = chrono_tz::Europe::Berlin;
        let winter = utc(2024, 1, 15, 12, 0);
        let summer = utc(2024, 7, 15, 12, 0);
        assert_eq!(render("HH:mm Z", "en", winter, berlin), "13:00 +0100");
        assert_eq!(render("HH:mm ZZ", "en", summer, berlin), "14:00 +02:00");
        assert_eq!(render("ZZZ", "en", summer, berlin), "Europe/Berlin");
        assert_eq!(render("z", "en", summer, berlin), "CEST");
    }

    #[test]
    fn numeric_fields_and_padding() {
        let t = utc(2024, 2, 5, 7, 4) + 9_123; // 07:04:09.123
        assert_eq!(
            render("y-M-d H:m:s.SSS", "en", t, Tz::UTC),
            "2024-2-5 7:4:9.123"
        );
        assert_eq!(
            render("yy/MM/dd HH/mm/ss/S", "en", t, Tz::UTC),
            "24/02/05 07/04/09/1"
        );
        assert_eq!(render("D DDD", "en", t, Tz::UTC), "36 036");
        assert_eq!(render("h a K k", "en", t, Tz::UTC), "7 AM 7 7");
        assert_eq!(
            render("hh a", "en", utc(2024, 2, 5, 0, 0), Tz::UTC),
            "12 AM"
        );
        assert_eq!(render("kk", "en", utc(2024, 2, 5, 0, 0), Tz::UTC), "24");
        // ISO week-year: 2024-12-30 is in week 1 of 2025.
        assert_eq!(
            render("xxxx-'W'ww-e", "en", utc(2024, 12, 30, 0, 0), Tz::UTC),
            "2025-W01-1"
        );
    }

    #[test]
    fn text_fields_by_locale() {
        let t = utc(2024, 8, 20, 15, 0); // a Tuesday
        assert_eq!(
            render("MMM MMMM EEE EEEE a G", "en-US", t, Tz::UTC),
            "Aug August Tue Tuesday PM AD"
        );
        assert_eq!(
            render("MMM EEE EEEE a", "ko-KR", t, Tz::UTC),
            "8월 화 화요일 오후"
        );
        // Numeric patterns work in any locale; text patterns need names.
        assert_eq!(render("yyyy", "fr-FR", t, Tz::UTC), "2024");
        assert!(matches!(
            PathFormat::compile("MMM", "fr-FR"),
            Err(PathFormatError::UnsupportedLocale { .. })
        ));
    }

    #[test]
    fn quotes_and_errors() {
        let t = utc(2024, 8, 20, 15, 0);
        assert_eq!(render("'it''s' yyyy ''", "en", t, Tz::UTC), "it's 2024 '");
        assert_eq!(
            PathFormat::compile("'dt'=yyyyMMdd", "en")
                .unwrap()
                .render(t, Tz::UTC),
            "dt=20240820"
        );
        assert_eq!(
            PathFormat::compile("yyyy-qq", "en").unwrap_err(),
            PathFormatError::UnknownLetter('q')
        );
        assert_eq!(
            PathFormat::compile("'open", "en").unwrap_err(),
            PathFormatError::UnterminatedQuote
        );
        assert_eq!(
            PathFormat::compile("", "en").unwrap_err(),
            PathFormatError::Empty
        );
    }

    #[test]
    fn schedule_aligns_to_local_midnight() {
        let seoul = chrono_tz::Asia::Seoul;
        let six_h = 6 * 3_600_000;
        // 10:15 KST -> next 6-hour boundary is 12:00 KST.
        let now = ms(seoul, 2024, 8, 21, 10, 15);
        assert_eq!(
            next_aligned(now, six_h, seoul),
            ms(seoul, 2024, 8, 21, 12, 0)
        );
        // Exactly on a boundary -> the following one.
        let on = ms(seoul, 2024, 8, 21, 12, 0);
        assert_eq!(
            next_aligned(on, six_h, seoul),
            ms(seoul, 2024, 8, 21, 18, 0)
        );
        // Hourly in UTC.
        assert_eq!(
            next_aligned(utc(2024, 1, 1, 5, 59), 3_600_000, Tz::UTC),
            utc(2024, 1, 1, 6, 0)
        );
    }

    #[test]
    fn local_to_utc_gap_matches_joda() {
        let ny = chrono_tz::America::New_York;
        // Local 02:30 on the spring-forward day does not exist; Joda (lenient,
        // west of Greenwich) uses the offset before the gap (EST, -5h).
        let local = utc(2024, 3, 10, 2, 30);
        assert_eq!(local_to_utc(ny, local), local + 5 * 3_600_000);
        // A normal time converts both ways.
        let t = ms(ny, 2024, 6, 1, 12, 0);
        assert_eq!(local_to_utc(ny, utc_to_local(ny, t)), t);
    }
}
