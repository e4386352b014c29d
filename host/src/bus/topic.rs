//! Topic names: the one rule both bus backends (and the `[kafka]` and
//! `[sink]` checks) apply, Kafka's own, so a name the embedded bus takes is
//! one a Kafka cluster takes too.

use super::BusError;

/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Check a topic name against Kafka's rules: non-empty, at most
/// [`MAX_TOPIC_NAME_LEN`] characters from `[a-zA-Z0-9._-]`, and not `.` or
/// `..`. Both backends accept exactly the same names.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    let problem = if topic.is_empty() {
        "must not be empty".to_owned()
    } else if topic.len() > MAX_TOPIC_NAME_LEN {
        format!("is longer than {MAX_TOPIC_NAME_LEN} characters")
    } else if topic == "." || topic == ".." {
        "must not be `.` or `..`".to_owned()
    } else if let Some(bad) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        format!("contains {bad:?}; only ASCII letters, digits, `.`, `_` and `-` are allowed")
    } else {
        return Ok(());
    };
    Err(BusError::Invalid(format!("topic name {topic:?} {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_pass_and_others_are_invalid() {
        for ok in ["a", "oliveyoung", "brand.products-v1_x", &"x".repeat(249)] {
            validate_topic(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/y",
            "ünï",
            &"x".repeat(250),
        ] {
            let err = validate_topic(bad).unwrap_err();
            assert!(matches!(err, BusError::Invalid(_)), "{bad:?}: {err:?}");
        }
        assert_eq!(
            validate_topic("a b").unwrap_err().to_string(),
            "invalid bus request: topic name \"a b\" contains ' '; only ASCII letters, digits, `.`, `_` and `-` are allowed"
        );
    }
}
