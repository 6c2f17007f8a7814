"""Arrival processes: non-homogeneous Poisson with daily and weekly profiles.

The rate of a channel is piecewise constant: its average `rate` times a daily weight (one per
slot of the day, local time) times a weekly weight (one per weekday). Arrivals are generated
exactly by time rescaling: a unit-exponential amount of cumulative intensity is consumed
segment by segment, so a quiet night or a zero-rate hour needs no special case and no thinning
bound. Time zones (and their daylight-saving jumps) are honoured by converting each segment
boundary through zoneinfo; that costs one conversion per segment, not per ticket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..profiles import DAILY_PROFILES, WEEKLY_PROFILES, profile_weights


class PiecewiseRate:
    """rate(t) = base * daily[slot(t)] * weekly[weekday(t)], in a time zone.

    Segments are produced forward in time and cached one at a time, since an arrival stream
    only moves forward.
    """

    def __init__(
        self,
        base: float,
        daily: Sequence[float],
        weekly: Sequence[float],
        tz: str,
        start: datetime,
        multiplier: Sequence[float] | None = None,
        step: float = 60.0,
    ) -> None:
        self.base = base
        # market multiplier per step of `step` seconds (held after the last step)
        self.mult = list(multiplier) if multiplier is not None else None
        self.step = step
        self.p_start = 0.0
        self.p_end = -1.0
        self.p_rate = 0.0
        self.daily = tuple(daily)
        self.weekly = tuple(weekly)
        self.tz = ZoneInfo(tz)
        self.start = start
        self.slot = 86400.0 / len(self.daily)
        self.flat_profile = all(w == self.daily[0] for w in self.daily) and all(
            w == self.weekly[0] for w in self.weekly
        )
        self.constant = self.flat_profile and self.mult is None
        self.seg_end = -1.0
        self.seg_rate = 0.0

    def segment(self, t: float) -> tuple[float, float]:
        """(rate, end) of the segment holding simulation time t: profile times market."""
        if not (self.p_start <= t < self.p_end):
            self.p_rate, self.p_end = self._profile_segment(t)
            self.p_start = t
        if self.mult is None:
            return self.p_rate, self.p_end
        step = self.step
        k = int(t // step)
        end = (k + 1) * step
        if end <= t:  # floating point at a boundary
            k += 1
            end = (k + 1) * step
        m = self.mult[k] if k < len(self.mult) else self.mult[-1]
        return self.p_rate * m, min(end, self.p_end)

    def _profile_segment(self, t: float) -> tuple[float, float]:
        if self.flat_profile:
            return self.base * self.daily[0] * self.weekly[0], math.inf
        local = (self.start + timedelta(seconds=t)).astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        into_day = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        slot = min(int(into_day // self.slot), len(self.daily) - 1)
        rate = self.base * self.daily[slot] * self.weekly[local.weekday()]
        boundary_wall = midnight.replace(tzinfo=None) + timedelta(seconds=(slot + 1) * self.slot)
        boundary = boundary_wall.replace(tzinfo=self.tz)
        end = (boundary - self.start).total_seconds()
        if end <= t:  # a daylight-saving gap swallowed the boundary
            end = t + self.slot
        return rate, end

    def next_arrival(self, t: float, e: float) -> float:
        """The time at which `e` units of cumulative intensity after `t` are used up."""
        if t >= self.seg_end:
            self.seg_rate, self.seg_end = self.segment(t)
        while True:
            rate, end = self.seg_rate, self.seg_end
            if rate > 0:
                dt = e / rate
                if t + dt < end:
                    return t + dt
                e -= rate * (end - t)
            if end == math.inf:
                return math.inf
            t = end
            self.seg_rate, self.seg_end = self.segment(t)

    def integral(self, t0: float, t1: float) -> float:
        """Cumulative intensity on [t0, t1) (for tests and expected counts)."""
        total = 0.0
        t = t0
        while t < t1:
            rate, end = self.segment(t)
            total += rate * (min(end, t1) - t)
            t = end
        return total


def make_rate(
    base: float,
    daily: str | Sequence[float],
    weekly: str | Sequence[float],
    tz: str,
    start: datetime,
    multiplier: Sequence[float] | None = None,
    step: float = 60.0,
) -> PiecewiseRate:
    return PiecewiseRate(
        base,
        profile_weights(daily, DAILY_PROFILES, "daily"),
        profile_weights(weekly, WEEKLY_PROFILES, "weekly"),
        tz,
        start,
        multiplier,
        step,
    )

