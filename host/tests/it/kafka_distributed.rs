//! Two `crawlhost` processes share one run through Kafka: a worker
//! (`crawlhost worker`) and a coordinator (`crawlhost run --once
//! --distributed`). Both do tasks; the worker is SIGKILLed while it holds
//! tasks, and still every task is done and the record set is exactly the
//! expected one. A third host asking for the same claim key runs nothing.

use crate::common;
use crate::kafka_support;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kafka_support::{Gate, GateRule, Tansu, install_echo, read_topic, wait_for};

const SEEDS: usize = 30;
const CHILDREN: usize = 4;
const PER_TASK: usize = 2;
/// Tasks the worker may finish before the gate starts holding its requests.
const WORKER_DONE_BEFORE_KILL: usize = 3;

fn write_config(dir: &Path, name: &str, brokers: &str, gate: &str) -> std::path::PathBuf {
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\nuser_agent = \"{name}\"\n\
         [http.politeness]\nrequests_per_second = 1000.0\nburst = 1000\nconcurrency = 64\n\
         [http.robots]\nobey = false\n\
         [run]\nconcurrency = 2\nretry_base_ms = 50\nretry_max_ms = 500\n\
         [kafka]\nbootstrap_servers = \"{brokers}\"\nsession_timeout_ms = 6000\ndelivery_timeout_ms = 5000\nresult_timeout_secs = 25\n\
         [plugins.echo]\nconfig = {{ tasks = \"{SEEDS}\", children = \"{CHILDREN}\", records_per_task = \"{PER_TASK}\", fetch = \"true\", base_url = \"{gate}\", skipped = \"2\" }}\n",
        plugins = dir.join("plugins").display(),
        data = dir.join(format!("data-{name}")).display(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &Path, log: &Path, args: &[&str]) -> Child {
    let stderr = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .arg("--config")
        .arg(config)
        .args(["--log", "crawlhost=info"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// The record keys the echo plugin's run writes: every seed and child
/// task, `PER_TASK` records each.
fn expected_keys() -> BTreeSet<String> {
    (0..SEEDS)
        .map(|i| format!("t{i}"))
        .chain((0..CHILDREN).map(|c| format!("c{c}")))
        .flat_map(|t| (0..PER_TASK).map(move |j| format!("{t}-r{j}")))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hosts_split_a_run_and_survive_one_being_killed() {
    let _cpu = crate::cpu::busy().await;
    let tansu = Arc::new(tokio::task::spawn_blocking(Tansu::start).await.unwrap());
    tansu.create_topic("echo", 3).await;
    // The worker ("host-b") gets a few tasks through, then its requests
    // are held, so it is killed while it owns unfinished tasks. The
    // coordinator ("host-a") waits until the group is split.
    let worker_joined = Arc::new(AtomicBool::new(false));
    let joined = worker_joined.clone();
    let gate = Gate::start(move |agent, _, served| match agent {
        "host-a" if !joined.load(Ordering::SeqCst) => GateRule::Hold,
        "host-b" if served >= WORKER_DONE_BEFORE_KILL => GateRule::Hold,
        _ => GateRule::Pass,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    install_echo(&dir.path().join("plugins"));
    let brokers = tansu.brokers();
    let config_a = write_config(dir.path(), "host-a", &brokers, &gate.base_url);
    let config_b = write_config(dir.path(), "host-b", &brokers, &gate.base_url);
    let config_c = write_config(dir.path(), "host-c", &brokers, &gate.base_url);
    let (log_a, log_b, log_c) = (
        dir.path().join("a.log"),
        dir.path().join("b.log"),
        dir.path().join("c.log"),
    );

    // The worker joins first and owns every partition; the coordinator's
    // joining splits them. The coordinator's fetches wait until it has been
    // assigned its share, so it cannot finish the run alone first.
    let mut worker = spawn(&config_b, &log_b, &["worker"]);
    wait_for(
        "the worker to be assigned task partitions",
        Duration::from_secs(60),
        || read(&log_b).contains("Worker assigned task partitions"),
    )
    .await;
    let mut coordinator = spawn(
        &config_a,
        &log_a,
        &[
            "run",
            "--once",
            "--distributed",
            "--claim",
            "echo@tick-1",
            "--plugin",
            "echo",
            "--json",
            "--quiet",
        ],
    );
    wait_for(
        "the coordinator to join the task group",
        Duration::from_secs(60),
        || read(&log_a).contains("Worker assigned task partitions"),
    )
    .await;
    worker_joined.store(true, Ordering::SeqCst);

    let deadline = Instant::now() + Duration::from_secs(90);
    while !(gate.served_by("host-b").len() >= WORKER_DONE_BEFORE_KILL && gate.held_by("host-b") > 0)
    {
        assert!(
            Instant::now() < deadline,
            "the worker never held tasks; served a={:?} b={:?}\nA:\n{}\nB:\n{}",
            gate.served_by("host-a"),
            gate.served_by("host-b"),
            read(&log_a),
            read(&log_b)
        );
        assert!(
            coordinator.try_wait().unwrap().is_none(),
            "coordinator exited early:\n{}",
            read(&log_a)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SIGKILL: no goodbye to the group, no commit of what it holds.
    eprintln!("killing the worker at {:?}", std::time::SystemTime::now());
    worker.kill().unwrap();
    worker.wait().unwrap();
    gate.release();

    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = coordinator.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish after the worker died:\nA:\n{}\nB:\n{}\nbroker:\n{}",
            read(&log_a),
            read(&log_b),
            tansu
                .log()
                .lines()
                .filter(|l| !l.contains("DEBUG"))
                .take(200)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut out = String::new();
    coordinator
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        status.success(),
        "exit {status}\n{out}\nA:\n{}",
        read(&log_a)
    );
    let summaries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let summary = &summaries[0];
    let tasks = SEEDS + CHILDREN;
    assert_eq!(summary["tasks_done"], tasks as u64, "{summary:#}");
    assert_eq!(
        summary["tasks_failed"].as_array().unwrap().len(),
        0,
        "{summary:#}"
    );
    assert_eq!(summary["records"], (tasks * PER_TASK) as u64);
    // Coverage and skipped items come back with each task's outcome from
    // whichever host ran it, once per task.
    let coverage = &summary["coverage"]["topics"]["echo"];
    assert_eq!(
        coverage["records"],
        (tasks * PER_TASK) as u64,
        "{summary:#}"
    );
    assert_eq!(
        coverage["fields"]["task"]["filled"],
        (tasks * PER_TASK) as u64
    );
    assert_eq!(coverage["skipped"]["id"], (2 * tasks) as u64, "{summary:#}");
    assert_eq!(summary["drift_check"]["status"], "baseline_set");
    // Follow-ups from 30 parents collapse to 4 tasks: dedup is the
    // coordinator's, whichever host ran the parent.
    assert_eq!(
        summary["duplicate_tasks"],
        (SEEDS * CHILDREN - CHILDREN) as u64
    );
    let run_id = summary["run_id"].as_str().unwrap().to_string();

    // Both hosts did tasks.
    let by_a = gate.served_by("host-a").len();
    let by_b = gate.served_by("host-b").len();
    assert!(
        by_a > 0 && by_b >= WORKER_DONE_BEFORE_KILL,
        "a={by_a} b={by_b}"
    );
    eprintln!("tasks fetched: coordinator {by_a}, killed worker {by_b}");

    let read_back = tokio::task::spawn_blocking({
        let b = brokers.clone();
        move || read_topic(&b, "echo")
    })
    .await
    .unwrap();
    let keys: BTreeSet<String> = read_back.iter().map(|r| r.key.clone().unwrap()).collect();
    let expected = expected_keys();
    assert_eq!(
        keys, expected,
        "the record set differs from the expected one"
    );
    for r in &read_back {
        assert_eq!(r.headers["crawlhost-run"], run_id);
    }
    eprintln!(
        "records on the topic: {} for {} expected",
        read_back.len(),
        expected.len()
    );
    // At-least-once: duplicates only from tasks the killed worker finished
    // but could not commit, and from attempts the coordinator dispatched
    // again after a result timeout (counted as retries).
    let retries = summary["retries"].as_u64().unwrap() as usize;
    eprintln!("coordinator retries (result timeouts): {retries}");
    assert!(
        read_back.len() <= expected.len() + PER_TASK * (WORKER_DONE_BEFORE_KILL + retries),
        "{} records for {} expected ({retries} retries)",
        read_back.len(),
        expected.len()
    );

    // The same claim key on another host: already claimed, nothing runs.
    let mut third = spawn(
        &config_c,
        &log_c,
        &[
            "run",
            "--once",
            "--distributed",
            "--claim",
            "echo@tick-1",
            "--plugin",
            "echo",
            "--json",
        ],
    );
    let status = tokio::task::spawn_blocking(move || third.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{}", read(&log_c));
    assert!(read(&log_c).contains("already claimed"), "{}", read(&log_c));
    let after = tokio::task::spawn_blocking(move || read_topic(&brokers, "echo"))
        .await
        .unwrap();
    assert_eq!(
        after.len(),
        read_back.len(),
        "the losing claimant must not crawl"
    );
}

/// Issue 15, item 6: a worker runs a task under its own operator's plugin
/// config, never the one in the task message. Anyone who can write the tasks
/// topic could otherwise point `{base_url}` (an allow-list entry) anywhere.
/// A forged message whose config differs from the worker's is refused, and
/// nothing is fetched from the forged `base_url`; a message carrying the
/// worker's own config runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_refuses_a_task_message_with_a_forged_config() {
    use crawlhost::distributed::{
        ResultMessage, TaskMessage, ensure_topics, kafka_settings, run_worker,
    };
    use crawlhost::run::{TaskOutcome, TaskSpec};

    let tansu = Arc::new(tokio::task::spawn_blocking(Tansu::start).await.unwrap());
    tansu.create_topic("echo", 1).await;
    let site = Gate::start(|_, _, _| GateRule::Pass).await;
    let attacker = Gate::start(|_, _, _| GateRule::Pass).await;
    let dir = tempfile::tempdir().unwrap();
    let brokers = tansu.brokers();
    let settings = common::settings(
        dir.path(),
        &format!(
            "[kafka]\nbootstrap_servers = \"{brokers}\"\nsession_timeout_ms = 6000\n\
             [plugins.echo]\nconfig = {{ fetch = \"true\", base_url = \"{}\" }}\n",
            site.base_url
        ),
    );
    install_echo(&settings.plugins_dir);
    let host = crawlhost::host::Host::open(settings).unwrap();
    let plugins = host.scan_plugins().await.unwrap().plugins;
    let echo = plugins["echo"].clone();
    let own: Vec<(String, String)> =
        crawlhost::manifest::effective_config(&echo.manifest, &host.settings.plugin_values("echo"))
            .unwrap()
            .into_iter()
            .collect();
    let mut forged_config = own.clone();
    for (k, v) in &mut forged_config {
        if k == "base_url" {
            *v = attacker.base_url.clone();
        }
    }
    let ctx = host.run_context();
    let kafka = kafka_settings(&ctx).unwrap();
    ensure_topics(host.bus.as_ref(), &kafka).await.unwrap();
    let message = |attempt: &str, config: Vec<(String, String)>| TaskMessage {
        attempt_id: attempt.into(),
        coordinator: "forger".into(),
        plugin: "echo".into(),
        plugin_version: echo.manifest.version.clone(),
        run_id: "forged-run".into(),
        started_at_ms: 1_700_000_000_000,
        config,
        task: TaskSpec {
            key: format!("t-{attempt}"),
            kind: "seed".into(),
            payload: "{\"index\":0}".into(),
            phase: 0,
        },
        expires_at_ms: None,
    };
    let records = [("forged", forged_config), ("honest", own)]
        .into_iter()
        .map(|(attempt, config)| crawlhost::bus::ProduceRecord {
            topic: kafka.tasks_topic.clone(),
            key: Some(attempt.as_bytes().to_vec()),
            value: serde_json::to_vec(&message(attempt, config)).unwrap(),
            headers: vec![],
            timestamp_ms: 1_700_000_000_000,
        })
        .collect();
    host.bus.produce(records).await.unwrap();
    host.bus.flush().await.unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(ctx, plugins, "worker-1".into(), stopped));
    let results_topic = kafka.results_topic.clone();
    let mut outcomes = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while outcomes.len() < 2 {
        assert!(Instant::now() < deadline, "no outcomes: {outcomes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (b, t) = (brokers.clone(), results_topic.clone());
        for r in tokio::task::spawn_blocking(move || read_topic(&b, &t))
            .await
            .unwrap()
        {
            let m: ResultMessage = serde_json::from_str(&r.value).unwrap();
            outcomes.insert(m.attempt_id.clone(), m.outcome);
        }
    }
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();

    assert!(
        matches!(&outcomes["honest"], TaskOutcome::Done { .. }),
        "{outcomes:?}"
    );
    match &outcomes["forged"] {
        TaskOutcome::Failed { retry, error, .. } => {
            assert_eq!(retry, "permanent");
            assert!(error.contains("config"), "{error}");
        }
        other => panic!("the forged task ran: {other:?}"),
    }
    assert_eq!(
        attacker.served(),
        0,
        "the worker fetched the forged base_url"
    );
    // The honest task's page (and robots.txt) came from the operator's site.
    assert!(site.served() >= 1);
}

/// Issue 20: the coordinator of a `--distributed --claim` run is SIGKILLed
/// mid-run. The host that lost the claim stood by on the replicated run
/// journal; it takes the run over (same run id), finishes it with a worker,
/// and the topic holds exactly the expected record set (duplicates only
/// from tasks in flight at the failure).
#[tokio::test(flavor = "multi_thread")]
async fn a_standby_host_takes_the_run_over_when_the_coordinator_is_killed() {
    let _cpu = crate::cpu::busy().await;
    let tansu = Arc::new(tokio::task::spawn_blocking(Tansu::start).await.unwrap());
    tansu.create_topic("echo", 3).await;
    // The worker ("host-w") gets some tasks through and then waits, so the
    // run is mid-way when the coordinator ("host-a") dies; the coordinator's
    // own worker never finishes a task (its tasks are in flight at the kill).
    const DONE_BEFORE_KILL: usize = 12;
    let gate = Gate::start(|agent, _, served| match agent {
        "host-a" => GateRule::Hold,
        "host-w" if served >= DONE_BEFORE_KILL => GateRule::Hold,
        _ => GateRule::Pass,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    install_echo(&dir.path().join("plugins"));
    let brokers = tansu.brokers();
    let config = |name| write_config(dir.path(), name, &brokers, &gate.base_url);
    let (config_a, config_b, config_w) = (config("host-a"), config("host-b"), config("host-w"));
    let (log_a, log_b, log_w) = (
        dir.path().join("a.log"),
        dir.path().join("b.log"),
        dir.path().join("w.log"),
    );
    let run_args = [
        "run",
        "--once",
        "--distributed",
        "--claim",
        "echo@failover",
        "--plugin",
        "echo",
        "--json",
        "--quiet",
    ];
    let mut worker = spawn(&config_w, &log_w, &["worker"]);
    wait_for(
        "the worker to be assigned task partitions",
        Duration::from_secs(60),
        || read(&log_w).contains("Worker assigned task partitions"),
    )
    .await;
    let mut a = spawn(&config_a, &log_a, &run_args);
    wait_for("host-a to claim the run", Duration::from_secs(60), || {
        read(&log_a).contains("claimed `echo@failover` for this host")
    })
    .await;
    let mut b = spawn(&config_b, &log_b, &run_args);
    wait_for("host-b to stand by", Duration::from_secs(60), || {
        read(&log_b).contains("standing by to take the run over")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while !(gate.served_by("host-w").len() >= DONE_BEFORE_KILL && gate.held_by("host-w") > 0) {
        assert!(
            Instant::now() < deadline,
            "the run never got mid-way; served w={:?}\nA:\n{}\nW:\n{}",
            gate.served_by("host-w"),
            read(&log_a),
            read(&log_w)
        );
        assert!(
            a.try_wait().unwrap().is_none(),
            "host-a exited early:\n{}",
            read(&log_a)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "killing the coordinator at {:?}",
        std::time::SystemTime::now()
    );
    let killed_at = Instant::now();
    a.kill().unwrap();
    a.wait().unwrap();
    gate.release();

    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = b.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "host-b did not finish the run:\nB:\n{}\nW:\n{}",
            read(&log_b),
            read(&log_w)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = killed_at.elapsed();
    let mut out = String::new();
    b.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(
        status.success(),
        "exit {status}\n{out}\nB:\n{}",
        read(&log_b)
    );
    assert!(read(&log_b).contains("taking run"), "{}", read(&log_b));
    let summaries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let summary = &summaries[0];
    assert_eq!(summary["resumed"], true, "{summary:#}");
    assert_eq!(
        summary["tasks_failed"].as_array().unwrap().len(),
        0,
        "{summary:#}"
    );
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let tasks = SEEDS + CHILDREN;
    assert_eq!(summary["tasks_done"], tasks as u64, "{summary:#}");

    let read_back = tokio::task::spawn_blocking({
        let b = brokers.clone();
        move || read_topic(&b, "echo")
    })
    .await
    .unwrap();
    let keys: BTreeSet<String> = read_back.iter().map(|r| r.key.clone().unwrap()).collect();
    let expected = expected_keys();
    assert_eq!(
        keys, expected,
        "the record set differs from the expected one"
    );
    for r in &read_back {
        assert_eq!(r.headers["crawlhost-run"], run_id, "one run, continued");
    }
    let mut per_task: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &read_back {
        let key = r.key.clone().unwrap();
        let task = key
            .rsplit_once("-r")
            .map(|(t, _)| t.to_string())
            .unwrap_or(key);
        *per_task.entry(task).or_default() += 1;
    }
    let twice: Vec<(&String, usize)> = per_task
        .iter()
        .filter(|(_, n)| **n > PER_TASK)
        .map(|(t, n)| (t, n / PER_TASK))
        .collect();
    eprintln!("tasks whose records were published more than once (times): {twice:?}");
    // Tasks that ran again: those the replicated journal did not have as
    // done at the takeover (the dead coordinator's attempts in flight, and
    // completions it had not replicated yet), plus tasks the worker had
    // finished but not committed when the takeover's rebalance moved its
    // partitions (at most its buffer and slots: concurrency 2 x 4 + 2).
    let taken = read(&log_b);
    let done_at_takeover: usize = taken
        .lines()
        .find(|l| l.contains("taking run"))
        .and_then(|l| l.split(" over: ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no takeover line in\n{taken}"));
    let tasks_total = SEEDS + CHILDREN;
    let worker_uncommitted = 2 * 4 + 2;
    assert!(
        twice.len() <= tasks_total - done_at_takeover + worker_uncommitted,
        "{} tasks ran more than once; {} were not done at the takeover",
        twice.len(),
        tasks_total - done_at_takeover
    );
    assert!(twice.iter().all(|(_, n)| *n <= 3), "{twice:?}");
    eprintln!(
        "B: {}",
        read(&log_b)
            .lines()
            .filter(|l| l.contains("taking run"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "coordinator killed after {} worker fetches; host-b took over and finished {:.0} s later; \
         {} records on the topic for {} expected",
        DONE_BEFORE_KILL,
        took.as_secs_f64(),
        read_back.len(),
        expected.len()
    );
    let _ = worker.kill();
    let _ = worker.wait();
}
