"""report.html (and report.xlsx) of run, sweep, staff, schedule and fit, opened in a real browser.

Each command runs once on a tiny case through `main([...])` (what the console script runs). The
page is loaded from its file:// URL in headless Chromium (the distribution's /usr/bin/chromium,
driven by playwright, every network feature off): no console or page error, every image
decoded, the target table there (and, for run, its pass/fail cells what summary.json says), the
tables sortable, the print stylesheet in force; a full-page screenshot goes to tmp_path (and to
$SIMSUPPORT_REPORT_SHOTS when set, to look at). The browser tests skip, saying why, only where
no browser can be found or launched; the plain tests (self-contained, --no-report, --tz, --xlsx,
escaping) run everywhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers_sim import mmn_dict

import simsupport.cli.report_options as report_options
from simsupport.cli import main
from simsupport.config.load import load_scenario
from simsupport.outputs.html import SHARE, Column, Page, Section, Table, render

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "scenarios" / "textbook.yaml"
KINDS = ("run", "sweep", "staff", "schedule", "fit")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def simsupport(*argv: str) -> int:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    return int(info.value.code or 0)


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def staff_desk() -> dict[str, Any]:
    """Two channels with SLAs, one pool: a search of a few evaluations."""
    return {
        "name": "two", "horizon": "1d", "warmup": "2h", "interval": "1h", "replications": 2, "seed": 4,
        "categories": {"general": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "4min"}}},
        "channels": {
            "phone": {"rate": "1.5/min", "patience": "none", "sla": {"answer_within": "30s", "target": 0.8}},
            "chat": {"rate": "1/min", "patience": {"dist": "exponential", "mean": "3min"},
                     "sla": {"answer_within": "60s", "target": 0.85}},
        },
        "pools": [{"name": "agents", "agents": 16}],
        "staffing": {"scopes": ["overall", "worst_hour"], "replications": 2},
    }  # fmt: skip


def roster_desk() -> dict[str, Any]:
    """M/M/n+M with one 24-hour template (tests/test_schedule.py's flat desk), two days."""
    return {
        "name": "flat", "horizon": "2d", "warmup": "2h", "replications": 2, "seed": 3, "interval": "1h",
        "categories": {"general": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "4min"}}},
        "channels": {"phone": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "3min"},
                               "sla": {"answer_within": "20s", "target": 0.75}}},
        "pools": [{"name": "agents", "channels": ["phone"], "cost": 1, "timezone": "Europe/London",
                   "schedule": {"templates": [{"name": "day", "length": "24h"}],
                                "starts": {"from": "00:00", "to": "00:00", "every": "30min"}, "days_off": "none"}}],
    }  # fmt: skip


def volumes_csv(path: Path, days: int = 14, seed: int = 3) -> Path:
    """A 15-minute interval report of two channels (business-hours shape, weekends quieter)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05", tz="UTC")
    rows = []
    for k in range(days * 96):
        t = start + pd.Timedelta(minutes=15 * k)
        hour = t.hour + t.minute / 60
        shape = 0.2 + math.exp(-0.5 * ((hour - 13) / 3.5) ** 2)
        week = 0.6 if t.day_of_week >= 5 else 1.0
        for ch, rate in (("chat", 12.0), ("phone", 6.0)):
            n = int(rng.poisson(rate * shape * week))
            rows.append({"interval_start": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "channel": ch, "offered": n,
                         "answered": n, "abandoned": 0, "aht_s": 300.0 if n else ""})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each command's output folder (fit: its --report folder), built once."""
    tmp = tmp_path_factory.mktemp("reports")
    out = {k: tmp / k for k in KINDS}
    assert simsupport("run", TEXTBOOK, "--horizon", "20h", "-r", "2", "-w", "1", "--out", out["run"], "--xlsx") == 0
    base = write_yaml(tmp / "exp" / "base.yaml", mmn_dict(agents=20, rate=3.0, mean_handle=6.0, horizon=300.0, warmup=30.0,
                                                         seed=5, replications=2, sla_T=0.5, name="tiny"))  # fmt: skip
    exp = base.parent / "exp.yaml"
    exp.write_text(textwrap.dedent("""\
        name: tiny-sweep
        base: base.yaml
        sweep:
          grid: {pools.agents.agents: [19, 20, 22]}
          policies:
            short: {}
            long: {channels.phone.sla.answer_within: 60s}
        """), encoding="utf-8")  # fmt: skip
    assert simsupport("sweep", exp, "--out", out["sweep"], "-w", "1", "--xlsx") == 0
    desk = write_yaml(tmp / "two.yaml", staff_desk())
    assert simsupport("staff", desk, "--out", out["staff"], "-w", "1", "--xlsx") == 0
    roster = write_yaml(tmp / "flat.yaml", roster_desk())
    code = simsupport("schedule", roster, "--out", out["schedule"], "-w", "1", "-r", "2", "--horizon", "2d",
                      "--moves", "2", "--rounds", "1", "--time-limit", "2", "--xlsx", "--tz", "Asia/Tokyo")  # fmt: skip
    assert code == 0
    log = volumes_csv(tmp / "volumes.csv")
    assert simsupport("fit", "--volumes", log, "--out", tmp / "fitted" / "desk.yaml", "--report", out["fit"]) == 0
    return out


# -- the browser ---------------------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium found (/usr/bin/chromium: apt-get install chromium)")
    try:
        pw = sync_api.sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 - no driver: say why and skip
        pytest.skip(f"playwright cannot start: {exc}")
    try:
        b = pw.chromium.launch(executable_path=path, args=BROWSER_ARGS)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start here (sandbox, libraries)
        pw.stop()
        pytest.skip(f"Chromium at {path} cannot be launched: {str(exc).splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


def report_of(built: dict[str, Path], kind: str) -> Path:
    return built[kind] / "report.html"


@pytest.fixture(scope="module")
def pages(built: dict[str, Path], browser: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each report loaded once: (page, errors seen, screenshot)."""
    shots = tmp_path_factory.mktemp("screenshots")
    keep = os.environ.get("SIMSUPPORT_REPORT_SHOTS")
    out = {}
    for kind in KINDS:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, errors=errors: errors.append(f"request {r.url}") if not r.url.startswith(("file:", "data:")) else None)
        page.goto(report_of(built, kind).resolve().as_uri())
        page.wait_for_load_state("load")
        shot = shots / f"{kind}.png"
        page.screenshot(path=str(shot), full_page=True)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / f"report-{kind}.png")
        out[kind] = (page, errors, shot)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_report_loads_without_errors_and_every_image_decodes(pages: dict[str, Any], kind: str) -> None:
    page, errors, shot = pages[kind]
    assert errors == [], errors
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert widths and all(w > 0 for w in widths), widths
    assert shot.stat().st_size > 10_000
    assert page.title() and page.locator("section#warnings").count() == 1


@pytest.mark.parametrize("kind", ("run", "sweep", "staff", "schedule"))
def test_every_report_has_a_coloured_target_table(pages: dict[str, Any], kind: str) -> None:
    page, _, _ = pages[kind]
    cells = page.locator("section#targets td.verdict")
    assert cells.count() > 0
    colours = {cells.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(cells.count())}
    assert "rgba(0, 0, 0, 0)" not in colours  # green or red, never plain


def test_run_verdicts_are_summary_json(pages: dict[str, Any], built: dict[str, Path]) -> None:
    page, _, _ = pages["run"]
    doc = json.loads((built["run"] / "summary.json").read_text(encoding="utf-8"))
    s = load_scenario(TEXTBOOK)
    rows = page.locator("section#targets tbody tr")
    seen = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        seen[cells.nth(0).inner_text().split(" SLA")[0]] = cells.nth(6).inner_text()
    expected = {}
    for name, ch in s.channels.items():
        if ch.sla is not None:
            mean = doc["by_channel"][name]["service_level"]["mean"]
            expected[name] = "pass" if mean >= ch.sla.target else "fail"
    assert {k: v.split()[-1] for k, v in seen.items()} == expected
    assert page.locator("section#channels table").count() >= 1


def test_headers_sort_the_rows(pages: dict[str, Any]) -> None:
    page, _, _ = pages["sweep"]
    table = page.locator("section#points table").first
    header = table.locator("thead th", has_text="service level").first
    index = header.evaluate("th => Array.prototype.indexOf.call(th.parentNode.children, th)")

    def column() -> list[float]:
        return [float(v) for v in table.locator(f"tbody tr td:nth-child({index + 1})").evaluate_all(
            "tds => tds.map(td => td.getAttribute('data-sort'))")]  # fmt: skip

    header.click()
    assert column() == sorted(column()) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column() == sorted(column(), reverse=True) and header.get_attribute("aria-sort") == "descending"


def test_print_stylesheet(pages: dict[str, Any]) -> None:
    page, _, _ = pages["run"]
    page.emulate_media(media="print")
    try:
        style = page.evaluate("""() => ({
            th: getComputedStyle(document.querySelector('thead th')).position,
            brk: getComputedStyle(document.querySelector('section#channels')).breakBefore,
            same: getComputedStyle(document.querySelector('section#warnings')).breakBefore,
            scroll: getComputedStyle(document.querySelector('.scroll')).overflowX,
            nav: getComputedStyle(document.querySelector('nav.toc')).display})""")
    finally:
        page.emulate_media(media="screen")
    assert style == {"th": "static", "brk": "page", "same": "auto", "scroll": "visible", "nav": "none"}


# -- without a browser ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_report_is_self_contained(built: dict[str, Path], kind: str) -> None:
    text = report_of(built, kind).read_text(encoding="utf-8")
    assert not re.search(r"https?://", text), re.search(r".{60}https?://.{60}", text)
    assert not re.search(r"<(link|iframe)\b|<script[^>]*\bsrc=|<img[^>]*src=\"(?!data:)", text)
    assert text.count("<img") == text.count('src="data:image/png;base64,')


def test_no_report_writes_none(tmp_path: Path) -> None:
    out = tmp_path / "plain"
    assert simsupport("run", TEXTBOOK, "--horizon", "2h", "-r", "1", "-w", "1", "--no-plots", "--no-report", "--out", out) == 0
    assert not (out / "report.html").exists() and not (out / "report.xlsx").exists()
    assert (out / "summary.json").is_file()


def test_fit_report_goes_beside_the_yaml_without_report_dir(tmp_path: Path) -> None:
    log = volumes_csv(tmp_path / "v.csv", days=7)
    assert simsupport("fit", "--volumes", log, "--out", tmp_path / "f" / "desk.yaml") == 0
    page = tmp_path / "f" / "desk-report.html"
    assert page.is_file() and "Estimates" in page.read_text(encoding="utf-8")
    assert simsupport("fit", "--volumes", log, "--out", tmp_path / "g" / "desk.yaml", "--no-report") == 0
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["desk.yaml"]


def test_backtest_writes_its_report(built: dict[str, Path], tmp_path: Path) -> None:
    base = built["fit"].parent
    out = tmp_path / "bt"
    assert simsupport("backtest", base / "fitted" / "desk.yaml", "--volumes", base / "volumes.csv", "-r", "2", "--out", out) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "day coverage" in text and 'src="data:image/png;base64,' in text and not re.search(r"https?://", text)


def test_tz_is_validated_and_used(built: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert simsupport("run", TEXTBOOK, "--horizon", "2h", "--tz", "Mars/Olympus", "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err
    assert "Mars/Olympus" in err and "IANA" in err and not (tmp_path / "x").exists()
    text = report_of(built, "schedule").read_text(encoding="utf-8")
    assert "Asia/Tokyo" in text  # --tz: the times shown, and the failing periods' clock
    assert "times shown in</dt><dd>UTC" in report_of(built, "run").read_text(encoding="utf-8")


def test_xlsx_holds_the_tables(built: dict[str, Path]) -> None:
    pytest.importorskip("openpyxl", reason="openpyxl is not installed (pip install 'simsupport[xlsx]')")
    sheets = {k: pd.read_excel(built[k] / "report.xlsx", sheet_name=None, header=None) for k in ("run", "sweep", "staff", "schedule")}
    assert {"summary", "targets", "intervals"} <= set(sheets["run"])
    assert {"summary", "targets", "roster"} <= set(sheets["staff"])
    assert {"summary", "targets", "intervals", "roster"} <= set(sheets["schedule"])
    assert {"summary", "targets"} <= set(sheets["sweep"])
    targets = sheets["run"]["targets"]
    assert targets.iloc[0, 0] == "Targets" and "result" in list(targets.iloc[1])
    # numbers stay numbers: the service level is a fraction, not "71.9%"
    header = list(targets.iloc[1])
    assert isinstance(targets.iloc[2, header.index("mean")], float)


def test_xlsx_without_openpyxl_exits_2_before_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(report_options, "xlsx_available", lambda: False)
    assert simsupport("run", TEXTBOOK, "--horizon", "2h", "--xlsx", "--out", tmp_path / "x") == 2
    assert "openpyxl" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_text_is_escaped() -> None:
    rows = [{"name": "<script>alert(1)</script>", "level": 0.5, "ok": True}]
    page = Page("a <b> title", "x & y", [Section("S <1>", [Table("T", rows, [Column("name"), Column("level", unit=SHARE),
                                                                       Column("ok", verdict=True)]), "<i>p</i>"])])  # fmt: skip
    text = render(page)
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b> title" not in text and "&lt;i&gt;p&lt;/i&gt;" in text and "50.0%" in text and "pass" in text
