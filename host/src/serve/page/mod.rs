//! The operator's status page (`GET /` of the admin API): one
//! server-rendered HTML page over an [`Overview`], with its stylesheet and
//! script compiled into the binary (`/assets/…`, no CDN, no build step).
//!
//! Sections: plugins (with run, pause and resume buttons), refused files,
//! the last runs of each plugin with their failures, field coverage charts
//! ([`chart`]), the sink's partitions and the forward log. The script
//! re-fetches the page every few seconds and swaps the content in place
//! (open failure lists stay open), and sends the buttons' POSTs itself;
//! without script the buttons are plain forms and the page a static one.
//!
//! Rendering is pure: [`render`] takes the overview and the clock, so the
//! page is tested without a server or a browser.

pub mod chart;

use std::fmt::Write;

use super::overview::{Overview, RUNS_LISTED, RunView, SinkOverview};

/// The stylesheet, served at `/assets/page.css`.
pub const STYLE: &str = include_str!("page.css");
/// The script, served at `/assets/page.js`.
pub const SCRIPT: &str = include_str!("page.js");

/// How often the page refreshes itself, in seconds.
pub const REFRESH_SECS: u64 = 5;

/// The Content-Security-Policy of the pages: only the page's own script
/// and stylesheet, requests only to the API itself, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Escape text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-12-06 23:40:12 UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// `12 s ago`, `in 3 min`, `2 h ago`, `4 d ago`.
pub fn relative(ms: i64, now_ms: i64) -> String {
    let d = now_ms - ms;
    let a = d.unsigned_abs() / 1000;
    let span = match a {
        0..=59 => format!("{a} s"),
        60..=3599 => format!("{} min", a / 60),
        3600..=172_799 => format!("{} h", a / 3600),
        _ => format!("{} d", a / 86_400),
    };
    if d >= 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 4 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{} h {} min", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// `512 B`, `3.2 KiB`, `18.4 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The CSS class of a health string (`healthy`, `degraded: …`,
/// `unhealthy: …`).
fn health_class(health: &str) -> &'static str {
    if health.starts_with("unhealthy") {
        "bad"
    } else if health.starts_with("degraded") {
        "warn"
    } else {
        "good"
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "ok" => "good",
        "running" => "info",
        "partial" | "interrupted" | "unknown" => "warn",
        _ => "bad",
    }
}

/// A button that POSTs to `action`.
fn button(action: &str, label: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{a}\" class=\"act\"><button type=\"submit\" class=\"{class}\" data-action=\"{a}\">{label}</button></form>",
        a = escape(action),
    )
}

/// The whole page.
pub fn render(o: &Overview) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>crawlhost</title><link rel=\"stylesheet\" href=\"/assets/page.css\">\
         <script src=\"/assets/page.js\" defer></script></head>\
         <body data-refresh=\"{REFRESH_SECS}\"><header><h1>crawlhost</h1>\
         <nav><a href=\"#plugins\">plugins</a><a href=\"#runs\">runs</a>\
         <a href=\"#coverage\">coverage</a><a href=\"#sink\">sink</a>\
         <a href=\"#forward\">forward log</a></nav>\
         <p id=\"notice\" role=\"status\"></p></header>"
    );
    out.push_str("<main id=\"content\">");
    main(&mut out, o);
    out.push_str("</main></body></html>");
    out
}

/// The part of the page the script swaps on refresh.
fn main(out: &mut String, o: &Overview) {
    let _ = write!(
        out,
        "<p class=\"stamp\">As of <time id=\"as-of\" datetime=\"{}\">{}</time>{}; \
         refreshes every {REFRESH_SECS} s.</p>",
        o.now_ms,
        time(o.now_ms),
        if o.stopping {
            " <span class=\"badge bad\">shutting down</span>"
        } else {
            ""
        }
    );
    plugins(out, o);
    refused(out, o);
    runs(out, o);
    coverage(out, o);
    sink(out, o);
    forward(out, o);
}

fn plugins(out: &mut String, o: &Overview) {
    let _ = write!(
        out,
        "<section id=\"plugins\"><h2>Plugins <span class=\"count\">{}</span></h2>",
        o.plugins.len()
    );
    if o.plugins.is_empty() {
        out.push_str(
            "<p class=\"empty\">No plugin is loaded. Drop a <code>.wasm</code> file into the \
             plugins directory; the host picks it up.</p></section>",
        );
        return;
    }
    out.push_str(
        "<table><thead><tr><th>plugin</th><th>version</th><th>sha256</th><th>health</th>\
         <th>schedule</th><th>next tick</th><th>last run</th><th></th></tr></thead><tbody>",
    );
    for p in &o.plugins {
        let name = escape(&p.name);
        let last = o.runs.get(&p.name).and_then(|r| r.first());
        let state = if p.paused {
            "<span class=\"badge warn\">paused</span> ".to_string()
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr class=\"plugin\" data-plugin=\"{name}\"><td><strong>{name}</strong><br>\
             <small>contract {}</small></td><td>{}</td><td><code title=\"{}\">{}</code></td>\
             <td>{state}<span class=\"badge {}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"buttons\">",
            escape(&p.contract),
            escape(&p.version),
            escape(&p.sha256),
            escape(p.sha256.get(..12).unwrap_or(&p.sha256)),
            health_class(&p.health),
            escape(&p.health),
            p.schedule
                .as_deref()
                .map(|s| format!("<code>{}</code>", escape(s)))
                .unwrap_or_else(|| "<span class=\"dim\">none</span>".into()),
            match (p.paused, p.next_tick_ms) {
                (true, _) => "<span class=\"dim\">paused</span>".to_string(),
                (false, Some(t)) => format!(
                    "<time datetime=\"{t}\" title=\"{}\">{}</time>",
                    time(t),
                    relative(t, o.now_ms)
                ),
                (false, None) => "<span class=\"dim\">—</span>".into(),
            },
            match (&p.active_run, last) {
                (Some(run), _) => format!(
                    "<span class=\"badge info\">running</span> <small>{}</small>",
                    escape(run)
                ),
                (None, Some(r)) => format!(
                    "<span class=\"badge {}\">{}</span> <time datetime=\"{}\" title=\"{}\">{}</time>",
                    outcome_class(r.outcome()),
                    r.outcome(),
                    r.started_at_ms,
                    time(r.started_at_ms),
                    relative(r.started_at_ms, o.now_ms)
                ),
                (None, None) => "<span class=\"dim\">never</span>".into(),
            }
        );
        let base = format!("/plugins/{}", p.name);
        if p.active_run.is_none() && !p.paused {
            out.push_str(&button(&format!("{base}/run"), "Run", "run"));
        }
        if p.paused {
            out.push_str(&button(&format!("{base}/resume"), "Resume", "resume"));
        } else {
            out.push_str(&button(&format!("{base}/pause"), "Pause", "pause"));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn refused(out: &mut String, o: &Overview) {
    let _ = write!(
        out,
        "<section id=\"refused\"><h2>Refused files <span class=\"count\">{}</span></h2>",
        o.refused.len()
    );
    if o.refused.is_empty() {
        out.push_str(
            "<p class=\"empty\">None: every file in the plugins directory loaded.</p></section>",
        );
        return;
    }
    out.push_str("<table><thead><tr><th>file</th><th>reason</th><th>when</th></tr></thead><tbody>");
    for r in &o.refused {
        let _ = write!(
            out,
            "<tr class=\"refused\"><td><code>{}</code></td><td class=\"reason\">{}</td>\
             <td><time datetime=\"{}\" title=\"{}\">{}</time></td></tr>",
            escape(&r.path.display().to_string()),
            escape(&r.reason),
            r.at_ms,
            time(r.at_ms),
            relative(r.at_ms, o.now_ms)
        );
    }
    out.push_str("</tbody></table></section>");
}

fn runs(out: &mut String, o: &Overview) {
    out.push_str("<section id=\"runs\"><h2>Runs</h2>");
    if let Some(e) = &o.runs_error {
        let _ = write!(
            out,
            "<p class=\"error\">The run journal could not be read: {}</p>",
            escape(e)
        );
    }
    let mut any = false;
    for (plugin, runs) in &o.runs {
        if runs.is_empty() {
            continue;
        }
        any = true;
        let p = escape(plugin);
        let _ = write!(
            out,
            "<h3>{p}</h3><table class=\"runs\" data-plugin=\"{p}\"><thead><tr><th>started</th>\
             <th>outcome</th><th>version</th><th>tasks done</th><th>failed</th><th>records</th>\
             <th>dead letters</th><th>duration</th></tr></thead><tbody>"
        );
        for r in runs.iter().take(RUNS_LISTED) {
            run_row(out, r, o.now_ms);
        }
        out.push_str("</tbody></table>");
    }
    if !any {
        out.push_str("<p class=\"empty\">No run yet.</p>");
    }
    out.push_str("</section>");
}

fn run_row(out: &mut String, r: &RunView, now_ms: i64) {
    let outcome = r.outcome();
    let id = escape(&r.run_id);
    let _ = write!(
        out,
        "<tr class=\"run\" data-run=\"{id}\" data-outcome=\"{outcome}\"><td><time datetime=\"{}\" title=\"{}\">{}</time><br><small>{id}</small></td>\
         <td><span class=\"badge {}\">{outcome}</span></td>",
        r.started_at_ms,
        time(r.started_at_ms),
        relative(r.started_at_ms, now_ms),
        outcome_class(outcome),
    );
    let Some(s) = &r.summary else {
        out.push_str("<td colspan=\"6\" class=\"dim\">in progress or no summary</td></tr>");
        return;
    };
    let topics: Vec<String> = s
        .records_by_topic
        .iter()
        .map(|(t, n)| {
            format!(
                "<span class=\"topic\" data-topic=\"{}\">{}: <b class=\"n\">{n}</b></span>",
                escape(t),
                escape(t)
            )
        })
        .collect();
    let _ = write!(
        out,
        "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"records\" data-records=\"{}\"><b>{}</b> {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        escape(&s.plugin_version),
        s.tasks_done,
        s.tasks_failed.len(),
        s.records,
        s.records,
        topics.join(" "),
        s.dead_letters,
        duration(s.duration_ms),
    );
    let notes = s.fatal.is_some() || !s.tasks_failed.is_empty() || !s.drift.is_empty();
    if !notes {
        return;
    }
    let _ = write!(out, "<tr class=\"run-notes\"><td colspan=\"8\">");
    if let Some(f) = &s.fatal {
        let _ = write!(
            out,
            "<p class=\"error\">The run could not complete: {}</p>",
            escape(f)
        );
    }
    for a in &s.drift {
        let _ = write!(
            out,
            "<p class=\"drift\"><span class=\"badge warn\">drift</span> {}</p>",
            escape(&a.message)
        );
    }
    if !s.tasks_failed.is_empty() {
        let _ = write!(
            out,
            "<details id=\"failures-{id}\" class=\"failures\"><summary>{} failed task{}</summary>\
             <table><thead><tr><th>task</th><th>kind</th><th>error</th><th>attempts</th></tr></thead><tbody>",
            s.tasks_failed.len(),
            if s.tasks_failed.len() == 1 { "" } else { "s" }
        );
        for f in &s.tasks_failed {
            let _ = write!(
                out,
                "<tr class=\"failure\"><td><code>{}</code><br><small>{}</small></td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&f.key),
                escape(&f.kind),
                escape(&f.error_kind),
                escape(&f.error),
                f.attempts
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</td></tr>");
}

fn coverage(out: &mut String, o: &Overview) {
    out.push_str(
        "<section id=\"coverage\"><h2>Field coverage</h2>\
         <p class=\"help\">Share of each run's records with the field filled, oldest run on the \
         left; bars are the topic's records per run. Outlined: a drift alarm.</p>",
    );
    let mut any = false;
    for (plugin, runs) in &o.runs {
        for topic in chart::topics(runs) {
            let Some(svg) = chart::coverage_chart(plugin, &topic, runs) else {
                continue;
            };
            any = true;
            let _ = write!(
                out,
                "<figure class=\"coverage\" data-plugin=\"{p}\" data-topic=\"{t}\"><figcaption>{p} → {t}</figcaption>{svg}</figure>",
                p = escape(plugin),
                t = escape(&topic),
            );
        }
    }
    if !any {
        out.push_str("<p class=\"empty\">No run has published records yet.</p>");
    }
    out.push_str("</section>");
}

fn sink(out: &mut String, o: &Overview) {
    out.push_str("<section id=\"sink\"><h2>Sink</h2>");
    let Some(s) = &o.sink else {
        out.push_str(
            "<p class=\"empty\">No sink in this process (<code>[sink]</code> is not configured; \
             a separate <code>crawlhost sink</code> may be running).</p></section>",
        );
        return;
    };
    sink_body(out, s, o.now_ms);
    out.push_str("</section>");
}

fn sink_body(out: &mut String, s: &SinkOverview, now_ms: i64) {
    let v = &s.status;
    let _ = write!(
        out,
        "<p>Group <code>{}</code>, topics {}, into <code>{}</code>.</p>",
        escape(&s.group),
        s.topics
            .iter()
            .map(|t| format!("<code>{}</code>", escape(t)))
            .collect::<Vec<_>>()
            .join(", "),
        escape(&s.store)
    );
    if let Some(e) = &s.error {
        let _ = write!(
            out,
            "<p class=\"error\">The sink stopped: {}</p>",
            escape(e)
        );
    }
    let _ = write!(
        out,
        "<p class=\"figures\"><span><b>{}</b> records written</span><span><b>{}</b> objects</span>\
         <span><b>{}</b> batches</span><span><b>{}</b> recovered after a restart</span>\
         <span><b>{}</b> dead letters</span></p>",
        v.records_written,
        v.objects_written,
        v.batches_committed,
        v.batches_recovered,
        v.dead_letters
    );
    match &v.last_object {
        Some(l) => {
            let _ = write!(
                out,
                "<p>Last object <code class=\"last-object\">{}</code> ({} records in its batch), \
                 <time datetime=\"{}\" title=\"{}\">{}</time>.</p>",
                escape(&l.key),
                l.batch_records,
                l.at_ms,
                time(l.at_ms),
                relative(l.at_ms, now_ms)
            );
        }
        None => out.push_str("<p class=\"dim\">No object written since start.</p>"),
    }
    if v.partitions.is_empty() {
        out.push_str(
            "<p class=\"empty\">No partition assigned yet (its topics do not exist yet).</p>",
        );
        return;
    }
    out.push_str(
        "<table class=\"sink\"><thead><tr><th>topic</th><th>partition</th><th>committed</th>\
         <th>read to</th><th>end of log</th><th>lag</th><th>open batch</th></tr></thead><tbody>",
    );
    for (topic, partition, p, lag) in s.rows() {
        let end = lag.map(|l| p.committed + l);
        let _ = write!(
            out,
            "<tr class=\"partition\" data-topic=\"{t}\" data-partition=\"{partition}\"><td>{t}</td><td class=\"num\">{partition}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num lag{}\">{}</td><td class=\"num\">{}</td></tr>",
            p.committed,
            p.position,
            end.map_or_else(|| "?".into(), |e| e.to_string()),
            if lag.unwrap_or(0) > 0 { " behind" } else { "" },
            lag.map_or_else(|| "?".into(), |l| l.to_string()),
            p.open_records,
            t = escape(topic),
        );
    }
    out.push_str("</tbody></table>");
}

fn forward(out: &mut String, o: &Overview) {
    out.push_str("<section id=\"forward\"><h2>Forward log</h2>");
    match &o.backlog {
        None => out.push_str(
            "<p class=\"empty\">The embedded bus writes directly; there is no forward log.</p>",
        ),
        Some(b) => {
            let _ = write!(
                out,
                "<p class=\"figures\"><span class=\"badge {}\">{}</span>\
                 <span><b class=\"backlog\">{}</b> waiting</span><span><b>{}</b> records forwarded since start</span></p>",
                if b.forwarding { "warn" } else { "good" },
                if b.forwarding {
                    "records go to the local log (broker away or draining)"
                } else {
                    "records go straight to Kafka"
                },
                bytes(b.pending_bytes),
                b.forwarded
            );
        }
    }
    out.push_str("</section>");
}

/// The sign-in page shown instead of the status page when a token is set
/// and the browser has not signed in; `failed` after a wrong token.
pub fn login(failed: bool) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>crawlhost: sign in</title><link rel=\"stylesheet\" href=\"/assets/page.css\"></head>\
         <body><header><h1>crawlhost</h1></header><main class=\"login\">\
         <form method=\"post\" action=\"/login\"><p>This admin API needs its token \
         (the value of the environment variable named by <code>admin.token_env</code>).</p>\
         {}<label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus required></label> \
         <button type=\"submit\">Sign in</button></form></main></body></html>",
        if failed {
            "<p class=\"error\">That is not the token.</p>"
        } else {
            ""
        }
    )
}

/// A short page for a button's result when the browser posted a plain
/// form (no script): what happened, and the way back.
pub fn result(message: &str, ok: bool) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>crawlhost</title>\
         <link rel=\"stylesheet\" href=\"/assets/page.css\"></head><body><main>\
         <p class=\"{}\">{}</p><p><a href=\"/\">Back to the status page</a></p></main></body></html>",
        if ok { "ok" } else { "error" },
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Backlog;
    use crate::serve::overview::SummaryView;
    use crate::serve::{PluginInfo, Refusal};
    use crate::sink::status::{LastObject, PartitionStatus, StatusView};

    fn plugin(name: &str, paused: bool, active: Option<&str>) -> PluginInfo {
        PluginInfo {
            name: name.into(),
            version: "1.2.0".into(),
            sha256: "0123456789abcdef0123".into(),
            path: format!("/p/{name}.wasm").into(),
            contract: "0.2.0".into(),
            paused,
            health: "healthy".into(),
            schedule: Some("0 */6 * * *".into()),
            next_tick_ms: Some(1_000_060_000),
            active_run: active.map(str::to_string),
            loaded_at_ms: 0,
            last_runs: vec![],
        }
    }

    fn overview() -> Overview {
        let mut o = Overview {
            now_ms: 1_000_000_000,
            plugins: vec![plugin("shop", false, None), plugin("x<y>", true, None)],
            refused: vec![Refusal {
                path: "/p/broken.wasm".into(),
                reason: "not a component: magic <bad>".into(),
                at_ms: 999_990_000,
            }],
            ..Overview::default()
        };
        let mut summary = SummaryView {
            plugin_version: "1.2.0".into(),
            tasks_done: 12,
            records: 30,
            duration_ms: 4_200,
            ..SummaryView::default()
        };
        summary.records_by_topic.insert("items".into(), 30);
        summary.tasks_failed.push(crate::run::TaskFailure {
            key: "page:7".into(),
            kind: "page".into(),
            error_kind: "parse".into(),
            error: "no <title>".into(),
            attempts: 3,
        });
        summary
            .coverage
            .topics
            .entry("items".into())
            .or_default()
            .records = 30;
        o.runs.insert(
            "shop".into(),
            vec![RunView {
                run_id: "run-1".into(),
                started_at_ms: 999_000_000,
                status: "finished".into(),
                summary: Some(summary),
                ..RunView::default()
            }],
        );
        o
    }

    #[test]
    fn the_page_shows_plugins_runs_and_refusals_escaped() {
        let html = render(&overview());
        assert!(html.contains("<tr class=\"plugin\" data-plugin=\"shop\">"));
        assert!(html.contains("0123456789ab"));
        assert!(html.contains("in 1 min"), "next tick relative to now");
        // A running plugin is not offered "Run"; a paused one is offered "Resume".
        assert!(html.contains("data-action=\"/plugins/shop/run\""));
        assert!(html.contains("data-action=\"/plugins/x&lt;y&gt;/resume\""));
        assert!(!html.contains("data-action=\"/plugins/x&lt;y&gt;/run\""));
        assert!(!html.contains("x<y>"));
        assert!(html.contains("not a component: magic &lt;bad&gt;"));
        // The run, its records per topic, its failure listed with its error.
        assert!(html.contains("data-run=\"run-1\" data-outcome=\"partial\""));
        assert!(html.contains("data-records=\"30\""));
        assert!(html.contains("items: <b class=\"n\">30</b>"));
        assert!(html.contains("no &lt;title&gt;"));
        assert!(html.contains("4.2 s"));
        // Its coverage chart.
        assert!(
            html.contains("<figure class=\"coverage\" data-plugin=\"shop\" data-topic=\"items\">")
        );
        // No sink, no forward log: said so.
        assert!(html.contains("No sink in this process"));
        assert!(html.contains("there is no forward log"));
        // Only the page's own assets.
        assert!(html.contains("src=\"/assets/page.js\""));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains(" style="));
    }

    #[test]
    fn the_sink_shows_lag_against_the_end_of_the_log() {
        let mut o = overview();
        o.sink = Some(SinkOverview {
            group: "g".into(),
            topics: vec!["items".into()],
            store: "s3://bucket/prefix".into(),
            error: None,
            status: StatusView {
                records_written: 20,
                partitions: vec![
                    (
                        "items".into(),
                        0,
                        PartitionStatus {
                            committed: 20,
                            position: 25,
                            open_records: 5,
                        },
                    ),
                    ("items".into(), 1, PartitionStatus::default()),
                ],
                last_object: Some(LastObject {
                    key: "topics/items/partition=0/items+0+0000000010.json".into(),
                    batch_records: 10,
                    at_ms: 999_999_000,
                }),
                ..StatusView::default()
            },
            ends: vec![Some(30), None],
        });
        o.backlog = Some(Backlog {
            forwarding: true,
            pending_bytes: 3 * 1024 * 1024,
            forwarded: 7,
        });
        let html = render(&o);
        assert!(html.contains(
            "<td class=\"num\">20</td><td class=\"num\">25</td><td class=\"num\">30</td>\
             <td class=\"num lag behind\">10</td><td class=\"num\">5</td>"
        ));
        // The bus did not answer for partition 1: unknown, not zero.
        assert!(html.contains("<td class=\"num\">?</td><td class=\"num lag\">?</td>"));
        assert!(html.contains("items+0+0000000010.json"));
        assert!(html.contains("3.0 MiB"));
    }

    #[test]
    fn formats() {
        assert_eq!(relative(0, 12_000), "12 s ago");
        assert_eq!(relative(200_000, 20_000), "in 3 min");
        assert_eq!(relative(0, 7_200_000), "2 h ago");
        assert_eq!(relative(0, 4 * 86_400_000), "4 d ago");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(185_000), "3 min 5 s");
        assert_eq!(duration(7_440_000), "2 h 4 min");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert!(login(true).contains("That is not the token."));
        assert!(!login(false).contains("That is not the token."));
    }
}
