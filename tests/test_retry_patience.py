"""`retry: {keep_patience: true}`: a customer who gave up comes back exactly as impatient.

The exact small case: customers speak a language no agent speaks, so nobody can take them until
the English fallback opens after D; plenty of English agents are idle then, so a customer is
answered at exactly D if their patience P exceeds D and abandons at P otherwise. With exponential
patience of mean m:

- the first attempt abandons with probability 1 - exp(-D/m), after E[P | P < D];
- keep_patience: the retry of an abandoner has the same P < D, so it abandons again, after exactly
  the same wait, and no retry is ever answered;
- a fresh draw (the default): the retry is a new customer in this respect, answered with
  probability exp(-D/m), and abandons after E[P | P < D] otherwise.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers_sim import build
from simsupport.engine import simulate

MEAN_PATIENCE = 2.0  # minutes
FALLBACK_AFTER = 2.0  # minutes: D = m, so a fresh retry is answered with probability exp(-1)
Z999 = 3.2905  # two-sided 99.9% normal quantile


def _desk(keep: bool | None) -> dict[str, Any]:
    retry: dict[str, Any] = {"prob": 0.6, "after": "5min", "max_retries": 3}
    if keep is not None:
        retry["keep_patience"] = keep
    return {
        "name": "keep-patience",
        "horizon": "150h",
        "warmup": "0s",
        "interval": "1h",
        "seed": 11,
        "replications": 1,
        "customers": {"languages": {"xx": 1.0, "en": 0.0}},
        "categories": {"q": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "1min"}}},
        "channels": {
            "chat": {
                "rate": "60/h",
                "patience": {"dist": "exponential", "mean": f"{MEAN_PATIENCE}min"},
                "retry": retry,
            }
        },
        "pools": [{"name": "en", "agents": 40, "languages": ["en"]}],
        "routing": {"language_fallback": {"to": "en", "after": f"{FALLBACK_AFTER}min"}},
    }


def _log(keep: bool | None) -> pd.DataFrame:
    result = simulate(build(_desk(keep)), 0, record_tickets=True)
    assert result.tickets is not None
    return pd.DataFrame(result.tickets)


@pytest.fixture(scope="module")
def logs() -> dict[str, pd.DataFrame]:
    return {"keep": _log(True), "fresh": _log(False), "default": _log(None)}


def test_default_is_a_fresh_draw_and_changes_nothing(logs: dict[str, pd.DataFrame]) -> None:
    """keep_patience: false is the default, with the same random streams (common random numbers)."""
    pd.testing.assert_frame_equal(logs["fresh"], logs["default"])
    assert "keep_patience" not in build(_desk(None)).model_dump(exclude_defaults=True)["channels"]["chat"]["retry"]


def test_first_attempts_are_common(logs: dict[str, pd.DataFrame]) -> None:
    """Only the retries' patience differs: every first contact is the same draw, with the same outcome.
    (Who retries later is not: a retry that abandons again draws from the same retry stream.)"""
    keep, fresh = logs["keep"], logs["fresh"]
    cols = ["id", "arrival_s", "outcome", "wait_s"]
    first_k = keep[keep["attempt"] == 0][cols].reset_index(drop=True)
    first_f = fresh[fresh["attempt"] == 0][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(first_k, first_f)


def _pairs(log: pd.DataFrame, attempt: int) -> pd.DataFrame:
    """Each retry `attempt` beside the attempt before it, by customer id."""
    prev = log[log["attempt"] == attempt - 1]
    cur = log[log["attempt"] == attempt]
    return cur.merge(prev, on="id", suffixes=("", "_before"), how="inner")


def test_a_kept_patience_waits_exactly_as_long_again(logs: dict[str, pd.DataFrame]) -> None:
    keep = logs["keep"]
    first = keep[keep["attempt"] == 0]
    d = FALLBACK_AFTER * 60
    # the exact case holds: the answered wait exactly D, abandoners before D
    assert np.allclose(first.loc[first["outcome"] == "answered", "wait_s"], d, rtol=0, atol=1e-6)
    assert (first.loc[first["outcome"] == "abandoned", "wait_s"] < d).all()
    for attempt in (1, 2, 3):
        pairs = _pairs(keep, attempt)
        assert len(pairs) > (200 if attempt < 3 else 30)
        assert (pairs["outcome_before"] == "abandoned").all()  # only abandoners retry
        assert (pairs["outcome"] == "abandoned").all()  # and they never get through now
        # the same wait, to the rounding of simulation clock arithmetic
        assert np.allclose(pairs["wait_s"], pairs["wait_s_before"], rtol=1e-12, atol=1e-8)
    assert keep["attempt"].max() == 3  # max_retries holds


def test_a_fresh_patience_gets_through_as_theory_says(logs: dict[str, pd.DataFrame]) -> None:
    fresh = logs["fresh"]
    p_answer = math.exp(-FALLBACK_AFTER / MEAN_PATIENCE)
    m, d = MEAN_PATIENCE * 60, FALLBACK_AFTER * 60
    mean_abandoned = m - d * p_answer / (1 - p_answer)  # E[P | P < D], P ~ Exp(mean m)
    first = fresh[fresh["attempt"] == 0]
    retries = fresh[fresh["attempt"] >= 1]
    for rows in (first, retries):
        n = len(rows)
        share = float((rows["outcome"] == "answered").mean())
        half = Z999 * math.sqrt(p_answer * (1 - p_answer) / n)
        assert abs(share - p_answer) < half, (share, p_answer, half, n)
        waits = rows.loc[rows["outcome"] == "abandoned", "wait_s"].to_numpy()
        se = waits.std(ddof=1) / math.sqrt(len(waits))
        assert abs(waits.mean() - mean_abandoned) < Z999 * se, (waits.mean(), mean_abandoned, se)
    # a retry's patience is independent of the one before it: its wait does not follow it
    pairs = _pairs(fresh, 1)
    both = pairs[(pairs["outcome"] == "abandoned")]
    r = np.corrcoef(both["wait_s"], both["wait_s_before"])[0, 1]
    assert abs(math.atanh(r)) < Z999 / math.sqrt(len(both) - 3)  # Fisher z: N(0, 1/(n-3)) if independent


def test_keep_patience_on_a_journey_desk_ignores_the_bot_factor_twice() -> None:
    """On a bot channel the handover factor shortens the patience once: a kept patience is the one
    the customer waited with in the queue, so a retry (handed over again) waits exactly as long."""
    data = copy.deepcopy(_desk(True))
    data["horizon"] = "20h"
    data["chatbot"] = {
        "channels": ["chat"],
        "handle_time": "30s",
        "deflection": {"default": 0.0},
        "handover": {"patience": 0.5},
    }
    log = pd.DataFrame(simulate(build(data), 0, record_tickets=True).tickets)
    pairs = _pairs(log[log["outcome"] != "deflected"], 1)
    assert len(pairs) > 50
    assert (pairs["outcome"] == "abandoned").all()
    assert np.allclose(pairs["wait_s"], pairs["wait_s_before"], rtol=1e-12, atol=1e-8)
