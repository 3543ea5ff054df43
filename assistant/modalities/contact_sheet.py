"""A contact sheet: pictures in a grid of square tiles, each over a caption band, some outlined in red.

What a model (and the chat) is shown of a whole file beside the one image inspected: a video's sampled
frames (`video.frame_grid`) or a point cloud's views (`point_cloud_views`). Each `Tile`'s picture is fitted
in its `cell` square (aspect kept, centred, inside the outline's width) over a black band with its caption
in white; a tile marked `outlined` gets a red frame around picture and caption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RED = (230, 30, 30)
_INK, _BAND, _MAT = (255, 255, 255), (0, 0, 0), (32, 32, 32)


@dataclass(frozen=True)
class Tile:
    image: object           # PIL.Image.Image
    caption: str
    outlined: bool = False


def label_height(cell: int) -> int:
    """Pixel height of a tile's caption band."""
    return max(10, cell // 16) + 6


def border_width(cell: int) -> int:
    """Pixel width of a tile's red outline (and of the margin kept free for it)."""
    return max(2, cell // 64)


def picture_side(cell: int) -> int:
    """The largest side a tile's picture is shown at: a picture fitted to it is pasted unscaled."""
    return cell - 2 * border_width(cell) - 2


def tile_box(i: int, columns: int, cell: int = 224) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of tile `i` (its picture above its caption) in a grid of `columns`."""
    height = cell + label_height(cell)
    x0, y0 = (i % columns) * cell, (i // columns) * height
    return x0, y0, x0 + cell, y0 + height


def contact_sheet(tiles: list[Tile], columns: int = 4, cell: int = 224):
    """The tiles in rows of `columns` (fewer when there are fewer tiles) -> PIL RGB of size
    (min(columns, n) * cell, rows * (cell + label_height(cell)))."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    if not tiles:
        raise ValueError("a contact sheet needs at least one tile")
    columns = min(columns, len(tiles))
    rows, label = math.ceil(len(tiles) / columns), label_height(cell)
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label)), _MAT)
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default(size=label - 6)
    border = border_width(cell)
    for i, tile in enumerate(tiles):
        x0, y0, x1, y1 = tile_box(i, columns, cell)
        fitted = ImageOps.contain(tile.image.convert("RGB"), (picture_side(cell),) * 2)
        sheet.paste(fitted, (x0 + (cell - fitted.width) // 2, y0 + (cell - fitted.height) // 2))
        draw.rectangle((x0, y1 - label, x1 - 1, y1 - 1), fill=_BAND)
        draw.text((x0 + border + 2, y1 - label + 3), tile.caption, fill=_INK, font=font)
        if tile.outlined:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=RED, width=border)
    return sheet
