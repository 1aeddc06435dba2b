//! Medians and their confidence intervals, distribution-free.
//!
//! A batch time is not normally distributed (a preemption makes one batch
//! slow, nothing makes one fast), so the reports use medians, and the
//! interval of a median comes from order statistics: for `n` independent
//! samples, the true median lies between the `k`-th smallest and the
//! `k`-th largest sample with probability `1 - 2 P(B <= k - 1)`, where
//! `B ~ Binomial(n, 1/2)`. [`median_ci`] picks the largest `k` whose
//! coverage is at least the confidence asked for. It needs no resampling
//! and no random numbers, so the same samples always give the same
//! interval.

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate (a median, or a geometric mean).
    pub value: f64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound of the interval.
    pub high: f64,
}

/// The median of `values` (the mean of the middle two for an even
/// count). `NaN` for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_of_sorted(&sorted)
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The 1-based rank `k` such that `[x(k), x(n+1-k)]` of `n` sorted
/// samples covers the median with at least `confidence`, or 1 (the whole
/// range) when `n` is too small for that.
pub fn order_statistic_rank(n: usize, confidence: f64) -> usize {
    if n == 0 {
        return 1;
    }
    let alpha = 1.0 - confidence;
    // P(B = j) in the log domain, so that 0.5^n does not underflow.
    let mut log_pmf = n as f64 * 0.5f64.ln();
    let mut cdf = 0.0;
    let mut k = 1;
    for j in 0..n.div_ceil(2) {
        // cdf = P(B <= j): rank j + 1 is good enough while 2 cdf <= alpha.
        cdf += log_pmf.exp();
        if 2.0 * cdf > alpha {
            break;
        }
        k = j + 1;
        log_pmf += ((n - j) as f64 / (j + 1) as f64).ln();
    }
    k.min(n.div_ceil(2))
}

/// The median of `values` with its distribution-free interval at
/// `confidence` (for example 0.95). `NaN`s for no values.
pub fn median_ci(values: &[f64], confidence: f64) -> Estimate {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return Estimate { value: f64::NAN, low: f64::NAN, high: f64::NAN };
    }
    let k = order_statistic_rank(n, confidence);
    Estimate { value: median_of_sorted(&sorted), low: sorted[k - 1], high: sorted[n - k] }
}

/// The coverage of the interval [`median_ci`] returns for `n` samples.
pub fn coverage(n: usize, confidence: f64) -> f64 {
    let k = order_statistic_rank(n, confidence);
    // 1 - 2 P(B <= k - 1).
    let mut log_pmf = n as f64 * 0.5f64.ln();
    let mut cdf = 0.0;
    for j in 0..k {
        cdf += log_pmf.exp();
        log_pmf += ((n - j) as f64 / (j + 1) as f64).ln();
    }
    (1.0 - 2.0 * cdf).max(0.0)
}

/// The geometric mean of positive `values` (`NaN` for none).
pub fn geometric_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ranks_match_the_binomial_tables() {
        // Classic values for a 95% interval of the median: n = 6..8 give
        // rank 1, n = 9..11 rank 2, n = 20 rank 6, n = 100 rank 40.
        assert_eq!(order_statistic_rank(5, 0.95), 1);
        assert_eq!(order_statistic_rank(8, 0.95), 1);
        assert_eq!(order_statistic_rank(9, 0.95), 2);
        assert_eq!(order_statistic_rank(20, 0.95), 6);
        assert_eq!(order_statistic_rank(100, 0.95), 40);
        assert!(coverage(100, 0.95) >= 0.95);
        assert!(coverage(20, 0.95) >= 0.95);
        // Large n does not underflow.
        let k = order_statistic_rank(10_000, 0.95);
        assert!((4_890..4_910).contains(&k), "{k}");
    }

    #[test]
    fn interval_brackets_the_median() {
        let values: Vec<f64> = (1..=101).map(f64::from).collect();
        let e = median_ci(&values, 0.95);
        assert_eq!(e.value, 51.0);
        assert!(e.low < 51.0 && e.high > 51.0);
        assert_eq!(e.low + e.high, 102.0, "symmetric ranks");
        let one = median_ci(&[7.0], 0.95);
        assert_eq!((one.value, one.low, one.high), (7.0, 7.0, 7.0));
    }

    #[test]
    fn geometric_means() {
        assert!((geometric_mean(&[0.5, 2.0]) - 1.0).abs() < 1e-12);
        assert!((geometric_mean(&[0.9]) - 0.9).abs() < 1e-12);
    }
}
