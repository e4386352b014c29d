//! Error text for messages that end at a person: an error followed by each
//! of its sources once (`cannot open bus.db: unable to open database file`),
//! for errors whose `Display` does not already include their source.

/// `e` and its sources, joined with `": "`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sources_follow_once_each() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open x.db")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("disk gone"));
        assert_eq!(super::chain(&e), "cannot open x.db: disk gone");
    }
}
