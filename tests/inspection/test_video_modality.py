"""The video modality (assistant.modalities.video): frames sampled uniformly and at scene changes from real
videos written here with PyAV (64x64, 10 fps, 6 s: a textured background and a red square that appears at
2 s and vanishes at 4 s, or flickers), an animated GIF and a folder of frames; the grid, the location in
time, each bad input as one BadInput line, and a frame-difference AUROC on the sampled frames."""

import json

import numpy as np
import pytest
from PIL import Image

from assistant.modalities.video import (ANOMALOUS, frame_grid, frame_location, is_animated_gif, read_frames,
                                        tile_box)
from retrieval.errors import BadInput

av = pytest.importorskip("av")

FPS, N, SIDE = 10, 60, 64
ONE_FRAME = 1 / FPS + 1e-6


def _background(seed=0):
    """A blocky texture (8x8 cells): detail the codec keeps without flickering."""
    cells = np.random.default_rng(seed).integers(40, 200, (8, 8, 3), dtype=np.uint8)
    return np.kron(cells, np.ones((8, 8, 1), dtype=np.uint8))


def _shows_object(kind, i):
    return {"static": False, "appear": i >= 20, "vanish": i < 40, "both": 20 <= i < 40,
            "flicker": (i // 3) % 2 == 1}[kind]


def _arrays(kind, n=N, noise_seed=None):
    rng = np.random.default_rng(noise_seed) if noise_seed is not None else None
    for i in range(n):
        a = _background().astype(np.int16)
        if rng is not None:
            a += rng.integers(-12, 13, a.shape, dtype=np.int16)
        if _shows_object(kind, i):
            a[20:44, 20:44] = (255, 0, 0)
        yield np.clip(a, 0, 255).astype(np.uint8)


def _write(path, kind="both", codec="libx264", n=N, noise_seed=None):
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        for a in _arrays(kind, n, noise_seed):
            for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _scene_times(frames):
    return [f.t for f in frames if f.scene_change]


@pytest.mark.parametrize("suffix, codec", [(".mp4", "libx264"), (".mkv", "libx264"), (".mov", "libx264"),
                                           (".avi", "mpeg4"), (".webm", "libvpx")])
def test_every_frame_comes_with_its_time_within_one_frame(tmp_path, suffix, codec):
    frames = read_frames(_write(tmp_path / f"v{suffix}", codec=codec), max_frames=N)
    assert [f.index for f in frames] == list(range(N))
    assert all(abs(f.t - f.index / FPS) < ONE_FRAME for f in frames)
    assert all(f.image.mode == "RGB" and f.image.size == (SIDE, SIDE) for f in frames)


@pytest.mark.parametrize("kind, expected", [("appear", [2.0]), ("vanish", [4.0]), ("both", [2.0, 4.0]),
                                            ("static", [])])
def test_the_scene_changes_are_found_where_the_object_appears_and_vanishes(tmp_path, kind, expected):
    frames = read_frames(_write(tmp_path / "v.mp4", kind), max_frames=8)
    assert _scene_times(frames) == pytest.approx(expected, abs=ONE_FRAME)
    assert len(frames) == 8 and [f.t for f in frames] == sorted(f.t for f in frames)
    assert len({f.index for f in frames}) == 8


def test_sensor_noise_is_no_scene_change_but_the_object_still_is(tmp_path):
    assert _scene_times(read_frames(_write(tmp_path / "s.mp4", "static", noise_seed=3), max_frames=8)) == []
    frames = read_frames(_write(tmp_path / "b.mp4", "both", noise_seed=3), max_frames=8)
    assert _scene_times(frames) == pytest.approx([2.0, 4.0], abs=ONE_FRAME)


def test_without_a_stated_duration_frames_still_spread_and_the_limit_holds(tmp_path, monkeypatch):
    from assistant.modalities import video_frames

    monkeypatch.setattr(video_frames, "stated_seconds", lambda container: None)
    frames = read_frames(_write(tmp_path / "v.mp4", "static"), max_frames=6)
    assert len(frames) == 6 and frames[0].t == 0.0 and frames[-1].t > 4.0
    gaps = np.diff([f.t for f in frames])
    assert gaps.max() <= 2 * gaps.min() + ONE_FRAME
    with pytest.raises(BadInput, match=r"v.mp4 runs past the limit of 0:00:03 .*raise max_seconds"):
        read_frames(tmp_path / "v.mp4", max_seconds=3.0)


def test_the_uniform_frames_spread_over_the_whole_video(tmp_path):
    times = [f.t for f in read_frames(_write(tmp_path / "v.mp4", "static"), max_frames=6)]
    gaps = np.diff(times)
    assert len(times) == 6 and times[0] == pytest.approx(0.5, abs=ONE_FRAME) and times[-1] > 5.0
    assert gaps == pytest.approx([1.0] * 5, abs=ONE_FRAME)


def test_scene_changes_are_kept_first_then_uniform_frames_fill_the_cap(tmp_path):
    frames = read_frames(_write(tmp_path / "v.mp4", "both"), max_frames=4)
    assert len(frames) == 4 and _scene_times(frames) == pytest.approx([2.0, 4.0], abs=ONE_FRAME)
    frames = read_frames(_write(tmp_path / "f.mp4", "flicker"), max_frames=5)
    assert len(frames) == 5 and all(f.scene_change for f in frames)     # 19 changes, 5 kept


def test_frames_are_scaled_down_to_max_side(tmp_path):
    frames = read_frames(_write(tmp_path / "v.mp4"), max_frames=3, max_side=32)
    assert all(f.image.size == (32, 32) for f in frames)


def _gif(path, kinds=("both",), n=N):
    images = [Image.fromarray(a) for kind in kinds for a in _arrays(kind, n)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 // FPS, loop=0)
    return path


def test_an_animated_gif_is_a_video_and_a_still_one_is_not(tmp_path):
    frames = read_frames(_gif(tmp_path / "a.gif"), max_frames=8)
    assert _scene_times(frames) == pytest.approx([2.0, 4.0], abs=ONE_FRAME)
    assert is_animated_gif(tmp_path / "a.gif")
    Image.fromarray(_background()).save(tmp_path / "still.gif")
    (tmp_path / "broken.gif").write_text("not a gif")
    Image.fromarray(_background()).save(tmp_path / "still.png")
    assert not any(is_animated_gif(tmp_path / name) for name in ("still.gif", "broken.gif", "still.png"))


def test_a_folder_of_frames_is_read_in_name_order_at_the_given_fps(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, a in enumerate(_arrays("appear", 12 * 2)):
        if i % 2 == 0:      # 12 frames, the object from frame 10 on, names not zero-padded
            Image.fromarray(a).save(folder / f"frame_{i // 2}.png")
    (folder / "notes.txt").write_text("not a frame")
    frames = read_frames(folder, max_frames=12, fps=2.0)
    assert [f.index for f in frames] == list(range(12))
    assert [f.t for f in frames] == [i / 2.0 for i in range(12)]
    assert _scene_times(frames) == [5.0]


def _frames(tmp_path, n=6):
    return read_frames(_write(tmp_path / "v.mp4", "both"), max_frames=n)


def _is_red(pixels):
    return (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)


def test_the_grid_shows_each_frame_over_its_label_and_outlines_the_anomalous_ones(tmp_path):
    frames, cell = _frames(tmp_path), 96
    plain = frame_grid(frames, columns=4, cell=cell)
    x0, y0, x1, y1 = tile_box(5, 4, cell)
    assert plain.size == (4 * cell, y1) and y1 - y0 > cell
    scores = [0.2, 1.5, 0.3, 0.1, 0.9, 0.4]
    scored = np.asarray(frame_grid(frames, scores=scores, columns=4, cell=cell)).astype(int)
    label = y1 - y0 - cell
    bands = [np.asarray(plain)[y1 - label:y1, x0:x1] for x0, _, x1, y1 in (tile_box(i, 4, cell) for i in range(6))]
    assert all((band > 200).all(axis=-1).any() for band in bands)         # white text in every label
    assert len({band.tobytes() for band in bands}) == 6                   # each says its own time
    for i, score in enumerate(scores):
        x0, y0, x1, y1 = tile_box(i, 4, cell)
        edge = scored[y0, x0:x1]
        assert _is_red(edge).all() == (score >= ANOMALOUS)
    assert (scored != np.asarray(plain).astype(int)).any()


def test_the_grid_refuses_scores_that_do_not_match_the_frames(tmp_path):
    frames = _frames(tmp_path, 3)
    with pytest.raises(ValueError, match="2 scores for 3 frames"):
        frame_grid(frames, scores=[0.1, 0.2])
    assert frame_grid(frames[:2], columns=4, cell=64).size[0] == 2 * 64


def test_the_location_lists_the_anomalous_frames_by_time(tmp_path):
    frames = _frames(tmp_path)
    scores = [0.0] * len(frames)
    scene = [i for i, f in enumerate(frames) if f.scene_change]
    scores[scene[1]], scores[scene[0]] = 2.5, 1.0
    location = json.loads(json.dumps(frame_location(frames, scores)))
    assert [hit["score"] for hit in location["frames"]] == [1.0, 2.5]
    assert [hit["index"] for hit in location["frames"]] == [frames[i].index for i in scene]
    assert location["time_range"] == pytest.approx([2.0, 4.0], abs=ONE_FRAME)
    assert frame_location(frames, [0.99] * len(frames)) == {"frames": [], "time_range": None}


def _text_named_mp4(tmp_path):
    (tmp_path / "notes.mp4").write_text("hello, I am text\n")
    return tmp_path / "notes.mp4", {}, "notes.mp4 is not a readable video"


def _truncated(suffix, said):
    def make(tmp_path):
        data = _write(tmp_path / f"whole{suffix}").read_bytes()
        (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
        return tmp_path / f"cut{suffix}", {}, said
    make.__name__ = f"_truncated{suffix.replace('.', '_')}"
    return make


def _over_the_cap(tmp_path):
    return _write(tmp_path / "long.mp4"), {"max_seconds": 3.0}, \
        r"long.mp4 is 0:00:06 long, over the limit of 0:00:03 .*raise max_seconds"


def _folder_over_the_cap(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(_background()).save(folder / f"{i}.png")
    return folder, {"max_seconds": 2.0}, r"many is 0:00:05 long, over the limit of 0:00:02"


def _empty_folder(tmp_path):
    (tmp_path / "none").mkdir()
    return tmp_path / "none", {}, "holds no PNG/JPEG frames"


def _empty_file(tmp_path):
    (tmp_path / "empty.mkv").write_bytes(b"")
    return tmp_path / "empty.mkv", {}, "empty.mkv is not a readable video"


def _wrong_suffix(tmp_path):
    (tmp_path / "clip.txt").write_text("x")
    return tmp_path / "clip.txt", {}, r"clip.txt is not a video \(.txt\)"


def _no_frame(tmp_path):
    data = _write(tmp_path / "whole.mkv").read_bytes()
    (tmp_path / "headless.mkv").write_bytes(data[:200])
    return tmp_path / "headless.mkv", {}, "headless.mkv (has no decodable frame|is not a readable video)"


@pytest.mark.parametrize("bad", [_text_named_mp4, _truncated(".mp4", "cut.mp4 is not a readable video"),
                                 _truncated(".mkv", r"cut.mkv stops at .* though it states 0:00:06"),
                                 _over_the_cap, _folder_over_the_cap, _empty_folder, _empty_file,
                                 _wrong_suffix, _no_frame,
                                 lambda tmp_path: (tmp_path / "gone.mp4", {}, "gone.mp4 does not exist")],
                         ids=lambda f: getattr(f, "__name__", "bad"))
def test_each_bad_input_is_one_line_saying_what_to_do(tmp_path, bad):
    path, options, said = bad(tmp_path)
    with pytest.raises(BadInput, match=said) as raised:
        read_frames(path, **options)
    assert "\n" not in str(raised.value)


def _auroc(positives, negatives):
    """P(a positive outscores a negative), ties half: the Mann-Whitney form of the ROC area."""
    pos, neg = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def test_frames_with_the_object_stand_out_from_the_nearest_background_frame(tmp_path):
    references = read_frames(_write(tmp_path / "ref.mp4", "static", noise_seed=1), max_frames=8)
    frames = read_frames(_write(tmp_path / "query.mp4", "both", noise_seed=2), max_frames=16)
    refs = [np.asarray(f.image, dtype=np.float32) for f in references]
    scores = [min(np.abs(np.asarray(f.image, dtype=np.float32) - r).mean() for r in refs) for f in frames]
    shown = [_shows_object("both", f.index) for f in frames]
    assert 0 < sum(shown) < len(frames)
    auroc = _auroc([s for s, y in zip(scores, shown) if y], [s for s, y in zip(scores, shown) if not y])
    assert auroc > 0.9, auroc
