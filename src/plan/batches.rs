//! `serial`: splitting a play's hosts into batches, and the failure threshold of a batch.

use crate::compile::BatchSize;

/// Splits `hosts` into consecutive batches per `serial` (the last size repeats); no sizes means
/// one batch with every host.
pub fn batches<T: Clone>(hosts: &[T], serial: &[BatchSize]) -> Vec<Vec<T>> {
    if serial.is_empty() || hosts.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut sizes = serial.iter();
    let mut size = serial[0];
    while !rest.is_empty() {
        if let Some(next) = sizes.next() {
            size = *next;
        }
        let n = match size {
            BatchSize::Count(n) => n,
            BatchSize::Percent(p) => ((hosts.len() as f64 * p / 100.0) as usize).max(1),
        }
        .clamp(1, rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    out
}

/// Whether `failed` hosts out of `batch` exceed `max_fail_percentage` (Ansible aborts when the
/// percentage of failed hosts is strictly greater).
pub fn exceeds(failed: usize, batch: usize, max_fail_percentage: Option<f64>) -> bool {
    match max_fail_percentage {
        Some(max) if batch > 0 => (failed as f64 * 100.0 / batch as f64) > max,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BatchSize::{Count, Percent};

    fn sizes(n: usize, serial: &[BatchSize]) -> Vec<usize> {
        let hosts: Vec<usize> = (0..n).collect();
        batches(&hosts, serial).iter().map(Vec::len).collect()
    }

    #[test]
    fn serial_forms_split_like_ansible() {
        assert_eq!(sizes(5, &[]), [5]);
        assert_eq!(sizes(5, &[Count(2)]), [2, 2, 1]);
        assert_eq!(sizes(8, &[Percent(25.0)]), [2, 2, 2, 2]);
        assert_eq!(sizes(3, &[Percent(10.0)]), [1, 1, 1]);
        assert_eq!(sizes(10, &[Count(1), Count(5), Percent(50.0)]), [1, 5, 4]);
        assert_eq!(
            sizes(20, &[Count(1), Count(5), Percent(50.0)]),
            [1, 5, 10, 4]
        );
    }

    #[test]
    fn failure_threshold_is_strictly_greater() {
        assert!(!exceeds(1, 4, Some(25.0)));
        assert!(exceeds(2, 4, Some(25.0)));
        assert!(exceeds(1, 4, Some(0.0)));
        assert!(!exceeds(3, 4, None));
    }
}
