"""What a set of timing rounds says: a distribution-free interval for the median ratio, and
the verdict (faster, slower, or not told apart)."""

import math


def median_interval(values, confidence=0.95):
    """A distribution-free confidence interval for the median of `values`: (the k-th smallest,
    the k-th largest), with k as large as it can be while the chance that the true median lies
    outside stays at most 1 - confidence. The median lies below the k-th smallest value only
    if at most k - 1 values fall below it, a Binomial(n, 1/2) event; likewise above. None for
    fewer than 6 values (then even the full range covers the median less than 95% of the time).
    """
    n, ordered = len(values), sorted(values)
    k = 0
    while 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n <= 1 - confidence:
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def pair_verdict(ratios):
    """What a row's rounds say about zoo against its reference: the rounds zoo won, the 95%
    interval of the median ratio, and "faster", "slower" (the interval wholly above or below
    1.0) or "same" (the rounds cannot tell the two apart)."""
    interval = median_interval(ratios)
    verdict = (
        None
        if interval is None
        else ("faster" if interval[0] > 1 else "slower" if interval[1] < 1 else "same")
    )
    return {
        "rounds_zoo_faster": sum(ratio > 1 for ratio in ratios),
        "ratio_interval_95": interval,
        "verdict": verdict,
    }
