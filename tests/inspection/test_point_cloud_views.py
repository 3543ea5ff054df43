"""A point cloud's multi-view sheet (assistant.modalities.point_cloud_views): a bump on a plate stands up in
the front and side views where it is, the map's region is outlined in red in every tile, height is stretched
(and the captions say so) only when the class's relief is small, and drawing the sheet leaves the render
inspected as it was."""

import numpy as np
import pytest
from point_cloud_writers import BUMP_CENTRE, plate, surface

from assistant.modalities.contact_sheet import label_height, picture_side, tile_box
from assistant.modalities.point_cloud import MODALITY
from assistant.modalities.point_cloud_files import cloud_from
from assistant.modalities.point_cloud_view import project
from assistant.modalities.point_cloud_views import CELL, MAX_STRETCH, view_frame, view_tiles, views_sheet

TILES = ("top", "front", "side", "oblique")


def _cloud(points):
    return cloud_from(points, "generated")


@pytest.fixture(scope="module")
def profile():
    return MODALITY.profile([_cloud(plate(seed=seed)[0]) for seed in range(8)])


def _picture(sheet, i: int) -> np.ndarray:
    """Tile i's picture area (above its caption), as int RGB."""
    x0, y0, x1, y1 = tile_box(i, 2, CELL)
    return np.asarray(sheet)[y0:y1 - label_height(CELL), x0:x1].astype(int)


def _silhouette_top(picture: np.ndarray) -> np.ndarray:
    """Per column, the height in px of the topmost pixel the cloud covers (0 where it covers none): the
    tile's mat is (32, 32, 32), the picture's background black."""
    covered = (picture.sum(axis=-1) > 0) & ~(picture == 32).all(axis=-1)
    rows = np.where(covered.any(axis=0), covered.argmax(axis=0), picture.shape[0])
    return picture.shape[0] - rows


def _red(picture: np.ndarray) -> np.ndarray:
    return (picture[..., 0] > 180) & (picture[..., 1] < 80) & (picture[..., 2] < 80)


def _bump_box(cloud, lifted, profile) -> list[int]:
    """The render box around the bump's points (what the map's box would be)."""
    u, v, _ = project(cloud, profile)
    scale = profile["scale"]
    return [int(u[lifted].min()) * scale, int(v[lifted].min()) * scale,
            (int(u[lifted].max()) + 1) * scale, (int(v[lifted].max()) + 1) * scale]


@pytest.mark.parametrize("view, axis", [("front", 0), ("side", 1)])
def test_a_bump_stands_up_in_the_front_and_side_views_where_it_is(profile, view, axis):
    points, _ = plate(bump=0.02, seed=50)
    bump, good = _cloud(points), _cloud(plate(seed=50)[0])
    i = TILES.index(view)
    raised = [_silhouette_top(_picture(views_sheet(c, profile, MODALITY.render(c, profile).image), i))
              for c in (bump, good)]
    covered = (raised[0] > 0) & (raised[1] > 0)
    lift = raised[0] - raised[1]
    lift = np.where(covered, lift - np.median(lift[covered]), 0)      # the bump's own height widens its framing
    assert lift.max() >= 6                                           # px: the bump, stretched, stands up
    frame = view_frame(bump, profile)
    local = ((np.array([*BUMP_CENTRE, 0.0]) - np.asarray(profile["mean"])) @ np.asarray(profile["axes"]).T)[axis]
    low, high = frame.low[axis], frame.high[axis]
    picture = _picture(views_sheet(good, profile, MODALITY.render(good, profile).image), i)
    columns = np.nonzero(_silhouette_top(picture))[0]
    expected = columns[0] + (local - low) / (high - low) * (columns[-1] - columns[0])
    assert abs(int(np.argmax(lift)) - expected) <= 0.05 * picture_side(CELL)   # at the bump's x (or y)
    assert (np.abs(np.delete(lift, np.arange(int(expected) - 25, int(expected) + 25))) <= 2).all()


def test_the_region_is_outlined_in_red_in_every_tile(profile):
    points, lifted = plate(bump=0.02, seed=50)
    cloud = _cloud(points)
    rendered = MODALITY.render(cloud, profile)
    box = _bump_box(cloud, lifted, profile)
    outlined = rendered.views(box)
    plain = rendered.views(None)
    for i, name in enumerate(TILES):
        assert _red(_picture(outlined, i)).sum() >= 40, name
        assert not _red(_picture(plain, i)).any(), name
    assert rendered.location(box)["points"] >= lifted.sum()          # the verdict's 3D box: the same points


def test_height_is_stretched_and_said_only_when_the_relief_is_small(profile):
    flat = _cloud(plate(seed=50)[0])
    tiles = view_tiles(flat, profile, MODALITY.render(flat, profile).image)
    stretch = view_frame(flat, profile).stretch
    assert 1 < stretch <= MAX_STRETCH
    assert [t.caption for t in tiles] == ["top: the image inspected", f"front (x-z) · height x{stretch:g}",
                                          f"side (y-z) · height x{stretch:g}", f"oblique · height x{stretch:g}"]
    hilly = [_cloud(plate(seed=seed, wave=0.2)[0]) for seed in range(6)]
    steep = MODALITY.profile(hilly)
    tiles = view_tiles(hilly[0], steep, MODALITY.render(hilly[0], steep).image)
    assert view_frame(hilly[0], steep).stretch == 1
    assert [t.caption for t in tiles] == ["top: the image inspected", "front (x-z)", "side (y-z)", "oblique"]


def test_drawing_the_views_leaves_the_render_inspected_as_it_was(profile):
    points, lifted = plate(bump=0.02, seed=50)
    cloud = _cloud(points)
    rendered = MODALITY.render(cloud, profile)
    before = rendered.image.tobytes()
    sheet = rendered.views(_bump_box(cloud, lifted, profile))
    assert rendered.image.tobytes() == before and sheet.size == (2 * CELL, 2 * (CELL + label_height(CELL)))
    assert rendered.image.tobytes() == MODALITY.render(cloud, profile).image.tobytes()


def test_an_organised_scan_has_its_views_and_its_bump_stands_up():
    profile = MODALITY.profile([_cloud(surface(seed=seed)[0]) for seed in range(3)])
    bump, good = _cloud(surface(defect="bump")[0]), _cloud(surface()[0])
    front = [_silhouette_top(_picture(MODALITY.render(c, profile).views(None), 1)) for c in (bump, good)]
    assert (front[0] - front[1]).max() >= 6
    assert view_frame(good, profile).stretch > 1
