//! The hostile-plugin suite: every way a plugin can misbehave (see
//! `tests/guests/hostile`) runs through the real run loop on one host, all at
//! once, while a well-behaved plugin keeps running on the same engine, bus and
//! HTTP client. Each case must end the way the policy says (the right failure
//! kind, a message naming the cause and the limit), within a bound derived
//! from the configured limits; the good runs must all complete with exactly
//! their records. The WASI lockdown is checked from inside a guest, and a
//! plugin that keeps failing is marked unhealthy and recovers after a good run.
//!
//! Plugin configuration is keyed by plugin name, so each run of the one
//! `hostile` component gets its `mode` through its own copy of the settings;
//! the engine (epoch ticker, instance pool, compiled component), the bus, the
//! HTTP client and the state store are the host's, shared by every run.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, Uri};
use crawlhost::bus::{Bus, ConsumedRecord};
use crawlhost::contract::PlanInput;
use crawlhost::engine::LoadedPlugin;
use crawlhost::health::{Health, HealthPolicy, PluginHealth, Transition};
use crawlhost::host::Host;
use crawlhost::run::{RunContext, RunSummary, run_plugin};
use tokio::io::AsyncWriteExt;

/// The limits under test (kept small so the suite is quick).
const TASK_TIMEOUT: Duration = Duration::from_secs(2);
const PLAN_TIMEOUT: Duration = Duration::from_secs(2);
const MEMORY_MB: u64 = 32;
const MAX_RECORDS: u64 = 1000;
/// Nodes one parsed document may have (the default is 1,000,000); the
/// `html` caps on results (10,000) and handles (50,000) are set in
/// `extra_config`, below their defaults, so the hostile guest's 20,000-element
/// `*` and its 100,000 handles meet them.
const MAX_HTML_NODES: u64 = 100_000;
const MAX_FOLLOW_UPS: u64 = 1000;
const MAX_OUTPUT_BYTES: u64 = 4 << 20;
const MAX_TASKS: u64 = 500;
/// Bytes (keys + payloads) of the tasks one run may accept.
const MAX_TASK_BYTES: u64 = 256 << 10;
/// `retryable` (deadline) and `blocked` failures get this many attempts.
const ATTEMPTS: u32 = 2;
/// The longest retry backoff (`retry_max_ms` of the common test settings).
const RETRY_MAX: Duration = Duration::from_millis(200);

/// Every case must end within its limit-derived bound times this factor
/// (room for a loaded machine; a case that is not contained takes forever).
const SLACK: f64 = 2.0;

fn extra_config(pooling: &str) -> String {
    format!(
        "max_attempts = {ATTEMPTS}\nblocked_max_attempts = {ATTEMPTS}\nmax_tasks_per_run = {MAX_TASKS}\nmax_task_bytes_per_run = {MAX_TASK_BYTES}\n\
         [sandbox]\nmemory_limit_mb = {MEMORY_MB}\ntask_timeout_secs = {}\nplan_timeout_secs = {}\n\
         max_records_per_task = {MAX_RECORDS}\nmax_follow_ups_per_task = {MAX_FOLLOW_UPS}\n\
         max_output_bytes_per_task = {MAX_OUTPUT_BYTES}\npooling = \"{pooling}\"\n\
         [http.politeness]\nrequests_per_second = 1000.0\nburst = 100\nconcurrency = 16\njitter_ms = 0\n\
         [http.robots]\nobey = false\n\
         [html]\nmax_nodes = {MAX_HTML_NODES}\nmax_results = 10000\nmax_elements = 50000\n",
        TASK_TIMEOUT.as_secs(),
        PLAN_TIMEOUT.as_secs(),
    )
}

/// A local site: `/ok/<key>` answers 200, `/hang` accepts the request and
/// never answers. Every request path is recorded.
async fn site() -> (String, Arc<Mutex<Vec<String>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let seen = seen.clone();
        async move {
            let path = uri.path().to_string();
            seen.lock().unwrap().push(path.clone());
            if path == "/hang" {
                std::future::pending::<()>().await;
            }
            if path.starts_with("/ok/") {
                (StatusCode::OK, "ok")
            } else {
                (StatusCode::NOT_FOUND, "not here")
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

/// A raw TCP listener that hands a secret to anyone who connects, and counts
/// connections: a guest's socket must never reach it.
async fn secret_listener() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(b"SECRET").await;
        }
    });
    (addr, accepted)
}

/// A run context for the `hostile` plugin with these config values. No
/// journal: concurrent runs of one plugin name must not resume each other.
fn context(host: &Host, config: &[(&str, String)]) -> RunContext {
    let mut settings = (*host.settings).clone();
    let plugin = settings.plugins.entry("hostile".into()).or_default();
    plugin.config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    plugin.concurrency = Some(2);
    let mut ctx = host.run_context();
    ctx.settings = Arc::new(settings);
    ctx.journal = None;
    ctx
}

/// One scheduled run of `plugin` with these config values. The context is
/// built before the future, which borrows nothing.
fn run(
    host: &Host,
    plugin: &Arc<LoadedPlugin>,
    config: &[(&str, String)],
) -> impl std::future::Future<Output = RunSummary> + Send + use<> {
    let (ctx, plugin) = (context(host, config), plugin.clone());
    async move { run_plugin(ctx, plugin, PlanInput::Scheduled, &mut |_| {}).await }
}

fn mode(m: &str) -> (&'static str, String) {
    ("mode", m.to_string())
}

/// One task `t0` failed for good with `error_kind` after `attempts`
/// attempts, its message containing every needle; nothing else happened.
fn one_failure(
    s: &RunSummary,
    error_kind: &str,
    attempts: u32,
    needles: &[&str],
) -> Result<(), String> {
    if s.fatal.is_some() || s.tasks_done != 0 || s.tasks_failed.len() != 1 || s.records != 0 {
        return Err(format!("expected exactly one failed task, got {s:#?}"));
    }
    let f = &s.tasks_failed[0];
    if f.key != "t0" || f.error_kind != error_kind || f.attempts != attempts {
        return Err(format!(
            "expected t0 to fail as `{error_kind}` after {attempts} attempt(s), got {f:?}"
        ));
    }
    for needle in needles {
        if !f.error.contains(needle) {
            return Err(format!("the error does not name `{needle}`: {}", f.error));
        }
    }
    Ok(())
}

/// A stack overflow: the wasm call stack runs out (`call stack exhausted`) or,
/// for frames with big locals, the shadow stack at the bottom of linear
/// memory wraps below address 0 (`out of bounds memory access`).
fn stack_overflow(s: &RunSummary) -> Result<(), String> {
    one_failure(s, "trap", 1, &["plugin trapped: wasm trap: "])?;
    let error = &s.tasks_failed[0].error;
    if error.contains("call stack exhausted") || error.contains("out of bounds memory access") {
        Ok(())
    } else {
        Err(format!("not a stack overflow trap: {error}"))
    }
}

/// A run with no failures, `done` tasks done.
fn clean(s: &RunSummary, done: u64) -> Result<(), String> {
    if !s.is_clean() || s.tasks_done != done {
        return Err(format!("expected a clean run of {done} tasks, got {s:#?}"));
    }
    Ok(())
}

fn header<'a>(r: &'a ConsumedRecord, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

async fn read_topic(bus: &dyn Bus, topic: &str) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    let topics = bus.topics().await.unwrap();
    let Some((_, partitions)) = topics.iter().find(|(t, _)| t == topic) else {
        return out;
    };
    for p in 0..*partitions {
        let mut offset = 0;
        loop {
            let batch = bus.fetch(topic, p, offset, 1000).await.unwrap();
            let Some(last) = batch.last() else { break };
            offset = last.offset + 1;
            out.extend(batch);
        }
    }
    out
}

/// A hostile case: its config and the bound its duration must stay below,
/// before [`SLACK`].
struct Case {
    name: &'static str,
    config: Vec<(&'static str, String)>,
    bound: Duration,
}

fn case(name: &'static str, config: Vec<(&'static str, String)>, bound: Duration) -> Case {
    Case {
        name,
        config,
        bound,
    }
}

/// What a good run does: 20 tasks, each fetching from the site and
/// publishing 3 records.
const GOOD_TASKS: u64 = 20;
const GOOD_RECORDS: u64 = 3;

fn good_config(base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        mode("good"),
        ("tasks", GOOD_TASKS.to_string()),
        ("records", GOOD_RECORDS.to_string()),
        ("fetch", "true".into()),
        ("base_url", base_url.to_string()),
    ]
}

fn check_good(s: &RunSummary) -> Result<(), String> {
    clean(s, GOOD_TASKS)?;
    if s.records != GOOD_TASKS * GOOD_RECORDS
        || s.fetch.requests != GOOD_TASKS
        || s.fetch.status_2xx != GOOD_TASKS
    {
        return Err(format!("good run produced the wrong counts: {s:#?}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_are_contained_while_the_host_keeps_serving() {
    let _cpu = crate::cpu::busy().await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), &extra_config("auto"))).unwrap();
    std::fs::copy(
        common::wasm("guest_hostile"),
        dir.path().join("plugins/hostile.wasm"),
    )
    .unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);
    let plugin = scan.plugins["hostile"].clone();
    let (base_url, hits) = site().await;
    let (tcp_addr, tcp_accepts) = secret_listener().await;
    println!("pooling allocator: {}", host.engine.pooling());
    let host = Arc::new(host);

    // The well-behaved plugin serves in a loop until every hostile case is
    // over; each good run is checked, and timed.
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (host, plugin, stop, base_url) =
            (host.clone(), plugin.clone(), stop.clone(), base_url.clone());
        tokio::spawn(async move {
            let mut runs: Vec<(Instant, Instant, RunSummary)> = Vec::new();
            while !stop.load(Ordering::SeqCst) || runs.is_empty() {
                let start = Instant::now();
                let summary = run(&host, &plugin, &good_config(&base_url)).await;
                runs.push((start, Instant::now(), summary));
            }
            runs
        })
    };

    let deadline_bound = |attempts: u32| (TASK_TIMEOUT + RETRY_MAX) * attempts;
    // Cases contained by something other than the deadline must end well
    // before the deadline would have stopped them.
    let quick = TASK_TIMEOUT;
    let cases = vec![
        case("loop", vec![mode("loop")], deadline_bound(ATTEMPTS)),
        case("plan-loop", vec![mode("plan-loop")], PLAN_TIMEOUT),
        case("memory", vec![mode("memory")], quick),
        case("stack", vec![mode("stack")], quick),
        case("deep-stack", vec![mode("deep-stack")], quick),
        case(
            "records",
            vec![mode("records"), ("count", (MAX_RECORDS + 1).to_string())],
            quick,
        ),
        case(
            "follow-ups",
            vec![
                mode("follow-ups"),
                ("count", (MAX_FOLLOW_UPS + 1).to_string()),
            ],
            quick,
        ),
        case(
            "big-record",
            vec![
                mode("big-record"),
                ("bytes", (MAX_OUTPUT_BYTES + (1 << 20)).to_string()),
            ],
            quick,
        ),
        // 1000 records x 1 MiB aliased = 1 GiB the host would copy.
        case(
            "alias",
            vec![
                mode("alias"),
                ("count", "1000".into()),
                ("bytes", (1 << 20).to_string()),
            ],
            quick,
        ),
        // The budget, not the clock, ends it: bound it generously per task.
        case(
            "fanout",
            vec![mode("fanout")],
            Duration::from_millis(20) * MAX_TASKS as u32,
        ),
        // About 1 KiB keys (the most a key may have) and payloads: the byte
        // budget ends it, long
        // before the task budget would.
        case(
            "fat-fanout",
            vec![mode("fat-fanout"), ("bytes", "1000".into())],
            Duration::from_millis(20) * MAX_TASKS as u32,
        ),
        // Another name for the same site, so the hanging requests do not
        // share per-host politeness slots with the good plugin.
        case(
            "hang",
            vec![
                mode("hang"),
                ("base_url", base_url.replace("127.0.0.1", "localhost")),
            ],
            deadline_bound(ATTEMPTS),
        ),
        case("panic", vec![mode("panic")], quick),
        case("unreachable", vec![mode("unreachable")], quick),
        case("abort", vec![mode("abort")], quick),
        case(
            "disallowed-name",
            vec![mode("disallowed"), ("base_url", base_url.clone())],
            quick + RETRY_MAX * 10,
        ),
        case(
            "disallowed-port",
            vec![
                mode("disallowed"),
                ("base_url", base_url.clone()),
                // Same machine, another host name: still not in the allow-list.
                (
                    "target",
                    base_url.replace("127.0.0.1", "localhost") + "/ok/disallowed",
                ),
            ],
            quick + RETRY_MAX * 10,
        ),
        case("not-json", vec![mode("not-json")], quick),
        case(
            "stderr-flood",
            vec![mode("stderr-flood"), ("bytes", (1 << 20).to_string())],
            quick,
        ),
        case(
            "escape",
            vec![mode("escape"), ("tcp_addr", tcp_addr.clone())],
            quick,
        ),
        // Documents just under the transfer cap (`MAX_OUTPUT_BYTES`, which a
        // 10 MB one meets first: `html_transfer_cap` below), so the html caps
        // are what stops them.
        case(
            "html-nested",
            vec![
                mode("html-nested"),
                ("bytes", (MAX_OUTPUT_BYTES - 1024).to_string()),
            ],
            quick,
        ),
        case(
            "html-wide",
            vec![
                mode("html-wide"),
                ("bytes", (MAX_OUTPUT_BYTES - 1024).to_string()),
            ],
            quick,
        ),
        case("html-10mb", vec![mode("html-nested")], quick),
        case("html-everything", vec![mode("html-everything")], quick),
        case("html-handles", vec![mode("html-handles")], quick),
        case("html-documents", vec![mode("html-documents")], quick),
    ];

    // Every hostile case at once, on the same host as the good runs.
    let hostile_start = Instant::now();
    let outcomes = futures::future::join_all(cases.iter().map(|c| {
        let (host, plugin) = (host.clone(), plugin.clone());
        async move {
            let start = Instant::now();
            let summary = run(&host, &plugin, &c.config).await;
            (c.name, start.elapsed(), summary)
        }
    }))
    .await;
    let hostile_end = Instant::now();
    stop.store(true, Ordering::SeqCst);
    let good_runs = serving.await.unwrap();

    let mut errors: Vec<String> = Vec::new();
    let mut results: BTreeMap<&str, RunSummary> = BTreeMap::new();
    println!("case              elapsed   bound x{SLACK}  outcome");
    for ((name, elapsed, summary), c) in outcomes.into_iter().zip(&cases) {
        let bound = c.bound.mul_f64(SLACK);
        let outcome = summary
            .fatal
            .clone()
            .or_else(|| {
                summary
                    .tasks_failed
                    .first()
                    .map(|f| format!("{}: {}", f.error_kind, f.error))
            })
            .unwrap_or_else(|| format!("{} task(s) done", summary.tasks_done));
        println!(
            "{name:<17} {:>6.2}s  {:>7.2}s  {outcome:.140}",
            elapsed.as_secs_f64(),
            bound.as_secs_f64()
        );
        if elapsed > bound {
            errors.push(format!(
                "{name}: took {elapsed:?}, over its containment bound {bound:?}"
            ));
        }
        results.insert(name, summary);
    }

    let check = |name: &str, r: Result<(), String>, errors: &mut Vec<String>| {
        if let Err(e) = r {
            errors.push(format!("{name}: {e}"));
        }
    };
    let limit_s = format!("deadline of {}s exceeded", TASK_TIMEOUT.as_secs());
    let memory = format!("memory limit of {MEMORY_MB} MiB exceeded");
    check(
        "loop",
        one_failure(&results["loop"], "deadline", ATTEMPTS, &[&limit_s]),
        &mut errors,
    );
    check(
        "plan-loop",
        match &results["plan-loop"].fatal {
            Some(f)
                if f.contains(&format!(
                    "plan failed: deadline of {}s exceeded",
                    PLAN_TIMEOUT.as_secs()
                )) =>
            {
                Ok(())
            }
            other => Err(format!(
                "expected the plan deadline as the fatal error, got {other:?}"
            )),
        },
        &mut errors,
    );
    check(
        "memory",
        one_failure(&results["memory"], "memory", 1, &[&memory]),
        &mut errors,
    );
    check("stack", stack_overflow(&results["stack"]), &mut errors);
    // Each cap of the `html` capability, named in the plugin's error.
    for (case, key) in [
        ("html-nested", "html.max_depth"),
        ("html-wide", "html.max_nodes"),
        ("html-everything", "html.max_results"),
        ("html-handles", "html.max_elements"),
        ("html-documents", "html.max_documents"),
    ] {
        check(
            case,
            one_failure(&results[case], "other", 1, &[key]),
            &mut errors,
        );
    }
    // 10 MB handed to `parse` in one call: refused while copying, before the
    // host holds it.
    check(
        "html-10mb",
        one_failure(
            &results["html-10mb"],
            "output",
            1,
            &["sandbox.max_output_bytes_per_task"],
        ),
        &mut errors,
    );
    check(
        "deep-stack",
        one_failure(
            &results["deep-stack"],
            "trap",
            1,
            &["wasm trap: call stack exhausted"],
        ),
        &mut errors,
    );
    check(
        "records",
        one_failure(
            &results["records"],
            "output",
            1,
            &[
                &format!("returned {} records", MAX_RECORDS + 1),
                "sandbox.max_records_per_task",
            ],
        ),
        &mut errors,
    );
    check(
        "follow-ups",
        one_failure(
            &results["follow-ups"],
            "output",
            1,
            &[
                &format!("returned {} follow-up tasks", MAX_FOLLOW_UPS + 1),
                "sandbox.max_follow_ups_per_task",
            ],
        ),
        &mut errors,
    );
    let output_cap = format!("{MAX_OUTPUT_BYTES} bytes");
    for name in ["big-record", "alias"] {
        check(
            name,
            one_failure(
                &results[name],
                "output",
                1,
                &[&output_cap, "sandbox.max_output_bytes_per_task"],
            ),
            &mut errors,
        );
    }
    check(
        "fanout",
        {
            let s = &results["fanout"];
            match &s.fatal {
                Some(f)
                    if f.contains(&format!(
                        "task budget of {MAX_TASKS} distinct tasks exhausted"
                    )) && f.contains("run.max_tasks_per_run") =>
                {
                    if s.tasks_done == MAX_TASKS && s.tasks_failed.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "expected exactly the {MAX_TASKS} budgeted tasks to run, got {s:#?}"
                        ))
                    }
                }
                other => Err(format!(
                    "expected the task budget as the fatal error, got {other:?}"
                )),
            }
        },
        &mut errors,
    );
    check(
        "fat-fanout",
        {
            let s = &results["fat-fanout"];
            // Each task is a little under 2 KiB, so about 128 fit.
            let fit = MAX_TASK_BYTES / 2000;
            match &s.fatal {
                Some(f)
                    if f.contains(&format!("task byte budget of {MAX_TASK_BYTES} bytes"))
                        && f.contains("run.max_task_bytes_per_run") =>
                {
                    if s.tasks_done <= fit && s.tasks_done >= fit / 2 && s.tasks_failed.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("expected about {fit} tasks to run, got {s:#?}"))
                    }
                }
                other => Err(format!(
                    "expected the task byte budget as the fatal error, got {other:?}"
                )),
            }
        },
        &mut errors,
    );
    check(
        "hang",
        one_failure(&results["hang"], "deadline", ATTEMPTS, &[&limit_s]),
        &mut errors,
    );
    let hang_requests = hits
        .lock()
        .unwrap()
        .iter()
        .filter(|p| *p == "/hang")
        .count();
    if hang_requests != ATTEMPTS as usize {
        errors.push(format!("hang: the site saw {hang_requests} /hang requests, expected one per attempt ({ATTEMPTS})"));
    }
    check(
        "panic",
        one_failure(
            &results["panic"],
            "trap",
            1,
            &["hostile plugin panicked on purpose in task t0"],
        ),
        &mut errors,
    );
    check(
        "unreachable",
        one_failure(&results["unreachable"], "trap", 1, &["unreachable"]),
        &mut errors,
    );
    check(
        "abort",
        one_failure(&results["abort"], "trap", 1, &["plugin trapped"]),
        &mut errors,
    );
    check(
        "disallowed-name",
        one_failure(
            &results["disallowed-name"],
            "blocked",
            ATTEMPTS,
            &[
                "http://example.invalid/ is not allowed",
                "not in the plugin's allow-list",
            ],
        ),
        &mut errors,
    );
    check(
        "disallowed-port",
        one_failure(
            &results["disallowed-port"],
            "blocked",
            ATTEMPTS,
            &[
                "/ok/disallowed is not allowed",
                "not in the plugin's allow-list",
            ],
        ),
        &mut errors,
    );
    if hits.lock().unwrap().iter().any(|p| p == "/ok/disallowed") {
        errors.push("disallowed-port: the request reached the site".into());
    }

    // Dead letters: the invalid record and the one to an undeclared topic,
    // each with its cause; the valid record of the same task is published.
    let s = &results["not-json"];
    check("not-json", clean(s, 1), &mut errors);
    if s.dead_letters != 2 || s.records_by_topic.get("hostile") != Some(&1) {
        errors.push(format!(
            "not-json: expected 1 record and 2 dead letters, got {s:#?}"
        ));
    }
    let dead: BTreeMap<String, String> = read_topic(host.bus.as_ref(), "crawlhost.dead-letter")
        .await
        .iter()
        .filter(|r| header(r, "crawlhost-run") == Some(s.run_id.as_str()))
        .map(|r| {
            let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            (
                key,
                header(r, "crawlhost-error").unwrap_or_default().to_string(),
            )
        })
        .collect();
    if !dead
        .get("invalid")
        .is_some_and(|e| e.contains("value is not valid JSON"))
        || !dead
            .get("elsewhere")
            .is_some_and(|e| e.contains("topic `undeclared` is not declared"))
        || dead.len() != 2
    {
        errors.push(format!(
            "not-json: dead letters with causes expected, got {dead:?}"
        ));
    }

    check(
        "stderr-flood",
        clean(&results["stderr-flood"], 1),
        &mut errors,
    );

    // The WASI lockdown, seen from inside the guest.
    let escape = &results["escape"];
    check("escape", clean(escape, 1), &mut errors);
    let hostile_records = read_topic(host.bus.as_ref(), "hostile").await;
    match hostile_records
        .iter()
        .find(|r| header(r, "crawlhost-run") == Some(escape.run_id.as_str()))
    {
        None => errors.push("escape: no report record".into()),
        Some(r) => {
            let report: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
            for probe in [
                "file",
                "relative_file",
                "read_dir",
                "write",
                "env_var",
                "tcp",
                "udp",
                "dns",
            ] {
                if report[probe]["ok"] != false || !report[probe]["error"].is_string() {
                    errors.push(format!(
                        "escape: `{probe}` was not refused: {}",
                        report[probe]
                    ));
                }
            }
            if report["env_count"] != 0 || report["args_count"] != 0 {
                errors.push(format!(
                    "escape: the guest sees environment or arguments: {report}"
                ));
            }
            if report["wall_clock_ms"] != escape.started_at_ms
                || report["monotonic_elapsed_ns"] != 0
            {
                errors.push(format!(
                    "escape: the guest's clocks are not frozen at the run start: {report}"
                ));
            }
            println!("escape probes: {report}");
        }
    }
    if tcp_accepts.load(Ordering::SeqCst) != 0 {
        errors.push("escape: the guest's socket reached the listener".into());
    }

    // The good plugin kept serving: every run complete and exact, and some
    // ran from start to end while the hostile cases were running.
    let during = good_runs
        .iter()
        .filter(|(start, end, _)| *start >= hostile_start && *end <= hostile_end)
        .count();
    let slowest = good_runs
        .iter()
        .map(|(s, e, _)| *e - *s)
        .max()
        .unwrap_or_default();
    println!(
        "good runs: {} ({} entirely during the hostile cases, which took {:.2}s); slowest {:.2}s",
        good_runs.len(),
        during,
        (hostile_end - hostile_start).as_secs_f64(),
        slowest.as_secs_f64()
    );
    if during == 0 {
        errors.push("no good run completed while the hostile cases ran".into());
    }
    for (_, _, s) in &good_runs {
        check(
            &format!("good run {}", s.run_id),
            check_good(s),
            &mut errors,
        );
    }
    let mut good_keys: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in &hostile_records {
        if let Some(run_id) = header(r, "crawlhost-run")
            && good_runs.iter().any(|(_, _, s)| s.run_id == run_id)
        {
            let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            if !good_keys.entry(run_id).or_default().insert(key.clone()) {
                errors.push(format!("good run {run_id}: record {key} published twice"));
            }
        }
    }
    let expected: BTreeSet<String> = (0..GOOD_TASKS)
        .flat_map(|i| (0..GOOD_RECORDS).map(move |j| format!("t{i}-r{j}")))
        .collect();
    for (_, _, s) in &good_runs {
        if good_keys.get(s.run_id.as_str()) != Some(&expected) {
            errors.push(format!(
                "good run {}: the bus does not hold exactly its records",
                s.run_id
            ));
        }
    }

    assert!(
        errors.is_empty(),
        "{} problem(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// A plugin that fails run after run becomes unhealthy, with the cause in the
/// reason; one good run brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_make_a_plugin_unhealthy_until_a_good_run() {
    let _cpu = crate::cpu::busy().await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), &extra_config("auto"))).unwrap();
    let plugin = Arc::new(
        host.engine
            .load(&common::wasm("guest_hostile"))
            .await
            .unwrap(),
    );
    let (base_url, _hits) = site().await;
    let policy = HealthPolicy::default();
    let mut health = PluginHealth::new(policy.clone());

    for i in 1..=policy.failed_runs {
        let summary = run(&host, &plugin, &[mode("panic")]).await;
        let transition = health.observe_run(&summary);
        if i < policy.failed_runs {
            assert_eq!(transition, None, "run {i}");
            assert!(health.health().is_healthy());
        } else {
            let Some(Transition::BecameUnhealthy { reason }) = transition else {
                panic!(
                    "run {i} should make the plugin unhealthy: {:?}",
                    health.health()
                );
            };
            assert!(reason.contains("3 runs in a row failed"), "{reason}");
            assert!(
                reason.contains("hostile plugin panicked on purpose"),
                "{reason}"
            );
            println!("unhealthy: {reason}");
        }
    }
    assert!(matches!(health.health(), Health::Unhealthy { .. }));

    let good = run(&host, &plugin, &good_config(&base_url)).await;
    check_good(&good).unwrap();
    assert_eq!(health.observe_run(&good), Some(Transition::Recovered));
    assert!(health.health().is_healthy());
}

/// The same limits hold when instances are allocated on demand (the fallback
/// when the pooling allocator cannot reserve its address space): memory,
/// both stack overflows, a panic and the aliased output, next to a good run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containment_holds_with_on_demand_allocation() {
    let _cpu = crate::cpu::busy().await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), &extra_config("off"))).unwrap();
    assert!(!host.engine.pooling());
    let plugin = Arc::new(
        host.engine
            .load(&common::wasm("guest_hostile"))
            .await
            .unwrap(),
    );
    let (base_url, _hits) = site().await;
    let memory = format!("memory limit of {MEMORY_MB} MiB exceeded");
    let output_cap = format!("{MAX_OUTPUT_BYTES} bytes");
    let alias = [
        mode("alias"),
        ("count", "1000".to_string()),
        ("bytes", (1 << 20).to_string()),
    ];
    let (good, memory_run, stack, deep, panic, alias) = tokio::join!(
        run(&host, &plugin, &good_config(&base_url)),
        run(&host, &plugin, &[mode("memory")]),
        run(&host, &plugin, &[mode("stack")]),
        run(&host, &plugin, &[mode("deep-stack")]),
        run(&host, &plugin, &[mode("panic")]),
        run(&host, &plugin, &alias),
    );
    check_good(&good).unwrap();
    one_failure(&memory_run, "memory", 1, &[&memory]).unwrap();
    stack_overflow(&stack).unwrap();
    one_failure(&deep, "trap", 1, &["wasm trap: call stack exhausted"]).unwrap();
    one_failure(&panic, "trap", 1, &["hostile plugin panicked on purpose"]).unwrap();
    one_failure(&alias, "output", 1, &[&output_cap]).unwrap();
}

/// Issue 15, item 8: `manifest()` runs before the plugin's name is known, so
/// it gets no state at all. A `hostile` component saved as `echo.wasm`
/// (another plugin's name as its file name) must neither read nor overwrite
/// the `echo` plugin's state, nor write state of its own, while loading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_gets_no_state_even_under_another_plugins_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), &extra_config("auto"))).unwrap();
    let state =
        crawlhost::state::StateStore::open(&dir.path().join("data/state.db"), 1 << 20).unwrap();
    state.put("echo", "cursor", b"echo's own cursor").unwrap();
    std::fs::copy(
        common::wasm("guest_hostile"),
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);
    let plugin = &scan.plugins["hostile"];
    assert!(
        !plugin.manifest.description.contains("state seen"),
        "manifest() read state: {}",
        plugin.manifest.description
    );
    assert_eq!(
        state.get("echo", "cursor").unwrap().as_deref(),
        Some(&b"echo's own cursor"[..]),
        "manifest() overwrote another plugin's state"
    );
    assert_eq!(state.get("hostile", "cursor").unwrap(), None);
}

/// Issue 15 (low): a plugin file over `sandbox.max_plugin_file_mb` is
/// refused before it is read and compiled; the others still load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_plugin_file_is_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[sandbox]\nmax_plugin_file_mb = 1\n";
    let host = Host::open(common::settings(dir.path(), extra)).unwrap();
    // A real plugin made bigger than 1 MiB by a custom section (components
    // may carry any number of them), so only its size can refuse it.
    let mut big = std::fs::read(common::wasm("oliveyoung")).unwrap();
    let mut padding = wasm_encoder::Component::new();
    padding.section(&wasm_encoder::CustomSection {
        name: "padding".into(),
        data: vec![0u8; 1 << 20].into(),
    });
    // Drop the new component's 8-byte preamble: only the section is appended.
    big.extend_from_slice(&padding.finish()[8..]);
    assert!(big.len() > 1 << 20);
    std::fs::write(dir.path().join("plugins/oliveyoung.wasm"), &big).unwrap();
    std::fs::copy(
        common::wasm("guest_hostile"),
        dir.path().join("plugins/hostile.wasm"),
    )
    .unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.plugins.contains_key("hostile"), "{:?}", scan.refused);
    assert_eq!(scan.refused.len(), 1, "{:?}", scan.refused);
    let reason = &scan.refused[0].reason;
    assert!(reason.contains("sandbox.max_plugin_file_mb"), "{reason}");
}

/// A plugin may not write the host's own topics, under their configured
/// names either: here the dead-letter topic is renamed to the hostile
/// plugin's output topic, and its run is refused before `plan`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_may_not_write_a_host_topic() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[bus]\ndead_letter_topic = \"hostile\"\n";
    let host = Host::open(common::settings(dir.path(), extra)).unwrap();
    std::fs::copy(
        common::wasm("guest_hostile"),
        dir.path().join("plugins/hostile.wasm"),
    )
    .unwrap();
    let plugin = host.scan_plugins().await.unwrap().plugins["hostile"].clone();
    let summary = run(&host, &plugin, &[mode("good")]).await;
    let fatal = summary.fatal.clone().unwrap_or_default();
    assert!(
        fatal.contains("`hostile`") && fatal.contains("internal") && summary.tasks_done == 0,
        "{summary:#?}"
    );
}
