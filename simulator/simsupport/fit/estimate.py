"""An estimate as a planner should see it: the value, its 95% interval and how many
observations it rests on (written beside the value in the fitted YAML)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    value: float
    lo: float
    hi: float
    n: int  # observations behind the estimate (tickets, intervals, days: see `basis`)
    se: float = math.nan  # standard error on the value's own scale (for tolerance checks)
    basis: str = "tickets"  # what n counts
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:  # plain floats, whatever numpy handed in (YAML, JSON)
        for name in ("value", "lo", "hi", "se"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))

    @property
    def covers(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    @classmethod
    def normal(cls, value: float, se: float, n: int, basis: str = "tickets", lower: float = -math.inf,
               upper: float = math.inf) -> Estimate:
        """Wald interval value ± 1.96 se, kept inside [lower, upper]."""
        lo = max(lower, value - Z95 * se) if math.isfinite(se) else math.nan
        hi = min(upper, value + Z95 * se) if math.isfinite(se) else math.nan
        return cls(value, lo, hi, n, se, basis)

    @classmethod
    def log_normal(cls, value: float, se_log: float, n: int, basis: str = "tickets") -> Estimate:
        """Interval exp(log value ± 1.96 se_log) for a positive quantity; se on the value scale
        by the delta method."""
        if value <= 0 or not math.isfinite(se_log):
            return cls(value, math.nan, math.nan, n, math.nan, basis)
        return cls(value, value * math.exp(-Z95 * se_log), value * math.exp(Z95 * se_log), n, value * se_log, basis)

    def comment(self, fmt: str = "{:.4g}", unit: str = "") -> str:
        """'95% CI 0.31-0.35, n=1234 tickets' for the YAML and the estimates table."""
        if self.covers:
            ci = f"95% CI {fmt.format(self.lo)}{unit}-{fmt.format(self.hi)}{unit}"
        else:
            ci = "95% CI n/a"
        return f"{ci}, n={self.n:,} {self.basis}"


def proportion(successes: int, n: int, basis: str = "tickets") -> Estimate:
    """A share with its Wilson score interval (sensible at 0, 1 and small n)."""
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, 0, math.nan, basis, ("no observations",))
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n, math.sqrt(p * (1 - p) / n), basis)
