"""One run owns an output folder: a lock, a manifest written last, the previous run's leftovers
removed, stale temporary files cleaned, an unwritable or full folder refused with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simsupport.outputs.folder import LOCK, MANIFEST, OutputFolder, complete

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "scenarios" / "textbook.yaml"
BASELINE = ROOT / "scenarios" / "exchange-baseline.yaml"
TINY = ["--horizon", "20h", "-r", "2", "-w", "1"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simsupport.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)  # fmt: skip


def test_a_finished_run_has_a_manifest_of_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli("run", str(TEXTBOOK), *TINY, "--out", str(out))
    assert r.returncode == 0, r.stderr
    m = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert {f["name"] for f in m["files"]} == {p.name for p in out.iterdir()} - {MANIFEST}
    assert complete(out) == (True, "")
    assert not (out / LOCK).exists()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    ok, why = complete(out)
    assert not ok and "summary.json changed" in why


def test_a_later_run_removes_what_it_did_not_write_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("run", str(TEXTBOOK), *TINY, "--tickets", "--out", str(out)).returncode == 0
    assert (out / "tickets.parquet").is_file() and (out / "daily_profile.png").is_file()
    (out / "my-notes.txt").write_text("mine", encoding="utf-8")  # not ours: never touched
    (out / ".summary.json.abc123.tmp").write_text("half", encoding="utf-8")  # left by a killed run
    assert _cli("run", str(TEXTBOOK), *TINY, "--no-plots", "--out", str(out)).returncode == 0
    names = {p.name for p in out.iterdir()}
    assert "tickets.parquet" not in names and not any(n.endswith(".png") for n in names)
    assert "my-notes.txt" in names and not any(n.endswith(".tmp") for n in names)
    assert complete(out)[0]


def test_a_second_run_on_a_busy_folder_refuses_and_names_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "simsupport.cli", "run", str(BASELINE), "-r", "6", "-w", "1",
                              "--no-plots", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)  # fmt: skip
    end = time.monotonic() + 60
    while not (out / LOCK).exists() and time.monotonic() < end:
        time.sleep(0.05)
    second = _cli("run", str(TEXTBOOK), *TINY, "--out", str(out))
    assert second.returncode == 2, second.stderr
    text = " ".join(second.stderr.split())
    assert f"pid {first.pid}" in text and "being written by another run" in text and "Traceback" not in text
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert doc["scenario"] == "exchange-baseline" and complete(out)[0]  # one run's files, not a mix


def test_a_stale_lock_from_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (out / LOCK).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "command": "x"}),
                            encoding="utf-8")
    r = _cli("run", str(TEXTBOOK), *TINY, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert not (out / LOCK).exists()


def test_a_killed_run_leaves_no_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("run", str(TEXTBOOK), *TINY, "--out", str(out)).returncode == 0
    assert complete(out)[0]
    proc = subprocess.Popen([sys.executable, "-m", "simsupport.cli", "run", str(BASELINE), "-r", "6", "-w", "1",
                             "--no-plots", "--out", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + 60
    while (out / MANIFEST).exists() and time.monotonic() < end:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=30)
    ok, why = complete(out)
    assert not ok and "no manifest.json" in why


def test_an_unwritable_out_is_refused_before_simulating(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    t = time.monotonic()
    r = _cli("run", str(BASELINE), "-r", "20", "--out", str(blocker / "out"))
    assert r.returncode == 2, r.stderr
    assert "output folder" in r.stderr and "Traceback" not in r.stderr and "bug" not in r.stderr
    assert time.monotonic() - t < 30  # refused up front, not after 20 replications


def test_a_full_disk_is_an_exit_2_with_nothing_half_written(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    try:
        r = _cli("run", str(TEXTBOOK), "--horizon", "2d", "-r", "2", "-w", "1", "--tickets", "--out", str(mnt / "out"))
        assert r.returncode == 2, r.stderr
        assert "No space left on device" in r.stderr and "Traceback" not in r.stderr and "bug" not in r.stderr
        left = {p.name for p in (mnt / "out").iterdir()}
        assert MANIFEST not in left and LOCK not in left and not any(n.endswith(".tmp") for n in left)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_outputfolder_in_process(tmp_path: Path) -> None:
    with OutputFolder(tmp_path / "o", "test") as f:
        (tmp_path / "o" / "a.csv").write_text("1", encoding="utf-8")
        f.finish([tmp_path / "o" / "a.csv"])
    assert complete(tmp_path / "o")[0]


@pytest.mark.parametrize("args, words", [
    (["-r", "100000"], ("3.02e+10 contacts", "--max-tickets")),
    (["--horizon", "100000000d"], ("1e+08 days", "--max-tickets")),
])  # fmt: skip
def test_absurd_work_is_refused_before_it_starts(tmp_path: Path, args: list[str], words: tuple[str, ...]) -> None:
    t = time.monotonic()
    r = _cli("run", str(BASELINE), *args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    text = " ".join(r.stderr.split())
    assert all(w in text for w in words), text
    assert time.monotonic() - t < 30 and not (tmp_path / "out").exists()


def test_an_absurd_rate_is_refused(tmp_path: Path) -> None:
    s = tmp_path / "s.yaml"
    s.write_text(TEXTBOOK.read_text(encoding="utf-8").replace("rate: 1.5/min", "rate: 1e308/min", 1), encoding="utf-8")
    r = _cli("run", str(s), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "--max-tickets" in " ".join(r.stderr.split()), r.stderr
