//! A run's identity, made once per run: names its events, its deploy locks and its run log.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::SystemTime;

use serde::Serialize;

/// `YYYYMMDDTHHMMSSZ-xxxx`: the UTC start second and four random hex digits. Ids sort by start
/// time, and two runs started in the same second differ (almost always) by the suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// A fresh id for a run starting now.
    pub fn generate() -> Self {
        RunId::starting_at(SystemTime::now())
    }

    /// A fresh id for a run starting at `time`.
    pub fn starting_at(time: SystemTime) -> Self {
        let stamp: String = rfc3339(time)
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            time.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.write_u32(std::process::id());
        RunId(format!("{stamp}-{:04x}", hasher.finish() & 0xffff))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        RunId::generate()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `time` as RFC 3339 in UTC, to the second (`2024-05-01T12:00:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_id_is_the_utc_second_and_four_hex_digits() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_805);
        let id = RunId::starting_at(time);
        let (stamp, suffix) = id.as_str().split_once('-').unwrap();
        assert_eq!(stamp, "20240501T120005Z");
        assert_eq!(suffix.len(), 4);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert_eq!(rfc3339(time), "2024-05-01T12:00:05Z");
    }
}
