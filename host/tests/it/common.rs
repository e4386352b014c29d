//! Shared helpers for the host's integration tests.

use std::net::TcpListener;
use std::path::PathBuf;

use crawlhost::config::{Config, Settings};

/// A built guest or plugin component. `make test` builds them first; a
/// missing file fails with the command that builds it.
pub fn wasm(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the components with `make plugins guests` (make test does)",
        path.display()
    );
    path
}

/// Settings for a test: everything under `dir`, fixtures on loopback allowed,
/// fast retries.
pub fn settings(dir: &std::path::Path, extra: &str) -> Settings {
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\n\
         [run]\nretry_base_ms = 20\nretry_max_ms = 200\n{extra}",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
    );
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    Config::parse(&text, std::path::Path::new("test.toml"))
        .unwrap()
        .validate()
        .unwrap()
}

/// Every record of `topic` on `bus`, partition by partition in offset
/// order; none when the topic was never written.
pub async fn read_topic(
    bus: &dyn crawlhost::bus::Bus,
    topic: &str,
) -> Vec<crawlhost::bus::ConsumedRecord> {
    let mut out = Vec::new();
    let Some((_, partitions)) = bus
        .topics()
        .await
        .unwrap()
        .into_iter()
        .find(|(t, _)| t == topic)
    else {
        return out;
    };
    for p in 0..partitions {
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
