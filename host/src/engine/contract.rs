//! Is this file a crawler we can load? Pure checks over the bytes and over the
//! import/export names of a compiled component, so `plugin inspect` and the
//! loader refuse with a reason a plugin author can act on (not a component,
//! another world, an incompatible contract version, an import the host does
//! not provide) instead of a linker error.

use semver::Version;

/// The newest contract version this host implements (what the SDK builds).
pub const CONTRACT_VERSION: Version = Version::new(0, 3, 0);
/// Every contract version this host loads plugins of: 0.1 (frozen in
/// `wit/v0.1`), 0.2 (frozen in `wit/v0.2`: 0.1 plus `browser`) and 0.3
/// (`wit/`: 0.2 plus `quality`).
pub const SUPPORTED_CONTRACTS: [Version; 3] = [
    Version::new(0, 1, 0),
    Version::new(0, 2, 0),
    CONTRACT_VERSION,
];
/// The export every crawler provides, without its version.
pub const CRAWLER_EXPORT: &str = "crawlhost:plugin/crawler";

/// Why a file is not a loadable crawler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("not a WebAssembly file (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build the plugin for the \
         `wasm32-wasip2` target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error(
        "a component of another world: it does not export `{CRAWLER_EXPORT}` \
         (its exports: {exports})"
    )]
    WrongWorld { exports: String },
    #[error(
        "built against contract crawlhost:plugin@{found}, which this host does not \
         support (host contracts: {supported}; rebuild the plugin against a compatible \
         crawlhost-sdk)",
        supported = supported_list()
    )]
    IncompatibleContract { found: String },
    #[error("imports `{import}`, which the host does not provide to plugins")]
    UnsupportedImport { import: String },
}

/// The supported contracts as a sentence: `crawlhost:plugin@0.1.0,
/// crawlhost:plugin@0.2.0 and crawlhost:plugin@0.3.0`.
pub fn supported_list() -> String {
    let names: Vec<String> = SUPPORTED_CONTRACTS
        .iter()
        .map(|v| format!("crawlhost:plugin@{v}"))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// `crawlhost:plugin@<found>`, with a note when it is an older contract
/// than [`CONTRACT_VERSION`] (still loaded, without the newer imports), for
/// `plugin inspect` and the kit.
pub fn describe(found: &Version) -> String {
    if *found < CONTRACT_VERSION {
        format!(
            "crawlhost:plugin@{found} (older than this host's {CONTRACT_VERSION}, still \
             loaded; rebuild with the current crawlhost-sdk for the newer imports)"
        )
    } else {
        format!("crawlhost:plugin@{found}")
    }
}

/// What kind of WebAssembly binary `bytes` is.
pub fn classify(bytes: &[u8]) -> Result<(), ContractError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(ContractError::NotWasm);
    }
    // Core modules are version 1, layer 0; components use layer 1.
    match (bytes[4..6] == [1, 0], bytes[6..8] == [0, 0]) {
        (true, true) => Err(ContractError::CoreModule),
        _ if bytes[6..8] == [1, 0] => Ok(()),
        _ => Err(ContractError::NotWasm),
    }
}

/// Whether a plugin built against `found` can run on this host: compatible
/// with one of [`SUPPORTED_CONTRACTS`] (same major version, and for 0.x the
/// same minor: semver's rule for pre-1.0).
pub fn is_compatible(found: &Version) -> bool {
    SUPPORTED_CONTRACTS
        .iter()
        .any(|host| is_compatible_with(found, host))
}

fn is_compatible_with(found: &Version, host: &Version) -> bool {
    found.major == host.major && (host.major > 0 || found.minor == host.minor)
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    }
}

/// Check the component's export and import names; returns the contract
/// version it was built against.
pub fn check_names<'a>(
    exports: impl IntoIterator<Item = &'a str>,
    imports: impl IntoIterator<Item = &'a str>,
) -> Result<Version, ContractError> {
    let exports: Vec<&str> = exports.into_iter().collect();
    let crawler = exports
        .iter()
        .find(|e| split_version(e).0 == CRAWLER_EXPORT)
        .copied();
    let Some(crawler) = crawler else {
        let list = if exports.is_empty() {
            "none".to_string()
        } else {
            exports.join(", ")
        };
        return Err(ContractError::WrongWorld { exports: list });
    };
    let found = split_version(crawler)
        .1
        .and_then(|v| Version::parse(v).ok())
        .ok_or_else(|| ContractError::IncompatibleContract {
            found: "(unversioned)".to_string(),
        })?;
    if !is_compatible(&found) {
        return Err(ContractError::IncompatibleContract {
            found: found.to_string(),
        });
    }
    for import in imports {
        let (name, version) = split_version(import);
        let ok = if name.starts_with("crawlhost:plugin/") {
            // Of the same contract as the export: a component links as one
            // world, so a 0.1 crawler cannot import 0.2's `browser`.
            version
                .and_then(|v| Version::parse(v).ok())
                .is_some_and(|v| is_compatible_with(&v, &found))
        } else if let Some(iface) = name.strip_prefix("wasi:") {
            let package = iface.split('/').next().unwrap_or("");
            matches!(
                package,
                "cli" | "io" | "clocks" | "random" | "filesystem" | "sockets"
            ) && version.is_some_and(|v| v.starts_with("0.2."))
        } else {
            false
        };
        if !ok {
            return Err(ContractError::UnsupportedImport {
                import: import.to_string(),
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_binaries() {
        assert_eq!(classify(b"hello world"), Err(ContractError::NotWasm));
        assert_eq!(classify(b"\0asm\x01\0\0\0"), Err(ContractError::CoreModule));
        assert_eq!(classify(b"\0asm\x0d\0\x01\0"), Ok(()));
    }

    #[test]
    fn accepts_the_host_contract_and_wasi() {
        let v = check_names(
            ["crawlhost:plugin/crawler@0.1.0"],
            [
                "crawlhost:plugin/fetch@0.1.0",
                "crawlhost:plugin/types@0.1.0",
                "wasi:cli/environment@0.2.6",
                "wasi:io/streams@0.2.0",
            ],
        )
        .unwrap();
        assert_eq!(v, Version::new(0, 1, 0));
        // A newer patch of the same minor is compatible.
        assert!(check_names(["crawlhost:plugin/crawler@0.1.7"], []).is_ok());
        let v = check_names(
            ["crawlhost:plugin/crawler@0.2.0"],
            [
                "crawlhost:plugin/browser@0.2.0",
                "crawlhost:plugin/fetch@0.2.0",
                "crawlhost:plugin/types@0.2.0",
            ],
        )
        .unwrap();
        assert_eq!(v, Version::new(0, 2, 0));
        let v = check_names(
            ["crawlhost:plugin/crawler@0.3.0"],
            [
                "crawlhost:plugin/browser@0.3.0",
                "crawlhost:plugin/quality@0.3.0",
                "crawlhost:plugin/types@0.3.0",
            ],
        )
        .unwrap();
        assert_eq!(v, CONTRACT_VERSION);
    }

    #[test]
    fn refuses_other_worlds_and_versions() {
        let err = check_names(["wasi:cli/run@0.2.0"], []).unwrap_err();
        assert!(err.to_string().contains("wasi:cli/run@0.2.0"), "{err}");
        let err = check_names(["crawlhost:plugin/crawler@1.0.0"], []).unwrap_err();
        assert_eq!(
            err,
            ContractError::IncompatibleContract {
                found: "1.0.0".into()
            }
        );
        assert!(err.to_string().contains("crawlhost:plugin@1.0.0"));
        let err = check_names(["crawlhost:plugin/crawler@0.4.0"], []).unwrap_err();
        assert_eq!(
            err,
            ContractError::IncompatibleContract {
                found: "0.4.0".into()
            }
        );
        assert!(err.to_string().contains("crawlhost:plugin@0.4.0"), "{err}");
        assert!(
            err.to_string().contains(
                "host contracts: crawlhost:plugin@0.1.0, crawlhost:plugin@0.2.0 and \
                 crawlhost:plugin@0.3.0;"
            ),
            "{err}"
        );
        let err = check_names(["crawlhost:plugin/crawler@0.0.9"], []).unwrap_err();
        assert!(matches!(err, ContractError::IncompatibleContract { .. }));
    }

    #[test]
    fn older_contracts_are_described_as_such() {
        assert_eq!(describe(&CONTRACT_VERSION), "crawlhost:plugin@0.3.0");
        let old = describe(&Version::new(0, 2, 0));
        assert!(
            old.starts_with("crawlhost:plugin@0.2.0 (older than this host's 0.3.0"),
            "{old}"
        );
    }

    #[test]
    fn semver_rules_after_1_0() {
        let host = Version::new(1, 2, 0);
        assert!(is_compatible_with(&Version::new(1, 0, 3), &host));
        assert!(!is_compatible_with(&Version::new(2, 0, 0), &host));
    }

    #[test]
    fn refuses_imports_the_host_does_not_give() {
        let err = check_names(
            ["crawlhost:plugin/crawler@0.1.0"],
            ["wasi:http/outgoing-handler@0.2.0"],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("wasi:http/outgoing-handler"),
            "{err}"
        );
        let err = check_names(
            ["crawlhost:plugin/crawler@0.1.0"],
            ["crawlhost:plugin/fetch@2.0.0"],
        )
        .unwrap_err();
        assert!(matches!(err, ContractError::UnsupportedImport { .. }));
        // A 0.2 crawler importing 0.3's quality mixes two worlds.
        let err = check_names(
            ["crawlhost:plugin/crawler@0.2.0"],
            ["crawlhost:plugin/quality@0.3.0"],
        )
        .unwrap_err();
        assert!(matches!(err, ContractError::UnsupportedImport { .. }));
        // A 0.1 crawler importing 0.2's browser mixes two worlds.
        let err = check_names(
            ["crawlhost:plugin/crawler@0.1.0"],
            ["crawlhost:plugin/browser@0.2.0"],
        )
        .unwrap_err();
        assert_eq!(
            err,
            ContractError::UnsupportedImport {
                import: "crawlhost:plugin/browser@0.2.0".into()
            }
        );
    }
}
