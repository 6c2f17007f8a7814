"""Argument checks shared by the formulas: a bad value is named, never silently clipped."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence


def check_servers(value: object, name: str = "servers") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_real(
    value: object, name: str, *, low: float = 0.0, strict: bool = True, allow_inf: bool = False
) -> float:
    """Return value as float if it is a real number above `low` (or >= when not strict)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    x = float(value) if ok else math.nan  # type: ignore[arg-type]
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)) or x < low or (strict and x == low):
        kind = "a number" if allow_inf else "a finite number"
        raise ValueError(f"{name} must be {kind} {'>' if strict else '>='} {low:g}, got {value!r}")
    return x


def check_fraction(value: object, name: str) -> float:
    x = check_real(value, name)
    if x >= 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return x


def check_rates(values: Sequence[float], name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    return [check_real(v, f"{name}[{i}]", strict=False) for i, v in enumerate(values)]


def check_time(t: object, name: str = "t") -> float:
    return check_real(t, name, strict=False, allow_inf=True)


def check_quantile_level(q: object) -> float:
    x = check_real(q, "q", strict=False)
    if x > 1.0:
        raise ValueError(f"q must lie in [0, 1], got {q!r}")
    return x

