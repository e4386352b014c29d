//! Kafka's topic name rule, the one both the manifest checks (a plugin's
//! declared topics) and the bus backends apply: 1..=249 characters of
//! `[a-zA-Z0-9._-]`, not `.` or `..`. A leaf: pure, no I/O.

/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// What is wrong with `topic` as a Kafka topic name, as the end of a
/// sentence (`topic name "a b" contains ' '; ...`), or `None` when it is a
/// valid name.
pub fn problem(topic: &str) -> Option<String> {
    if topic.is_empty() {
        Some("must not be empty".to_owned())
    } else if topic.len() > MAX_TOPIC_NAME_LEN {
        Some(format!("is longer than {MAX_TOPIC_NAME_LEN} characters"))
    } else if topic == "." || topic == ".." {
        Some("must not be `.` or `..`".to_owned())
    } else {
        topic
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|bad| {
                format!(
                    "contains {bad:?}; only ASCII letters, digits, `.`, `_` and `-` are allowed"
                )
            })
    }
}

/// Whether `topic` is a valid Kafka topic name.
pub fn is_valid(topic: &str) -> bool {
    problem(topic).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_pass_and_others_are_named_wrong() {
        for ok in ["a", "oliveyoung", "brand.products-v1_x", &"x".repeat(249)] {
            assert!(is_valid(ok), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            (".", "`.`"),
            ("..", "`..`"),
            ("has space", "' '"),
            ("slash/y", "'/'"),
            ("ünï", "'ü'"),
            (&"x".repeat(250), "249"),
        ] {
            let problem = problem(bad).unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
    }
}
