"""Named arrival profiles: shapes of the day and the week that planners recognise."""

from __future__ import annotations

from collections.abc import Sequence

# Named daily shapes, hourly weights in local time (normalised to mean 1 when used).
DAILY_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 24,
    # an office desk: quiet at night, busy 09-18
    "business_hours": (0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.1, 1.6, 1.8, 1.8,
                       1.6, 1.7, 1.8, 1.7, 1.6, 1.4, 1.1, 0.8, 0.6, 0.5, 0.4, 0.3),
    # retail crypto traders: a late-morning rise and an evening peak, never fully asleep
    "retail": (0.7, 0.5, 0.4, 0.3, 0.3, 0.35, 0.5, 0.7, 0.9, 1.1, 1.2, 1.25,
               1.2, 1.15, 1.15, 1.2, 1.25, 1.3, 1.4, 1.5, 1.6, 1.55, 1.3, 1.0),
    # exchange traffic driven by Asian trading hours (use with an Asian time zone)
    "asia_peak": (0.55, 0.45, 0.4, 0.35, 0.35, 0.4, 0.55, 0.75, 1.0, 1.25, 1.35, 1.4,
                  1.3, 1.3, 1.35, 1.4, 1.4, 1.35, 1.3, 1.35, 1.4, 1.3, 1.05, 0.8),
}
WEEKLY_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 7,
    "weekdays": (1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75),
    "weekend_heavy": (0.9, 0.9, 0.9, 0.95, 1.0, 1.2, 1.15),
}


def normalised(weights: Sequence[float]) -> tuple[float, ...]:
    mean = sum(weights) / len(weights)
    if mean <= 0:
        raise ValueError("a profile needs at least one positive weight")
    return tuple(w / mean for w in weights)


def profile_weights(value: str | Sequence[float], named: dict[str, tuple[float, ...]], what: str) -> tuple[float, ...]:
    """Weights of a named or listed profile, normalised to mean 1."""
    if isinstance(value, str):
        if value not in named:
            raise ValueError(f"unknown {what} profile {value!r}; known: {', '.join(named)}, or a list of weights")
        return normalised(named[value])
    return normalised(value)
