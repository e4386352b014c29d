//! Config enums read whatever their case: `security_protocol =
//! "SASL_PLAINTEXT"` (librdkafka's spelling), `"sasl_plaintext"` and
//! `"Sasl_Plaintext"` are the same value. Used with
//! `#[serde(deserialize_with = "crate::any_case::deserialize")]` (or
//! [`option`] for an `Option`) on fields whose enum derives `Deserialize`
//! with lowercase (`lowercase` / `snake_case`) names.
//!
//! A value that is no variant in any case is refused with serde's own
//! message about the value as written (``unknown variant `X`, expected one
//! of ...``), as without this helper.

use serde::de::{DeserializeOwned, Error as _, IntoDeserializer};
use serde::{Deserialize, Deserializer};

/// A unit enum from a string in any case.
pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let text = String::deserialize(d)?;
    from_text(&text).map_err(D::Error::custom)
}

/// [`deserialize`] for an optional field.
pub fn option<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => from_text(&text).map(Some).map_err(D::Error::custom),
    }
}

/// The variant named `text` in lowercase; failing that, serde's error for
/// `text` as written.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde::de::value::Error> {
    let lower = text.to_ascii_lowercase();
    T::deserialize(lower.as_str().into_deserializer())
        .or_else(|_: serde::de::value::Error| T::deserialize(text.into_deserializer()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Protocol {
        Plaintext,
        SaslPlaintext,
    }

    #[derive(Debug, Deserialize)]
    struct Section {
        #[serde(deserialize_with = "super::deserialize")]
        protocol: Protocol,
        #[serde(default, deserialize_with = "super::option")]
        other: Option<Protocol>,
    }

    fn parse(text: &str) -> Result<Section, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn any_case_reads_the_same_variant() {
        for spelling in ["sasl_plaintext", "SASL_PLAINTEXT", "Sasl_PlainText"] {
            let s = parse(&format!(
                "protocol = \"{spelling}\"\nother = \"{spelling}\""
            ))
            .unwrap();
            assert_eq!(s.protocol, Protocol::SaslPlaintext);
            assert_eq!(s.other, Some(Protocol::SaslPlaintext));
        }
        assert_eq!(parse("protocol = \"PLAINTEXT\"").unwrap().other, None);
    }

    #[test]
    fn unknown_values_are_named_as_written() {
        let err = parse("protocol = \"SASL_GSSAPI\"").unwrap_err();
        assert!(
            err.contains("unknown variant `SASL_GSSAPI`, expected `plaintext` or `sasl_plaintext`"),
            "{err}"
        );
        let err = parse("protocol = 3").unwrap_err();
        assert!(err.contains("invalid type: integer `3`"), "{err}");
    }
}
