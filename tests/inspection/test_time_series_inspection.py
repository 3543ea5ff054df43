"""Time series end to end (issue 15): CSV series with timestamps ingested by `normalcy ingest`, one with a
spike inspected by `normalcy inspect --json`: the plot against the class's band goes through retrieval,
the map and the calibration unchanged, and the verdict names when and on which channel."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from ui.cli import main

START = datetime(2026, 1, 1)
STEPS = 240                           # one sample an hour: ten days
SPIKE = 150                           # the spike's sample: 2026-01-07 06:00


def write_series(path, seed: int, spike: bool = False) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)
    temperature = 20 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, STEPS)
    pressure = 1.0 + 0.05 * np.cos(2 * np.pi * t / 48) + rng.normal(0, 0.005, STEPS)
    if spike:
        temperature[SPIKE:SPIKE + 3] += 12
    lines = ["timestamp,temperature,pressure"]
    lines += [f"{(START + timedelta(hours=int(i))).isoformat()},{a:.4f},{b:.5f}"
              for i, a, b in zip(t, temperature, pressure)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    (root / "train").mkdir()
    for k in range(14):
        write_series(root / "train" / f"day_{k:02d}.csv", seed=k)
    write_series(root / "good.csv", seed=90)
    write_series(root / "spike.csv", seed=91, spike=True)
    home = root / "home"
    assert main(["--home", str(home), "ingest", str(root / "train"), "--class", "oven"]) == 0
    return home, root


def inspect(home, path, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "inspect", str(path), "--class", "oven", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_spike_fails_and_the_verdict_says_when_and_where(home, capsys):
    home, root = home
    good, spike = inspect(home, root / "good.csv", capsys), inspect(home, root / "spike.csv", capsys)
    assert good["modality"] == spike["modality"] == "time_series"
    assert good["correctness"] == 1 and spike["correctness"] == 0
    start, end = spike["location"]["time_range"]
    when = (START + timedelta(hours=SPIKE)).isoformat()
    assert start[:13] <= when[:13] <= end[:13], (start, end)
    assert "temperature" in spike["location"]["channels"] and "In the series: " in spike["reasoning"]


def test_a_series_of_other_channels_or_one_sample_is_one_line(home, capsys):
    home, root = home
    (root / "one.csv").write_text("timestamp,temperature,pressure\n2026-01-01T00:00:00,20.0,1.0\n")
    (root / "other.csv").write_text("timestamp,humidity\n" + "".join(
        f"2026-01-01T{h:02d}:00:00,{40 + h}\n" for h in range(24)))
    for name in ("one.csv", "other.csv"):
        capsys.readouterr()
        assert main(["--home", str(home), "inspect", str(root / name), "--class", "oven"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and name in err, err
