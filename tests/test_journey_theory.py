"""The service journey (bot, tiers and escalation, follow-ups, announcements) against exact
theory and exact bookkeeping.

Statistical gates (fixed seeds everywhere):
- replication means: |mean - exact| <= Z standard errors of the replications' mean (Z = 5;
  the 95% t half-width is printed alongside). With 10-20 replications a correct model fails a
  gate with probability below 1e-3 (t with 9 df) down to 1e-4 (19 df);
- counts that are binomial given their trials (deflections, escalations, follow-ups): the
  exact two-sided binomial acceptance region at level 1e-6;
- deterministic set-ups (live start with fixed times, same-path comparisons): exact up to
  floating-point rounding.

Theory used:
1. tiers in tandem with Poisson arrivals, exponential work, FIFO, no abandonment and
   escalation decided by independent coin flips form a Jackson network: tier i is M/M/n_i with
   arrival rate lambda * prod(p) (Erlang C per tier);
2. k-chat concurrency without stretch is M/M/(n k); occupancy counts slots (load / (n k));
3. the bot thins arrivals independently: human work = sum_c lambda share_c (1 - p_c) E[S_c] h;
4. bookkeeping identities of journeys, tiers and first responses (all features on);
5. common random numbers: a journey's plan is drawn at arrival, so staffing changes no plan;
6. behind the bot, humans see M/M/n+M with rate (1-p) lambda and patience f * theta (Erlang A);
7. uncongested backlog: resolution = S + 1{info} (D_info + S');
8. live start with deterministic times: FIFO waits are exact;
9. the queue-length predictor is unbiased in FIFO M/M/n; customers who balk whenever the
   prediction exceeds a threshold make the desk an M/M/n/K queue (birth-death chain).

The default tier runs in well under a minute on two cores; `-m validation` runs longer
horizons and more replications for the central cases.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pytest
from helpers_sim import assert_conserved, build, deterministic, exponential, per_minute, ticket_rows
from scipy import stats
from simsupport.theory import erlang_a, erlang_c_metrics
from simsupport.experiment.replications import run_replications
from simsupport.stats.journey import (
    J_ABANDONED,
    J_BLOCKED,
    J_DEFLECTED,
    J_JOURNEYS,
    J_RESOLVED,
    T_ABANDONED,
    T_ANSWERED,
    T_VISITS,
)
from simsupport.stats import PER_E, ReplicationResult, summarize
from simsupport.engine import simulate

Z = 5.0  # gate in standard errors of a replication mean
ALPHA = 1e-6  # two-sided level of the exact binomial gates
WORKERS = 2
MIN = 60.0


# ------------------------------------------------------------------------------- utilities


def desk(
    *,
    categories: dict[str, Any],
    channels: dict[str, Any],
    pools: list[dict[str, Any]],
    horizon: float,
    warmup: float,
    seed: int,
    name: str = "journey",
    **sections: Any,
) -> dict[str, Any]:
    """A scenario dict (times in minutes); `sections` adds chatbot, escalation, routing, ..."""
    return {
        "name": name,
        "horizon": f"{float(horizon)!r}min",
        "warmup": f"{float(warmup)!r}min",
        "interval": f"{float(horizon)!r}min",
        "seed": seed,
        "categories": categories,
        "channels": channels,
        "pools": pools,
        **copy.deepcopy(sections),
    }


@cache
def _run(key: str, n: int) -> tuple[ReplicationResult, ...]:
    data = SCENARIOS[key]()
    return tuple(run_replications(build(data), n, workers=WORKERS))


def runs(key: str, n: int) -> list[ReplicationResult]:
    """Replications 0..n-1 of a named scenario (cached across the tests of this module)."""
    return list(_run(key, n))


def close(values: Sequence[float], exact: float, what: str, *, z: float = Z, slack: float = 0.0) -> float:
    """Assert that the mean of replication values is within z standard errors (+ a deterministic
    `slack`, e.g. a histogram's bin width) of `exact`; returns the mean."""
    arr = np.asarray(values, dtype=float)
    assert np.all(np.isfinite(arr)), f"{what}: undefined in some replication: {arr}"
    n = len(arr)
    mean = float(arr.mean())
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half95 = float(stats.t.ppf(0.975, n - 1)) * se
    msg = (f"{what}: {mean:.6g} +- {half95:.3g} (95% CI, {n} replications), theory {exact:.6g}, "
           f"gate {z:g} SE + {slack:.3g} = {z * se + slack:.3g}")  # fmt: skip
    print("CHECK", msg)
    assert abs(mean - exact) <= z * se + slack, msg
    return mean


def binomial_ok(k: float, n: float, p: float, what: str, alpha: float = ALPHA) -> None:
    """k successes in n trials is inside the exact two-sided binomial acceptance region of p."""
    k, n = round(k), round(n)
    lo = stats.binom.ppf(alpha / 2, n, p)
    hi = stats.binom.isf(alpha / 2, n, p)
    msg = f"{what}: {k}/{n} = {k / n:.5f}, theory {p:.5f}, exact binomial region [{lo:.0f}, {hi:.0f}] (level {alpha:g})"
    print("CHECK", msg)
    assert lo <= k <= hi, msg


def summaries(results: Sequence[ReplicationResult]) -> list[dict[str, Any]]:
    return [summarize(r) for r in results]


def column(sums: Sequence[dict[str, Any]], scope: str, key: str, metric: str) -> list[float]:
    return [s[scope][key][metric] for s in sums]


def mmn_k_chain(n: int, lam: float, mean_service: float, capacity: int) -> np.ndarray:
    """Stationary law of the number in system of M/M/n/K (K = capacity), states 0..K."""
    mu = 1.0 / mean_service
    w = [1.0]
    for j in range(1, capacity + 1):
        w.append(w[-1] * lam / (min(j, n) * mu))
    p = np.array(w)
    return p / p.sum()


# ----------------------------------------------------------------------------- scenarios
# Times in minutes unless a unit is written. Every scenario is a function so each test gets a
# fresh dict; SCENARIOS maps a name to it for the cached runner.

LAM = 8.0  # per minute, the tandem cases


def tandem(chain3: bool, horizon: float) -> dict[str, Any]:
    """L1 (10 agents) -> L2 (3) with p = 0.3 [-> specialist (2) with q = 0.5]; E[S] = 1 min,
    Poisson 8/min, nobody abandons."""
    pools = [{"name": "l1", "tier": "L1", "agents": 10}, {"name": "l2", "tier": "L2", "agents": 3}]
    escalation: dict[str, Any] = {"L1": {"to": "L2", "prob": 0.3}}
    if chain3:
        pools.append({"name": "spec", "tier": "specialist", "agents": 2})
        escalation["L2"] = {"to": {"default": "specialist"}, "prob": {"default": 0.5}}
    return desk(
        categories={"work": {"share": 1.0, "handle_time": exponential(1.0)}},
        channels={"phone": {"rate": per_minute(LAM), "patience": "none"}},
        pools=pools,
        horizon=horizon,
        warmup=100.0,
        seed=101 if chain3 else 100,
        escalation=escalation,
    )


def chat_concurrency(horizon: float) -> dict[str, Any]:
    """4 agents holding up to 3 chats each, exponential chats of 3 min, Poisson 3.4/min:
    M/M/12 at load 10.2 (occupancy 0.85)."""
    return desk(
        categories={"chat": {"share": 1.0, "handle_time": exponential(3.0)}},
        channels={"chat": {"rate": per_minute(3.4), "patience": "none", "concurrency": 3,
                           "sla": {"answer_within": "30s"}}},
        pools=[{"name": "agents", "agents": 4}],
        horizon=horizon,
        warmup=100.0,
        seed=200,
    )  # fmt: skip


BOT_MIX = {"general": (0.7, 4.0), "trade": (0.3, 8.0)}  # share, mean handle (min)


def deflection(mixed: bool) -> dict[str, Any]:
    """A bot in front of chat (5/min); plenty of agents. Single case: one category, p = 0.3,
    no handover factor. Mixed: p = 0.6 for general, 0.3 otherwise, handover handle x1.2."""
    if mixed:
        cats = {c: {"share": s, "handle_time": exponential(m)} for c, (s, m) in BOT_MIX.items()}
        bot = {"channels": ["chat"], "handle_time": "90s",
               "deflection": {"default": 0.3, "by_category": {"general": 0.6}},
               "handover": {"handle_time": 1.2}}  # fmt: skip
    else:
        cats = {"general": {"share": 1.0, "handle_time": exponential(4.0)}}
        bot = {"channels": ["chat"], "handle_time": exponential(1.5), "deflection": {"default": 0.3}}
    return desk(
        categories=cats,
        channels={"chat": {"rate": per_minute(5.0), "patience": "none"}},
        pools=[{"name": "agents", "agents": 40}],
        horizon=600.0,
        warmup=30.0,
        seed=301 if mixed else 300,
        chatbot=bot,
    )


EA = {"lam": 6.0, "p": 0.25, "f": 0.5, "theta": 4.0, "S": 2.0, "h": 1.25, "n": 11}


def erlang_a_bot(horizon: float, clock: str = "handover") -> dict[str, Any]:
    """Chat 6/min through a bot (fixed 1 min, deflects 25%), patience Exp(4 min) x 0.5 after the
    handover, work Exp(2 min) x 1.25: humans see M/M/11+M, rate 4.5/min, service 2.5 min,
    patience 2 min."""
    return desk(
        categories={"chat": {"share": 1.0, "handle_time": exponential(EA["S"])}},
        channels={"chat": {"rate": per_minute(EA["lam"]), "patience": exponential(EA["theta"]),
                           "sla": {"answer_within": "1min"}}},
        pools=[{"name": "agents", "agents": EA["n"]}],
        horizon=horizon,
        warmup=100.0,
        seed=600,
        chatbot={"channels": ["chat"], "handle_time": "1min", "deflection": {"default": EA["p"]},
                 "sla_clock": clock, "handover": {"patience": EA["f"], "handle_time": EA["h"]}},
    )  # fmt: skip


FOLLOW = {"lam": 2.0, "S": 10.0, "p_info": 0.3, "D_info": 30.0, "p_reopen": 0.1, "D_reopen": 60.0}


def follow_ups() -> dict[str, Any]:
    """Email 2/min, work Exp(10 min), 80 agents (total load ~28 Erlangs: nobody waits),
    needs_info 0.3 after Exp(30 min), reopen 0.1 after Exp(1 h)."""
    f = FOLLOW
    return desk(
        categories={"general": {"share": 1.0, "handle_time": exponential(f["S"])}},
        channels={"email": {"rate": per_minute(f["lam"]), "patience": "none",
                            "sla": {"first_response_within": "4h"},
                            "needs_info": {"prob": f["p_info"], "after": f"{f['D_info']!r}min"},
                            "reopen": {"prob": f["p_reopen"], "after": f"{f['D_reopen']!r}min"}}},
        pools=[{"name": "agents", "agents": 80}],
        horizon=600.0,
        warmup=60.0,
        seed=700,
    )  # fmt: skip


def announce_mmn(balk_prob: float, balk_above: str, horizon: float, rate: float) -> dict[str, Any]:
    """M/M/5 FIFO, E[S] = 1 min, patience none, one category, wait announcements."""
    return desk(
        categories={"work": {"share": 1.0, "handle_time": exponential(1.0)}},
        channels={"phone": {"rate": per_minute(rate), "patience": "none",
                            "announce": {"balk_above": balk_above, "balk_prob": balk_prob}}},
        pools=[{"name": "agents", "agents": 5}],
        horizon=horizon,
        warmup=60.0,
        seed=900 if balk_prob == 0 else 901,
    )  # fmt: skip


def everything(seed: int = 7, max_waiting: int | None = None) -> dict[str, Any]:
    """Every journey feature at once, on a short horizon with work still open at the end: a
    bot with handover factors, three tiers with abandonment at the higher ones, chat
    concurrency with stretch, retries (one to another channel), finite phone lines,
    announcements with balking, email needs_info and reopen (after days: still pending when
    the run stops), an overloaded email team (tickets still waiting), initial waiting and busy."""
    phone: dict[str, Any] = {
        "rate": "2/min", "patience": exponential(4.0), "lines": 14,
        "announce": {"balk_above": "2min", "balk_prob": 0.5},
        "retry": {"prob": 0.4, "after": "10min", "channel": "chat"}, "sla": {"answer_within": "30s"},
    }  # fmt: skip
    if max_waiting is not None:
        phone["max_waiting"] = max_waiting
    return desk(
        categories={
            "general": {"share": 0.6, "handle_time": exponential(4.0)},
            "trade": {"share": 0.3, "priority": 1, "handle_time": exponential(6.0)},
            "security": {"share": 0.1, "handle_time": exponential(8.0)},
        },
        channels={
            "chat": {"rate": "3/min", "patience": exponential(3.0), "concurrency": {"max": 2, "stretch": [1.0, 1.3]},
                     "retry": {"prob": 0.5, "after": "5min", "max_retries": 2}, "sla": {"answer_within": "1min"}},
            "phone": phone,
            "email": {"rate": "1/min", "patience": "none", "sla": {"first_response_within": "4h"},
                      "needs_info": {"prob": 0.3, "after": "2h"}, "reopen": {"prob": 0.2, "after": "3d"}},
        },
        pools=[
            {"name": "l1", "tier": "L1", "agents": 16, "channels": ["chat", "phone"]},
            {"name": "l1mail", "tier": "L1", "agents": 3, "channels": ["email"]},
            {"name": "l2", "tier": "L2", "agents": 4},
            {"name": "spec", "tier": "specialist", "agents": 1},
        ],
        horizon=240.0,
        warmup=0.0,
        seed=seed,
        chatbot={"channels": ["chat"], "handle_time": "90s",
                 "deflection": {"default": 0.3, "by_category": {"general": 0.5}},
                 "handover": {"patience": 0.7, "handle_time": 1.2}},
        escalation={"L1": {"to": "L2", "prob": {"default": 0.15, "trade": 0.3}},
                    "L2": {"to": "specialist", "prob": {"security": 0.5, "trade": 0.2}}},
        routing={"order": ["live", "priority", "longest_waiting"]},
        initial={"waiting": [{"channel": "email", "count": 40, "age": "2h", "category": "general"},
                             {"channel": "phone", "count": 5, "age": "1min"}],
                 "busy": [{"pool": "l1", "agents": 10, "remaining": "5min"}]},
        experience={"csat": {}},
    )


SCENARIOS = {
    "tandem": lambda: tandem(False, 1500.0),
    "chain3": lambda: tandem(True, 1500.0),
    "tandem-long": lambda: tandem(False, 10000.0),
    "chain3-long": lambda: tandem(True, 10000.0),
    "chat": lambda: chat_concurrency(1500.0),
    "chat-long": lambda: chat_concurrency(10000.0),
    "deflect-single": lambda: deflection(False),
    "deflect-mixed": lambda: deflection(True),
    "erlang-a": lambda: erlang_a_bot(1500.0),
    "erlang-a-long": lambda: erlang_a_bot(10000.0),
    "follow": follow_ups,
    "announce": lambda: announce_mmn(0.0, "1min", 1500.0, 4.5),
    "announce-long": lambda: announce_mmn(0.0, "1min", 10000.0, 4.5),
    "balk": lambda: announce_mmn(1.0, "30s", 1500.0, 4.5),
    "balk-long": lambda: announce_mmn(1.0, "30s", 10000.0, 4.5),
}

QUICK = 20  # replications of the default tier
LONG = 40  # replications of the validation tier
TIERS = [pytest.param("", QUICK, id="quick"), pytest.param("-long", LONG, id="long", marks=pytest.mark.validation)]


# ------------------------------------------------------------------------ 1. Jackson tandem


@pytest.mark.parametrize("tier,n", TIERS)
@pytest.mark.parametrize("chain3", [False, True], ids=["L1-L2", "L1-L2-specialist"])
def test_jackson_tandem_waits_per_tier(chain3: bool, tier: str, n: int) -> None:
    """Each tier is an M/M/n_i station with rate lambda * prod(escalation probs) (Jackson):
    by_tier asa_s, wait_p90_s (plus one histogram bin) and occupancy vs Erlang C; escalations
    per answered visit are Binomial(answered, p) exactly."""
    results = runs(("chain3" if chain3 else "tandem") + tier, n)
    sums = summaries(results)
    stations = [("L1", 10, LAM, 0.3), ("L2", 3, LAM * 0.3, 0.5 if chain3 else 0.0)]
    if chain3:
        stations.append(("specialist", 2, LAM * 0.3 * 0.5, 0.0))
    for name, agents, lam, p_up in stations:
        ec = erlang_c_metrics(agents, lam / MIN, MIN)  # E[S] = 1 min at every tier
        close(column(sums, "by_tier", name, "asa_s"), ec.mean_wait, f"{name} asa_s")
        p90 = ec.wait_quantile(0.9)
        close(column(sums, "by_tier", name, "wait_p90_s"), p90, f"{name} wait_p90_s",
              slack=(math.exp(1.0 / PER_E) - 1.0) * p90)  # fmt: skip
        close(column(sums, "by_tier", name, "occupancy"), ec.occupancy, f"{name} occupancy")
        answered = sum(s["by_tier"][name]["answered"] for s in sums)
        escalated = sum(s["by_tier"][name]["escalated"] for s in sums)
        assert sum(s["by_tier"][name]["abandoned"] for s in sums) == 0
        if p_up > 0:
            binomial_ok(escalated, answered, p_up, f"{name} escalations per answered visit")
        else:
            assert escalated == 0
    # the flow into each tier is the flow out of the one below: visits = escalations of the previous tier
    for s in sums:
        t = s["by_tier"]
        assert t["L2"]["visits"] == t["L1"]["escalated"]
        if chain3:
            assert t["specialist"]["visits"] == t["L2"]["escalated"]


# ------------------------------------------------------------------ 2. chat concurrency


@pytest.mark.parametrize("tier,n", TIERS)
def test_chat_concurrency_is_erlang_c_on_slots(tier: str, n: int) -> None:
    """n agents x k chats, no stretch, exponential chats, no abandonment: M/M/(n k).
    asa_s, p_wait, service level (30 s) and occupancy (slots: load / (n k))."""
    sums = summaries(runs("chat" + tier, n))
    ec = erlang_c_metrics(12, 3.4 / MIN, 3.0 * MIN)
    close(column(sums, "overall", "all", "asa_s"), ec.mean_wait, "asa_s")
    close(column(sums, "overall", "all", "p_wait"), ec.p_wait, "p_wait")
    close(column(sums, "overall", "all", "service_level"), ec.service_level(30.0), "service_level(30 s)")
    close(column(sums, "overall", "all", "occupancy"), ec.occupancy, "occupancy")
    close(column(sums, "by_pool", "agents", "occupancy"), ec.occupancy, "pool occupancy")


# ------------------------------------------------------------------------- 3. deflection


@pytest.mark.parametrize("mixed", [False, True], ids=["one-p", "by-category+handover"])
def test_deflection_thins_human_load(mixed: bool) -> None:
    """The bot resolves each contact with its category's probability, independently:
    deflections per category are Binomial(journeys, p_c); human_offered = bot_handled -
    deflected = the core's offered; human work (Erlangs) = lambda sum_c share_c (1 - p_c)
    E[S_c] h and the work without the bot lambda sum_c share_c E[S_c]."""
    sums = summaries(runs("deflect-mixed" if mixed else "deflect-single", QUICK))
    lam = 5.0 / MIN
    if mixed:
        mix = {c: (s, m * MIN, 0.6 if c == "general" else 0.3) for c, (s, m) in BOT_MIX.items()}
        h = 1.2
    else:
        mix = {"general": (1.0, 4.0 * MIN, 0.3)}
        h = 1.0
    for cat, (_, _, p) in mix.items():
        journeys = sum(s["by_category"][cat]["journeys"] for s in sums)
        deflected = sum(s["by_category"][cat]["deflected"] for s in sums)
        binomial_ok(deflected, journeys, p, f"{cat}: deflected per journey")
    for s in sums:
        bot = s["chatbot"]["chat"]
        assert bot["human_offered"] == bot["bot_handled"] - bot["deflected"] == s["overall"]["all"]["offered"]
        assert bot["bot_handled"] == s["overall"]["all"]["journeys"]
        assert s["chatbot"]["all"] == bot
    handled = sum(s["chatbot"]["chat"]["bot_handled"] for s in sums)
    human = sum(s["chatbot"]["chat"]["human_offered"] for s in sums)
    if not mixed:
        binomial_ok(human, handled, 0.7, "human_offered / bot_handled")
    with_bot = lam * sum(sh * (1 - p) * es for sh, es, p in mix.values()) * h
    without = lam * sum(sh * es for sh, es, _ in mix.values())
    close(column(sums, "chatbot", "chat", "workload_erlangs_with_bot"), with_bot, "workload_erlangs_with_bot")
    close(column(sums, "chatbot", "chat", "workload_erlangs_without_bot"), without, "workload_erlangs_without_bot")


# ------------------------------------------------------------------------ 4. conservation


JOURNEY_ENDS = (("journeys", J_JOURNEYS), ("resolved", J_RESOLVED), ("deflected", J_DEFLECTED),
                ("abandoned", J_ABANDONED), ("blocked", J_BLOCKED))  # fmt: skip


def _totals(r: ReplicationResult) -> dict[str, float]:
    cc = r.journey.class_counters.sum(axis=0)
    return {k: float(cc[i]) for k, i in JOURNEY_ENDS}


def _ends_by_channel(r: ReplicationResult) -> dict[str, dict[str, float]]:
    """Ended journeys by entry channel: the class rows of the journey counters, summed."""
    cc = r.journey.class_counters
    out = {name: dict.fromkeys(dict(JOURNEY_ENDS), 0.0) for name in r.channel_names}
    for i in range(len(cc)):
        for k, j in JOURNEY_ENDS:
            out[r.class_keys[i][0]][k] += float(cc[i, j])
    return out


EVERYTHING_SEEDS = [7, 8, 9]


@cache
def _everything(seed: int, max_waiting: int | None = None) -> ReplicationResult:
    return simulate(build(everything(seed, max_waiting)), 0)


@pytest.mark.parametrize("seed", EVERYTHING_SEEDS)
def test_journey_conservation_everything_on(seed: int) -> None:
    """Every counted journey ends exactly once or is still open; every visit to a tier is
    answered, abandoned (balking included) or still waiting; the bot hands over exactly what
    it does not deflect; every contact reaching a human is one counted arrival."""
    r = _everything(seed)
    s = summarize(r)
    jt = r.journey
    tot = _totals(r)
    o = s["overall"]["all"]
    # the scenario exercises what it is meant to
    assert jt.open_at_end > 0 and tot["deflected"] > 0 and tot["abandoned"] > 0 and tot["blocked"] > 0
    assert o["retrials"] > 0 and s["by_channel"]["phone"]["balked"] > 0
    assert s["by_tier"]["specialist"]["abandoned"] > 0 or s["by_tier"]["L2"]["abandoned"] > 0
    assert jt.tier_waiting_end.sum() > 0
    # journeys: counted = ended (resolved + deflected + abandoned + blocked) + still open, in
    # whole numbers; the ended ones channel by channel too (the open ones are one total)
    ended = tot["resolved"] + tot["deflected"] + tot["abandoned"] + tot["blocked"]
    assert tot["journeys"] == ended
    assert jt.journeys_counted == ended + jt.open_at_end
    for name, e in _ends_by_channel(r).items():
        assert all(float(v).is_integer() for v in e.values()), (name, e)
        assert e["journeys"] == e["resolved"] + e["deflected"] + e["abandoned"] + e["blocked"], (name, e)
        assert s["by_channel"][name]["journeys"] == e["journeys"], name
    # tiers: visits = answered + abandoned + waiting at the end, in whole numbers
    for k, tier in enumerate(jt.tiers):
        c = jt.tier_counters[k]
        assert all(float(c[i]).is_integer() for i in (T_VISITS, T_ANSWERED, T_ABANDONED)), (tier, c)
        assert float(jt.tier_waiting_end[k]).is_integer(), tier
        assert c[T_VISITS] == c[T_ANSWERED] + c[T_ABANDONED] + jt.tier_waiting_end[k], tier
        assert s["by_tier"][tier]["visits"] == c[T_VISITS]
    # escalations out of a tier arrive at the next one (escalation is immediate)
    t = s["by_tier"]
    assert t["L2"]["visits"] == t["L1"]["escalated"]
    assert t["specialist"]["visits"] == t["L2"]["escalated"]
    # the bot: handled = deflected + handed over; every handover is a chat contact offered to humans
    bot = s["chatbot"]["chat"]
    assert bot["bot_handled"] == bot["deflected"] + bot["human_offered"]
    assert bot["deflected"] == tot["deflected"]
    assert s["by_channel"]["chat"]["offered"] == bot["human_offered"]
    # contacts reaching a human (first visits) = counted arrivals = journeys not deflected
    assert r.arrivals_counted == jt.journeys_counted - tot["deflected"]
    assert o["offered"] == r.arrivals_counted
    # first responses: each first visit is answered, abandoned, blocked or still waiting
    entry_waiting = o["offered"] - o["answered"] - o["abandoned"] - o["blocked"]
    assert 0 <= entry_waiting <= jt.tier_waiting_end.sum()


@pytest.mark.parametrize("seed", EVERYTHING_SEEDS)
def test_first_response_conservation_with_in_queue_end(seed: int) -> None:
    """The core identity (as in test_model.conservation) holds for journey desks too:
    offered == answered + abandoned + blocked + in_queue_end, with in_queue_end the counted
    tickets still waiting when the run stops (first responses, like `offered`); per channel
    the leftovers are whole numbers >= 0 adding up to in_queue_end (helpers_sim.assert_conserved)."""
    r = _everything(seed)
    assert r.in_queue_end > 0
    _, waiting = assert_conserved(r)
    assert 0 < sum(waiting.values()) <= r.journey.tier_waiting_end.sum()


@pytest.mark.parametrize("seed", EVERYTHING_SEEDS)
def test_first_response_conservation_per_channel(seed: int) -> None:
    """Per channel, as an equality of whole numbers: offered == answered + abandoned + blocked
    + the engine's count of the channel's counted first visits still waiting at the end."""
    r = _everything(seed)
    s = summarize(r)
    by_engine = dict(zip(r.channel_names, (int(x) for x in r.channel_in_queue_end)))
    assert sum(by_engine.values()) == r.in_queue_end
    for name, v in s["by_channel"].items():
        assert v["offered"] == v["answered"] + v["abandoned"] + v["blocked"] + by_engine[name], name


@pytest.mark.parametrize("seed", EVERYTHING_SEEDS)
def test_journey_conservation_per_channel(seed: int) -> None:
    """Per entry channel, as an equality of whole numbers: journeys counted (the engine's own
    tally) == resolved + deflected + abandoned + blocked + still open at the end."""
    r = _everything(seed)
    jt = r.journey
    counted = dict(zip(r.channel_names, (int(x) for x in jt.channel_journeys_counted)))
    still_open = dict(zip(r.channel_names, (int(x) for x in jt.channel_open_at_end)))
    assert sum(counted.values()) == jt.journeys_counted and sum(still_open.values()) == jt.open_at_end
    for name, e in _ends_by_channel(r).items():
        assert counted[name] == e["resolved"] + e["deflected"] + e["abandoned"] + e["blocked"] + still_open[name], name


def test_tier_visits_conservation_with_max_waiting() -> None:
    """A first visit refused because the queue is full (max_waiting) is blocked like one
    refused for lack of lines: it must not count as a tier visit that was never answered,
    abandoned or left waiting (visits == answered + abandoned + waiting_at_end)."""
    r = _everything(7, max_waiting=3)
    s = summarize(r)
    assert s["overall"]["all"]["blocked"] > 0
    jt = r.journey
    for k, tier in enumerate(jt.tiers):
        c = jt.tier_counters[k]
        assert c[T_VISITS] == c[T_ANSWERED] + c[T_ABANDONED] + jt.tier_waiting_end[k], (
            f"{tier}: visits {c[T_VISITS]:.0f} != answered {c[T_ANSWERED]:.0f} + abandoned "
            f"{c[T_ABANDONED]:.0f} + waiting {jt.tier_waiting_end[k]:.0f}; blocked {s['overall']['all']['blocked']:.0f}"
        )


# --------------------------------------------------------------- 5. common random numbers


def crn_desk(l2: int, chat_patience: bool) -> dict[str, Any]:
    """Bot on chat; email with needs_info; L1 -> L2 -> specialist; L2 headcount varies."""
    return desk(
        categories={"general": {"share": 0.7, "handle_time": exponential(4.0)},
                    "security": {"share": 0.3, "handle_time": exponential(6.0)}},
        channels={"chat": {"rate": "2/min", "patience": exponential(3.0) if chat_patience else "none"},
                  "email": {"rate": "1/min", "patience": "none", "sla": {"first_response_within": "4h"},
                            "needs_info": {"prob": 0.2, "after": "30min"}}},
        pools=[{"name": "l1", "tier": "L1", "agents": 14}, {"name": "l2", "tier": "L2", "agents": l2},
               {"name": "spec", "tier": "specialist", "agents": 2}],
        horizon=480.0,
        warmup=30.0,
        seed=500,
        chatbot={"channels": ["chat"], "handle_time": "1min", "deflection": {"default": 0.3}},
        escalation={"L1": {"to": "L2", "prob": 0.2}, "L2": {"to": {"default": "specialist"}, "prob": {"security": 0.4}}},
    )  # fmt: skip


@pytest.mark.parametrize("chat_patience", [False, True], ids=["patience-none", "chat-patience"])
def test_common_random_numbers_across_l2_headcount(chat_patience: bool) -> None:
    """Same seed and replication, L2 headcount 3 vs 6: the plans are drawn at arrival, so the
    deflected journeys are identical; with patience none everywhere so are the escalations
    out of every tier; and since L1 shares nothing with L2, L1's visits, answers, abandons,
    escalations and waits are identical bit for bit either way."""
    for rep in (0, 1):
        a = simulate(build(crn_desk(3, chat_patience)), rep)
        b = simulate(build(crn_desk(6, chat_patience)), rep)
        sa, sb = summarize(a), summarize(b)
        assert sa["chatbot"]["chat"]["deflected"] == sb["chatbot"]["chat"]["deflected"] > 0
        assert sa["chatbot"]["chat"]["bot_handled"] == sb["chatbot"]["chat"]["bot_handled"]
        assert a.journey.journeys_counted == b.journey.journeys_counted
        assert np.array_equal(a.journey.tier_counters[0], b.journey.tier_counters[0])  # L1, waits included
        assert sa["by_tier"]["L2"]["asa_s"] > sb["by_tier"]["L2"]["asa_s"]  # staffing did change something
        if not chat_patience:
            for tier in ("L1", "L2", "specialist"):
                assert sa["by_tier"][tier]["escalated"] == sb["by_tier"][tier]["escalated"], tier
                assert sa["by_tier"][tier]["visits"] == sb["by_tier"][tier]["visits"], tier
            assert sa["by_tier"]["L2"]["escalated"] > 0
            assert sa["overall"]["all"]["needs_info_rate"] == sb["overall"]["all"]["needs_info_rate"]


# ------------------------------------------------------------------ 6. Erlang A via the bot


@pytest.mark.parametrize("tier,n", TIERS)
def test_erlang_a_behind_the_bot(tier: str, n: int) -> None:
    """Humans see M/M/n+M: rate (1-p) lambda, service E[S] h, patience f theta (waits from the
    handover): abandon_rate, asa_s, mean_wait_abandoned_s and service level (1 min) vs Erlang A."""
    sums = summaries(runs("erlang-a" + tier, n))
    e = EA
    ea = erlang_a(e["n"], (1 - e["p"]) * e["lam"] / MIN, e["S"] * e["h"] * MIN, e["f"] * e["theta"] * MIN)
    close(column(sums, "overall", "all", "abandon_rate"), ea.p_abandon, "abandon_rate")
    close(column(sums, "overall", "all", "asa_s"), ea.mean_wait_served, "asa_s")
    close(column(sums, "overall", "all", "mean_wait_abandoned_s"), ea.mean_wait_abandoned, "mean_wait_abandoned_s")
    close(column(sums, "overall", "all", "service_level"), ea.service_level(60.0), "service_level(1 min)")
    close(column(sums, "overall", "all", "occupancy"), ea.occupancy, "occupancy")


def test_sla_clock_arrival_adds_the_bot_time_exactly() -> None:
    """With a fixed bot time B, `sla_clock: arrival` runs the same sample path as `handover`
    (the clock changes no decision) and measures every wait B longer: ASA and the mean wait of
    abandoners shift by exactly B, counts are identical."""
    a = summarize(simulate(build(erlang_a_bot(600.0, "handover")), 0))["overall"]["all"]
    b = summarize(simulate(build(erlang_a_bot(600.0, "arrival")), 0))["overall"]["all"]
    for key in ("offered", "answered", "abandoned", "journeys", "deflected"):
        assert a[key] == b[key], key
    assert b["asa_s"] - a["asa_s"] == pytest.approx(MIN, abs=1e-6)
    assert b["mean_wait_abandoned_s"] - a["mean_wait_abandoned_s"] == pytest.approx(MIN, abs=1e-6)
    assert b["journey_wait_s"] - a["journey_wait_s"] == pytest.approx(MIN, abs=1e-6)


# ---------------------------------------------------------------- 7. backlog follow-ups


def test_backlog_follow_ups_uncongested() -> None:
    """Nobody waits (80 agents, ~28 Erlangs). needs_info_rate ~ Binomial(handled, p_info)/handled,
    reopen_rate ~ Binomial(resolved, p_reopen)/resolved; resolution (first contact -> end of the
    last service before any reopen) = S + 1{info} (D_info + S'), so
    E = E[S] + p_info (E[D_info] + E[S])."""
    results = runs("follow", QUICK)
    sums = summaries(results)
    f = FOLLOW
    assert max(s["by_tier"]["L1"]["mean_wait_s"] for s in sums) < 1e-3
    handled = sum(r.journey.class_counters[:, 5].sum() for r in results)  # J_HANDLED
    info = sum(s["overall"]["all"]["needs_info_rate"] * r.journey.class_counters[:, 5].sum()
               for s, r in zip(sums, results))  # fmt: skip
    binomial_ok(info, handled, f["p_info"], "needs_info per handled journey")
    resolved = sum(s["overall"]["all"]["resolved"] for s in sums)
    reopened = sum(s["overall"]["all"]["reopen_rate"] * s["overall"]["all"]["resolved"] for s in sums)
    binomial_ok(reopened, resolved, f["p_reopen"], "reopened per resolved journey")
    for s, r in zip(sums, results):
        assert r.journey.open_at_end == 0
        assert s["overall"]["all"]["resolved"] == s["overall"]["all"]["journeys"]
    expected = (f["S"] + f["p_info"] * (f["D_info"] + f["S"])) * MIN
    close(column(sums, "overall", "all", "resolution_time_s"), expected, "resolution_time_s")
    # tier visits: entry + returns, + the reopens that came back before the run stopped (a
    # reopen ends its journey resolved; its visit is counted at its tier when it comes back)
    visits = sum(s["by_tier"]["L1"]["visits"] for s in sums)
    assert round(handled + info) <= visits <= round(handled + info + reopened)


# ---------------------------------------------------------------------- 8. live start


def live_start(busy: bool) -> dict[str, Any]:
    """No arrivals (rate 0); 23 email tickets waited 50 min each; 4 agents, fixed 6 min work;
    optionally 3 agents still busy for 2.5 min."""
    initial: dict[str, Any] = {"waiting": [{"channel": "email", "count": 23, "age": "50min"}]}
    if busy:
        initial["busy"] = [{"pool": "agents", "agents": 3, "remaining": deterministic(2.5)}]
    return desk(
        categories={"general": {"share": 1.0, "handle_time": deterministic(6.0)}},
        channels={"email": {"rate": "0/h", "patience": "none", "sla": {"first_response_within": "1h"}}},
        pools=[{"name": "agents", "agents": 4}],
        horizon=240.0,
        warmup=0.0,
        seed=800,
        initial=initial,
    )


def fifo_starts(count: int, free_at: list[float], work: float) -> list[float]:
    """Start times of `count` FIFO tickets all present at 0, agents free at `free_at`."""
    free = sorted(free_at)
    starts = []
    for _ in range(count):
        t = free.pop(0)
        starts.append(t)
        free.append(t + work)
        free.sort()
    return starts


@pytest.mark.parametrize("busy", [False, True], ids=["all-free", "3-busy"])
def test_live_start_deterministic_waits(busy: bool) -> None:
    """Ticket k (FIFO, all aged a) starts at floor(k/n) D with n free agents, so its wait is
    a + floor(k/n) D; with b agents busy until R the starts follow the agents' free times.
    Every wait (ticket log and asa_s) is exact."""
    a, d, n, q = 50 * MIN, 6 * MIN, 4, 23
    r = simulate(build(live_start(busy)), 0, record_tickets=True)
    free_at = [0.0] * n if not busy else [0.0] + [2.5 * MIN] * 3
    expected = [a + s for s in fifo_starts(q, free_at, d)]
    if not busy:
        assert expected == [a + (k // n) * d for k in range(q)]
    rows = sorted((row for row in ticket_rows(r.tickets) if row["outcome"] == "answered"), key=lambda x: x["id"])
    assert len(rows) == q
    assert [row["arrival_s"] for row in rows] == [-a] * q
    assert [row["wait_s"] for row in rows] == pytest.approx(expected, abs=1e-9)
    o = summarize(r)["overall"]["all"]
    assert o["offered"] == o["answered"] == q
    assert o["asa_s"] == pytest.approx(float(np.mean(expected)), rel=1e-12)
    assert o["service_level"] == pytest.approx(np.mean([w <= 3600.0 for w in expected]), rel=1e-12)


# --------------------------------------------------------------------- 9. announcements


@pytest.mark.parametrize("tier,n", TIERS)
def test_queue_length_predictor_unbiased_in_fifo_mmn(tier: str, n: int) -> None:
    """FIFO M/M/5, patience none, one category: a customer who has to wait and finds q waiting
    waits the sum of q+1 Exp(n mu), of mean (q+1) E[S] / n = the announced wait. So the mean
    prediction error is 0; every waiting customer is announced (announced = offered * P(wait))
    and nobody balks (balk_prob 0)."""
    sums = summaries(runs("announce" + tier, n))
    ec = erlang_c_metrics(5, 4.5 / MIN, MIN)
    close(column(sums, "by_channel", "phone", "prediction_error_s"), 0.0, "prediction_error_s")
    rate = [s["by_channel"]["phone"]["announced"] / s["by_channel"]["phone"]["offered"] for s in sums]
    close(rate, ec.p_wait, "announced / offered")
    # the error's second moment: Var(sum of q+1 Exp(n mu) | q) = (q+1) (E[S]/n)^2, so
    # E[err^2] = (E[S]/n) E[(q+1) E[S]/n | wait] = (E[S]/n) * E[W | W > 0] (Erlang C: q ~ geometric)
    mse = (MIN / 5) * ec.mean_wait_given_wait
    close([s["by_channel"]["phone"]["prediction_rmse_s"] ** 2 for s in sums], mse, "prediction_rmse_s^2")
    for s in sums:
        ph = s["by_channel"]["phone"]
        assert ph["balked"] == 0 and ph["abandoned"] == 0


@pytest.mark.parametrize("tier,n", TIERS)
def test_balking_above_threshold_is_mmnk(tier: str, n: int) -> None:
    """M/M/5, E[S] = 1 min, 4.5/min; announced wait (q+1) * 12 s; everyone told more than 30 s
    leaves (balk_prob 1), i.e. whoever finds q >= 2 waiting: the desk is M/M/5/7. Balkers are
    the abandons; balk share of arrivals = pi_7, of announcements = pi_7 / P(N >= 5); ASA
    from the chain."""
    sums = summaries(runs("balk" + tier, n))
    lam, es, agents, cap = 4.5 / MIN, MIN, 5, 7
    pi = mmn_k_chain(agents, lam, es, cap)
    p_balk = pi[cap]
    p_announce = pi[agents:].sum()
    asa = sum(pi[j] * (j - agents + 1) * es / agents for j in range(agents, cap)) / (1.0 - p_balk)
    for s in sums:
        ph = s["by_channel"]["phone"]
        assert ph["balked"] == ph["abandoned"] == s["overall"]["all"]["abandoned"] > 0
        assert ph["announced"] > ph["balked"]
    close(column(sums, "overall", "all", "abandon_rate"), p_balk, "balked / offered (abandon_rate)")
    close(column(sums, "by_channel", "phone", "balk_rate"), p_balk / p_announce, "balk_rate (per announcement)")
    close(column(sums, "overall", "all", "asa_s"), asa, "asa_s")
    close(column(sums, "overall", "all", "occupancy"), (1 - p_balk) * lam * es / agents, "occupancy")


# ---------------------------------------------------------------------------- 10. more


def test_retry_through_the_bot_keeps_the_handover_factor_once() -> None:
    """A customer who abandons after the handover and retries on the bot channel still has the
    same problem: its handle time is the work x handover factor h, not x h^2, h^3, ...
    Fixed work 4 min, h = 2: every answered contact, first or retry, takes exactly 8 min."""
    data = desk(
        categories={"work": {"share": 1.0, "handle_time": deterministic(4.0)}},
        channels={"chat": {"rate": "1/min", "patience": exponential(1.0), "retry": {"prob": 0.9, "after": "2min"}}},
        pools=[{"name": "agents", "agents": 4}],
        horizon=300.0,
        warmup=0.0,
        seed=1000,
        chatbot={"channels": ["chat"], "handle_time": "30s", "deflection": {"default": 0.0},
                 "handover": {"handle_time": 2.0}},
    )  # fmt: skip
    r = simulate(build(data), 0, record_tickets=True)
    rows = [row for row in ticket_rows(r.tickets) if row["outcome"] == "answered"]
    assert any(row["attempt"] > 0 for row in rows)
    by_attempt: dict[int, set[float]] = {}
    for row in rows:
        by_attempt.setdefault(row["attempt"], set()).add(round(row["handle_s"] / MIN, 9))
    assert by_attempt == {k: {8.0} for k in by_attempt}, f"handle (min) by attempt: {by_attempt}"


def stretch_desk(stretch: list[float] | None) -> dict[str, Any]:
    return desk(
        categories={"chat": {"share": 1.0, "handle_time": exponential(3.0)}},
        channels={"chat": {"rate": "2.5/min", "patience": "none",
                           "concurrency": {"max": 3, "stretch": stretch} if stretch else 3}},
        pools=[{"name": "agents", "agents": 4}],
        horizon=600.0,
        warmup=60.0,
        seed=1100,
    )  # fmt: skip


def test_stretch_raises_occupancy_and_waits_under_crn() -> None:
    """Same customers (CRN), chats stretched x1.15 / x1.3 when an agent holds 2 / 3: more work
    per chat, so slot occupancy and ASA rise; without stretch occupancy = load / (n k).
    Paired differences over 10 replications, gate Z standard errors away from 0."""
    plain = run_replications(build(stretch_desk(None)), 10, workers=WORKERS)
    stretched = run_replications(build(stretch_desk([1.0, 1.15, 1.3])), 10, workers=WORKERS)
    for a, b in zip(plain, stretched):
        assert a.arrivals_counted == b.arrivals_counted  # the same customers
    occ = [summarize(b)["overall"]["all"]["occupancy"] - summarize(a)["overall"]["all"]["occupancy"]
           for a, b in zip(plain, stretched)]  # fmt: skip
    asa = [summarize(b)["overall"]["all"]["asa_s"] - summarize(a)["overall"]["all"]["asa_s"]
           for a, b in zip(plain, stretched)]  # fmt: skip
    for name, diff in (("occupancy", occ), ("asa_s", asa)):
        mean, se = float(np.mean(diff)), float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
        print(f"CHECK stretch - plain {name}: {mean:.4g} (SE {se:.3g})")
        assert mean > Z * se, f"{name} difference {mean:.4g}, SE {se:.3g}"
    close([summarize(a)["overall"]["all"]["occupancy"] for a in plain], 2.5 * 3 / 12, "occupancy without stretch")


def blend_desk(guard: str | None) -> dict[str, Any]:
    routing: dict[str, Any] = {"order": ["live", "longest_waiting"]}
    if guard is not None:
        routing["breach_guard"] = guard
    return desk(
        categories={"general": {"share": 1.0, "handle_time": exponential(5.0)}},
        channels={"chat": {"rate": "1.8/min", "patience": "none"},
                  "email": {"rate": "0.15/min", "patience": "none", "sla": {"first_response_within": "1h"}}},
        pools=[{"name": "agents", "agents": 10}],
        horizon=1440.0,
        warmup=60.0,
        seed=1200,
        routing=routing,
    )  # fmt: skip


def test_breach_guard_lowers_backlog_breaches_when_live_goes_first() -> None:
    """Blended agents, live chat before email (load 9 + 0.75 on 10 agents): email starves and
    often breaches its 1 h first-response SLA. A breach guard of 20 min puts email tickets
    within 20 min of breaching ahead of chat: fewer email breaches (paired over 20 replications
    with the same customers, gate Z standard errors)."""
    plain = run_replications(build(blend_desk(None)), 20, workers=WORKERS)
    guarded = run_replications(build(blend_desk("20min")), 20, workers=WORKERS)
    diff = []
    for a, b in zip(plain, guarded):
        sa, sb = summarize(a)["by_channel"]["email"], summarize(b)["by_channel"]["email"]
        assert sa["offered"] == sb["offered"] > 0
        diff.append(sa["sla_breach_rate"] - sb["sla_breach_rate"])
    base = [summarize(a)["by_channel"]["email"]["sla_breach_rate"] for a in plain]
    mean, se = float(np.mean(diff)), float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
    print(f"CHECK email breach rate plain {np.mean(base):.4f}, reduction by the guard {mean:.4f} (SE {se:.3g})")
    assert np.mean(base) > 0.05, "the plain desk should breach"
    assert mean > Z * se, f"breach-rate reduction {mean:.4g}, SE {se:.3g}"
    for a, b in zip(plain, guarded):  # the same chat customers, all answered either way
        assert summarize(a)["by_channel"]["chat"]["answered"] == summarize(b)["by_channel"]["chat"]["answered"]


def test_direct_routing_enters_at_its_tier() -> None:
    """`routing.direct: {security: specialist}` with escalation L1 -> L2 (prob 0.2, security 0):
    security tickets enter at the specialist tier and nowhere else; the others enter at L1 and
    only escalations reach L2. Exact counts (patience none, every journey drains)."""
    data = desk(
        categories={"general": {"share": 0.8, "handle_time": exponential(3.0)},
                    "security": {"share": 0.2, "handle_time": exponential(5.0)}},
        channels={"phone": {"rate": "3/min", "patience": "none"}},
        pools=[{"name": "l1", "tier": "L1", "agents": 12}, {"name": "l2", "tier": "L2", "agents": 4},
               {"name": "spec", "tier": "specialist", "agents": 4}],
        horizon=300.0,
        warmup=0.0,
        seed=1300,
        escalation={"L1": {"to": "L2", "prob": {"default": 0.2, "security": 0.0}}},
        routing={"direct": {"security": "specialist"}},
    )  # fmt: skip
    r = simulate(build(data), 0, record_tickets=True)
    s = summarize(r)
    t = s["by_tier"]
    general, security = s["by_category"]["general"], s["by_category"]["security"]
    assert security["journeys"] > 0 and general["journeys"] > 0
    assert t["specialist"]["visits"] == security["journeys"]
    assert t["L1"]["visits"] == general["journeys"]
    assert t["L2"]["visits"] == t["L1"]["escalated"] > 0
    assert security["escalation_rate"] == 0.0
    binomial_ok(t["L1"]["escalated"], t["L1"]["answered"], 0.2, "L1 escalations (general)")
    for row in ticket_rows(r.tickets):  # who answered what
        if row["category"] == "security":
            assert row["pool"] == "spec" and row["tier"] == "specialist"
        else:
            assert row["pool"] in ("l1", "l2") and row["tier"] == {"l1": "L1", "l2": "L2"}[row["pool"]]
