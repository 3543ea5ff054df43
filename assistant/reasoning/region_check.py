"""Does the region the model names agree with the anomaly map? Checked, never assumed.

The model answers in words; when its reasoning names a place — a pixel box "[x0, y0, x1, y1]" or a
part of the image ("top left", "centre", "lower right") — that place is compared with the map: a box
by its overlap with the map's defect box (or whether it holds the map's peak when the map found no
region), words by whether the map's peak lies in the named third of the image. Pure functions.
"""

from __future__ import annotations

import re

BOX = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]")
ROWS = {"top": 0, "upper": 0, "middle": 1, "centre": 1, "center": 1, "bottom": 2, "lower": 2}
COLUMNS = {"left": 0, "centre": 1, "center": 1, "middle": 1, "right": 2}
PLACE = re.compile(r"\b(top|upper|bottom|lower|middle|cent(?:re|er))?[\s-]*(left|right|cent(?:re|er)|middle)\b",
                   re.IGNORECASE)
MIN_OVERLAP = 0.1        # intersection over union that counts as "the same region"


def overlap(a: list[int], b: list[int]) -> float:
    """Intersection over union of two [x0, y0, x1, y1] boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def named_place(text: str) -> tuple[int | None, int] | None:
    """(row or None, column) of the first "top left" / "centre" / "right" … in `text`, thirds 0..2."""
    found = PLACE.search(text)
    if not found:
        return None
    row_word, column_word = (word.lower() if word else None for word in found.groups())
    return (ROWS[row_word] if row_word else None), COLUMNS[column_word]


def region_check(reasoning: str, defect_box: list[int] | None, peak: tuple[int, int],
                 size: tuple[int, int]) -> dict | None:
    """-> {"named": what the model named, "map": the map's box or peak, "agrees": bool, "overlap": IoU}
    or None when the reasoning names no place. size: (width, height) of the query."""
    box = BOX.search(reasoning)
    if box:
        named = [int(v) for v in box.groups()]
        if defect_box:
            iou = overlap(named, defect_box)
            return {"named": named, "map": defect_box, "agrees": iou >= MIN_OVERLAP, "overlap": round(iou, 3)}
        holds = named[0] <= peak[0] <= named[2] and named[1] <= peak[1] <= named[3]
        return {"named": named, "map": list(peak), "agrees": holds, "overlap": None}
    place = named_place(reasoning)
    if place is None:
        return None
    row, column = place
    width, height = size
    peak_row, peak_column = min(2, 3 * peak[1] // max(height, 1)), min(2, 3 * peak[0] // max(width, 1))
    agrees = peak_column == column and (row is None or peak_row == row)
    return {"named": PLACE.search(reasoning).group(0).strip(), "map": list(peak), "agrees": agrees, "overlap": None}
