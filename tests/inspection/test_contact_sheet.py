"""The contact sheet (assistant.modalities.contact_sheet) shared by the video's frame sheet and the point
cloud's views: a video's sheet keeps its pixels from before the sheet was shared, tiles are fitted,
captioned and outlined."""

import hashlib

import numpy as np
from PIL import Image

from assistant.modalities.contact_sheet import RED, Tile, contact_sheet, label_height, picture_side, tile_box
from assistant.modalities.video import Frame, frame_grid

# sha256 over frame_grid's pixels for the cases below, computed with the frame_grid of commit 0b6a2bc (before
# the contact sheet was factored out of it), Pillow 12.3.0 (constraints.txt): the video sheet is unchanged.
VIDEO_SHEETS_BEFORE = "b903f3dc9110abf733694a87ef62fc320f72e09c616356a70e3619be312bf42e"


def _frames(n=7):
    """Frames of many sizes and aspects (one RGBA), a time past an hour, scene changes at 1 and 4."""
    rng = np.random.default_rng(3)
    sizes = [(64, 64), (200, 90), (90, 200), (1280, 720), (17, 5), (224, 224), (300, 301)]
    frames = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        frames.append(Frame(image.convert("RGBA") if i == 3 else image, t=i * 1.37 + (3700 if i == 6 else 0),
                            index=i, scene_change=i % 3 == 1))
    return frames


def test_a_video_sheet_keeps_its_pixels_from_before_the_sheet_was_shared():
    frames, digest = _frames(), hashlib.sha256()
    for cell in (224, 96, 64, 33):
        for columns in (4, 3, 8, 1):
            for scores in (None, [0.2, 1.5, 0.3, 1.0, 0.9, 0.4, 2.25]):
                digest.update(frame_grid(frames, scores=scores, columns=columns, cell=cell).tobytes())
    assert digest.hexdigest() == VIDEO_SHEETS_BEFORE


def test_tiles_are_fitted_captioned_and_outlined_in_their_boxes():
    cell, side = 96, picture_side(96)
    fitted = Image.new("RGB", (side, side // 2), (0, 200, 0))
    sheet = contact_sheet([Tile(fitted, "one"), Tile(Image.new("RGB", (10, 10), (0, 0, 200)), "two", outlined=True),
                           Tile(fitted, "three")], columns=2, cell=cell)
    assert sheet.size == (2 * cell, 2 * (cell + label_height(cell)))
    pixels = np.asarray(sheet)
    x0, y0, x1, y1 = tile_box(0, 2, cell)
    assert (pixels[y0:y1 - label_height(cell), x0:x1] == (0, 200, 0)).all(axis=-1).sum() == side * (side // 2)
    for i, outlined in enumerate((False, True, False)):
        x0, y0, x1, y1 = tile_box(i, 2, cell)
        assert (pixels[y1 - label_height(cell):y1, x0:x1] > 200).all(axis=-1).any()     # the caption's ink
        assert (pixels[y0, x0:x1] == RED).all() == outlined
