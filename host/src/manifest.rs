//! Checking what a plugin says about itself: name, semver version, topics,
//! host patterns, config keys. Pure functions over the manifest the plugin
//! returned; a plugin whose manifest fails here is refused at load time with
//! every problem listed.

use std::collections::BTreeMap;

use crate::contract::PluginManifest;
use crate::http::allow::{AllowList, HostPattern};

/// Why a manifest was refused (all problems, not just the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid manifest: {}", problems.join("; "))]
pub struct ManifestError {
    pub problems: Vec<String>,
}

/// Kafka's topic name rule ([`crate::topic_name`]): 1..=249 of
/// `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn is_valid_topic(name: &str) -> bool {
    crate::topic_name::is_valid(name)
}

/// Topics named `crawlhost.*` belong to the host (the dead-letter topic, the
/// `--distributed` tasks and results): no plugin may trigger on them.
pub const INTERNAL_TOPIC_PREFIX: &str = "crawlhost.";

/// Plugin names: lower-case ASCII letters, digits and `-`, starting with a
/// letter, at most 64 characters (they appear in file names, headers and
/// metrics labels).
pub fn is_valid_plugin_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 64
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// Check a manifest; returns every problem found.
pub fn validate(m: &PluginManifest) -> Result<(), ManifestError> {
    let mut problems = Vec::new();
    if !is_valid_plugin_name(&m.name) {
        problems.push(format!(
            "name `{}` must be 1-64 lower-case letters, digits or `-`, starting with a letter",
            m.name
        ));
    }
    if let Err(e) = semver::Version::parse(&m.version) {
        problems.push(format!("version `{}` is not semver: {e}", m.version));
    }
    if m.topics.is_empty() {
        problems.push("topics: a plugin must declare the topics it writes".to_string());
    }
    for t in &m.topics {
        if !is_valid_topic(t) {
            problems.push(format!(
                "topic `{t}` is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)"
            ));
        } else if t.starts_with(INTERNAL_TOPIC_PREFIX) {
            problems.push(format!(
                "topic `{t}` is internal to the host ({INTERNAL_TOPIC_PREFIX}*): \
                 a plugin may not write it"
            ));
        }
    }
    for t in &m.triggers {
        if !is_valid_topic(t) {
            problems.push(format!("trigger topic `{t}` is not a valid topic name"));
        } else if t.starts_with(INTERNAL_TOPIC_PREFIX) {
            problems.push(format!(
                "trigger topic `{t}` is internal to the host ({INTERNAL_TOPIC_PREFIX}*): \
                 a plugin may not trigger on it"
            ));
        } else if m.topics.contains(t) {
            problems.push(format!(
                "trigger topic `{t}` is one of the plugin's own topics: \
                 a plugin may not trigger on its own output"
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for key in &m.config {
        if key.name.is_empty() || !seen.insert(key.name.as_str()) {
            problems.push(format!("config key `{}` is empty or repeated", key.name));
        }
    }
    for pattern in &m.hosts {
        let trimmed = pattern.trim();
        if let Some(key) = trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if !m.config.iter().any(|k| k.name == key) {
                problems.push(format!(
                    "host `{pattern}` refers to config key `{key}`, which the manifest does not declare"
                ));
            }
        } else if let Err(e) = HostPattern::parse(trimmed) {
            problems.push(e.to_string());
        }
    }
    if let Some(schedule) = &m.schedule {
        let fields = schedule.split_whitespace().count();
        if !(6..=7).contains(&fields) {
            problems.push(format!(
                "schedule `{schedule}` must be a cron expression with 6 or 7 fields \
                 (sec min hour day-of-month month day-of-week [year])"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ManifestError { problems })
    }
}

/// Refuse a plugin that declares one of the host's topics `internal` (see
/// [`crate::config::internal_topics`]) as its own: its records there would be forged task
/// messages, outcomes, claims or dead letters.
pub fn check_output_topics(m: &PluginManifest, internal: &[&str]) -> Result<(), ManifestError> {
    let problems: Vec<String> = m
        .topics
        .iter()
        .filter(|t| internal.contains(&t.as_str()))
        .map(|t| format!("topic `{t}` is internal to the host: a plugin may not write it"))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ManifestError { problems })
    }
}

/// Whether the operator lets `m` consume its trigger topics: each must be
/// listed in `allowed` (`[plugins.<name>] allow_triggers`), since a trigger
/// topic is some other producer's output (its own output is refused by
/// [`validate`]), and none may be one of the host's own topics `internal`
/// (the configured dead-letter, tasks and results topics, which need not
/// start with [`INTERNAL_TOPIC_PREFIX`]), granted or not.
pub fn check_trigger_grants(
    m: &PluginManifest,
    allowed: &[String],
    internal: &[&str],
) -> Result<(), ManifestError> {
    let mut problems = Vec::new();
    for t in &m.triggers {
        if internal.contains(&t.as_str()) || t.starts_with(INTERNAL_TOPIC_PREFIX) {
            problems.push(format!(
                "trigger topic `{t}` is internal to the host: a plugin may not trigger on it"
            ));
        } else if !allowed.contains(t) {
            problems.push(format!(
                "trigger topic `{t}` is not granted: list it in [plugins.{}] allow_triggers \
                 to let this plugin read it",
                m.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ManifestError { problems })
    }
}

/// The plugin's effective configuration: manifest defaults overlaid with the
/// operator's values. Unknown operator keys and missing required keys are
/// errors naming the key.
pub fn effective_config(
    m: &PluginManifest,
    operator: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ManifestError> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for key in &m.config {
        match (operator.get(&key.name), &key.default_value) {
            (Some(v), _) => {
                out.insert(key.name.clone(), v.clone());
            }
            (None, Some(d)) => {
                out.insert(key.name.clone(), d.clone());
            }
            (None, None) if key.required => problems.push(format!(
                "config key `{}` is required ({}) but not set in [plugins.{}.config]",
                key.name, key.description, m.name
            )),
            (None, None) => {}
        }
    }
    for name in operator.keys() {
        if !m.config.iter().any(|k| &k.name == name) {
            let known: Vec<&str> = m.config.iter().map(|k| k.name.as_str()).collect();
            problems.push(format!(
                "[plugins.{}.config] sets `{name}`, which the plugin does not know (known: {})",
                m.name,
                known.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ManifestError { problems })
    }
}

/// The allow-list of a plugin under its effective configuration.
pub fn allow_list(
    m: &PluginManifest,
    config: &BTreeMap<String, String>,
) -> Result<AllowList, ManifestError> {
    AllowList::from_manifest(&m.hosts, config).map_err(|e| ManifestError {
        problems: vec![e.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ConfigKey;

    fn manifest() -> PluginManifest {
        PluginManifest {
            name: "oliveyoung".into(),
            version: "0.1.0".into(),
            description: "d".into(),
            schedule: Some("0 0 3 * * *".into()),
            topics: vec!["oliveyoung".into()],
            hosts: vec!["www.oliveyoung.co.kr".into(), "{base_url}".into()],
            config: vec![ConfigKey {
                name: "base_url".into(),
                description: "site".into(),
                default_value: Some("https://www.oliveyoung.co.kr".into()),
                required: false,
            }],
            triggers: vec![],
        }
    }

    #[test]
    fn a_good_manifest_passes() {
        validate(&manifest()).unwrap();
    }

    #[test]
    fn every_problem_is_listed() {
        let mut m = manifest();
        m.name = "Bad Name".into();
        m.version = "one".into();
        m.topics = vec!["no spaces".into()];
        m.hosts.push("{undeclared}".into());
        m.schedule = Some("daily".into());
        let err = validate(&m).unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
        let text = err.to_string();
        for needle in ["Bad Name", "semver", "no spaces", "undeclared", "daily"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn config_defaults_overrides_and_unknown_keys() {
        let m = manifest();
        let cfg = effective_config(&m, &BTreeMap::new()).unwrap();
        assert_eq!(cfg["base_url"], "https://www.oliveyoung.co.kr");
        let mut op = BTreeMap::new();
        op.insert("base_url".to_string(), "http://127.0.0.1:1".to_string());
        assert_eq!(
            effective_config(&m, &op).unwrap()["base_url"],
            "http://127.0.0.1:1"
        );
        op.insert("typo".to_string(), "x".to_string());
        let err = effective_config(&m, &op).unwrap_err().to_string();
        assert!(err.contains("typo") && err.contains("base_url"), "{err}");
    }

    #[test]
    fn required_keys_must_be_set() {
        let mut m = manifest();
        m.config[0].default_value = None;
        m.config[0].required = true;
        let err = effective_config(&m, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("base_url") && err.contains("required"),
            "{err}"
        );
    }

    /// Issue 15, item 7: the host's own topics and the plugin's own output
    /// are refused as triggers at load.
    #[test]
    fn triggers_on_internal_topics_or_own_output_are_refused() {
        for topic in [
            "crawlhost.tasks",
            "crawlhost.dead-letter",
            "crawlhost.results",
        ] {
            let mut m = manifest();
            m.triggers = vec![topic.into()];
            let err = validate(&m).unwrap_err().to_string();
            assert!(err.contains(topic) && err.contains("internal"), "{err}");
        }
        let mut m = manifest();
        m.triggers = vec!["oliveyoung".into()];
        let err = validate(&m).unwrap_err().to_string();
        assert!(err.contains("its own"), "{err}");
        m.triggers = vec!["other-plugin".into()];
        validate(&m).unwrap();
    }

    /// A plugin may not write the host's topics either: records on the
    /// tasks or results topic would be forged task messages or outcomes.
    #[test]
    fn plugins_may_not_write_internal_topics() {
        let mut m = manifest();
        m.topics = vec!["oliveyoung".into(), "crawlhost.tasks".into()];
        let err = validate(&m).unwrap_err().to_string();
        assert!(
            err.contains("crawlhost.tasks") && err.contains("internal"),
            "{err}"
        );
        m.topics = vec!["oliveyoung".into(), "tasks".into()];
        validate(&m).unwrap();
        let err = check_output_topics(&m, &["tasks"]).unwrap_err().to_string();
        assert!(err.contains("`tasks`") && err.contains("internal"), "{err}");
        check_output_topics(&m, &["crawlhost.dead-letter"]).unwrap();
    }

    /// Issue 15, item 7: a trigger topic needs the operator's grant, and
    /// the configured internal topics stay refused even when granted.
    #[test]
    fn trigger_topics_need_the_operators_grant() {
        let mut m = manifest();
        m.name = "twitter".into();
        m.topics = vec!["twitter".into()];
        m.triggers = vec!["oliveyoung".into(), "brands".into()];
        let err = check_trigger_grants(&m, &["oliveyoung".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`brands`")
                && err.contains("allow_triggers")
                && !err.contains("`oliveyoung`"),
            "{err}"
        );
        check_trigger_grants(&m, &["oliveyoung".into(), "brands".into()], &[]).unwrap();
        let err = check_trigger_grants(&m, &["oliveyoung".into(), "brands".into()], &["brands"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`brands`") && err.contains("internal"),
            "{err}"
        );
    }

    #[test]
    fn names_and_topics() {
        assert!(is_valid_plugin_name("oliveyoung"));
        assert!(is_valid_plugin_name("x-2"));
        assert!(!is_valid_plugin_name("2x"));
        assert!(!is_valid_plugin_name(""));
        assert!(is_valid_topic("crawlhost.dead-letter"));
        assert!(!is_valid_topic(".."));
        assert!(!is_valid_topic("a/b"));
    }
}
