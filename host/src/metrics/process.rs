//! The process series every Prometheus exporter exports under the same
//! names (`process_resident_memory_bytes`, `process_cpu_seconds_total`, ...),
//! so dashboards and alerts written for other services work unchanged.
//!
//! They are read from `/proc/self` at scrape time, which exists on Linux
//! only; elsewhere [`read`] returns `None` and the series are left out
//! rather than exported as zeros. The parsing is plain functions over the
//! files' text, unit-tested on samples; only [`read`] touches the system.

use std::fmt::Write;

/// Clock ticks per second of the times in `/proc/<pid>/stat`. The kernel
/// reports them in `USER_HZ`, which is 100 on every architecture Linux
/// exports it for (the Prometheus Go client's procfs assumes the same).
const USER_HZ: f64 = 100.0;

/// One reading of the process series.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProcessSample {
    /// Resident set size (`VmRSS`).
    pub resident_bytes: u64,
    /// Virtual memory size (`VmSize`).
    pub virtual_bytes: u64,
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    /// Open file descriptors; `None` when `/proc/self/fd` cannot be listed.
    pub open_fds: Option<u64>,
    /// Start of the process, seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

/// The fields of `/proc/<pid>/stat` the series need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    utime_ticks: u64,
    stime_ticks: u64,
    start_ticks: u64,
}

/// Read the series from `/proc/self` (Linux).
#[cfg(target_os = "linux")]
pub(super) fn read() -> Option<ProcessSample> {
    let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let (resident_bytes, virtual_bytes) =
        parse_status(&std::fs::read_to_string("/proc/self/status").ok()?)?;
    let boot = parse_boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    Some(ProcessSample {
        resident_bytes,
        virtual_bytes,
        cpu_seconds: (stat.utime_ticks + stat.stime_ticks) as f64 / USER_HZ,
        open_fds,
        start_time_seconds: boot as f64 + stat.start_ticks as f64 / USER_HZ,
    })
}

/// No `/proc` to read: the process series are left out.
#[cfg(not(target_os = "linux"))]
pub(super) fn read() -> Option<ProcessSample> {
    None
}

/// `utime`, `stime` and `starttime` (fields 14, 15 and 22) of
/// `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted from the last
/// `)`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (the state).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        start_ticks: field(22)?,
    })
}

/// `VmRSS` and `VmSize` of `/proc/<pid>/status`, in bytes (the file gives
/// kB, meaning KiB).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_status(text: &str) -> Option<(u64, u64)> {
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|v| v * 1024)
    };
    Some((kib("VmRSS")?, kib("VmSize")?))
}

/// The boot time (`btime`, seconds since the epoch) of `/proc/stat`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Append the series to an exposition.
pub(super) fn render(out: &mut String, s: &ProcessSample) {
    let mut series = vec![
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            s.resident_bytes as f64,
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            "gauge",
            s.virtual_bytes as f64,
        ),
        (
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "counter",
            s.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            "gauge",
            s.start_time_seconds,
        ),
    ];
    if let Some(n) = s.open_fds {
        series.push((
            "process_open_fds",
            "Number of open file descriptors.",
            "gauge",
            n as f64,
        ));
    }
    for (name, help, kind, v) in series {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line, with a command name holding a space and a parenthesis.
    const STAT: &str = "29136 (tokio rt) x) S 29134 29134 28026 0 -1 4194304 102 0 0 0 \
        1234 567 0 0 20 0 9 0 3971939 3133440 418 18446744073709551615 \
        94429876809728 94429876829609 140728629339328 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    const STATUS: &str = "Name:\tcrawlhost\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t  912340 kB\nVmSize:\t  812340 kB\nVmLck:\t       0 kB\n\
        VmHWM:\t  214000 kB\nVmRSS:\t  198765 kB\nRssAnon:\t  150000 kB\nThreads:\t9\n";

    const PROC_STAT: &str = "cpu  10 20 30 40 0 0 0 0 0 0\ncpu0 5 10 15 20 0 0 0 0 0 0\n\
        intr 12345\nctxt 678\nbtime 1796558758\nprocesses 29137\n";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                utime_ticks: 1234,
                stime_ticks: 567,
                start_ticks: 3971939,
            })
        );
        assert_eq!(parse_stat("1 (x) S 1 2 3"), None, "too few fields");
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn status_gives_resident_and_virtual_memory_in_bytes() {
        assert_eq!(parse_status(STATUS), Some((198_765 * 1024, 812_340 * 1024)));
        // VmRSS must not be confused with RssAnon or VmHWM, nor be missing.
        assert_eq!(parse_status("VmSize:\t 1 kB\nRssAnon:\t 2 kB\n"), None);
    }

    #[test]
    fn boot_time_is_the_btime_line() {
        assert_eq!(parse_boot_time(PROC_STAT), Some(1_796_558_758));
        assert_eq!(parse_boot_time("cpu 1 2 3\n"), None);
    }

    #[test]
    fn renders_the_standard_names_and_leaves_out_unknown_fds() {
        let mut s = ProcessSample {
            resident_bytes: 2048,
            virtual_bytes: 4096,
            cpu_seconds: 18.01,
            open_fds: Some(12),
            start_time_seconds: 1_796_558_758.5,
        };
        let mut out = String::new();
        render(&mut out, &s);
        for line in [
            "# TYPE process_resident_memory_bytes gauge",
            "process_resident_memory_bytes 2048",
            "process_virtual_memory_bytes 4096",
            "# TYPE process_cpu_seconds_total counter",
            "process_cpu_seconds_total 18.01",
            "process_open_fds 12",
            "process_start_time_seconds 1796558758.5",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing in\n{out}");
        }
        s.open_fds = None;
        let mut out = String::new();
        render(&mut out, &s);
        assert!(!out.contains("process_open_fds"), "{out}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let s = read().expect("/proc/self is readable on Linux");
        assert!(s.resident_bytes > 0 && s.virtual_bytes >= s.resident_bytes);
        assert!(s.open_fds.is_some_and(|n| n >= 3), "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started in the past, and after 2020 (seconds, not ticks or ms).
        assert!(
            s.start_time_seconds > 1.5e9 && s.start_time_seconds <= now + 1.0,
            "{s:?}"
        );
    }
}
