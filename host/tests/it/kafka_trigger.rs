//! Topic triggers against a real broker: records on `oliveyoung` cause one
//! `plan` (one run) per record in the triggered `echo` plugin, positions are
//! committed to the plugin's own group once the runs are done, and a second
//! pass re-plans nothing but the records added since; a trigger topic that
//! ends in a transaction marker is read to its end like any other. A pass's
//! runs add up to one coverage, compared with the plugin's baseline.

use crate::common;
use crate::kafka_support;

use std::collections::BTreeSet;
use std::time::Duration;

use crawlhost::bus::ProduceRecord;
use crawlhost::coverage::DriftCheck;
use crawlhost::host::Host;
use crawlhost::trigger::{Until, consume, trigger_group};
use kafka_support::{Tansu, append_commit_marker, install_echo, kafka_section, read_topic};

/// The operator's grant for `echo` to trigger on `oliveyoung`.
const ALLOW_ECHO: &str = "[plugins.echo]\nallow_triggers = [\"oliveyoung\"]\n";

fn brand(code: &str) -> ProduceRecord {
    ProduceRecord {
        topic: "oliveyoung".into(),
        key: Some(code.as_bytes().to_vec()),
        value: serde_json::json!({ "brand_code": code, "name": format!("Brand {code}") })
            .to_string()
            .into_bytes(),
        headers: vec![("crawlhost-plugin".into(), b"oliveyoung".to_vec())],
        timestamp_ms: 1_700_000_000_000,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_plan_per_trigger_record_committed_after_the_run() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        dir.path(),
        &format!(
            "{}{ALLOW_ECHO}",
            kafka_section(&tansu.brokers(), "partitions = 2")
        ),
    );
    install_echo(&settings.plugins_dir);
    let host = Host::open(settings).unwrap();
    let scan = host.scan_plugins().await.unwrap();
    let echo = scan.plugins["echo"].clone();
    assert_eq!(echo.manifest.triggers, vec!["oliveyoung".to_string()]);

    let brands: Vec<String> = (0..7).map(|i| format!("A{i:03}")).collect();
    host.bus
        .produce(brands.iter().map(|b| brand(b)).collect())
        .await
        .unwrap();

    let report = consume(host.run_context(), echo.clone(), 3, Until::CaughtUp)
        .await
        .unwrap();
    assert_eq!(report.records, 7, "{report:#?}");
    assert_eq!(report.runs, 7);
    assert_eq!(report.dead_letters, 0);
    for s in &report.summaries {
        assert!(s.is_clean(), "{s:#?}");
        assert_eq!(s.tasks_done, 1);
        assert_eq!(s.records, 1);
        assert!(matches!(s.drift_check, DriftCheck::Skipped { .. }));
    }
    // The pass's coverage: all its runs together, the first baseline.
    let echo_cov = &report.coverage.topics["echo"];
    assert_eq!(echo_cov.records, 7);
    assert_eq!(echo_cov.fields["trigger_value"].filled, 7);
    assert_eq!(report.drift_check, DriftCheck::BaselineSet);
    host.bus.flush().await.unwrap();

    let brokers = tansu.brokers();
    let read = tokio::task::spawn_blocking({
        let b = brokers.clone();
        move || read_topic(&b, "echo")
    })
    .await
    .unwrap();
    assert_eq!(read.len(), 7, "{read:#?}");
    let keys: BTreeSet<String> = read.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, brands.iter().cloned().collect());
    let runs: BTreeSet<&str> = read
        .iter()
        .map(|r| r.headers["crawlhost-run"].as_str())
        .collect();
    assert_eq!(runs.len(), 7, "one run (one plan) per trigger record");
    let sources = tokio::task::spawn_blocking({
        let b = brokers.clone();
        move || read_topic(&b, "oliveyoung")
    })
    .await
    .unwrap();
    for r in &read {
        let v: serde_json::Value = serde_json::from_str(&r.value).unwrap();
        let src = sources
            .iter()
            .find(|s| s.key == r.key)
            .expect("each echo record names its trigger");
        assert_eq!(v["trigger_topic"], "oliveyoung");
        assert_eq!(v["trigger_partition"], src.partition);
        assert_eq!(v["trigger_offset"], src.offset);
        assert_eq!(v["trigger_value"], src.value.as_str());
    }

    // The group's positions are at the end of every partition.
    let group = trigger_group(&host.run_context(), "echo");
    assert_eq!(group, "crawlhost.trigger.echo");
    for p in 0..2 {
        let end = host.bus.end_offset("oliveyoung", p).await.unwrap();
        assert_eq!(
            host.bus.committed(&group, "oliveyoung", p).await.unwrap(),
            Some(end)
        );
    }

    // Nothing new: nothing planned. Two new records: two runs.
    let again = consume(host.run_context(), echo.clone(), 3, Until::CaughtUp)
        .await
        .unwrap();
    assert_eq!((again.records, again.runs), (0, 0));
    assert!(matches!(again.drift_check, DriftCheck::Skipped { .. }));
    host.bus
        .produce(vec![brand("B001"), brand("B002")])
        .await
        .unwrap();
    let more = consume(host.run_context(), echo, 3, Until::CaughtUp)
        .await
        .unwrap();
    assert_eq!((more.records, more.runs), (2, 2), "{more:#?}");
    // Two records against seven: fewer, but a pass raises no volume alarm.
    assert!(more.drift.is_empty(), "{:?}", more.drift);
    assert!(matches!(
        more.drift_check,
        DriftCheck::Compared { replaced: true, .. }
    ));
    host.bus.flush().await.unwrap();
    let read = tokio::task::spawn_blocking(move || read_topic(&brokers, "echo"))
        .await
        .unwrap();
    assert_eq!(read.len(), 9);
}

/// Records of a transactional producer end in a commit marker: an offset no
/// consumer is handed. `triggers --once` plans every record before it and
/// finishes, and later passes start past it.
#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_topic_ending_in_a_transaction_marker_is_read_to_its_end() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        dir.path(),
        &format!("{}{ALLOW_ECHO}", kafka_section(&tansu.brokers(), "")),
    );
    install_echo(&settings.plugins_dir);
    let host = Host::open(settings).unwrap();
    let echo = host.scan_plugins().await.unwrap().plugins["echo"].clone();
    host.bus.ensure_topic("oliveyoung", 1).await.unwrap();
    let group = trigger_group(&host.run_context(), "echo");

    let mut planned = 0;
    for (pass, codes) in [["M001", "M002", "M003"].as_slice(), &["M004", "M005"]]
        .into_iter()
        .enumerate()
    {
        host.bus
            .produce(codes.iter().map(|c| brand(c)).collect())
            .await
            .unwrap();
        host.bus.flush().await.unwrap();
        let brokers = tansu.brokers();
        tokio::task::spawn_blocking(move || append_commit_marker(&brokers, "oliveyoung", 0))
            .await
            .unwrap();
        let end = host.bus.end_offset("oliveyoung", 0).await.unwrap();
        planned += codes.len();
        assert_eq!(end as usize, planned + pass + 1, "records and markers");

        let report = tokio::time::timeout(
            Duration::from_secs(60),
            consume(host.run_context(), echo.clone(), 3, Until::CaughtUp),
        )
        .await
        .expect("triggers --once finishes at a log ending in a marker")
        .unwrap();
        assert_eq!(
            (report.records, report.runs),
            (codes.len() as u64, codes.len() as u64),
            "pass {pass}: {report:#?}"
        );
        // Committed after the last record (the marker is stepped over by
        // the next pass, which plans nothing again).
        assert_eq!(
            host.bus.committed(&group, "oliveyoung", 0).await.unwrap(),
            Some(end - 1)
        );
    }
    let again = tokio::time::timeout(
        Duration::from_secs(60),
        consume(host.run_context(), echo, 3, Until::CaughtUp),
    )
    .await
    .expect("a pass with nothing new finishes")
    .unwrap();
    assert_eq!((again.records, again.runs), (0, 0));
}

/// Issue 15, item 7: a plugin triggers only on topics the operator granted
/// it (`[plugins.<name>] allow_triggers`), never on the host's own topics
/// even when granted. On the embedded bus: the check comes before any read.
#[tokio::test(flavor = "multi_thread")]
async fn triggers_need_the_operators_grant() {
    for (extra, refused) in [
        ("", Some("allow_triggers")),
        (
            "[plugins.echo]\nallow_triggers = [\"brands\"]\n",
            Some("allow_triggers"),
        ),
        (
            "[bus]\ndead_letter_topic = \"oliveyoung\"\n[plugins.echo]\nallow_triggers = [\"oliveyoung\"]\n",
            Some("internal"),
        ),
        (ALLOW_ECHO, None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let settings = common::settings(dir.path(), extra);
        install_echo(&settings.plugins_dir);
        let host = Host::open(settings).unwrap();
        let echo = host.scan_plugins().await.unwrap().plugins["echo"].clone();
        host.bus.produce(vec![brand("G001")]).await.unwrap();
        let result = consume(host.run_context(), echo, 1, Until::CaughtUp).await;
        match refused {
            Some(needle) => {
                let err = crawlhost::error_text::chain(&result.expect_err(extra));
                assert!(
                    err.contains(needle) && err.contains("oliveyoung"),
                    "{extra}: {err}"
                );
            }
            None => assert_eq!(result.unwrap().runs, 1, "{extra}"),
        }
    }
}

/// Issue 20: two `crawlhost triggers` processes (two hosts, own data
/// directories) of one plugin share the trigger partitions through the
/// plugin's consumer group: once the group has settled, each of 40 trigger
/// records is planned exactly once, and both hosts plan some; SIGTERM stops
/// each gracefully (exit 0).
#[test]
fn two_trigger_consumers_of_one_plugin_plan_each_record_once() {
    use std::process::{Command, Stdio};
    let tansu = Tansu::start();
    let dir = tempfile::tempdir().unwrap();
    let kafka = kafka_section(
        &tansu.brokers(),
        "partitions = 4\nsession_timeout_ms = 6000",
    );
    let hosts: Vec<(std::path::PathBuf, std::path::PathBuf)> = (0..2)
        .map(|i| {
            let d = dir.path().join(format!("host-{i}"));
            let settings = common::settings(&d, &format!("{kafka}{ALLOW_ECHO}"));
            install_echo(&settings.plugins_dir);
            let config = d.join("crawlhost.toml");
            std::fs::write(
                &config,
                format!(
                    "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n[http]\nallow_private_addresses = true\n{kafka}{ALLOW_ECHO}",
                    settings.plugins_dir.display(),
                    settings.data_dir.display()
                ),
            )
            .unwrap();
            (config, d.join("triggers.log"))
        })
        .collect();
    // The trigger topic exists before the consumers subscribe.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt.block_on(async {
        let settings = common::settings(&dir.path().join("producer"), &kafka);
        Host::open(settings).unwrap()
    });
    rt.block_on(producer.bus.ensure_topic("oliveyoung", 4))
        .unwrap();
    let spawn = |(config, log): &(std::path::PathBuf, std::path::PathBuf)| {
        Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "--log",
                "crawlhost=info",
                "triggers",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    };
    let assigned = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .rfind(|l| l.contains("partitions assigned"))
            .is_some_and(|l| l.contains("oliveyoung"))
    };
    let mut a = spawn(&hosts[0]);
    let start = std::time::Instant::now();
    while !assigned(&hosts[0].1) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the first consumer got no partition"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut b = spawn(&hosts[1]);
    // Settled: the second has partitions, and the group's last rebalance
    // is a few heartbeats old.
    while !assigned(&hosts[1].1) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the second consumer got no partition"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(4));

    let brands: Vec<String> = (0..40).map(|i| format!("G{i:03}")).collect();
    rt.block_on(
        producer
            .bus
            .produce(brands.iter().map(|b| brand(b)).collect()),
    )
    .unwrap();
    rt.block_on(producer.bus.flush()).unwrap();
    let echo = |brokers: &str| read_topic(brokers, "echo");
    while echo(&tansu.brokers()).len() < 40 {
        assert!(
            start.elapsed() < Duration::from_secs(150),
            "the 40 records were not all planned"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Anything planned twice would show up now.
    std::thread::sleep(Duration::from_secs(3));
    // SIGTERM: each consumer leaves its group and exits 0.
    for (c, (_, log)) in [&mut a, &mut b].into_iter().zip(&hosts) {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let status = c.wait().unwrap();
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(status.success(), "{status}:\n{text}");
        assert!(text.contains("Trigger consumer stopped."), "{text}");
    }
    let read = echo(&tansu.brokers());
    let planned: BTreeSet<(u64, u64)> = read
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.value).unwrap();
            (
                v["trigger_partition"].as_u64().unwrap(),
                v["trigger_offset"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(read.len(), 40, "a trigger record was planned twice");
    assert_eq!(planned.len(), 40);
    let per_host: Vec<usize> = hosts
        .iter()
        .map(|(_, log)| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("Trigger record: planning a run.")
                .count()
        })
        .collect();
    assert_eq!(per_host.iter().sum::<usize>(), 40, "{per_host:?}");
    assert!(
        per_host.iter().all(|&n| n > 0),
        "one host planned everything: {per_host:?}"
    );
    eprintln!("40 trigger records planned once each, split {per_host:?} between two hosts");
}
