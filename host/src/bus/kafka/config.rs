//! `[kafka]` in `crawlhost.toml`: parsed ([`KafkaConfig`]), checked
//! ([`KafkaConfig::check`]) into [`KafkaSettings`], and turned into the
//! librdkafka property list every client of the Kafka backend is built from
//! ([`KafkaSettings::client_properties`]). Pure: no I/O, no client.
//!
//! The producer properties are not negotiable where they carry the delivery
//! guarantee (idempotence, `acks=all`): a pass-through `properties` entry that
//! would weaken them is refused with the key named, not silently applied.

use std::time::Duration;

use serde::Deserialize;

use super::properties::redacted_list;
pub use super::properties::{Properties, is_secret_property};

/// Environment variable that overrides `kafka.sasl_password`, so the secret
/// need not sit in the file.
pub const SASL_PASSWORD_ENV: &str = "CRAWLHOST_KAFKA_SASL_PASSWORD";
/// Environment variable that overrides `kafka.ssl_key_password`.
pub const SSL_KEY_PASSWORD_ENV: &str = "CRAWLHOST_KAFKA_SSL_KEY_PASSWORD";

/// A `[kafka]` value outside what the backend accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value `kafka.{field}`: {reason}")]
pub struct KafkaConfigError {
    /// The field, without the `kafka.` prefix.
    pub field: String,
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> KafkaConfigError {
    KafkaConfigError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `[kafka]`: when present, records go to Kafka instead of the embedded bus.
/// A field left out takes its value from [`KafkaConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of brokers to bootstrap from.
    /// Required: [`KafkaConfig::check`] refuses it empty or missing.
    pub bootstrap_servers: String,
    /// `client.id` the brokers see. Default `crawlhost`.
    pub client_id: String,
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`, in any
    /// case (`SASL_SSL`, librdkafka's spelling). TLS (`ssl`, `sasl_ssl`)
    /// needs a host built with the `kafka-tls` feature.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism for `sasl_*` protocols: `PLAIN` (default),
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`, in any case (SCRAM needs the
    /// `kafka-tls` feature).
    pub sasl_mechanism: Option<String>,
    /// SASL user name.
    pub sasl_username: Option<String>,
    /// SASL password; the environment variable
    /// `CRAWLHOST_KAFKA_SASL_PASSWORD` overrides it.
    pub sasl_password: Option<crate::secret::SecretString>,
    /// PEM file of the CA that signed the brokers' certificates.
    pub ssl_ca_location: Option<String>,
    /// PEM client certificate (mutual TLS).
    pub ssl_certificate_location: Option<String>,
    /// PEM client private key (mutual TLS).
    pub ssl_key_location: Option<String>,
    /// Password of the client key; `CRAWLHOST_KAFKA_SSL_KEY_PASSWORD`
    /// overrides it.
    pub ssl_key_password: Option<crate::secret::SecretString>,
    /// Producer compression: `lz4` (default) or `none`, in any case.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub compression: Compression,
    /// How long the producer keeps trying to deliver a record before the
    /// batch is handed to the store-and-forward log, in milliseconds
    /// (librdkafka `message.timeout.ms`). Default 30000.
    pub delivery_timeout_ms: u64,
    /// How long the producer waits to fill a batch, in milliseconds
    /// (`linger.ms`). Default 5.
    pub linger_ms: u64,
    /// Records the producer queues before `produce` waits (backpressure: a
    /// full queue slows the crawl, it never drops). Default 100000.
    pub queue_max_messages: u64,
    /// Create a topic the host writes to when the cluster lacks it. Default
    /// true.
    pub create_topics: bool,
    /// Partitions of topics the host creates. Default 6.
    pub partitions: u32,
    /// Replication factor of topics the host creates. Default 1 (raise it to
    /// 3 on a real cluster).
    pub replication_factor: u16,
    /// Disk budget of the store-and-forward log (records waiting for an
    /// unreachable broker), in MiB. When full, crawling pauses until the
    /// broker is back; nothing is dropped. Default 1024.
    pub forward_budget_mb: u64,
    /// Timeout of metadata, admin and offset requests, in milliseconds.
    /// Default 10000.
    pub request_timeout_ms: u64,
    /// Prefix of the consumer groups the host creates:
    /// `<prefix>.trigger.<plugin>` for topic triggers and `<prefix>.workers`
    /// for distributed tasks. Default `crawlhost`.
    pub group_prefix: String,
    /// Topic carrying tasks between hosts in `--distributed` mode. Default
    /// `crawlhost.tasks`.
    pub tasks_topic: String,
    /// Partitions of the tasks topic when the host creates it; the upper
    /// bound of hosts sharing one run. Default 12.
    pub tasks_partitions: u32,
    /// Topic carrying task outcomes back to the host that coordinates a
    /// run. Default `crawlhost.task-results`.
    pub results_topic: String,
    /// Topic where hosts claim runs (one claim wins per run id, so a cron
    /// tick fires once across the group). Default `crawlhost.run-claims`.
    pub claims_topic: String,
    /// Topic where the coordinator of a `--distributed --claim` run
    /// replicates its run journal (tasks queued, done, failed) and its
    /// heartbeat, so a host that lost the claim can take the run over if
    /// the coordinator stops. Default `crawlhost.run-journal`; keep its
    /// retention longer than your longest run.
    pub journal_topic: String,
    /// Session timeout of the distributed workers group, in milliseconds:
    /// how soon the tasks of a host that died move to the others. Default
    /// 10000.
    pub session_timeout_ms: u64,
    /// How a consumer group splits partitions between its members (the
    /// sinks of one `[sink] group`): `cooperative-sticky` (default: a
    /// rebalance moves only the partitions that must move, the others keep
    /// being read), `range` or `roundrobin` (eager: every rebalance takes
    /// every partition from every member and hands them out again). Use an
    /// eager one on brokers whose incremental rebalancing is broken (tansu
    /// 0.6; docs/operations.md "Scaling out").
    pub group_assignment: String,
    /// How long the coordinator of a distributed run waits for the outcome
    /// of one attempt before it dispatches the task again (to a partition
    /// a worker is known to consume), in seconds. Default: three task
    /// timeouts plus three session timeouts plus a minute.
    pub result_timeout_secs: Option<u64>,
    /// Any other librdkafka property, passed to every client as written
    /// (e.g. `"socket.keepalive.enable" = "true"`). Properties that would
    /// weaken delivery (`acks`, `enable.idempotence`, ...) are refused.
    /// Values of properties that hold secrets (names with `password`,
    /// `secret`, `.pem` or `jaas`) print as `***`.
    pub properties: Properties,
}

/// Transport security towards the brokers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    fn as_librdkafka(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }
    fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

/// Producer compression codec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    Lz4,
    None,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap_servers: String::new(),
            client_id: "crawlhost".into(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: None,
            compression: Compression::Lz4,
            delivery_timeout_ms: 30_000,
            linger_ms: 5,
            queue_max_messages: 100_000,
            create_topics: true,
            partitions: 6,
            replication_factor: 1,
            forward_budget_mb: 1024,
            request_timeout_ms: 10_000,
            group_prefix: "crawlhost".into(),
            tasks_topic: "crawlhost.tasks".into(),
            tasks_partitions: 12,
            results_topic: "crawlhost.task-results".into(),
            claims_topic: "crawlhost.run-claims".into(),
            journal_topic: "crawlhost.run-journal".into(),
            session_timeout_ms: 10_000,
            group_assignment: "cooperative-sticky".into(),
            result_timeout_secs: None,
            properties: Properties::default(),
        }
    }
}

/// The values `group_assignment` takes (librdkafka's names).
pub const GROUP_ASSIGNMENTS: [&str; 3] = ["cooperative-sticky", "range", "roundrobin"];

/// Pass-through properties that would undo the delivery guarantee or that
/// the backend sets per client itself.
const RESERVED: &[&str] = &[
    "bootstrap.servers",
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "group.id",
    "partitioner",
    "partition.assignment.strategy",
];

/// The checked `[kafka]` section. `Debug` hides secret property values.
#[derive(Clone)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub delivery_timeout: Duration,
    pub request_timeout: Duration,
    pub create_topics: bool,
    pub partitions: u32,
    pub replication_factor: u16,
    pub forward_budget_bytes: u64,
    pub group_prefix: String,
    pub tasks_topic: String,
    pub tasks_partitions: u32,
    pub results_topic: String,
    pub claims_topic: String,
    pub journal_topic: String,
    pub session_timeout: Duration,
    /// librdkafka's `partition.assignment.strategy` for group members.
    pub group_assignment: String,
    /// `result_timeout_secs`, when set.
    pub result_timeout: Option<Duration>,
    /// Properties shared by every client (connection, security, pass-through).
    common: Vec<(String, String)>,
    /// Producer-only properties.
    producer: Vec<(String, String)>,
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("create_topics", &self.create_topics)
            .field("partitions", &self.partitions)
            .field("replication_factor", &self.replication_factor)
            .field("forward_budget_bytes", &self.forward_budget_bytes)
            .field("group_prefix", &self.group_prefix)
            .field("tasks_topic", &self.tasks_topic)
            .field("tasks_partitions", &self.tasks_partitions)
            .field("results_topic", &self.results_topic)
            .field("claims_topic", &self.claims_topic)
            .field("journal_topic", &self.journal_topic)
            .field("session_timeout", &self.session_timeout)
            .field("group_assignment", &self.group_assignment)
            .field("result_timeout", &self.result_timeout)
            .field("common", &redacted_list(&self.common))
            .field("producer", &redacted_list(&self.producer))
            .finish()
    }
}

impl KafkaConfig {
    /// A config with only the brokers set (everything else default).
    pub fn for_brokers(bootstrap_servers: &str) -> Self {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.into(),
            ..KafkaConfig::default()
        }
    }

    /// Check every field and build the settings; `env` looks up secret
    /// overrides (`std::env::var` in the host, a map in tests).
    pub fn check(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<KafkaSettings, KafkaConfigError> {
        let servers: Vec<&str> = self
            .bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if servers.is_empty() {
            return Err(invalid(
                "bootstrap_servers",
                "must name at least one broker as host:port",
            ));
        }
        for s in &servers {
            let ok = s
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                return Err(invalid(
                    "bootstrap_servers",
                    format!("`{s}` is not host:port"),
                ));
            }
        }
        if self.client_id.trim().is_empty() {
            return Err(invalid("client_id", "must not be empty"));
        }
        if !(100..=3_600_000).contains(&self.delivery_timeout_ms) {
            return Err(invalid(
                "delivery_timeout_ms",
                "must be between 100 and 3600000",
            ));
        }
        if self.linger_ms > 60_000 {
            return Err(invalid("linger_ms", "must be at most 60000"));
        }
        if !(1..=10_000_000).contains(&self.queue_max_messages) {
            return Err(invalid(
                "queue_max_messages",
                "must be between 1 and 10000000",
            ));
        }
        if self.partitions == 0 || self.partitions > 10_000 {
            return Err(invalid("partitions", "must be between 1 and 10000"));
        }
        if self.replication_factor == 0 {
            return Err(invalid("replication_factor", "must be at least 1"));
        }
        if self.forward_budget_mb == 0 {
            return Err(invalid("forward_budget_mb", "must be at least 1"));
        }
        if !(100..=600_000).contains(&self.request_timeout_ms) {
            return Err(invalid(
                "request_timeout_ms",
                "must be between 100 and 600000",
            ));
        }
        if !(1_000..=600_000).contains(&self.session_timeout_ms) {
            return Err(invalid(
                "session_timeout_ms",
                "must be between 1000 and 600000",
            ));
        }
        if !GROUP_ASSIGNMENTS.contains(&self.group_assignment.as_str()) {
            return Err(invalid(
                "group_assignment",
                format!(
                    "`{}` is not one of {}",
                    self.group_assignment,
                    GROUP_ASSIGNMENTS.join(", ")
                ),
            ));
        }
        if self.result_timeout_secs == Some(0) {
            return Err(invalid("result_timeout_secs", "must be at least 1"));
        }
        if self.tasks_partitions == 0 || self.tasks_partitions > 10_000 {
            return Err(invalid("tasks_partitions", "must be between 1 and 10000"));
        }
        if self.group_prefix.trim().is_empty() {
            return Err(invalid("group_prefix", "must not be empty"));
        }
        for (field, topic) in [
            ("tasks_topic", &self.tasks_topic),
            ("results_topic", &self.results_topic),
            ("claims_topic", &self.claims_topic),
            ("journal_topic", &self.journal_topic),
        ] {
            crate::bus::topic::validate_topic(topic).map_err(|e| invalid(field, e.to_string()))?;
        }

        let mut common: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), servers.join(",")),
            ("client.id".into(), self.client_id.clone()),
            (
                "security.protocol".into(),
                self.security_protocol.as_librdkafka().into(),
            ),
            (
                "socket.timeout.ms".into(),
                self.request_timeout_ms.max(10).to_string(),
            ),
        ];
        let sasl_fields = [
            ("sasl_mechanism", self.sasl_mechanism.is_some()),
            ("sasl_username", self.sasl_username.is_some()),
            ("sasl_password", self.sasl_password.is_some()),
        ];
        if self.security_protocol.uses_sasl() {
            // Any case in the file; librdkafka gets the canonical capitals.
            let written = self.sasl_mechanism.as_deref().unwrap_or("PLAIN");
            let mechanism = written.to_ascii_uppercase();
            if !matches!(
                mechanism.as_str(),
                "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"
            ) {
                return Err(invalid(
                    "sasl_mechanism",
                    format!("`{written}` is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
                ));
            }
            let Some(user) = self.sasl_username.clone() else {
                return Err(invalid(
                    "sasl_username",
                    "is required with a sasl_* security_protocol",
                ));
            };
            let Some(password) = env(SASL_PASSWORD_ENV)
                .or_else(|| self.sasl_password.as_ref().map(|p| p.expose().to_string()))
            else {
                return Err(invalid(
                    "sasl_password",
                    format!(
                        "is required with a sasl_* security_protocol (or set {SASL_PASSWORD_ENV})"
                    ),
                ));
            };
            common.push(("sasl.mechanism".into(), mechanism));
            common.push(("sasl.username".into(), user));
            common.push(("sasl.password".into(), password));
        } else if let Some((field, _)) = sasl_fields.iter().find(|(_, set)| *set) {
            return Err(invalid(
                field,
                "is only used with security_protocol `sasl_plaintext` or `sasl_ssl`",
            ));
        }
        let tls_files = [
            ("ssl_ca_location", "ssl.ca.location", &self.ssl_ca_location),
            (
                "ssl_certificate_location",
                "ssl.certificate.location",
                &self.ssl_certificate_location,
            ),
            (
                "ssl_key_location",
                "ssl.key.location",
                &self.ssl_key_location,
            ),
        ];
        for (field, property, value) in tls_files {
            let Some(value) = value else { continue };
            if !self.security_protocol.uses_tls() {
                return Err(invalid(
                    field,
                    "is only used with security_protocol `ssl` or `sasl_ssl`",
                ));
            }
            if value.trim().is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
            common.push((property.into(), value.clone()));
        }
        if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
            return Err(invalid(
                "ssl_key_location",
                "ssl_certificate_location and ssl_key_location go together (mutual TLS)",
            ));
        }
        if let Some(password) = env(SSL_KEY_PASSWORD_ENV).or_else(|| {
            self.ssl_key_password
                .as_ref()
                .map(|p| p.expose().to_string())
        }) {
            if !self.security_protocol.uses_tls() {
                return Err(invalid(
                    "ssl_key_password",
                    "is only used with security_protocol `ssl` or `sasl_ssl`",
                ));
            }
            common.push(("ssl.key.password".into(), password));
        }
        for (key, value) in &self.properties.0 {
            if RESERVED.contains(&key.as_str()) {
                return Err(invalid(
                    &format!("properties.\"{key}\""),
                    "is set by crawlhost itself (delivery guarantee or per-client role) and cannot be overridden",
                ));
            }
            if key.trim().is_empty() || key.contains(char::is_whitespace) {
                return Err(invalid(
                    "properties",
                    format!("`{key}` is not a librdkafka property name"),
                ));
            }
            common.push((key.clone(), value.clone()));
        }

        let producer = vec![
            ("enable.idempotence".into(), "true".into()),
            ("acks".into(), "all".into()),
            ("max.in.flight.requests.per.connection".into(), "5".into()),
            // Kafka's own default partitioner (murmur2 on the key), the same
            // one the embedded bus uses, so keys land on the same partition
            // whichever backend wrote them.
            ("partitioner".into(), "murmur2_random".into()),
            (
                "compression.type".into(),
                match self.compression {
                    Compression::Lz4 => "lz4",
                    Compression::None => "none",
                }
                .into(),
            ),
            (
                "message.timeout.ms".into(),
                self.delivery_timeout_ms.to_string(),
            ),
            ("linger.ms".into(), self.linger_ms.to_string()),
            (
                "queue.buffering.max.messages".into(),
                self.queue_max_messages.to_string(),
            ),
        ];

        Ok(KafkaSettings {
            bootstrap_servers: servers.join(","),
            delivery_timeout: Duration::from_millis(self.delivery_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            create_topics: self.create_topics,
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            forward_budget_bytes: self.forward_budget_mb * 1024 * 1024,
            group_prefix: self.group_prefix.clone(),
            tasks_topic: self.tasks_topic.clone(),
            tasks_partitions: self.tasks_partitions,
            results_topic: self.results_topic.clone(),
            claims_topic: self.claims_topic.clone(),
            journal_topic: self.journal_topic.clone(),
            session_timeout: Duration::from_millis(self.session_timeout_ms),
            group_assignment: self.group_assignment.clone(),
            result_timeout: self.result_timeout_secs.map(Duration::from_secs),
            common,
            producer,
        })
    }
}

/// Which client a property list is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Producer,
    /// A consumer (the caller adds `group.id` when it has one).
    Consumer,
    /// The bus's assign-only reader behind `fetch` (the sink reads through
    /// it). It asks for one partition at a time and must not long-poll: with
    /// librdkafka's default `fetch.wait.max.ms` (500 ms) every fetch waited
    /// behind the previous long poll, and the sink read ~700 records/s
    /// instead of ~31,000 (BENCHMARKS.md). [`READER_FETCH_WAIT_MS`] is a
    /// default: `[kafka.properties]` can still set it.
    Reader,
    /// The sink's stream reader ([`super::stream`]): one assignment of
    /// every partition it follows. A short long-poll
    /// ([`STREAM_FETCH_WAIT_MS`]) and a bound on librdkafka's prefetch for
    /// all partitions together ([`STREAM_QUEUE_KBYTES`],
    /// [`STREAM_FETCH_MAX_BYTES`]); `[kafka.properties]` can still set each.
    Stream,
    Admin,
}

/// The reader's `fetch.wait.max.ms` unless `[kafka.properties]` sets one.
pub const READER_FETCH_WAIT_MS: &str = "10";

/// `fetch.wait.max.ms` of the stream reader unless `[kafka.properties]`
/// sets it. librdkafka's 500 ms made tansu hold every fetch (34 s instead of
/// 10 s for 550 MiB over 100 partitions); 50 ms read as fast as 10 ms on 6
/// and on 100 partitions (BENCHMARKS.md) and asks an idle broker 5x less
/// often.
pub const STREAM_FETCH_WAIT_MS: &str = "50";
/// `queued.max.messages.kbytes` of the stream reader unless
/// `[kafka.properties]` sets it: the prefetch held for all partitions
/// together (librdkafka's default is 64 MiB).
pub const STREAM_QUEUE_KBYTES: &str = "16384";
/// `fetch.max.bytes` of the stream reader unless `[kafka.properties]` sets
/// it: the largest fetch response (librdkafka's default is 50 MiB, which a
/// many-partition fetch can fill).
pub const STREAM_FETCH_MAX_BYTES: &str = "8388608";

impl KafkaSettings {
    /// The librdkafka properties of a client in `role`, in the order they
    /// are applied (later entries win).
    pub fn client_properties(&self, role: ClientRole) -> Vec<(String, String)> {
        let mut props = Vec::new();
        // Defaults first, so the operator's properties (in `common`) win.
        if role == ClientRole::Reader {
            props.push(("fetch.wait.max.ms".into(), READER_FETCH_WAIT_MS.into()));
        }
        if role == ClientRole::Stream {
            props.push(("fetch.wait.max.ms".into(), STREAM_FETCH_WAIT_MS.into()));
            props.push((
                "queued.max.messages.kbytes".into(),
                STREAM_QUEUE_KBYTES.into(),
            ));
            props.push(("fetch.max.bytes".into(), STREAM_FETCH_MAX_BYTES.into()));
        }
        props.extend(self.common.iter().cloned());
        match role {
            ClientRole::Producer => props.extend(self.producer.iter().cloned()),
            ClientRole::Consumer | ClientRole::Reader | ClientRole::Stream => {
                props.push(("enable.auto.commit".into(), "false".into()));
                props.push(("enable.auto.offset.store".into(), "false".into()));
                props.push(("auto.offset.reset".into(), "earliest".into()));
            }
            ClientRole::Admin => {}
        }
        props
    }

    /// The consumer group of a plugin's topic triggers.
    pub fn trigger_group(&self, plugin: &str) -> String {
        format!("{}.trigger.{plugin}", self.group_prefix)
    }

    /// The consumer group shared by every host in `--distributed` mode.
    pub fn workers_group(&self) -> String {
        format!("{}.workers", self.group_prefix)
    }

    /// Override the disk budget of the store-and-forward log (tests).
    pub fn with_forward_budget_bytes(mut self, bytes: u64) -> Self {
        self.forward_budget_bytes = bytes.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(text: &str) -> KafkaConfig {
        toml::from_str(text).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn props(s: &KafkaSettings, role: ClientRole) -> BTreeMap<String, String> {
        s.client_properties(role).into_iter().collect()
    }

    /// Issue 15 item 4: no password, from the file or the environment,
    /// nor a secret pass-through property, in any `Debug` form.
    #[test]
    fn debug_forms_never_show_a_secret() {
        let text = "bootstrap_servers = \"k:9093\"\nsecurity_protocol = \"sasl_ssl\"\n\
                    sasl_username = \"u\"\nsasl_password = \"MARKER-sasl-file\"\n\
                    ssl_key_password = \"MARKER-key-file\"\n\
                    [properties]\n\"ssl.keystore.password\" = \"MARKER-prop\"\n\
                    \"socket.keepalive.enable\" = \"true\"\n";
        let cfg = parse(text);
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("MARKER"), "{shown}");
        assert!(shown.contains("socket.keepalive.enable"), "{shown}");
        for env in [
            &no_env as &dyn Fn(&str) -> Option<String>,
            &|k: &str| match k {
                SASL_PASSWORD_ENV => Some("MARKER-sasl-env".into()),
                SSL_KEY_PASSWORD_ENV => Some("MARKER-key-env".into()),
                _ => None,
            },
        ] {
            let s = cfg.check(env).unwrap();
            let shown = format!("{s:?} {s:#?}");
            assert!(!shown.contains("MARKER"), "{shown}");
            // The clients still get the values.
            let p = props(&s, ClientRole::Admin);
            assert!(p["sasl.password"].starts_with("MARKER-sasl"));
            assert!(p["ssl.key.password"].starts_with("MARKER-key"));
            assert_eq!(p["ssl.keystore.password"], "MARKER-prop");
        }
    }

    #[test]
    fn defaults_carry_the_delivery_guarantee() {
        let s = parse("bootstrap_servers = \"127.0.0.1:9092\"")
            .check(&no_env)
            .unwrap();
        let p = props(&s, ClientRole::Producer);
        assert_eq!(p["enable.idempotence"], "true");
        assert_eq!(p["acks"], "all");
        assert_eq!(p["compression.type"], "lz4");
        assert_eq!(p["partitioner"], "murmur2_random");
        assert_eq!(p["message.timeout.ms"], "30000");
        assert_eq!(p["security.protocol"], "plaintext");
        let c = props(&s, ClientRole::Consumer);
        assert_eq!(c["enable.auto.commit"], "false");
        assert!(!c.contains_key("acks"));
        assert_eq!(s.trigger_group("social"), "crawlhost.trigger.social");
        assert_eq!(s.workers_group(), "crawlhost.workers");
    }

    #[test]
    fn the_reader_does_not_long_poll_unless_told_to() {
        let s = parse("bootstrap_servers = \"127.0.0.1:9092\"")
            .check(&no_env)
            .unwrap();
        let r = props(&s, ClientRole::Reader);
        assert_eq!(r["fetch.wait.max.ms"], READER_FETCH_WAIT_MS);
        assert_eq!(r["enable.auto.commit"], "false");
        // Group consumers keep librdkafka's long poll.
        assert!(!props(&s, ClientRole::Consumer).contains_key("fetch.wait.max.ms"));
        let s = parse(
            "bootstrap_servers = \"127.0.0.1:9092\"\n[properties]\n\"fetch.wait.max.ms\" = \"250\"",
        )
        .check(&no_env)
        .unwrap();
        assert_eq!(props(&s, ClientRole::Reader)["fetch.wait.max.ms"], "250");
    }

    #[test]
    fn the_stream_reader_bounds_prefetch_unless_told_otherwise() {
        let s = parse("bootstrap_servers = \"127.0.0.1:9092\"")
            .check(&no_env)
            .unwrap();
        let st = props(&s, ClientRole::Stream);
        assert_eq!(st["queued.max.messages.kbytes"], "16384");
        assert_eq!(st["fetch.max.bytes"], "8388608");
        assert_eq!(st["fetch.wait.max.ms"], "50");
        assert_eq!(st["enable.auto.commit"], "false");
        assert!(!props(&s, ClientRole::Reader).contains_key("queued.max.messages.kbytes"));
        let s = parse(
            "bootstrap_servers = \"127.0.0.1:9092\"\n[properties]\n\"queued.max.messages.kbytes\" = \"4096\"",
        )
        .check(&no_env)
        .unwrap();
        let st = props(&s, ClientRole::Stream);
        assert_eq!(st["queued.max.messages.kbytes"], "4096");
        assert_eq!(st["fetch.max.bytes"], "8388608");
    }

    #[test]
    fn brokers_must_be_host_port() {
        let err = parse("bootstrap_servers = \" , \"")
            .check(&no_env)
            .unwrap_err();
        assert_eq!(err.field, "bootstrap_servers");
        let err = parse("bootstrap_servers = \"a:1,b\"")
            .check(&no_env)
            .unwrap_err();
        assert!(err.to_string().contains("`b` is not host:port"), "{err}");
        let s = parse("bootstrap_servers = \"a:1, b:2\"")
            .check(&no_env)
            .unwrap();
        assert_eq!(s.bootstrap_servers, "a:1,b:2");
    }

    #[test]
    fn sasl_needs_user_and_password_and_env_overrides() {
        let base = "bootstrap_servers = \"k:9093\"\nsecurity_protocol = \"sasl_ssl\"\n";
        let err = parse(base).check(&no_env).unwrap_err();
        assert_eq!(err.field, "sasl_username");
        let cfg = parse(&format!(
            "{base}sasl_username = \"u\"\nsasl_password = \"file\"\n"
        ));
        let env = |k: &str| (k == SASL_PASSWORD_ENV).then(|| "from-env".to_string());
        let p = props(&cfg.check(&env).unwrap(), ClientRole::Admin);
        assert_eq!(p["sasl.password"], "from-env");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        let err = parse(&format!(
            "{base}sasl_username = \"u\"\nsasl_mechanism = \"GSSAPI\"\n"
        ))
        .check(&env)
        .unwrap_err();
        assert_eq!(err.field, "sasl_mechanism");
        // SASL fields without a SASL protocol are a mistake, not ignored.
        let err = parse("bootstrap_servers = \"k:1\"\nsasl_username = \"u\"\n")
            .check(&no_env)
            .unwrap_err();
        assert_eq!(err.field, "sasl_username");
    }

    #[test]
    fn an_empty_table_is_the_default_and_needs_brokers() {
        let empty: KafkaConfig = toml::from_str("").unwrap();
        assert_eq!(
            toml::to_string(&empty).unwrap(),
            toml::to_string(&KafkaConfig::default()).unwrap()
        );
        let err = empty.check(&no_env).unwrap_err();
        assert_eq!(err.field, "bootstrap_servers");
        // The defaults the docs promise.
        let s = parse("bootstrap_servers = \"k:1\"").check(&no_env).unwrap();
        assert_eq!(s.delivery_timeout, Duration::from_millis(30_000));
        assert_eq!(s.request_timeout, Duration::from_millis(10_000));
        assert!(s.create_topics);
        assert_eq!((s.partitions, s.replication_factor), (6, 1));
        assert_eq!(s.forward_budget_bytes, 1024 * 1024 * 1024);
        assert_eq!(s.group_prefix, "crawlhost");
        assert_eq!(s.tasks_topic, "crawlhost.tasks");
        assert_eq!(s.tasks_partitions, 12);
        assert_eq!(s.results_topic, "crawlhost.task-results");
        assert_eq!(s.claims_topic, "crawlhost.run-claims");
        assert_eq!(s.session_timeout, Duration::from_millis(10_000));
        let p = props(&s, ClientRole::Producer);
        assert_eq!(p["client.id"], "crawlhost");
        assert_eq!(p["compression.type"], "lz4");
    }

    /// librdkafka and Kafka's docs spell these in capitals
    /// (`security.protocol=SASL_PLAINTEXT`, `sasl.mechanism=SCRAM-SHA-256`).
    #[test]
    fn protocol_mechanism_and_compression_read_in_any_case() {
        let env = |k: &str| (k == SASL_PASSWORD_ENV).then(|| "pw".to_string());
        for (protocol, mechanism, compression) in [
            ("sasl_plaintext", "scram-sha-256", "none"),
            ("SASL_PLAINTEXT", "SCRAM-SHA-256", "NONE"),
            ("Sasl_Plaintext", "Scram-Sha-256", "None"),
        ] {
            let cfg = parse(&format!(
                "bootstrap_servers = \"k:1\"\nsecurity_protocol = \"{protocol}\"\n\
                 sasl_mechanism = \"{mechanism}\"\nsasl_username = \"u\"\ncompression = \"{compression}\""
            ));
            assert_eq!(cfg.security_protocol, SecurityProtocol::SaslPlaintext);
            assert_eq!(cfg.compression, Compression::None);
            let s = cfg.check(&env).unwrap();
            let p = props(&s, ClientRole::Producer);
            assert_eq!(p["security.protocol"], "sasl_plaintext");
            assert_eq!(p["sasl.mechanism"], "SCRAM-SHA-256");
            assert_eq!(p["compression.type"], "none");
        }
        let err = toml::from_str::<KafkaConfig>("security_protocol = \"SASL_GSSAPI\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `SASL_GSSAPI`"), "{err}");
        let err = parse("bootstrap_servers = \"k:1\"\nsecurity_protocol = \"SASL_SSL\"\nsasl_username = \"u\"\nsasl_mechanism = \"gssapi\"")
            .check(&env)
            .unwrap_err();
        assert_eq!(err.field, "sasl_mechanism");
        assert!(err.reason.contains("`gssapi`"), "{}", err.reason);
    }

    #[test]
    fn tls_files_need_a_tls_protocol_and_go_in_pairs() {
        let err = parse("bootstrap_servers = \"k:1\"\nssl_ca_location = \"ca.pem\"\n")
            .check(&no_env)
            .unwrap_err();
        assert_eq!(err.field, "ssl_ca_location");
        let err = parse(
            "bootstrap_servers = \"k:1\"\nsecurity_protocol = \"ssl\"\nssl_certificate_location = \"c.pem\"\n",
        )
        .check(&no_env)
        .unwrap_err();
        assert_eq!(err.field, "ssl_key_location");
        let s = parse(
            "bootstrap_servers = \"k:1\"\nsecurity_protocol = \"ssl\"\nssl_ca_location = \"ca.pem\"\n",
        )
        .check(&no_env)
        .unwrap();
        assert_eq!(props(&s, ClientRole::Producer)["ssl.ca.location"], "ca.pem");
    }

    #[test]
    fn pass_through_properties_cannot_weaken_delivery() {
        let err = parse("bootstrap_servers = \"k:1\"\n[properties]\nacks = \"1\"\n")
            .check(&no_env)
            .unwrap_err();
        assert!(err.field.contains("acks"), "{err}");
        let s = parse(
            "bootstrap_servers = \"k:1\"\n[properties]\n\"socket.keepalive.enable\" = \"true\"\n",
        )
        .check(&no_env)
        .unwrap();
        assert_eq!(
            props(&s, ClientRole::Consumer)["socket.keepalive.enable"],
            "true"
        );
    }

    #[test]
    fn bounds_name_the_field() {
        for (line, field) in [
            ("delivery_timeout_ms = 1", "delivery_timeout_ms"),
            ("partitions = 0", "partitions"),
            ("replication_factor = 0", "replication_factor"),
            ("forward_budget_mb = 0", "forward_budget_mb"),
            ("tasks_topic = \"bad topic\"", "tasks_topic"),
            ("session_timeout_ms = 5", "session_timeout_ms"),
        ] {
            let err = parse(&format!("bootstrap_servers = \"k:1\"\n{line}\n"))
                .check(&no_env)
                .unwrap_err();
            assert_eq!(err.field, field, "{line}: {err}");
        }
        let unknown = toml::from_str::<KafkaConfig>("bootstrap_servers = \"k:1\"\nacks = 1\n");
        assert!(unknown.unwrap_err().to_string().contains("acks"));
    }
}
