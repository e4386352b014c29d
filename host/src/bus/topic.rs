//! Topic names on the bus: the one rule both bus backends (and the
//! `[kafka]` and `[sink]` checks) apply, Kafka's own ([`crate::topic_name`]),
//! so a name the embedded bus takes is one a Kafka cluster takes too.

use super::BusError;

pub use crate::topic_name::MAX_TOPIC_NAME_LEN;

/// Check a topic name against Kafka's rules: non-empty, at most
/// [`MAX_TOPIC_NAME_LEN`] characters from `[a-zA-Z0-9._-]`, and not `.` or
/// `..`. Both backends accept exactly the same names.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    match crate::topic_name::problem(topic) {
        None => Ok(()),
        Some(problem) => Err(BusError::Invalid(format!("topic name {topic:?} {problem}"))),
    }
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
