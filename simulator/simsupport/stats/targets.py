"""Staffing targets in one replication: per target, per clock hour and per reporting interval,
the counts its measures are made of.

`config.derived.staffing_targets(s)` lists what staffing must meet (the scenario's
`staffing.targets`, or every channel's SLA in each of `staffing.scopes`); `target_rows` says what
each covers on a desk and `TargetTally` counts, in the collectors' numpy flushes (nothing per
ticket), for each target and period (COLUMNS): offered, blocked, answered, abandoned, answered
within the target's threshold T (wait <= T), abandoned within T, short abandons, the sum of
answered waits, and the service level's numerator and denominator. `staffing.targets` judges them
over replications.

What a target covers (its facts are placed in hours and intervals by arrival, clipped to the
window like the collector's hour counters):
- a channel, a category, or a category on a channel: the ticket classes that match (base classes
  and their volatile twins alike; the `volatile` scope: only the twins, i.e. tickets arriving in
  volatile reporting intervals); on a journey desk these are first responses, as in `by_channel`;
- a tier on a journey desk: every visit queued for that tier (entry, escalation, follow-up,
  reopen), placed by the visit's arrival (what its wait is measured from); `volatile`: visits
  arriving in a volatile reporting interval;
- a tier on a plain desk: tickets answered by a pool of that tier; abandoned, blocked and
  still-waiting tickets of classes that only pools of that tier could serve (the class's pools,
  its routes' pools and surge overflow pools all have the tier).

Service level, as the collector's (stats.collector): an answered ticket counts in the
denominator, and in the numerator if it waited <= T; an abandon counts by the SLA formula of its
channel (answered_and_abandoned: in the denominator; answered: not at all; offered: in the
denominator, and in the numerator if it left within T) unless it is shorter than the channel's
`short_abandon`; a ticket still waiting when the run stopped counts in the denominator if it had
waited longer than T. A channel target aiming at its own SLA thus gives exactly the collector's
sl_num / sl_den for the channel; a target with its own threshold keeps the channel's formula and
short_abandon (answered_and_abandoned on a channel without an SLA); tier targets use
answered_and_abandoned with every abandon counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.derived import staffing_targets
from ..config.targets import Target
from .counters import SL_ANS_ABD, SL_OFFERED
from .histogram import HOUR

COLUMNS = (
    "offered",
    "blocked",
    "answered",
    "abandoned",
    "answered_within",
    "abandoned_within",
    "short_abandoned",
    "wait_answered",
    "sl_num",
    "sl_den",
)
K = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(eq=False)
class TargetTallies:
    """What one replication counted for each staffing target (plain arrays, picklable; equal
    when every field is, arrays element by element)."""

    labels: list[str]  # Target.label, in the order of config.derived.staffing_targets
    thresholds: np.ndarray  # [n_targets] T in seconds (inf: the target has no service-level measure)
    hours: np.ndarray  # [n_targets, n_hours, len(COLUMNS)], hour 0 = clock hour `first_hour`
    intervals: np.ndarray  # [n_targets, n_intervals, len(COLUMNS)], row 0 = interval `first_interval`
    first_hour: int  # clock hour (since simulation time 0) of hour row 0
    first_interval: int  # reporting interval (since time 0) of interval row 0
    interval: float  # the reporting interval, seconds
    columns: tuple[str, ...] = field(default=COLUMNS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TargetTallies):
            return NotImplemented
        return (
            self.labels == other.labels
            and (self.first_hour, self.first_interval, self.interval, self.columns)
            == (other.first_hour, other.first_interval, other.interval, other.columns)
            and all(
                a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
                for a, b in ((self.thresholds, other.thresholds), (self.hours, other.hours), (self.intervals, other.intervals))
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def totals(self) -> np.ndarray:
        """[n_targets, len(COLUMNS)] over the whole window."""
        return self.hours.sum(axis=1)

    def record(self, *, intervals: bool = True) -> dict[str, Any]:
        """Plain JSON data (a sweep store's record of a replication); `from_record` reads it back.
        Counts and sums of waits are exact in JSON; infinite thresholds are written as null.
        Without `intervals` the interval grid is left out (only every_interval targets read it:
        a week of half-hour intervals is two thirds of the record)."""
        return {
            "labels": list(self.labels),
            "thresholds": [None if not math.isfinite(x) else float(x) for x in self.thresholds],
            "hours": self.hours.tolist(),
            "intervals": self.intervals.tolist() if intervals else [],
            "first_hour": self.first_hour,
            "first_interval": self.first_interval,
            "interval": self.interval,
            "columns": list(self.columns),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> TargetTallies:
        n, c = len(data["labels"]), len(data["columns"])
        return cls(
            labels=list(data["labels"]),
            thresholds=np.array([math.inf if x is None else x for x in data["thresholds"]], dtype=float),
            hours=np.array(data["hours"], dtype=float).reshape(n, -1, c),
            intervals=np.array(data["intervals"], dtype=float).reshape(n, -1, c),
            first_hour=int(data["first_hour"]),
            first_interval=int(data["first_interval"]),
            interval=float(data["interval"]),
            columns=tuple(data["columns"]),
        )

    def column(self, name: str, *, by: str = "hours") -> np.ndarray:
        """[n_targets, n_periods] of one column, by "hours" or "intervals"."""
        return (self.hours if by == "hours" else self.intervals)[:, :, self.columns.index(name)]


@dataclass(frozen=True)
class TargetRows:
    """What each target covers on one desk (see the module docstring)."""

    targets: tuple[Target, ...]
    thresholds: np.ndarray  # [J] T, seconds
    answer_rows: np.ndarray  # [J, n_classes] answered tickets of these classes count ...
    answer_pools: np.ndarray  # [J, n_pools] ... when a pool marked here answered them
    other_rows: np.ndarray  # [J, n_classes] abandoned, blocked and still-waiting tickets
    codes: np.ndarray  # [J, n_classes] SLA formula code of each class for the target
    short: np.ndarray  # [J, n_classes] short_abandon of each class for the target
    tier_mask: np.ndarray  # [J, n_tiers] journey desks: visits to these tiers
    tier_volatile: np.ndarray  # [J] journey tier targets: only visits arriving in volatile intervals
    volatile_flags: np.ndarray  # per reporting interval from time 0 (the market's)
    inv_interval: float


def _could_serve(plan: Any, b: int) -> set[int]:
    """Pools that could ever serve base class `b`: its pools, its routes', surge overflow's."""
    cp = plan.classes[b]
    pools = set(cp.pools)
    for r in cp.routes:
        pools |= set(r.pools)
    for o in plan.overflow:
        if any(ci == b for ci, _, _ in o.classes):
            pools.add(o.pool)
    return pools


def target_rows(plan: Any, classes: list[Any]) -> TargetRows | None:
    """The staffing targets of `plan`'s scenario on this desk (`classes`: the engine's entry
    classes, volatile twins included), or None when there is nothing to track."""
    s = plan.scenario
    targets = staffing_targets(s)
    if not targets:
        return None
    n, n_base, n_pools = len(classes), len(plan.classes), len(plan.pools)
    tiers = list(plan.tiers)
    pool_tier = [p.tier for p in plan.pools]
    vol = np.array([bool(c.volatile) for c in classes], dtype=bool)
    chan = [c.channel.name for c in classes]
    cat = [c.category for c in classes]
    ch_code = np.array([c.channel.sla_code for c in classes], dtype=np.int64)
    ch_code = np.where(ch_code >= 0, ch_code, SL_ANS_ABD)
    ch_short = np.array([c.channel.short_abandon for c in classes], dtype=float)
    serve = {b: _could_serve(plan, b) for b in range(n_base)}
    base = [c.index - n_base if c.volatile else c.index for c in classes]
    J = len(targets)
    thresholds = np.full(J, math.inf)
    answer_rows = np.zeros((J, n), dtype=bool)
    answer_pools = np.ones((J, n_pools), dtype=bool)
    other_rows = np.zeros((J, n), dtype=bool)
    codes = np.full((J, n), SL_ANS_ABD, dtype=np.int64)
    short = np.zeros((J, n))
    tier_mask = np.zeros((J, max(len(tiers), 1)), dtype=bool)
    tier_volatile = np.zeros(J, dtype=bool)
    for j, t in enumerate(targets):
        if t.answer_within is not None:
            thresholds[j] = float(t.answer_within)
        elif t.own_sla and t.channel is not None and s.channels[t.channel].sla is not None:
            thresholds[j] = float(s.channels[t.channel].sla.threshold)  # type: ignore[union-attr]
        rows = vol.copy() if t.scope == "volatile" else np.ones(n, dtype=bool)
        if t.tier is None:
            if t.channel is not None:
                rows &= np.array([x == t.channel for x in chan], dtype=bool)
            if t.category is not None:
                rows &= np.array([x == t.category for x in cat], dtype=bool)
            answer_rows[j] = other_rows[j] = rows
            codes[j] = ch_code
            short[j] = ch_short
        elif plan.journey:
            if t.tier in tiers:
                tier_mask[j, tiers.index(t.tier)] = True
            tier_volatile[j] = t.scope == "volatile"
        else:
            answer_rows[j] = rows
            answer_pools[j] = [tier == t.tier for tier in pool_tier]
            only = [bool(serve[b]) and all(pool_tier[p] == t.tier for p in serve[b]) for b in base]
            other_rows[j] = rows & np.array(only, dtype=bool)
    return TargetRows(
        targets=tuple(targets), thresholds=thresholds, answer_rows=answer_rows, answer_pools=answer_pools,
        other_rows=other_rows, codes=codes, short=short, tier_mask=tier_mask, tier_volatile=tier_volatile,
        volatile_flags=np.array(plan.volatile_flags, dtype=bool), inv_interval=1.0 / plan.interval,
    )  # fmt: skip


class TargetTally:
    """Running tallies of the targets, fed by the collectors' flushes with arrays of facts."""

    def __init__(self, rows: TargetRows, h0: int, n_hours: int, k0: int, n_intervals: int, interval: float) -> None:
        self.rows = rows
        self.h0, self.n_hours = h0, n_hours
        self.k0, self.n_intervals = k0, n_intervals
        self.interval = interval
        n = len(rows.targets)
        # in the layout TargetTallies carries ([target, period, column]): handed over, not copied
        self.hours = np.zeros((n, n_hours, len(COLUMNS)))
        self.ivs = np.zeros((n, n_intervals, len(COLUMNS)))
        self.by_pool = not rows.answer_pools.all()
        self.tiers = bool(rows.tier_mask.any())
        self.tier_codes = np.full(n, SL_ANS_ABD, dtype=np.int64)
        self.tier_short = np.zeros(n)

    # -- folding -------------------------------------------------------------------------------
    def _add(self, j: np.ndarray, arrival: np.ndarray, columns: dict[str, np.ndarray | None]) -> None:
        if not len(j):
            return
        h = np.clip((arrival // HOUR).astype(np.int64) - self.h0, 0, self.n_hours - 1)
        k = np.clip((arrival / self.interval).astype(np.int64) - self.k0, 0, self.n_intervals - 1)
        # bincounts over the hours and intervals the facts span, not the whole horizon
        n = len(self.rows.targets)
        h_lo, k_lo = int(h.min()), int(k.min())
        h_span, k_span = int(h.max()) - h_lo + 1, int(k.max()) - k_lo + 1
        hc = j * h_span + (h - h_lo)
        kc = j * k_span + (k - k_lo)
        done: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # columns with the same weights share bincounts
        for name, w in columns.items():
            c = K[name]
            sums = done.get(id(w))
            if sums is None:
                sums = done[id(w)] = (np.bincount(hc, weights=w, minlength=n * h_span).reshape(n, h_span),
                                      np.bincount(kc, weights=w, minlength=n * k_span).reshape(n, k_span))  # fmt: skip
            self.hours[:, h_lo : h_lo + h_span, c] += sums[0]
            self.ivs[:, k_lo : k_lo + k_span, c] += sums[1]

    def _answered(self, j: np.ndarray, arrival: np.ndarray, wait: np.ndarray) -> None:
        within = (wait <= self.rows.thresholds[j]).astype(float)
        self._add(j, arrival, {"offered": None, "answered": None, "answered_within": within, "wait_answered": wait,
                               "sl_num": within, "sl_den": None})  # fmt: skip

    def _abandoned(self, j: np.ndarray, arrival: np.ndarray, wait: np.ndarray, code: np.ndarray, short_s: np.ndarray) -> None:
        within = wait <= self.rows.thresholds[j]
        short = wait < short_s
        long_ = ~short
        den = long_ & ((code == SL_ANS_ABD) | (code == SL_OFFERED))
        num = long_ & (code == SL_OFFERED) & within
        self._add(j, arrival, {"offered": None, "abandoned": None, "abandoned_within": within.astype(float),
                               "short_abandoned": short.astype(float), "sl_num": num.astype(float),
                               "sl_den": den.astype(float)})  # fmt: skip

    def _waiting(self, j: np.ndarray, arrival: np.ndarray, waited: np.ndarray) -> None:
        # past T a certain breach (in the denominator); below it, its outcome is unknown
        self._add(j, arrival, {"offered": None, "sl_den": (waited > self.rows.thresholds[j]).astype(float)})

    # -- facts by ticket class (the core collector) --------------------------------------------
    def add_answered(self, cls: np.ndarray, arrival: np.ndarray, wait: np.ndarray, pool: np.ndarray) -> None:
        sel = self.rows.answer_rows[:, cls]
        if self.by_pool:
            sel &= self.rows.answer_pools[:, pool]
        j, f = np.nonzero(sel)
        if len(j):
            self._answered(j, arrival[f], wait[f])

    def add_abandoned(self, cls: np.ndarray, arrival: np.ndarray, wait: np.ndarray) -> None:
        j, f = np.nonzero(self.rows.other_rows[:, cls])
        if len(j):
            c = cls[f]
            self._abandoned(j, arrival[f], wait[f], self.rows.codes[j, c], self.rows.short[j, c])

    def add_blocked(self, cls: np.ndarray, arrival: np.ndarray) -> None:
        j, f = np.nonzero(self.rows.other_rows[:, cls])
        if len(j):
            self._add(j, arrival[f], {"offered": None, "blocked": None})

    def add_waiting(self, cls: np.ndarray, arrival: np.ndarray, waited: np.ndarray) -> None:
        j, f = np.nonzero(self.rows.other_rows[:, cls])
        if len(j):
            self._waiting(j, arrival[f], waited[f])

    # -- visits by tier (the journey sink) -----------------------------------------------------
    def _tier_select(self, tier: np.ndarray, arrival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sel = self.rows.tier_mask[:, tier]
        if self.rows.tier_volatile.any():
            flags = self.rows.volatile_flags
            if len(flags):
                # the market's own test: flags[int(t * (1 / interval))]
                idx = np.clip((arrival * self.rows.inv_interval).astype(np.int64), 0, len(flags) - 1)
                vol = flags[idx]
            else:
                vol = np.zeros(len(arrival), dtype=bool)
            sel &= ~self.rows.tier_volatile[:, None] | vol[None, :]
        return np.nonzero(sel)

    def add_tier_answered(self, tier: np.ndarray, arrival: np.ndarray, wait: np.ndarray) -> None:
        if self.tiers:
            j, f = self._tier_select(tier, arrival)
            if len(j):
                self._answered(j, arrival[f], wait[f])

    def add_tier_abandoned(self, tier: np.ndarray, arrival: np.ndarray, wait: np.ndarray) -> None:
        if self.tiers:
            j, f = self._tier_select(tier, arrival)
            if len(j):
                self._abandoned(j, arrival[f], wait[f], self.tier_codes[j], self.tier_short[j])

    def add_tier_waiting(self, tier: np.ndarray, arrival: np.ndarray, waited: np.ndarray) -> None:
        if self.tiers:
            j, f = self._tier_select(tier, arrival)
            if len(j):
                self._waiting(j, arrival[f], waited[f])

    # -- the end -------------------------------------------------------------------------------
    def result(self) -> TargetTallies:
        return TargetTallies(
            labels=[t.label for t in self.rows.targets],
            thresholds=self.rows.thresholds.copy(),
            hours=self.hours,
            intervals=self.ivs,
            first_hour=self.h0,
            first_interval=self.k0,
            interval=self.interval,
        )


__all__ = ["COLUMNS", "TargetRows", "TargetTallies", "TargetTally", "target_rows"]
