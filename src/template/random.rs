//! Random choices for `shuffle`, `random_choice`, `password` and salts: from the system's
//! generator, or reproducible from a seed (not Python's sequence: the same seed gives the same
//! result on every run of deployer, not the value Ansible gives).

use sha2::{Digest, Sha256};

/// A source of random numbers.
pub enum Source {
    /// The operating system's generator.
    System,
    /// A stream derived from a seed and a counter.
    Seeded { seed: Vec<u8>, counter: u64 },
}

impl Source {
    /// A seeded source when `seed` is given, else the system one.
    pub fn new(seed: Option<&str>) -> Self {
        match seed {
            Some(seed) => Source::Seeded {
                seed: seed.as_bytes().to_vec(),
                counter: 0,
            },
            None => Source::System,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        match self {
            Source::System => getrandom::fill(&mut bytes).expect("the system random generator"),
            Source::Seeded { seed, counter } => {
                let digest = Sha256::new()
                    .chain_update(&*seed)
                    .chain_update(counter.to_le_bytes())
                    .finalize();
                *counter += 1;
                bytes.copy_from_slice(&digest[..8]);
            }
        }
        u64::from_le_bytes(bytes)
    }

    /// A number below `n` (which must not be 0), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// `length` characters picked from `chars`.
    pub fn text(&mut self, chars: &[char], length: usize) -> String {
        (0..length)
            .map(|_| chars[self.below(chars.len())])
            .collect()
    }
}

/// A number below `n` from the system's generator.
pub fn below(n: usize) -> usize {
    Source::System.below(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sources_repeat_and_stay_in_range() {
        let pick = |seed| {
            let mut s = Source::new(Some(seed));
            (0..20).map(|_| s.below(7)).collect::<Vec<_>>()
        };
        assert_eq!(pick("a"), pick("a"));
        assert_ne!(pick("a"), pick("b"));
        assert!(pick("a").iter().all(|&x| x < 7));
        let mut items: Vec<u32> = (0..10).collect();
        Source::new(None).shuffle(&mut items);
        items.sort();
        assert_eq!(items, (0..10).collect::<Vec<_>>());
    }
}
