"""The point-cloud modality: a class view fixed from its references, renders that do not depend on point
order or pose, defects visible where they are, a render box mapped back to 3D, bumps ranked above plain
parts (assistant.modalities.point_cloud)."""

import numpy as np
import pytest
from point_cloud_writers import plate, sphere, surface
from scipy.spatial.transform import Rotation

from assistant.modalities.point_cloud import MODALITY
from assistant.modalities.point_cloud_files import cloud_from
from assistant.modalities.point_cloud_view import RENDER_MAX, RENDER_MIN, pca_frame, project, render_scale
from retrieval.errors import BadInput

ROTATION = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
SHIFT = np.array([3.0, -2.0, 5.0])


def _cloud(points):
    return cloud_from(points, "generated")


def _pixels(rendered) -> np.ndarray:
    return np.asarray(rendered.image, dtype=np.float64)


@pytest.fixture(scope="module")
def references():
    return [_cloud(plate(seed=seed)[0]) for seed in range(8)]


@pytest.fixture(scope="module")
def profile(references):
    return MODALITY.profile(references)


def test_the_profile_is_small_json_ready_and_its_frame_right_handed(profile):
    import json

    assert profile["view"] == "pca" and max(profile["size"]) <= 256
    assert len(json.dumps(profile)) < 1000
    axes = np.asarray(profile["axes"])
    np.testing.assert_allclose(axes @ axes.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(axes) == pytest.approx(1.0)
    assert abs(axes[2, 2]) > 0.99                           # a plate is seen from above: depth along z


def test_a_few_stray_points_do_not_move_the_view(references, profile):
    strays = np.vstack([references[0].points, np.full((5, 3), 100.0)])
    moved = MODALITY.profile([_cloud(strays), *references[1:]])
    assert moved["size"] == profile["size"]
    np.testing.assert_allclose(moved["origin"], profile["origin"], atol=0.01)
    np.testing.assert_allclose(np.abs(np.asarray(moved["axes"])), np.abs(np.asarray(profile["axes"])), atol=0.05)


def test_the_render_does_not_depend_on_point_order(profile):
    points = plate(bump=0.02, seed=50)[0]
    shuffled = points[np.random.default_rng(1).permutation(len(points))]
    assert np.array_equal(_pixels(MODALITY.render(_cloud(points), profile)),
                          _pixels(MODALITY.render(_cloud(shuffled), profile)))


@pytest.mark.parametrize("shape", ["plate", "sphere"])
def test_a_rigidly_moved_class_renders_the_same(references, profile, shape):
    if shape == "sphere":                                   # an uneven sphere: its frame is still fixed
        references = [_cloud(sphere() * [1.0, 0.8, 0.6] + [0.0, 0.0, 0.1 * k]) for k in range(3)]
        profile = MODALITY.profile(references)
    query = references[0].points + 0.001
    moved = MODALITY.profile([_cloud(r.points @ ROTATION.T + SHIFT) for r in references])
    before = _pixels(MODALITY.render(_cloud(query), profile))
    after = _pixels(MODALITY.render(_cloud(query @ ROTATION.T + SHIFT), moved))
    assert np.abs(before - after).mean() < 1.0
    assert before.max() > 0


def test_the_frame_sign_follows_the_shape_not_the_pose():
    points = plate(bump=0.05, seed=3)[0]
    mean, axes = pca_frame(points)
    moved_mean, moved_axes = pca_frame(points @ ROTATION.T + SHIFT)
    np.testing.assert_allclose(moved_axes, axes @ ROTATION.T, atol=1e-6)
    np.testing.assert_allclose(moved_mean, mean @ ROTATION.T + SHIFT, atol=1e-9)


def _bump_pixels(cloud, lifted, profile):
    """(H, W) render pixels of the lifted points' view cells (each a scale × scale block)."""
    u, v, _ = project(cloud, profile)
    mask = np.zeros(profile["size"][::-1], bool)
    mask[v[lifted], u[lifted]] = True
    scale = profile["scale"]
    return np.repeat(np.repeat(mask, scale, axis=0), scale, axis=1)


def test_a_bump_changes_the_render_where_it_is_and_its_box_maps_back_to_it(profile):
    points, lifted = plate(bump=0.02, seed=50)
    bumped = MODALITY.render(_cloud(points), profile)
    plain = MODALITY.render(_cloud(plate(seed=50)[0]), profile)
    change = np.abs(_pixels(bumped) - _pixels(plain)).sum(axis=2)
    at_bump = _bump_pixels(_cloud(points), lifted, profile)
    assert change[at_bump].mean() > 20 * change[~at_bump].mean()
    assert at_bump.ravel()[change.argmax()]
    rows, cols = np.nonzero(at_bump)
    where = bumped.location([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
    low, high = np.asarray(where["box_3d"]["min"]), np.asarray(where["box_3d"]["max"])
    assert (points[lifted] >= low - 1e-12).all() and (points[lifted] <= high + 1e-12).all()
    assert np.hypot(*(high[:2] - low[:2])) < 0.2                # a box around the bump, not the plate
    assert where["points"] < len(points) / 10
    assert bumped.location(None) is None and bumped.location([5, 5, 5, 9]) is None


@pytest.mark.parametrize("defect", ["bump", "dent", "hole"])
def test_an_organised_defect_changes_the_render_at_its_cells(defect):
    references = [_cloud(surface(seed=seed)[0]) for seed in range(3)]
    profile = MODALITY.profile(references)
    assert profile == {"view": "organised", "size": [80, 60], "depth_range": profile["depth_range"], "scale": 3}
    grid, near = surface(defect=defect, seed=9)
    rendered = MODALITY.render(_cloud(grid), profile)
    change = np.abs(_pixels(rendered) - _pixels(MODALITY.render(_cloud(surface(seed=9)[0]), profile))).sum(2)
    assert rendered.image.size == (240, 180)
    drawn = np.repeat(np.repeat(near, 3, axis=0), 3, axis=1)     # the defect's cells, 3 × 3 px each
    assert change[drawn].mean() > 20 * change[~drawn].mean()
    where = rendered.location([135, 45, 168, 78])             # cells 45..55 × 15..25, 3 px each
    if defect == "hole":
        assert where["points"] == 11 * 11 - near.sum()      # the hole's cells hold no points
    else:
        np.testing.assert_allclose(where["box_3d"]["min"][:2], grid[15, 45, :2])
        np.testing.assert_allclose(where["box_3d"]["max"][:2], grid[25, 55, :2])
    assert "grid missing" in rendered.notes[0]


def test_the_notes_count_the_points_and_a_query_outside_the_view_is_a_note_not_an_error(profile):
    points = plate(seed=60)[0]
    assert MODALITY.render(_cloud(points), profile).notes == [f"{len(points):,} points"]
    aside = MODALITY.render(_cloud(points + [5.0, 0.0, 0.0]), profile)
    assert aside.scores["outside_fraction"] == 1.0
    assert "outside the class's view" in aside.notes[1]


def test_an_unorganised_query_of_an_organised_class_is_a_clear_line():
    profile = MODALITY.profile([_cloud(surface()[0])])
    with pytest.raises(BadInput, match="class's view is a 80×60 organised grid"):
        MODALITY.render(_cloud(plate()[0]), profile)


def _auroc(normal, anomalous) -> float:
    normal, anomalous = np.asarray(normal)[:, None], np.asarray(anomalous)[None, :]
    return float(np.mean((anomalous > normal) + 0.5 * (anomalous == normal)))


def _patch_scores(queries, references) -> list[float]:
    """Each query render's image score: the real embedded encoder's patch features (aggregated as the
    map config does) against the bank of every reference render's patches, the map's maximum."""
    import torch

    from retrieval import anomaly_map
    from retrieval.config import EncoderConfig, MapConfig
    from retrieval.encoders.image_encoder import load_image_encoder
    from retrieval.patch_features import aggregate

    encoder = load_image_encoder(EncoderConfig())
    with torch.no_grad():
        features = [aggregate(encoder.encode(encoder.to_tensor(images))[0], MapConfig().neighbourhood)
                    for images in (references, queries)]
    bank = features[0].permute(0, 2, 3, 1).reshape(-1, features[0].shape[1])
    return [anomaly_map.image_score(anomaly_map.distance_grid(q, bank).numpy()) for q in features[1]]


def test_renders_through_the_embedded_encoder_rank_bumps_above_plain_plates(references, profile):
    rng = np.random.default_rng(7)
    plain = [MODALITY.render(_cloud(plate(seed=100 + k)[0]), profile).image for k in range(20)]
    bumps = [MODALITY.render(_cloud(plate(bump=0.008, centre=(rng.uniform(0.15, 0.85), rng.uniform(0.1, 0.5)),
                                          seed=200 + k)[0]), profile).image for k in range(20)]
    scores = _patch_scores(plain + bumps, [MODALITY.render(r, profile).image for r in references])
    assert _auroc(scores[:20], scores[20:]) > 0.9, scores


@pytest.mark.parametrize("cells, scale", [([90, 54], 3), ([80, 60], 3), ([224, 100], 1), ([40, 30], 6),
                                          ([600, 10], 1)])
def test_the_render_scale_brings_the_longer_side_to_the_encoders_input_within_the_cap(cells, scale):
    assert render_scale(cells) == scale
    assert scale * max(cells) >= min(RENDER_MIN, max(cells)) and (scale == 1 or scale * max(cells) <= RENDER_MAX)


def test_a_profile_from_before_the_scale_key_renders_at_its_old_size(references, profile):
    old = {key: value for key, value in profile.items() if key != "scale"}
    cloud = _cloud(plate(seed=70)[0])
    before, now = MODALITY.render(cloud, old), MODALITY.render(cloud, profile)
    assert before.image.size == tuple(profile["size"]) and max(now.image.size) >= RENDER_MIN
    scale = profile["scale"]
    centres = _pixels(now)[scale // 2::scale, scale // 2::scale]       # each cell's centre pixel: the cell
    np.testing.assert_array_equal(centres, _pixels(before))
    assert before.location([0, 0, *profile["size"]])["points"] == len(cloud.points)


def test_an_organised_bump_lies_inside_the_box_drawn_around_it_on_the_scaled_render():
    profile = MODALITY.profile([_cloud(surface(seed=seed)[0]) for seed in range(3)])
    grid, near = surface(defect="bump", seed=11)
    rendered = MODALITY.render(_cloud(grid), profile)
    change = np.abs(_pixels(rendered) - _pixels(MODALITY.render(_cloud(surface(seed=11)[0]), profile))).sum(2)
    rows, cols = np.nonzero(change > 0.5 * change.max())
    where = rendered.location([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
    low, high = np.asarray(where["box_3d"]["min"]), np.asarray(where["box_3d"]["max"])
    peak = grid[20, 50]                                       # the bump's top: row 20, column 50
    assert (peak >= low).all() and (peak <= high).all()
    assert np.hypot(*(high[:2] - low[:2])) < 0.02             # around the bump (5 cells = 0.005), not the scan
