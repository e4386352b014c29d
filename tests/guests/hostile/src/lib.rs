//! Test guest `hostile`: a crawler that misbehaves on purpose, one behaviour
//! per value of the config key `mode`, so the host's sandbox tests need one
//! build. Whatever the mode, `manifest()` reads the state key `cursor` (into
//! its description) and overwrites it: the host must give it no state at load
//! time. `plan` seeds `tasks` tasks (`t0..`); what each `crawl` does:
//!
//! | `mode` | behaviour | the host must |
//! |---|---|---|
//! | `good` | `records` records per task to `hostile` (after a GET of `{base_url}/ok/<key>` when `fetch` = `true`) | publish them |
//! | `loop` | spins forever | stop it at the task deadline |
//! | `plan-loop` | `plan` spins forever | stop it at the plan deadline |
//! | `memory` | grows a `Vec` by 1 MiB chunks forever | trap it at the memory limit |
//! | `stack` | recurses without end, 512 bytes of locals per frame (overflows the shadow stack in linear memory) | trap it |
//! | `deep-stack` | recurses without end, tiny frames (overflows the wasm call stack) | trap it, the host's own stack untouched |
//! | `records` | returns `count` records | fail it over the record cap |
//! | `follow-ups` | returns `count` follow-up tasks | fail it over the follow-up cap |
//! | `big-record` | returns one record whose value is `bytes` bytes | fail it over the output byte cap |
//! | `alias` | returns `count` records whose values all point at the same `bytes`-byte buffer (a guest in any language can; here it takes `unsafe`) | refuse the copy before it multiplies the buffer |
//! | `fanout` | returns `fanout` new follow-up tasks, forever | stop the run at its task budget |
//! | `fat-fanout` | as `fanout`, but every follow-up's key and payload are padded to `bytes` bytes each | stop the run at its task byte budget |
//! | `hang` | GETs `{base_url}/hang`, which never answers | stop it at the task deadline |
//! | `panic` | panics | report the panic message |
//! | `unreachable` | executes `unreachable` | report the trap |
//! | `abort` | calls `std::process::abort` | report the trap |
//! | `disallowed` | GETs `target`, a host not in the manifest | refuse it as `blocked` |
//! | `not-json` | one record whose value is not JSON, one to an undeclared topic, one good | dead-letter the two |
//! | `stderr-flood` | writes `bytes` bytes to stderr, then one record | keep the task working |
//! | `escape` | tries files, environment, arguments, sockets, DNS and clocks; reports what it got as one record | give it errors, not data |
//! | `html-nested` | asks the `html` capability to parse `bytes` (default 10 MB) of nested `<div>`s | refuse it at `html.max_depth`, quickly (or at the transfer cap, if `bytes` is over it) |
//! | `html-wide` | parses `bytes` (default 10 MB) of flat `<p>`s (2.6 million nodes) | refuse it at `html.max_nodes` |
//! | `html-everything` | selects `*` on 40,000 elements | refuse it at `html.max_results` |
//! | `html-handles` | keeps selecting until it holds 100,000 element handles | refuse it at `html.max_elements` |
//! | `html-documents` | keeps 1,000 parsed documents | refuse it at `html.max_documents` |

use std::hint::black_box;

use crawlhost_sdk::{
    ConfigKey, CrawlError, CrawlOutput, CrawlResult, Manifest, OutRecord, PlanInput, Plugin, Run,
    Task, html, http, out,
};
use serde_json::{Value, json};

struct Hostile;

fn key(name: &str, description: &str, default: &str) -> ConfigKey {
    ConfigKey {
        name: name.into(),
        description: description.into(),
        default_value: Some(default.into()),
        required: false,
    }
}

/// Burn CPU without end and without host calls.
fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

/// Recursion with an addressable local in every frame, so both the shadow
/// stack (in linear memory) and the wasm call stack grow.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    frame[(depth % 512) as usize] = depth as u8;
    black_box(&mut frame);
    recurse(black_box(depth + 1)) + frame[0] as u64
}

/// Recursion with tiny frames, so the wasm call stack runs out before the
/// shadow stack does.
#[inline(never)]
#[allow(unconditional_recursion)]
fn deep(n: u64) -> u64 {
    deep(n.wrapping_add(1)).wrapping_mul(3) ^ n
}

fn probe<T, E: std::fmt::Display>(r: Result<T, E>, show: impl FnOnce(T) -> String) -> Value {
    match r {
        Ok(v) => {
            let mut data = show(v);
            data.truncate(200);
            json!({ "ok": true, "data": data })
        }
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    }
}

/// Everything a plugin might try to reach outside the contract.
fn escape(run: &Run) -> Value {
    use std::io::Read;
    let tcp_addr = run.config("tcp_addr").unwrap_or("127.0.0.1:9").to_string();
    let started = std::time::Instant::now();
    let mut x = 0u64;
    for i in 0..2_000_000u64 {
        x = black_box(x ^ i);
    }
    json!({
        "file": probe(std::fs::read("/etc/passwd"), |b| String::from_utf8_lossy(&b).into_owned()),
        "relative_file": probe(std::fs::read("Cargo.toml"), |b| String::from_utf8_lossy(&b).into_owned()),
        "read_dir": probe(std::fs::read_dir("/"), |d| format!("{} entries", d.count())),
        "write": probe(std::fs::write("/tmp/crawlhost-hostile-escape", b"x"), |_| "written".to_string()),
        "env_var": probe(std::env::var("HOME"), |v| v),
        "env_count": std::env::vars_os().count(),
        "args_count": std::env::args_os().count(),
        "tcp": probe(std::net::TcpStream::connect(tcp_addr.as_str()), |mut s| {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            format!("connected, read {} bytes", buf.len())
        }),
        "udp": probe(std::net::UdpSocket::bind("0.0.0.0:0"), |s| format!("bound {:?}", s.local_addr())),
        "dns": probe(std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80)), |a| format!("{:?}", a.collect::<Vec<_>>())),
        "wall_clock_ms": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(-1),
        "monotonic_elapsed_ns": started.elapsed().as_nanos() as u64,
        "spin": x,
    })
}

fn good_records(run: &Run, task: &Task) -> CrawlResult<Vec<OutRecord>> {
    let mut status = Value::Null;
    if run.config("fetch") == Some("true") {
        let base = run.require("base_url")?.trim_end_matches('/');
        let resp = http::get(&format!("{base}/ok/{}", task.key))?.send_ok()?;
        status = json!(resp.status());
    }
    (0..run.config_u64("records", 3)?)
        .map(|j| {
            out::record(
                "hostile",
                format!("{}-r{j}", task.key),
                &json!({ "task": task.key, "record": j, "run": run.id(), "status": status }),
            )
        })
        .collect()
}

fn raw_record(topic: &str, key: &str, value: String) -> OutRecord {
    OutRecord {
        topic: topic.into(),
        key: Some(key.into()),
        value,
        timestamp_ms: None,
    }
}

impl Plugin for Hostile {
    fn manifest() -> Manifest {
        // Whatever the file is named, `manifest()` tries the state of that
        // name: it reads `cursor` into its description and overwrites it
        // (the host must give it no state at load time).
        let mut description = "Test guest: misbehaves on purpose, as chosen by `mode`".to_string();
        if let Some(seen) = crawlhost_sdk::state::get("cursor") {
            description.push_str(&format!(
                " [state seen in manifest(): {}]",
                String::from_utf8_lossy(&seen)
            ));
        }
        let _ = crawlhost_sdk::state::put("cursor", b"overwritten in manifest()");
        Manifest {
            name: "hostile".into(),
            version: "0.1.0".into(),
            description,
            schedule: None,
            topics: vec!["hostile".into()],
            hosts: vec!["{base_url}".into()],
            config: vec![
                key("mode", "the behaviour (see the crate docs)", "good"),
                key("tasks", "seed tasks of a run", "1"),
                key("records", "records per task in `good` mode", "3"),
                key(
                    "fetch",
                    "`true`: `good` tasks GET {base_url}/ok/<key> first",
                    "false",
                ),
                key(
                    "count",
                    "records or follow-ups returned by `records` / `follow-ups`",
                    "100000",
                ),
                key(
                    "bytes",
                    "value size of `big-record`, stderr bytes of `stderr-flood`",
                    "8388608",
                ),
                key("fanout", "new follow-ups per task in `fanout` mode", "3"),
                key(
                    "base_url",
                    "the allowed site (`hang` and `good` fetch from it)",
                    "http://hostile.invalid",
                ),
                key(
                    "target",
                    "the URL `disallowed` tries",
                    "http://example.invalid/",
                ),
                key(
                    "tcp_addr",
                    "the address `escape` tries to connect to",
                    "127.0.0.1:9",
                ),
            ],
            triggers: vec![],
        }
    }

    fn plan(run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        if run.config("mode") == Some("plan-loop") {
            spin();
        }
        (0..run.config_u64("tasks", 1)?)
            .map(|i| out::task("seed", format!("t{i}"), &json!({ "index": i })))
            .collect()
    }

    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let mode = run.config("mode").unwrap_or("good");
        let mut output = CrawlOutput::empty();
        match mode {
            "good" => output.records = good_records(run, &task)?,
            "loop" => spin(),
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    black_box(&hoard);
                }
            }
            "stack" => {
                black_box(recurse(0));
            }
            "deep-stack" => {
                black_box(deep(black_box(0)));
            }
            "records" => {
                for j in 0..run.config_u64("count", 100_000)? {
                    output
                        .records
                        .push(raw_record("hostile", &format!("r{j}"), "{}".into()));
                }
            }
            "follow-ups" => {
                for j in 0..run.config_u64("count", 100_000)? {
                    output
                        .tasks
                        .push(out::task("child", format!("f{j}"), &json!({}))?);
                }
            }
            "big-record" => {
                let n = run.config_u64("bytes", 8 << 20)? as usize;
                let value = format!("\"{}\"", "x".repeat(n.saturating_sub(2)));
                output.records.push(raw_record("hostile", "big", value));
            }
            "alias" => {
                let n = run.config_u64("bytes", 8 << 20)? as usize;
                let buffer =
                    std::mem::ManuallyDrop::new(format!("\"{}\"", "x".repeat(n.saturating_sub(2))));
                for j in 0..run.config_u64("count", 100_000)? {
                    // SAFETY: none, on purpose: every record aliases the one
                    // leaked buffer, as a hostile guest written in C could. The
                    // host must refuse the copy before it frees anything.
                    let value = unsafe {
                        String::from_raw_parts(
                            buffer.as_ptr() as *mut u8,
                            buffer.len(),
                            buffer.capacity(),
                        )
                    };
                    output
                        .records
                        .push(raw_record("hostile", &format!("a{j}"), value));
                }
            }
            "fanout" => {
                let index = out::payload::<Value>(&task)?["index"].as_u64().unwrap_or(0);
                let fanout = run.config_u64("fanout", 3)?;
                for i in 0..fanout {
                    let child = index * fanout + i + 1_000_000;
                    output.tasks.push(out::task(
                        "seed",
                        format!("n{child}"),
                        &json!({ "index": child }),
                    )?);
                }
            }
            "fat-fanout" => {
                let index = out::payload::<Value>(&task)?["index"].as_u64().unwrap_or(0);
                let fanout = run.config_u64("fanout", 3)?;
                let pad = "x".repeat(run.config_u64("bytes", 1024)? as usize);
                for i in 0..fanout {
                    let child = index * fanout + i + 1_000_000;
                    output.tasks.push(out::task(
                        "seed",
                        format!("n{child}-{pad}"),
                        &json!({ "index": child, "pad": pad }),
                    )?);
                }
            }
            "hang" => {
                let base = run.require("base_url")?.trim_end_matches('/');
                http::get(&format!("{base}/hang"))?.send()?;
                return Err(CrawlError::Other("the hanging server answered".into()));
            }
            "panic" => panic!("hostile plugin panicked on purpose in task {}", task.key),
            "unreachable" => {
                #[cfg(target_arch = "wasm32")]
                core::arch::wasm32::unreachable();
                #[cfg(not(target_arch = "wasm32"))]
                unreachable!("the `unreachable` mode traps only on wasm32");
            }
            "abort" => std::process::abort(),
            "disallowed" => {
                http::get(run.require("target")?)?.send()?;
                return Err(CrawlError::Other("the disallowed host answered".into()));
            }
            "not-json" => {
                output.records = vec![
                    raw_record("hostile", "valid", "{\"ok\":true}".into()),
                    raw_record("hostile", "invalid", "this is {not json".into()),
                    raw_record("undeclared", "elsewhere", "{\"ok\":true}".into()),
                ];
            }
            "stderr-flood" => {
                let n = run.config_u64("bytes", 1 << 20)? as usize;
                let line = "x".repeat(1023);
                for _ in 0..n / 1024 {
                    eprintln!("{line}");
                }
                output
                    .records
                    .push(raw_record("hostile", "after-flood", "{\"ok\":true}".into()));
            }
            "escape" => {
                let report = escape(run);
                output
                    .records
                    .push(out::record("hostile", "escape", &report)?);
            }
            // The `html` capability's caps, each hit on purpose.
            "html-nested" => {
                // `bytes` (default 10 MB) of nested elements: quadratic for
                // the tree builder.
                let page = "<div>".repeat(run.config_u64("bytes", 10 << 20)? as usize / 5);
                html::Document::parse(&page).select("div")?;
                return Err(CrawlError::Other("the nested document parsed".into()));
            }
            "html-wide" => {
                // `bytes` (default 10 MB) of flat elements: 2.6 million nodes.
                let page = "<p>x</p>".repeat(run.config_u64("bytes", 10 << 20)? as usize / 8);
                html::Document::parse(&page).select("p")?;
                return Err(CrawlError::Other("the wide document parsed".into()));
            }
            "html-everything" => {
                let page = "<p>x</p>".repeat(20_000);
                html::Document::parse(&page).select("*")?;
                return Err(CrawlError::Other("`*` returned every element".into()));
            }
            "html-handles" => {
                let doc = html::Document::parse(&"<p>x</p>".repeat(2_000));
                let mut held = Vec::new();
                while held.len() < 100_000 {
                    held.extend(doc.select("p")?);
                }
                return Err(CrawlError::Other(format!("holding {} handles", held.len())));
            }
            "html-documents" => {
                let mut held = Vec::new();
                for _ in 0..1_000 {
                    let doc = html::Document::parse("<p>x</p>");
                    doc.select("p")?;
                    held.push(doc);
                }
                return Err(CrawlError::Other("holding 1000 documents".into()));
            }
            other => return Err(CrawlError::Other(format!("unknown mode `{other}`"))),
        }
        Ok(output)
    }
}

crawlhost_sdk::export_plugin!(Hostile);
