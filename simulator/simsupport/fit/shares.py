"""Mixes and probabilities from the ticket log: category and language shares, VIP share, chatbot
deflection, escalation and retry probabilities, each a Wilson-interval `proportion`.

Per-channel values are flagged as different only when a chi-square test of that channel against
the rest gives p < 0.001 *and* some share moves by more than 2 points: with a big log every
channel differs "significantly", and the scenario should only grow a per-channel line where the
difference matters for staffing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from simsupport.fit.estimate import Estimate, proportion

ALPHA = 0.001
MIN_DIFF = 0.02
GENERAL = "general"


@dataclass(frozen=True)
class SharesFit:
    """The mix of one attribute (category or language) among first contacts."""

    column: str
    overall: Mapping[str, Estimate]
    by_channel: Mapping[str, Mapping[str, Estimate]]
    channel_differs: Mapping[str, bool]  # write per-channel shares only where True
    channel_p: Mapping[str, float]  # chi-square p, channel vs the other channels
    n: int  # first contacts with a value
    n_missing: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeflectionFit:
    """P(the bot resolves a contact) on the channels where the log shows any deflection."""

    channels: tuple[str, ...]
    default: Estimate
    by_category: Mapping[str, Estimate]
    category_differs: Mapping[str, bool]
    by_channel: Mapping[str, Estimate]
    channel_differs: Mapping[str, bool]
    n: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalationFit:
    """P(an answered contact is escalated), by category, and where the escalations went."""

    default: Estimate
    by_category: Mapping[str, Estimate]
    category_differs: Mapping[str, bool]
    destinations: Mapping[str, Estimate]  # share of escalations per named tier (when given)
    n_answered: int
    n_escalated: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryFit:
    """P(a failed contact comes back), overall and per channel (see `retry_probability`)."""

    overall: Estimate
    by_channel: Mapping[str, Estimate]
    n_retries: int
    n_failed: int
    warnings: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------- helpers


def _codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and sorted names of a label column."""
    codes, names = pd.factorize(s.to_numpy(dtype=object), sort=True)
    return codes, [str(x) for x in names]


def _bool(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) of a boolean column that may hold missing values."""
    known = s.notna().to_numpy()
    value = np.zeros(len(s), dtype=bool)
    value[known] = s[known].astype(bool).to_numpy()
    return value, known


def _first_contacts(log: pd.DataFrame) -> np.ndarray:
    """Rows that are not retries (a retry repeats a customer already counted)."""
    if "retry" not in log.columns:
        return np.ones(len(log), dtype=bool)
    retry, _ = _bool(log["retry"])
    return ~retry


def _differs(counts: np.ndarray, g: int) -> tuple[bool, float]:
    """Does row g of a groups x outcomes count table differ from the other rows together?"""
    here, rest = counts[g], counts.sum(axis=0) - counts[g]
    if here.sum() == 0 or rest.sum() == 0:
        return False, 1.0
    table = np.vstack([here, rest])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return False, 1.0
    p = float(stats.chi2_contingency(table, correction=False).pvalue)
    total = here + rest
    gap = float(np.abs(here / here.sum() - total / total.sum()).max())
    return bool(p < ALPHA and gap > MIN_DIFF), p


def _rates(success: np.ndarray, group: np.ndarray, names: list[str], basis: str
           ) -> tuple[dict[str, Estimate], dict[str, bool]]:
    """Per-group proportion of `success`, and whether each group differs from the rest."""
    ok = group >= 0
    k = len(names)
    n = np.bincount(group[ok], minlength=k)
    s = np.bincount(group[ok], weights=success[ok].astype(float), minlength=k).astype(int)
    table = np.column_stack([s, n - s])
    est = {names[g]: proportion(int(s[g]), int(n[g]), basis) for g in range(k) if n[g] > 0}
    differs = {names[g]: _differs(table, g)[0] for g in range(k) if n[g] > 0}
    return est, differs


# ----------------------------------------------------------------------------- mixes


def _shares(log: pd.DataFrame, column: str) -> SharesFit:
    first = _first_contacts(log)
    codes, names = _codes(log[column])
    if "channel" in log.columns:
        ch, ch_names = _codes(log["channel"])
    else:
        ch, ch_names = np.zeros(len(log), dtype=np.int64), ["all"]
    missing = int((first & (codes < 0)).sum())
    use = first & (codes >= 0) & (ch >= 0)
    k, m = len(names), len(ch_names)
    counts = np.bincount(ch[use] * k + codes[use], minlength=m * k).reshape(m, k)
    total = counts.sum(axis=0)
    n = int(total.sum())
    overall = {names[j]: proportion(int(total[j]), n) for j in range(k) if total[j] > 0}
    by_channel: dict[str, dict[str, Estimate]] = {}
    differs: dict[str, bool] = {}
    pvals: dict[str, float] = {}
    for g in range(m):
        ng = int(counts[g].sum())
        if ng == 0:
            continue
        by_channel[ch_names[g]] = {names[j]: proportion(int(counts[g, j]), ng) for j in range(k) if total[j] > 0}
        differs[ch_names[g]], pvals[ch_names[g]] = _differs(counts, g)
    warn = (f"{missing:,} first contacts without a {column} excluded",) if missing else ()
    return SharesFit(column, overall, by_channel, differs, pvals, n, missing, warn)


def category_shares(log: pd.DataFrame) -> SharesFit:
    """Category mix of first contacts (retries excluded: they repeat the same customer).

    A log without a category column is one category, ``general``, with share 1.
    """
    if "category" not in log.columns:
        log = log.assign(category=GENERAL)
    return _shares(log, "category")


def language_shares(log: pd.DataFrame) -> SharesFit | None:
    """Language mix of first contacts; None when the log has no language column."""
    if "language" not in log.columns:
        return None
    return _shares(log, "language")


def vip_share(log: pd.DataFrame) -> Estimate | None:
    """Share of first contacts from VIP customers; None without a vip column."""
    if "vip" not in log.columns:
        return None
    vip, known = _bool(log["vip"])
    use = known & _first_contacts(log)
    est = proportion(int(vip[use].sum()), int(use.sum()))
    missing = int((~known).sum())
    if missing:
        est = _with_warning(est, f"{missing:,} contacts with unknown VIP status excluded")
    return est


def _with_warning(e: Estimate, message: str) -> Estimate:
    return Estimate(e.value, e.lo, e.hi, e.n, e.se, e.basis, (*e.warnings, message))


# ----------------------------------------------------------------------------- probabilities


def deflection(log: pd.DataFrame) -> DeflectionFit | None:
    """Bot deflection: on the channels with any ``deflected`` row (the bot's channels),
    deflected / all contacts, overall (the scenario's ``default``), per category and per channel.
    None when the log has no outcome or no deflection at all."""
    if "outcome" not in log.columns or "channel" not in log.columns:
        return None
    outcome = log["outcome"].to_numpy(dtype=object)
    deflected = outcome == "deflected"
    if not deflected.any():
        return None
    ch, ch_names = _codes(log["channel"])
    bot_codes = np.unique(ch[deflected & (ch >= 0)])
    on_bot = np.isin(ch, bot_codes) & pd.notna(outcome)
    d = deflected[on_bot]
    default = proportion(int(d.sum()), int(on_bot.sum()))
    warn: list[str] = []
    if "category" in log.columns:
        cat, cat_names = _codes(log["category"])
        by_cat, cat_diff = _rates(d, cat[on_bot], cat_names, "tickets")
        missing = int((cat[on_bot] < 0).sum())
        if missing:
            warn.append(f"{missing:,} bot-channel contacts without a category: in the default only")
    else:
        by_cat, cat_diff = {}, {}
    by_ch, ch_diff = _rates(d, ch[on_bot], ch_names, "tickets")
    return DeflectionFit(tuple(ch_names[c] for c in bot_codes), default, by_cat, cat_diff, by_ch, ch_diff,
                         int(on_bot.sum()), tuple(warn))


def escalation(log: pd.DataFrame) -> EscalationFit | None:
    """P(escalated) among answered contacts, per category, plus the share of escalations going
    to each tier named in ``escalated_to``. None without an escalated column."""
    if "escalated" not in log.columns:
        return None
    esc, known = _bool(log["escalated"])
    answered = (log["outcome"] == "answered").to_numpy() if "outcome" in log.columns else np.ones(len(log), bool)
    use = answered & known
    warn: list[str] = []
    unknown = int((answered & ~known).sum())
    if unknown:
        warn.append(f"{unknown:,} answered contacts with unknown escalation excluded")
    e = esc[use]
    default = proportion(int(e.sum()), int(use.sum()))
    if "category" in log.columns:
        cat, cat_names = _codes(log["category"])
        by_cat, cat_diff = _rates(e, cat[use], cat_names, "tickets")
    else:
        by_cat, cat_diff = {}, {}
    destinations: dict[str, Estimate] = {}
    if "escalated_to" in log.columns:
        to, to_names = _codes(log["escalated_to"])
        sel = use & esc
        named = to[sel]
        n_named = int((named >= 0).sum())
        counts = np.bincount(named[named >= 0], minlength=len(to_names))
        destinations = {to_names[j]: proportion(int(counts[j]), n_named, "escalations")
                        for j in range(len(to_names)) if counts[j] > 0}
        unnamed = int(sel.sum()) - n_named
        if unnamed and n_named:
            warn.append(f"{unnamed:,} escalations without a destination tier excluded from the tier shares")
    return EscalationFit(default, by_cat, cat_diff, destinations, int(use.sum()), int(e.sum()), tuple(warn))


def _retry(log: pd.DataFrame) -> RetryFit | None:
    if "retry" not in log.columns or "outcome" not in log.columns:
        return None
    retry, _ = _bool(log["retry"])
    outcome = log["outcome"].to_numpy(dtype=object)
    failed = outcome == "abandoned"  # the scenario's retry: customers who abandon come back
    if "channel" in log.columns:
        ch, ch_names = _codes(log["channel"])
    else:
        ch, ch_names = np.zeros(len(log), dtype=np.int64), ["all"]
    note = "approximation: retries / abandoned contacts, as contacts are not linked by customer"

    def one(r: int, f: int) -> Estimate:
        est = proportion(min(r, f), f, "abandoned contacts")
        est = _with_warning(est, note)
        if r > f:
            est = _with_warning(est, f"{r:,} retries but only {f:,} abandoned contacts: capped at 1")
        return est

    k = len(ch_names)
    ok = ch >= 0
    r_ch = np.bincount(ch[ok & retry], minlength=k)
    f_ch = np.bincount(ch[ok & failed], minlength=k)
    by_channel = {ch_names[g]: one(int(r_ch[g]), int(f_ch[g])) for g in range(k) if f_ch[g] > 0}
    n_r, n_f = int(retry.sum()), int(failed.sum())
    return RetryFit(one(n_r, n_f), by_channel, n_r, n_f)


def retry_probability(log: pd.DataFrame) -> Estimate | None:
    """P(a customer who abandoned tries again) = retry rows / abandoned rows (the scenario's
    `retry`: customers who abandon come back; a blocked caller is not retried by the model).

    Each retry follows one abandoned attempt, so the ratio estimates the scenario's ``retry.prob``
    when contacts are not linked by a customer id. It is an approximation: failures near the
    end of the log whose retry falls outside it, and retries of failures before it, are
    miscounted (negligible over weeks of history). Needs ``retry`` and ``outcome``.
    """
    fit = _retry(log)
    return None if fit is None else fit.overall


def retry_probability_by_channel(log: pd.DataFrame) -> dict[str, Estimate]:
    """Per channel: retries on a channel / failed contacts on it (assumes customers come back
    on the channel they failed on; a retry to another channel lands in that channel's count)."""
    fit = _retry(log)
    return {} if fit is None else dict(fit.by_channel)


def retry_fit(log: pd.DataFrame) -> RetryFit | None:
    """Overall and per-channel retry probabilities with their counts, in one pass."""
    return _retry(log)


__all__ = ["DeflectionFit", "EscalationFit", "RetryFit", "SharesFit", "category_shares", "deflection",
           "escalation", "language_shares", "retry_fit", "retry_probability", "retry_probability_by_channel",
           "vip_share"]
