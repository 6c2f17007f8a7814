"""How many on-call agents, called in how fast, keep chat at target through the flash crash?

    python experiments/crash_reserve.py [--replications N] [--out results/crash-reserve]

Runs scenarios/flash-crash.yaml with an on-call reserve (a copy of l1-asia, called when
volatility passes 4% a day, released below 3%) for a grid of reserve sizes and call-in delays,
with common random numbers (every variant sees the same customers and the same market), and
plots chat's service level in the `volatile` scope (tickets that arrived while volatility was
at least 1.25x its calm level) and in its worst hour.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simsupport.config.load import load_scenario
from simsupport.experiment.replications import default_workers, run_replications
from simsupport.experiment.statistics import mean_ci95
from simsupport.stats import summarize
from simsupport.outputs.files import atomic_write, write_table

ROOT = Path(__file__).resolve().parents[1]
AGENTS = (0, 20, 40, 60, 90, 120)
DELAYS = ("1min", "15min", "30min", "60min")


def variant(agents: int, delay: str) -> dict:
    if agents == 0:
        return {}
    return {
        "surge": {
            "on_call": [
                {
                    "name": "reserve",
                    "like": "l1-asia",
                    "agents": agents,
                    "delay": delay,
                    "when": {"volatility_over": 0.04},
                    "until": {"volatility_below": 0.03},
                    "min_active": "2h",
                }
            ]
        }
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "crash-reserve")
    args = ap.parse_args()
    rows = []
    for delay in DELAYS:
        for agents in AGENTS:
            if agents == 0 and delay != DELAYS[0]:
                continue
            s = load_scenario(
                ROOT / "scenarios" / "flash-crash.yaml",
                overrides={"horizon": "2d", "replications": args.replications, **variant(agents, delay)},
            )
            results = run_replications(s, args.replications, workers=default_workers())
            for r in results:
                summ = summarize(r)
                surge = summ.get("surge", {}).get("reserve", {})
                rows.append(
                    {
                        "agents": agents,
                        "delay": delay,
                        "replication": r.replication,
                        "chat_sl_volatile": summ["volatile"]["chat"]["service_level"],
                        "chat_sl_worst_hour": summ["worst_hour"]["chat"]["service_level"],
                        "chat_sl_overall": summ["by_channel"]["chat"]["service_level"],
                        "chat_abandon_volatile": summ["volatile"]["chat"]["abandon_rate"],
                        "reserve_agent_hours": surge.get("agent_hours", 0.0),
                    }
                )
            print(f"agents {agents:3d}, delay {delay:>5}: done", flush=True)
    df = pd.DataFrame(rows)
    for delay in DELAYS[1:]:  # no reserve is the same run whatever the delay
        base = df[(df["agents"] == 0)].copy()
        base["delay"] = delay
        df = pd.concat([df, base], ignore_index=True)
    write_table(args.out / "crash_reserve.csv", df)
    agg = (
        df.groupby(["delay", "agents"])
        .agg(lambda v: mean_ci95(v)[0])
        .drop(columns="replication")
        .reset_index()
    )
    write_table(args.out / "crash_reserve_means.csv", agg)
    plot(df, args.out / "crash_reserve.png")
    print(agg.to_string(index=False))


def plot(df: pd.DataFrame, path: Path) -> None:
    fig = Figure(figsize=(11, 4.3), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colors = {"1min": "#2ca02c", "15min": "#1f77b4", "30min": "#ff7f0e", "60min": "#d62728"}
    for ax, col, title in (
        (axes[0], "chat_sl_volatile", "while the market is volatile"),
        (axes[1], "chat_sl_worst_hour", "in the worst hour"),
    ):
        for delay in DELAYS:
            sub = df[df["delay"] == delay]
            stats = [mean_ci95(sub[sub["agents"] == a][col]) for a in AGENTS]
            m = np.array([x[0] for x in stats])
            h = np.array([0.0 if math.isnan(x[1]) else x[1] for x in stats])
            ax.fill_between(AGENTS, m - h, m + h, color=colors[delay], alpha=0.15, lw=0)
            ax.plot(AGENTS, m, "o-", color=colors[delay], label=f"called in within {delay}")
        ax.axhline(0.9, color="0.3", ls="--", lw=1)
        ax.text(AGENTS[0], 0.905, "target 90%", fontsize=8, color="0.3")
        ax.set_title(f"chat service level {title}", loc="left", fontsize=10)
        ax.set_xlabel("on-call reserve agents (l1-asia skills)")
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].set_ylabel("answered within 60 s / (answered + abandoned)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("flash crash: what an on-call reserve buys (mean and 95% CI over replications, common random numbers)", fontsize=11)
    FigureCanvasAgg(fig)
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110, metadata={"Software": None}))


if __name__ == "__main__":
    main()
