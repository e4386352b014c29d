//! `[kafka.properties]`: librdkafka properties passed through as written,
//! and which of them hold secrets, so `Debug`, `Serialize` and the checked
//! settings' property lists print those values as `***`. Pure; what may be
//! passed through at all is [`super::config`]'s check.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[kafka.properties]`: librdkafka properties passed through as written.
/// `Debug` and `Serialize` hide the values of [`is_secret_property`] keys.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub BTreeMap<String, String>);

/// Whether a librdkafka property holds a secret (`sasl.password`,
/// `ssl.key.password`, `ssl.keystore.password`, `ssl.key.pem`,
/// `sasl.oauthbearer.client.secret`, `sasl.jaas.config`, ...).
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", ".pem", "jaas", "token", "credential"]
        .iter()
        .any(|w| key.contains(w))
}

impl std::ops::Deref for Properties {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Properties {
    fn redacted(&self) -> BTreeMap<&str, &str> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_property(k) {
                    crate::secret::HIDDEN
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect()
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.redacted().fmt(f)
    }
}

impl serde::Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.redacted().serialize(s)
    }
}

/// Property lists whose `Debug` hides secret values.
pub(super) fn redacted_list(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter()
        .map(|(k, v)| {
            let v = if is_secret_property(k) {
                crate::secret::HIDDEN
            } else {
                v.as_str()
            };
            (k.as_str(), v)
        })
        .collect()
}
