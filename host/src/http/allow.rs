//! Which hosts a plugin may reach: pure matching, no I/O.
//!
//! A plugin declares host patterns in its manifest; the host expands
//! `{config-key}` references against the plugin's configuration and checks
//! every request URL (and every redirect hop) against the result. Address
//! classification ([`is_restricted_ip`]) is applied after DNS resolution by the
//! client's resolver, so a public name that resolves to 127.0.0.1 or
//! 169.254.169.254 is refused as well.

use std::collections::BTreeMap;
use std::net::IpAddr;

use url::Url;

/// A bad host pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("host pattern `{0}` is empty or malformed")]
    Malformed(String),
    #[error(
        "host pattern `{0}` is a wildcard over a public suffix or IP addresses \
         (it would reach every site under it); name the site's own domain, \
         e.g. `*.example.com`"
    )]
    TooBroad(String),
    #[error("host pattern `{pattern}` refers to config key `{key}`, which is not set")]
    MissingConfig { pattern: String, key: String },
    #[error("host pattern `{pattern}`: config key `{key}` is not an absolute URL: {value}")]
    BadConfigUrl {
        pattern: String,
        key: String,
        value: String,
    },
}

/// One allowed host: exact name or `*.suffix`, optionally with a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower-case host name or IP literal; for wildcards the suffix after `*.`.
    host: String,
    wildcard: bool,
    /// None: the scheme's default port only.
    port: Option<u16>,
}

impl HostPattern {
    /// Parse `host`, `host:port`, `*.domain` or `*.domain:port`.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let bad = || PatternError::Malformed(pattern.to_string());
        let p = pattern.trim().to_ascii_lowercase();
        if p.is_empty() || p.contains(['/', '@', ' ', '?', '#']) {
            return Err(bad());
        }
        let (wildcard, rest) = match p.strip_prefix("*.") {
            Some(rest) => (true, rest.to_string()),
            None => (false, p.clone()),
        };
        let (host, port) = split_host_port(&rest).ok_or_else(bad)?;
        if host.is_empty() || host.contains('*') {
            return Err(bad());
        }
        if wildcard && is_public_suffix(&host) {
            return Err(PatternError::TooBroad(pattern.trim().to_string()));
        }
        Ok(Self {
            host,
            wildcard,
            port,
        })
    }

    /// The pattern for exactly the host (and explicit port) of `url`.
    pub fn from_url(url: &Url) -> Option<Self> {
        Some(Self {
            host: url.host_str()?.to_ascii_lowercase(),
            wildcard: false,
            port: url.port(),
        })
    }

    /// Whether a request to `url` matches.
    pub fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let host_ok = if self.wildcard {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        };
        // `Url::port` is None when the URL uses the scheme's default port.
        host_ok && url.port() == self.port
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            write!(f, "*.")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        // [v6]:port
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((format!("[{host}]"), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), Some(p.parse().ok()?))),
        None => Some((s.to_string(), None)),
    }
}

/// The set of hosts one plugin may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<HostPattern>,
}

impl AllowList {
    /// Build from manifest patterns, expanding `{key}` to the host of the URL
    /// in config value `key`.
    pub fn from_manifest(
        patterns: &[String],
        config: &BTreeMap<String, String>,
    ) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for pattern in patterns {
            let trimmed = pattern.trim();
            if let Some(key) = trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let value = config.get(key).ok_or_else(|| PatternError::MissingConfig {
                    pattern: pattern.clone(),
                    key: key.to_string(),
                })?;
                let bad_url = || PatternError::BadConfigUrl {
                    pattern: pattern.clone(),
                    key: key.to_string(),
                    value: value.clone(),
                };
                let url = Url::parse(value).map_err(|_| bad_url())?;
                out.push(HostPattern::from_url(&url).ok_or_else(bad_url)?);
            } else {
                out.push(HostPattern::parse(trimmed)?);
            }
        }
        Ok(Self { patterns: out })
    }

    /// Whether `url` may be fetched (scheme http/https and a matching host).
    pub fn allows(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https") && self.patterns.iter().any(|p| p.matches(url))
    }

    /// The patterns, for messages and `plugin inspect`.
    pub fn patterns(&self) -> &[HostPattern] {
        &self.patterns
    }
}

/// Second-level labels that registries use under country-code TLDs
/// (`co.kr`, `com.au`, `or.jp`, `gov.uk` ...).
const REGISTRY_LABELS: &[&str] = &[
    "ac", "co", "com", "edu", "go", "gob", "gov", "gv", "ltd", "me", "mil", "ne", "net", "nic",
    "or", "org", "plc", "re", "sch",
];

/// Shared hosting domains where every subdomain is someone else's site
/// (the private section of the Public Suffix List, the common ones).
const SHARED_SUFFIXES: &[&str] = &[
    "amazonaws.com",
    "s3.amazonaws.com",
    "cloudfront.net",
    "azurewebsites.net",
    "blob.core.windows.net",
    "appspot.com",
    "blogspot.com",
    "firebaseapp.com",
    "web.app",
    "github.io",
    "gitlab.io",
    "herokuapp.com",
    "netlify.app",
    "vercel.app",
    "pages.dev",
    "workers.dev",
    "fly.dev",
    "onrender.com",
    "ngrok.io",
    "ngrok-free.app",
];

/// Whether `*.<suffix>` would cover a whole public suffix: a single label
/// (`com`, `kr`, `localhost`), a registry level under a country code
/// (`co.kr`, `com.au`), a shared hosting domain (`github.io`), or numbers
/// (the tail of IP addresses). A short built-in rule, not the whole Public
/// Suffix List: it refuses the patterns that are plainly too broad.
fn is_public_suffix(suffix: &str) -> bool {
    let labels: Vec<&str> = suffix.trim_end_matches('.').split('.').collect();
    let last = labels.last().copied().unwrap_or("");
    labels.len() < 2
        || last.bytes().all(|b| b.is_ascii_digit())
        || suffix.contains(':')
        || (labels.len() == 2 && last.len() == 2 && REGISTRY_LABELS.contains(&labels[0]))
        || SHARED_SUFFIXES.contains(&suffix)
}

/// Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack 169.254.169.254,
/// AWS ECS 169.254.170.2, AWS IPv6 fd00:ec2::254, Alibaba 100.100.100.200),
/// IPv4-mapped forms included. They hand out credentials, so
/// `http.allow_private_addresses` does not open them: only an explicit entry
/// in `http.allowed_private_ranges` does.
pub fn is_metadata_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => matches!(
            v4.octets(),
            [169, 254, 169, 254] | [169, 254, 170, 2] | [100, 100, 100, 200]
        ),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_metadata_ip(IpAddr::V4(v4)),
            None => v6.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254],
        },
    }
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach an
/// IPv4 host: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`, RFC 6052), 6to4
/// (`2002:aabb:ccdd::/48`, RFC 3056) and the Teredo client (`2001::/32`,
/// the last 32 bits inverted, RFC 4380). A request to such an address may
/// end at that IPv4 host, so it is judged by it.
pub fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| std::net::Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) != (0, 0) && (hi, lo) != (0, 1) => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        [0x2001, 0, _, _, _, _, hi, lo] => Some(low(!hi, !lo)),
        _ => None,
    }
}

/// Which resolved addresses requests may connect to: the operator's switch
/// for private addresses plus explicitly allowed ranges. Pure; applied to IP
/// literals before a request and to every address DNS returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// `http.allow_private_addresses`: loopback, private, link-local ...
    /// become reachable, metadata endpoints still not.
    pub allow_private: bool,
    /// `http.allowed_private_ranges`: reachable whatever the class,
    /// metadata endpoints included when listed.
    pub allowed_ranges: Vec<ipnet::IpNet>,
}

impl AddressPolicy {
    /// `Ok` when `ip` may be reached, else why not (for the error message).
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allowed_ranges.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        if is_metadata_ip(ip) {
            return Err(format!(
                "{ip} is a cloud metadata address (only an entry in \
                 http.allowed_private_ranges makes it reachable)"
            ));
        }
        if !self.allow_private && is_restricted_ip(ip) {
            return Err(format!(
                "{ip} is a loopback, private, link-local or reserved address \
                 (set http.allow_private_addresses or http.allowed_private_ranges to allow it)"
            ));
        }
        Ok(())
    }
}

/// Addresses a crawler must not reach unless the operator allows it:
/// loopback, private, link-local (which holds the cloud metadata address
/// 169.254.169.254), unspecified, multicast, broadcast, shared (CGNAT),
/// unique-local and site-local IPv6, benchmarking (198.18.0.0/15) and IETF
/// (192.0.0.0/24) ranges, and every IPv6 form that carries one of those IPv4
/// addresses ([`embedded_ipv4`]: mapped, compatible, NAT64, 6to4, Teredo).
pub fn is_restricted_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                // 198.18.0.0/15: benchmarking.
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                // 192.0.0.0/24: IETF protocol assignments.
                || o[..3] == [192, 0, 0]
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return is_restricted_ip(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, fec0::/10
                // site-local (deprecated, still routed inside sites).
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                // 64:ff9b:1::/48: local-use NAT64 (RFC 8215).
                || seg[..3] == [0x64, 0xff9b, 1]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn list(patterns: &[&str]) -> AllowList {
        let mut config = BTreeMap::new();
        config.insert(
            "base_url".to_string(),
            "http://127.0.0.1:8080/x".to_string(),
        );
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        AllowList::from_manifest(&patterns, &config).unwrap()
    }

    #[test]
    fn exact_host_matches_default_port_only() {
        let l = list(&["www.oliveyoung.co.kr"]);
        assert!(l.allows(&url("https://www.oliveyoung.co.kr/store")));
        assert!(l.allows(&url("http://WWW.OLIVEYOUNG.CO.KR/")));
        assert!(!l.allows(&url("https://www.oliveyoung.co.kr:8443/")));
        assert!(!l.allows(&url("https://m.oliveyoung.co.kr/")));
        assert!(!l.allows(&url("https://www.oliveyoung.co.kr.evil.com/")));
    }

    #[test]
    fn wildcard_needs_a_subdomain() {
        let l = list(&["*.oliveyoung.co.kr"]);
        assert!(l.allows(&url("https://m.oliveyoung.co.kr/")));
        assert!(l.allows(&url("https://a.b.oliveyoung.co.kr/")));
        assert!(!l.allows(&url("https://oliveyoung.co.kr/")));
        assert!(!l.allows(&url("https://evoliveyoung.co.kr/")));
    }

    /// Issue 15 (low): a wildcard over a public suffix (`*.com`, `*.co.kr`,
    /// `*.github.io`) or over IP addresses (`*.0.0.1`) would let a plugin
    /// reach every site under it; refused wherever patterns are parsed
    /// (manifests, allow-lists, secrets, politeness rules).
    #[test]
    fn wildcards_over_public_suffixes_are_refused() {
        for bad in [
            "*.com",
            "*.kr",
            "*.COM:443",
            "*.co.kr",
            "*.co.uk",
            "*.com.au",
            "*.or.kr",
            "*.ne.jp",
            "*.github.io",
            "*.herokuapp.com",
            "*.s3.amazonaws.com",
            "*.0.0.1",
            "*.1",
            "*.localhost",
        ] {
            assert!(
                matches!(HostPattern::parse(bad), Err(PatternError::TooBroad(_))),
                "{bad} accepted"
            );
        }
        for ok in [
            "*.oliveyoung.co.kr",
            "*.example.com",
            "*.x.com",
            "*.bbc.co.uk",
            "*.me.github.io",
            "com",
            "127.0.0.1",
        ] {
            HostPattern::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let mut config = BTreeMap::new();
        config.insert("u".to_string(), "http://a.example/".to_string());
        let err = AllowList::from_manifest(&["*.com".to_string()], &config).unwrap_err();
        assert!(err.to_string().contains("*.com"), "{err}");
    }

    #[test]
    fn explicit_port_and_config_reference() {
        let l = list(&["{base_url}"]);
        assert!(l.allows(&url("http://127.0.0.1:8080/store")));
        assert!(!l.allows(&url("http://127.0.0.1:8081/store")));
        assert!(!l.allows(&url("http://127.0.0.1/store")));
        let l = list(&["api.x.com:8443"]);
        assert!(l.allows(&url("https://api.x.com:8443/2/tweets")));
        assert!(!l.allows(&url("https://api.x.com/2/tweets")));
    }

    #[test]
    fn other_schemes_are_refused() {
        let l = list(&["example.com"]);
        assert!(!l.allows(&url("ftp://example.com/")));
        assert!(!l.allows(&url("file:///etc/passwd")));
    }

    #[test]
    fn empty_list_denies_everything() {
        assert!(!AllowList::default().allows(&url("https://example.com/")));
    }

    #[test]
    fn malformed_patterns_and_missing_config_are_errors() {
        for bad in ["", "*.", "a/b", "user@host", "host:notaport", "*.*.x"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} parsed");
        }
        let err = AllowList::from_manifest(&["{nope}".to_string()], &BTreeMap::new());
        assert!(matches!(err, Err(PatternError::MissingConfig { .. })));
    }

    #[test]
    fn address_policy_switches() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let strict = AddressPolicy::default();
        assert!(strict.check(ip("127.0.0.1")).is_err());
        assert!(strict.check(ip("93.184.216.34")).is_ok());
        let open = AddressPolicy {
            allow_private: true,
            allowed_ranges: vec![],
        };
        assert!(open.check(ip("127.0.0.1")).is_ok());
        assert!(open.check(ip("10.0.0.1")).is_ok());
        // The switch does not open the metadata endpoints.
        for meta in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            let err = open.check(ip(meta)).unwrap_err();
            assert!(err.contains("metadata"), "{meta}: {err}");
        }
        let ranges = AddressPolicy {
            allow_private: false,
            allowed_ranges: vec![
                "127.0.0.0/8".parse().unwrap(),
                "169.254.169.254/32".parse().unwrap(),
            ],
        };
        assert!(ranges.check(ip("127.0.0.2")).is_ok());
        assert!(ranges.check(ip("169.254.169.254")).is_ok());
        assert!(ranges.check(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn restricted_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_restricted_ip(ip.parse().unwrap()), "{ip} allowed");
        }
        for ip in ["93.184.216.34", "211.233.1.1", "2606:4700::1111"] {
            assert!(!is_restricted_ip(ip.parse().unwrap()), "{ip} refused");
        }
    }

    /// Issue 15 (low): IPv6 forms that carry an IPv4 address (NAT64,
    /// IPv4-compatible, 6to4, Teredo) are judged by that address, and the
    /// site-local and benchmarking ranges are reserved.
    #[test]
    fn embedded_ipv4_and_reserved_ranges_are_restricted() {
        for ip in [
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe",                   // NAT64 of 169.254.169.254
            "64:ff9b::10.0.0.1",                    // NAT64 of 10.0.0.1
            "64:ff9b:1::1",                         // local-use NAT64 prefix
            "::127.0.0.1",                          // IPv4-compatible
            "::169.254.169.254",                    // IPv4-compatible
            "::10.1.2.3",                           // IPv4-compatible
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
            "2002:c0a8:101::1",                     // 6to4 of 192.168.1.1
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "fec0::1",                              // site-local
            "feff::1",                              // site-local (end of fec0::/10)
            "198.18.0.1",                           // benchmarking
            "198.19.255.254",                       // benchmarking
            "192.0.0.8",                            // IETF protocol assignments
        ] {
            assert!(is_restricted_ip(ip.parse().unwrap()), "{ip} allowed");
        }
        for ip in [
            "64:ff9b::5db8:d822", // NAT64 of 93.184.216.34
            "2002:5db8:d822::1",  // 6to4 of 93.184.216.34
            "::93.184.216.34",    // IPv4-compatible public
            "198.20.0.1",
            "198.17.255.255",
            "2606:4700::1111",
        ] {
            assert!(!is_restricted_ip(ip.parse().unwrap()), "{ip} refused");
        }
        // The metadata address stays a metadata address in every form.
        for ip in [
            "64:ff9b::a9fe:a9fe",
            "::169.254.169.254",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(is_metadata_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
