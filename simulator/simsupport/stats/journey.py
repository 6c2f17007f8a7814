"""Facts of the journey and the scopes they give.

The core collector keeps the customer-facing facts of a ticket's first visit (offered,
answered, abandoned, blocked: the first response). This sink keeps what the journey adds:
every visit to a tier (entry, escalations, follow-ups), how each journey ended (deflected,
resolved, abandoned, blocked), resolution times, CSAT, the bot's work and the wait
announcements. Counters are plain Python lists (a handful of additions per journey);
waiting and resolution times go to the same log histograms as the core's, folded in blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config.journey import CSAT
from .histogram import FLUSH, N_BINS, floats, hist_quantile, ints, wait_bins
from .targets import TargetTally

# How a journey ends (not ticket states: see engine.tickets for those).
END_RESOLVED, END_DEFLECTED, END_ABANDONED, END_BLOCKED = range(4)
OUTCOMES = ("resolved", "deflected", "abandoned", "blocked")

# per tier
T_VISITS, T_ANSWERED, T_ABANDONED, T_WAIT_ANS, T_WAIT_ABD, T_ESCALATED = range(6)
# per entry class
(J_JOURNEYS, J_RESOLVED, J_DEFLECTED, J_ABANDONED, J_BLOCKED, J_HANDLED, J_ESCALATED, J_ESCALATIONS,
 J_RESOLUTION, J_WAITED, J_CSAT, J_SATISFIED, J_REOPENED, J_INFO, J_RESOLVED_ESCALATED) = range(15)  # fmt: skip
N_J = 15
# per channel: bot and announcements
(B_HANDLED, B_DEFLECTED, B_WORK_ALL, B_WORK_HUMAN, A_ANNOUNCED, A_BALKED, A_N, A_ERR, A_ABS, A_SQ) = range(10)  # fmt: skip


def csat_scores(spec: CSAT, outcome: np.ndarray, waited: np.ndarray, resolution: np.ndarray, escalations: np.ndarray) -> np.ndarray:
    """The satisfaction proxy of each journey (see `config.journey.CSAT` for the formula): fixed
    scores for deflected, abandoned and blocked journeys, linear penalties for resolved ones."""
    score = (
        spec.base
        - spec.wait_penalty * waited / spec.wait_unit
        - spec.resolution_penalty * resolution / spec.resolution_unit
        - spec.escalation_penalty * escalations
    )
    score = np.minimum(np.maximum(score, spec.floor), spec.base)
    score = np.where(outcome == END_DEFLECTED, spec.deflected, score)
    score = np.where(outcome == END_ABANDONED, spec.abandoned, score)
    return np.where(outcome == END_BLOCKED, spec.blocked, score)


@dataclass
class JourneyTotals:
    """What the sink measured in one replication, as plain arrays (picklable)."""

    tiers: list[str]
    tier_counters: np.ndarray  # [n_tiers, 6]
    tier_hist: np.ndarray  # [n_tiers, N_BINS] answered waits
    tier_waiting_end: np.ndarray  # [n_tiers] counted visits still waiting when the run stopped
    pool_counters: np.ndarray  # [n_pools, 2] answered, wait sum (every visit)
    pool_hist: np.ndarray  # [n_pools, N_BINS]
    class_counters: np.ndarray  # [n_classes, N_J]
    resolution_hist: np.ndarray  # [n_channels, N_BINS]
    channel_counters: np.ndarray  # [n_channels, 10]
    journeys_counted: int  # counted journeys started, tallied by the model apart from the sink
    open_at_end: int  # counted journeys still open when the run stopped
    has_bot: list[bool]
    announces: list[bool]
    backlog: list[bool]
    channel_journeys_counted: np.ndarray | None = None  # [n_channels] by entry channel, tallied by the model
    channel_open_at_end: np.ndarray | None = None  # [n_channels]


class JourneySink:
    def __init__(self, tiers: list[str], n_pools: int, n_classes: int, n_channels: int, class_channel: list[int],
                 csat: CSAT, targets: TargetTally | None = None) -> None:  # fmt: skip
        self.tiers = tiers
        self.targets = targets  # the core collector's target tallies: tier targets count visits here
        self.csat = csat
        self.tier = [[0.0] * 6 for _ in tiers]
        self.cls_counters = np.zeros((n_classes, N_J))
        self.class_channel_arr = np.array(class_channel, dtype=np.int64)
        # ended journeys: class, outcome, resolution (nan: none), waited, escalations, flags
        self.e_cls: list[int] = []
        self.e_out: list[int] = []
        self.e_res: list[float] = []
        self.e_wait: list[float] = []
        self.e_esc: list[int] = []
        self.e_flags: list[int] = []
        self.chan = [[0.0] * 10 for _ in range(n_channels)]
        self.class_channel = class_channel
        self.tier_hist = np.zeros((len(tiers), N_BINS), dtype=np.int64)
        self.pool_hist = np.zeros((n_pools, N_BINS), dtype=np.int64)
        self.resolution_hist = np.zeros((n_channels, N_BINS), dtype=np.int64)
        # answered visits (tier, pool, wait, arrival) and abandoned ones (tier, wait, arrival),
        # each in one flat list folded in blocks; visits still waiting at the end likewise
        self.a_buf: list[float] = []
        self.x_buf: list[float] = []
        self.w_buf: list[float] = []
        self.tier_abandoned = np.zeros(len(tiers))
        self.tier_wait_abd = np.zeros(len(tiers))
        self.tier_answered = np.zeros(len(tiers))
        self.tier_wait = np.zeros(len(tiers))
        self.pool_answered = np.zeros(n_pools)
        self.pool_wait = np.zeros(n_pools)

    # -- facts ---------------------------------------------------------------------------
    def visit(self, tier: int) -> None:
        self.tier[tier][T_VISITS] += 1

    def answered(self, tier: int, pool: int, wait: float, arrival: float) -> None:
        # counted and binned in blocks: one extend here, the arithmetic in numpy
        buf = self.a_buf
        buf += (tier, pool, wait, arrival)
        if len(buf) >= 4 * FLUSH:
            self._flush_answered()

    def _flush_answered(self) -> None:
        if not self.a_buf:
            return
        facts = floats(self.a_buf).reshape(-1, 4)
        tier = facts[:, 0].astype(np.int64)
        pool = facts[:, 1].astype(np.int64)
        wait = facts[:, 2]
        if self.targets is not None:
            self.targets.add_tier_answered(tier, facts[:, 3], wait)
        bins = wait_bins(wait)
        self.tier_answered += np.bincount(tier, minlength=len(self.tier_answered))
        self.tier_wait += np.bincount(tier, weights=wait, minlength=len(self.tier_wait))
        self.pool_answered += np.bincount(pool, minlength=len(self.pool_answered))
        self.pool_wait += np.bincount(pool, weights=wait, minlength=len(self.pool_wait))
        np.add.at(self.tier_hist.reshape(-1), tier * N_BINS + bins, 1)
        np.add.at(self.pool_hist.reshape(-1), pool * N_BINS + bins, 1)
        self.a_buf.clear()

    def abandoned(self, tier: int, wait: float, arrival: float) -> None:
        buf = self.x_buf
        buf += (tier, wait, arrival)
        if len(buf) >= 3 * FLUSH:
            self._flush_abandoned()

    def _flush_abandoned(self) -> None:
        """Fold abandoned visits; np.add.at adds in their order, so the wait sums are the ones a
        running sum per abandon gives, to the last bit."""
        if not self.x_buf:
            return
        facts = floats(self.x_buf).reshape(-1, 3)
        tier = facts[:, 0].astype(np.int64)
        wait = facts[:, 1]
        np.add.at(self.tier_abandoned, tier, 1.0)
        np.add.at(self.tier_wait_abd, tier, wait)
        if self.targets is not None:
            self.targets.add_tier_abandoned(tier, facts[:, 2], wait)
        self.x_buf.clear()

    def still_waiting(self, tier: int, arrival: float, waited: float) -> None:
        """A counted visit still queued when the run stopped (for the tier targets)."""
        if self.targets is not None:
            self.w_buf += (tier, arrival, waited)

    def escalated(self, tier: int) -> None:
        self.tier[tier][T_ESCALATED] += 1

    def ended(self, j: Any, outcome: int, resolution: float) -> None:
        """A counted journey ended: six appends here; CSAT and the class counters in `_flush_ended`."""
        self.e_cls.append(j.base.index)
        self.e_out.append(outcome)
        self.e_res.append(resolution)
        self.e_wait.append(j.waited)
        self.e_esc.append(j.escalations)
        self.e_flags.append(j.handled + 2 * j.reopened + 4 * j.info)
        if len(self.e_cls) >= FLUSH:
            self._flush_ended()

    def _flush_ended(self) -> None:
        """Fold ended journeys into the class counters. np.add.at adds in the journeys' order, so
        every float sum is the one a per-journey loop would give, to the last bit."""
        if not self.e_cls:
            return
        cls = ints(self.e_cls)
        out = ints(self.e_out)
        res = floats(self.e_res)
        waited = floats(self.e_wait)
        esc = ints(self.e_esc)
        flags = ints(self.e_flags)
        csat = csat_scores(self.csat, out, waited, np.where(np.isnan(res), 0.0, res), esc)
        c = self.cls_counters
        ones = np.ones(len(cls))

        def add(column: int, rows: np.ndarray, values: np.ndarray) -> None:
            col = c[:, column]  # a view: add.at writes through
            np.add.at(col, rows, values)

        add(J_JOURNEYS, cls, ones)
        for code, column in ((END_RESOLVED, J_RESOLVED), (END_DEFLECTED, J_DEFLECTED), (END_ABANDONED, J_ABANDONED),
                             (END_BLOCKED, J_BLOCKED)):  # fmt: skip
            sel = out == code
            add(column, cls[sel], ones[sel])
        handled = (flags & 1) > 0
        add(J_HANDLED, cls[handled], ones[handled])
        escalated = esc > 0
        add(J_ESCALATED, cls[escalated], ones[escalated])
        add(J_ESCALATIONS, cls[escalated], esc[escalated].astype(float))
        sel = escalated & (out == END_RESOLVED)
        add(J_RESOLVED_ESCALATED, cls[sel], ones[sel])
        timed = ~np.isnan(res)
        add(J_RESOLUTION, cls[timed], res[timed])
        add(J_WAITED, cls, waited)
        add(J_CSAT, cls, csat)
        sel = csat >= self.csat.satisfied_at
        add(J_SATISFIED, cls[sel], ones[sel])
        sel = (flags & 2) > 0
        add(J_REOPENED, cls[sel], ones[sel])
        sel = (flags & 4) > 0
        add(J_INFO, cls[sel], ones[sel])
        rows = self.class_channel_arr[cls[timed]]
        np.add.at(self.resolution_hist.reshape(-1), rows * N_BINS + wait_bins(res[timed]), 1)
        for buf in (self.e_cls, self.e_out, self.e_res, self.e_wait, self.e_esc, self.e_flags):
            buf.clear()

    def bot(self, channel: int, deflected: bool, work_all: float, work_human: float) -> None:
        row = self.chan[channel]
        row[B_HANDLED] += 1
        row[B_WORK_ALL] += work_all
        if deflected:
            row[B_DEFLECTED] += 1
        else:
            row[B_WORK_HUMAN] += work_human

    def announced(self, channel: int, balked: bool) -> None:
        row = self.chan[channel]
        row[A_ANNOUNCED] += 1
        if balked:
            row[A_BALKED] += 1

    def prediction(self, channel: int, predicted: float, actual: float) -> None:
        err = actual - predicted
        row = self.chan[channel]
        row[A_N] += 1
        row[A_ERR] += err
        row[A_ABS] += abs(err)
        row[A_SQ] += err * err

    def totals(self, **kw: Any) -> JourneyTotals:
        self._flush_answered()
        self._flush_abandoned()
        self._flush_ended()
        if self.targets is not None and self.w_buf:
            facts = floats(self.w_buf).reshape(-1, 3)
            self.targets.add_tier_waiting(facts[:, 0].astype(np.int64), facts[:, 1], facts[:, 2])
            self.w_buf.clear()
        tier = np.array(self.tier, dtype=float).reshape(len(self.tiers), 6)
        tier[:, T_ANSWERED] = self.tier_answered
        tier[:, T_WAIT_ANS] = self.tier_wait
        tier[:, T_ABANDONED] = self.tier_abandoned
        tier[:, T_WAIT_ABD] = self.tier_wait_abd
        return JourneyTotals(
            tiers=self.tiers,
            tier_counters=tier,
            tier_hist=self.tier_hist,
            pool_counters=np.stack([self.pool_answered, self.pool_wait], axis=1),
            pool_hist=self.pool_hist,
            class_counters=self.cls_counters,
            resolution_hist=self.resolution_hist,
            channel_counters=np.array(self.chan, dtype=float).reshape(-1, 10),
            **kw,
        )


# -- scopes ----------------------------------------------------------------------------------
def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def journey_metrics(c: np.ndarray) -> dict[str, float]:
    """Journey metrics of a scope from its summed class counters."""
    n = c[J_JOURNEYS]
    return {
        "journeys": float(n),
        "deflected": float(c[J_DEFLECTED]),
        "resolved": float(c[J_RESOLVED]),
        "resolved_after_escalation": float(c[J_RESOLVED_ESCALATED]),
        "abandoned_journeys": float(c[J_ABANDONED]),
        "deflection_rate": _ratio(c[J_DEFLECTED], n),
        "escalation_rate": _ratio(c[J_ESCALATED], c[J_HANDLED]),
        "escalations_per_journey": _ratio(c[J_ESCALATIONS], c[J_HANDLED]),
        "resolution_time_s": _ratio(c[J_RESOLUTION], c[J_RESOLVED]),
        "journey_wait_s": _ratio(c[J_WAITED], n - c[J_DEFLECTED] - c[J_BLOCKED]),
        "csat_mean": _ratio(c[J_CSAT], n),
        "csat_satisfied": _ratio(c[J_SATISFIED], n),
        "reopen_rate": _ratio(c[J_REOPENED], c[J_RESOLVED]),
        "needs_info_rate": _ratio(c[J_INFO], c[J_HANDLED]),
    }


def add_journey_scopes(r: Any, out: dict[str, dict[str, dict[str, float]]]) -> None:
    """Merge the journey's metrics into a replication's scopes (see stats.summary.summarize)."""
    jt: JourneyTotals = r.journey
    keys = r.class_keys
    n_base = len(jt.class_counters)

    def rows_where(index: int | None, label: str) -> list[int]:
        # twins (market volatile classes) follow their base classes in class_keys
        return [i for i in range(n_base) if index is None or str(keys[i][index]) == label]

    for scope, index in (("overall", None), ("by_channel", 0), ("by_category", 1), ("by_priority", 4), ("by_language", 2)):
        for label, metrics in out.get(scope, {}).items():
            rows = rows_where(index, label)
            metrics.update(journey_metrics(jt.class_counters[rows].sum(axis=0)))
            if index is None or index == 0:
                ch_rows = [ci for ci, name in enumerate(r.channel_names) if index is None or name == label]
                metrics["resolution_p90_s"] = hist_quantile(jt.resolution_hist[ch_rows].sum(axis=0), 0.9)
    # tiers: every visit, by the tier it queued for
    busy, duty = r.pool_busy, r.pool_duty
    tiers: dict[str, dict[str, float]] = {}
    for k, tier in enumerate(jt.tiers):
        c = jt.tier_counters[k]
        pools = [p for p, t in enumerate(r.pool_tiers) if t == tier]
        left = c[T_ANSWERED] + c[T_ABANDONED]
        tiers[tier] = {
            "visits": float(c[T_VISITS]),
            "answered": float(c[T_ANSWERED]),
            "abandoned": float(c[T_ABANDONED]),
            "waiting_at_end": float(jt.tier_waiting_end[k]),
            "escalated": float(c[T_ESCALATED]),
            "escalation_rate": _ratio(c[T_ESCALATED], c[T_ANSWERED]),
            "asa_s": _ratio(c[T_WAIT_ANS], c[T_ANSWERED]),
            "mean_wait_s": _ratio(c[T_WAIT_ANS] + c[T_WAIT_ABD], left),
            "wait_p50_s": hist_quantile(jt.tier_hist[k], 0.5),
            "wait_p90_s": hist_quantile(jt.tier_hist[k], 0.9),
            "occupancy": _ratio(float(busy[pools].sum()), float(duty[pools].sum())) if pools else math.nan,
            "agents_on_duty": float(duty[pools].sum()) / r.window if pools else 0.0,
        }
    out["by_tier"] = tiers
    # pools: every visit they answered
    for p, name in enumerate(r.pool_names):
        n = float(jt.pool_counters[p, 0])
        out["by_pool"][name].update(
            answered=n,
            asa_s=_ratio(float(jt.pool_counters[p, 1]), n),
            wait_p50_s=hist_quantile(jt.pool_hist[p], 0.5),
            wait_p90_s=hist_quantile(jt.pool_hist[p], 0.9),
            wait_p99_s=hist_quantile(jt.pool_hist[p], 0.99),
        )
    # the chatbot: what it takes off the humans
    if any(jt.has_bot):
        bot: dict[str, dict[str, float]] = {}
        rows = [ci for ci, b in enumerate(jt.has_bot) if b]
        for label, rr in (("all", rows), *((r.channel_names[ci], [ci]) for ci in rows)):
            c = jt.channel_counters[rr].sum(axis=0)
            handled, deflected = c[B_HANDLED], c[B_DEFLECTED]
            bot[label] = {
                "bot_handled": float(handled),
                "deflected": float(deflected),
                "deflection_rate": _ratio(deflected, handled),
                "human_offered": float(handled - deflected),
                "human_offered_without_bot": float(handled),
                "workload_erlangs_with_bot": float(c[B_WORK_HUMAN]) / r.window,
                "workload_erlangs_without_bot": float(c[B_WORK_ALL]) / r.window,
                "workload_reduction": 1.0 - _ratio(c[B_WORK_HUMAN], c[B_WORK_ALL]),
            }
        out["chatbot"] = bot
    # announcements, in each channel's metrics
    for ci, name in enumerate(r.channel_names):
        if not jt.announces[ci] or name not in out["by_channel"]:
            continue
        c = jt.channel_counters[ci]
        out["by_channel"][name].update(
            announced=float(c[A_ANNOUNCED]),
            balked=float(c[A_BALKED]),
            balk_rate=_ratio(c[A_BALKED], c[A_ANNOUNCED]),
            prediction_error_s=_ratio(c[A_ERR], c[A_N]),
            prediction_mae_s=_ratio(c[A_ABS], c[A_N]),
            prediction_rmse_s=math.sqrt(_ratio(c[A_SQ], c[A_N])) if c[A_N] else math.nan,
        )
    # backlog channels: first response, resolution, open tickets over time
    backlog = {}
    snap = r.snapshots
    for ci, name in enumerate(r.channel_names):
        if not jt.backlog[ci] or name not in out["by_channel"]:
            continue
        m = out["by_channel"][name]
        entry = {
            "first_response_s": m["asa_s"],
            "first_response_p90_s": m["wait_p90_s"],
            "service_level": m["service_level"],
            "resolution_time_s": m["resolution_time_s"],
            "resolution_p90_s": m["resolution_p90_s"],
            "needs_info_rate": m["needs_info_rate"],
            "reopen_rate": m["reopen_rate"],
        }
        if snap is not None and "open" in snap and len(snap["open"]):
            level = snap["open"][:, ci]
            entry["open_tickets_mean"] = float(level.mean())
            entry["open_tickets_max"] = float(level.max())
            entry["open_tickets_end"] = float(level[-1])
        backlog[name] = entry
    if backlog:
        out["backlog"] = backlog


__all__ = ["JourneySink", "JourneyTotals", "add_journey_scopes"]
