"""The time-series modality (assistant.modalities.time_series) on series generated here: a sine with noise
per channel, and the four anomalies of issue 15 (spike, level shift, drift, changed period) injected on
one channel at a known time. Files are written and read back; the band deviation must rank every
anomaly type above normals, the render's box of the changed pixels must map back to the anomaly's time
and channel, and every bad input must be one line."""

import json

import numpy as np
import pytest
from PIL import ImageChops

from assistant.modalities import rendering
from assistant.modalities import time_series_files as files
from assistant.modalities.time_series import TIME_SERIES, deviation_location, looks_like_point_csv, looks_like_series
from assistant.modalities.time_series_data import MAX_SAMPLES, series_from_arrays
from retrieval.errors import BadInput

T, PERIOD = 400, 100
CHANNELS = ("temp", "pressure")
STAMPS = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(T) * np.timedelta64(1, "h")
KINDS = ("spike", "shift", "drift", "period")


def _normal(rng) -> np.ndarray:
    t = np.arange(T)
    return np.column_stack([(1 + 0.5 * c) * np.sin(2 * np.pi * t / PERIOD + c + rng.normal(0, 0.05))
                            + rng.normal(0, 0.1, T) for c in range(len(CHANNELS))])


def _inject(kind: str, values: np.ndarray, rng):
    """`values` with one anomaly on one channel: (values, channel index, first and last anomalous step)."""
    values, channel = values.copy(), int(rng.integers(len(CHANNELS)))
    onset, sign, t = int(rng.integers(T // 4, 3 * T // 4)), rng.choice([-1.0, 1.0]), np.arange(T)
    if kind == "spike":
        values[onset, channel] += sign * rng.uniform(0.6, 1.2)
        return values, channel, onset, onset
    if kind == "shift":
        values[onset:, channel] += sign * rng.uniform(0.4, 0.8)
    elif kind == "drift":
        values[onset:, channel] += sign * np.linspace(0, rng.uniform(0.6, 1.2), T - onset)
    else:                                   # the period shortens from the onset on, phase-continuous
        rate = np.where(t < onset, 1.0, rng.uniform(1.2, 1.4))
        phase = np.cumsum(2 * np.pi * rate / PERIOD) - 2 * np.pi / PERIOD
        amplitude = 1 + 0.5 * channel
        values[:, channel] += amplitude * (np.sin(phase + channel) - np.sin(2 * np.pi * t / PERIOD + channel))
    return values, channel, onset, T - 1


def _series(values, stamps=STAMPS, channels=CHANNELS):
    return series_from_arrays(values, channels, stamps, "generated")


@pytest.fixture(scope="module")
def profile():
    rng = np.random.default_rng(15)
    return TIME_SERIES.profile([_series(_normal(rng)) for _ in range(20)])


@pytest.fixture(scope="module")
def normal_scores(profile):
    rng = np.random.default_rng(16)
    return [TIME_SERIES.render(_series(_normal(rng)), profile).scores["band_deviation"] for _ in range(20)]


def _auroc(normal, anomalous) -> float:
    pairs = np.array([[a > n for n in normal] for a in anomalous], dtype=np.float64)
    ties = np.array([[a == n for n in normal] for a in anomalous], dtype=np.float64)
    return float((pairs + 0.5 * ties).mean())


@pytest.mark.parametrize("kind", KINDS)
def test_band_deviation_ranks_each_anomaly_type_above_normals(kind, profile, normal_scores):
    rng = np.random.default_rng(KINDS.index(kind))
    scores = [TIME_SERIES.render(_series(_inject(kind, _normal(rng), rng)[0]), profile).scores["band_deviation"]
              for _ in range(20)]
    auroc = _auroc(normal_scores, scores)
    print(f"{kind}: AUROC {auroc:.3f}, normal max {max(normal_scores):.2f}, anomalous min {min(scores):.2f}")
    assert auroc > 0.9


@pytest.mark.parametrize("kind", KINDS)
def test_the_box_of_the_changed_pixels_maps_back_to_the_anomaly(kind, profile):
    """The box around the pixels the anomaly changed maps to a time range from (about) its onset to its
    last step; a drift or a period change grows from zero, so its first visible pixel may come up to
    `grace` steps after the onset."""
    rng = np.random.default_rng(100 + KINDS.index(kind))
    grace = T // 10 if kind in ("drift", "period") else 0
    stamp = lambda step: str(STAMPS[min(max(step, 0), T - 1)].astype("datetime64[s]"))    # noqa: E731
    for _ in range(5):
        normal = _normal(rng)
        anomalous, channel, onset, last = _inject(kind, normal, rng)
        changed = TIME_SERIES.render(_series(anomalous), profile)
        diff = ImageChops.difference(changed.image, TIME_SERIES.render(_series(normal), profile).image)
        x0, y0, x1, y1 = diff.getbbox()
        where = changed.location([x0, y0, x1, y1])
        start, end = where["time_range"]
        assert stamp(onset - 2) <= start <= stamp(onset + grace) and end >= stamp(last), (kind, onset, where)
        assert where["channels"] == [CHANNELS[channel]]


@pytest.mark.parametrize("kind", KINDS)
def test_deviation_location_names_the_channel_and_a_range_at_the_anomaly(kind, profile):
    rng = np.random.default_rng(200 + KINDS.index(kind))
    hits = 0
    for _ in range(20):
        values, channel, first, last = _inject(kind, _normal(rng), rng)
        found = deviation_location(series_from_arrays(values, CHANNELS), profile)    # index time
        start, end = found["time_range"]
        overlaps = start <= last and end >= first if kind != "spike" else start <= first <= end
        hits += found["channels"] == [CHANNELS[channel]] and overlaps
    print(f"{kind}: {hits}/20 located")
    assert hits >= 18


def test_a_series_inside_the_band_has_no_deviation_location(profile):
    median = np.column_stack([profile["band"][name]["median"] for name in CHANNELS])
    assert deviation_location(series_from_arrays(median, CHANNELS), profile) is None


def test_location_maps_panels_and_index_time(profile):
    rendered = TIME_SERIES.render(series_from_arrays(_normal(np.random.default_rng(3)), CHANNELS), profile)
    assert rendered.image.size == (448, 160 * len(CHANNELS)) and rendered.image.mode == "RGB"
    assert rendered.location(None) is None
    everything = rendered.location([0, 0, *rendered.image.size])
    assert everything == {"time_range": [0, T - 1], "channels": list(CHANNELS)}
    half = rendered.location([0, 0, 52 + 194, 150])
    assert half["channels"] == ["temp"] and half["time_range"][0] == 0 and 190 <= half["time_range"][1] <= 210


def test_csv_with_header_and_iso_timestamps_reads_back(tmp_path):
    values = _normal(np.random.default_rng(4))
    path = tmp_path / "run.csv"
    lines = ["timestamp,temp,pressure"] + [f"{str(s)[:19]},{float(a)!r},{float(b)!r}" for s, (a, b) in zip(STAMPS, values)]
    path.write_text("\n".join(lines) + "\n")
    series = TIME_SERIES.read(path)
    assert series.channels == CHANNELS and series.time_kind == "datetime"
    np.testing.assert_array_equal(series.timestamps, STAMPS)
    np.testing.assert_allclose(series.values, values)
    assert rendering.modality_for(path) is TIME_SERIES


def test_csv_without_header_or_time_and_headerless_dates(tmp_path):
    values = _normal(np.random.default_rng(5))
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(f"{a},{b}" for a, b in values))
    series = TIME_SERIES.read(plain)
    assert series.channels == ("ch1", "ch2") and series.timestamps is None
    np.testing.assert_allclose(series.values, values)
    dated = tmp_path / "dated.csv"
    dated.write_text("\n".join(f"{str(s)[:10]},{a}" for s, a in zip(STAMPS[::24], values[:17, 0])))
    assert TIME_SERIES.read(dated).time_kind == "datetime"


def test_csv_numeric_time_semicolons_text_column_and_gaps(tmp_path):
    path = tmp_path / "log.csv"
    rows = [f"{0.5 * i};{'' if i in (3, 4) else np.sin(i)};ok" for i in range(40)]
    path.write_text("t (s);level;status\n" + "\n".join(rows))
    series = TIME_SERIES.read(path)
    assert series.channels == ("level",) and series.time_kind == "number"
    assert series.timestamps[-1] == pytest.approx(19.5)
    assert any("'status' is not numeric" in note for note in series.notes)
    assert series.values[3, 0] == pytest.approx(np.sin(2) + (np.sin(5) - np.sin(2)) / 3)
    profile = TIME_SERIES.profile([series])
    assert any("2 missing sample(s) interpolated" in note for note in TIME_SERIES.render(series, profile).notes)


def test_npy_by_name_and_the_shapes_it_claims(tmp_path):
    values = _normal(np.random.default_rng(6))
    np.save(tmp_path / "two.npy", values)
    np.save(tmp_path / "one.npy", values[:, 0])
    assert rendering.modality_for(tmp_path / "two.npy") is not TIME_SERIES      # .npy is the point cloud's
    modality = rendering.modality_for(tmp_path / "two.npy", "time_series")
    np.testing.assert_allclose(modality.read(tmp_path / "two.npy").values, values)
    assert modality.read(tmp_path / "one.npy").channels == ("ch1",)
    assert looks_like_series(values) and looks_like_series(values[:, 0])
    assert not looks_like_series(np.zeros((500, 3))) and not looks_like_series(np.zeros((8, 8, 3)))
    assert not looks_like_series(np.zeros(3)) and not looks_like_series(np.array(["a"] * 9))


def test_parquet_with_timestamps_and_nulls_reads_back(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    values = _normal(np.random.default_rng(7))
    temp = [None if i == 10 else float(v) for i, v in enumerate(values[:, 0])]
    table = pa.table({"time": pa.array(STAMPS), "temp": temp, "pressure": values[:, 1], "note": ["x"] * T})
    pq.write_table(table, tmp_path / "run.parquet")
    series = TIME_SERIES.read(tmp_path / "run.parquet")
    assert series.channels == CHANNELS
    np.testing.assert_array_equal(series.timestamps, STAMPS)
    np.testing.assert_allclose(series.values[:, 1], values[:, 1])
    assert series.values[10, 0] == pytest.approx((values[9, 0] + values[11, 0]) / 2)
    assert any("1 missing sample(s)" in note for note in series.notes)


def test_a_csv_headed_x_y_z_is_a_point_cloud(tmp_path):
    (tmp_path / "cloud.csv").write_text("X, y ,z\n1,2,3\n")
    (tmp_path / "series.csv").write_text("x,y,w\n1,2,3\n")
    assert looks_like_point_csv(tmp_path / "cloud.csv")
    assert not looks_like_point_csv(tmp_path / "series.csv") and not looks_like_point_csv(tmp_path / "none.csv")


def test_profile_is_json_ready_capped_and_deterministic(profile):
    assert json.loads(json.dumps(profile)) == profile
    rng = np.random.default_rng(8)
    long = [series_from_arrays(rng.normal(size=(5000, 1)), ["v"]) for _ in range(3)]
    big = TIME_SERIES.profile(long)
    assert big["steps"] == 512 and len(big["band"]["v"]["high"]) == 512 and big["length"] == 5000
    assert TIME_SERIES.profile(long) == big
    query = series_from_arrays(rng.normal(size=(5000, 1)), ["v"])
    first, again = TIME_SERIES.render(query, big), TIME_SERIES.render(query, big)
    assert first.image.tobytes() == again.image.tobytes() and first.scores == again.scores


def _refused(call, *args) -> str:
    with pytest.raises(BadInput) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def _csv(tmp_path, text: str, name="bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_bad_file_is_one_line(tmp_path):
    read = TIME_SERIES.read
    assert "1 sample(s); a time series needs at least 4" in _refused(read, _csv(tmp_path, "v\n1\n"))
    assert "3 sample(s)" in _refused(read, _csv(tmp_path, "1\n2\n3\n"))
    assert "channel 'b' has no number" in _refused(read, _csv(tmp_path, "a,b\n1,\n2,nan\n3,\n4,NA\n"))
    assert "no numeric column" in _refused(read, _csv(tmp_path, "name,colour\na,red\nb,blue\nc,x\nd,y\n"))
    assert "timestamps do not increase at sample 2 (2024-01-02T00:00:00 then 2024-01-01T00:00:00)" in _refused(
        read, _csv(tmp_path, "time,v\n2024-01-02,1\n2024-01-01,2\n2024-01-03,3\n2024-01-04,4\n"))
    assert "time column 'time' holds neither" in _refused(read, _csv(tmp_path, "time,v\nnoon,1\n" * 4))
    assert "row 3 has 1 cells" in _refused(read, _csv(tmp_path, "a,b\n1,2\n3\n"))
    assert "empty" in _refused(read, _csv(tmp_path, "\n\n"))
    assert "is not a time-series file" in _refused(read, tmp_path / "series.json")
    assert "no such file" in _refused(read, tmp_path / "missing.csv")
    assert "not a readable Parquet" in _refused(read, _csv(tmp_path, "not parquet", "bad.parquet"))
    np.save(tmp_path / "cube.npy", np.zeros((4, 4, 4)))
    assert "1-D (T) or 2-D (T×C)" in _refused(read, tmp_path / "cube.npy")
    np.save(tmp_path / "wide.npy", np.zeros((100, 40)))
    assert "40 channels, more than the cap of 16" in _refused(read, tmp_path / "wide.npy")


def test_a_too_long_series_names_the_cap(tmp_path, monkeypatch):
    huge = np.lib.format.open_memmap(tmp_path / "huge.npy", mode="w+", dtype=np.float32, shape=(MAX_SAMPLES + 1,))
    del huge                                        # sparse on disk: only the header is written
    assert "more than the cap of 10,000,000" in _refused(TIME_SERIES.read, tmp_path / "huge.npy")
    monkeypatch.setattr(files, "MAX_SAMPLES", 10)
    assert "more than the cap of 10 rows" in _refused(TIME_SERIES.read, _csv(tmp_path, "v\n" + "1\n" * 20))


def test_channels_that_do_not_match_the_class_are_named(profile):
    values = _normal(np.random.default_rng(9))
    renamed = series_from_arrays(values, ("temp", "flow"), None, "query.csv")
    message = _refused(TIME_SERIES.render, renamed, profile)
    assert "query.csv" in message and "missing 'pressure'" in message and "extra 'flow'" in message
    swapped = TIME_SERIES.render(series_from_arrays(values[:, ::-1], CHANNELS[::-1]), profile)
    straight = TIME_SERIES.render(series_from_arrays(values, CHANNELS), profile)
    assert swapped.image.tobytes() == straight.image.tobytes()
    first = series_from_arrays(values, CHANNELS, None, "a.csv")
    assert "extra 'flow'" in _refused(TIME_SERIES.profile, [first, renamed])
    assert "ingest at least one" in _refused(TIME_SERIES.profile, [])


def test_parquet_without_pyarrow_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)       # import pyarrow -> ImportError
    message = _refused(TIME_SERIES.read, _csv(tmp_path, "PAR1", "run.parquet"))
    assert "needs pyarrow" in message and "save the series as .csv" in message
