"""The plot of a series against its class's band: one panel per channel, stacked, drawn with PIL.

Every render of a class has the same size and axes (the profile's channels, each channel's y range,
relative time 0..1 across the plot's width), so references and queries differ only where their
curves do, which is what the image pipeline's maps compare. Per panel: the normal band (the class's
5–95 % per time bin) filled behind the series, the band's median as a thin line, the series as a line
(per pixel column its min..max, so a one-sample spike in a long series stays visible), red where it
leaves the band by more than OUT_MARK band widths, tick labels of y and of time. `Layout` maps pixels
to relative time and panels, for the render's `location`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from assistant.modalities.time_series_band import Band, bins_of
from assistant.modalities.time_series_data import Series

WIDTH = 448
PANEL_HEIGHT = 160
LEFT, RIGHT, TITLE, TICKS = 52, 10, 16, 18      # margins of a panel's plot area (px)
FONT_SIZE = 10
OUT_MARK = 1.0                                  # band widths outside the band drawn red
BACKGROUND, FRAME, GRID, TEXT = (255, 255, 255), (90, 90, 90), (232, 232, 232), (40, 40, 40)
BAND, MEDIAN, LINE, OUT = (196, 214, 240), (120, 150, 200), (20, 20, 20), (220, 30, 30)
TIME_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Layout:
    channels: tuple[str, ...]

    @property
    def size(self) -> tuple[int, int]:
        return WIDTH, PANEL_HEIGHT * len(self.channels)

    @property
    def plot_width(self) -> int:
        return WIDTH - LEFT - RIGHT

    def plot_rows(self, panel: int) -> tuple[int, int]:
        """First and past-the-last pixel row of a panel's plot area."""
        return panel * PANEL_HEIGHT + TITLE, (panel + 1) * PANEL_HEIGHT - TICKS

    def columns(self, positions: np.ndarray) -> np.ndarray:
        """Pixel column of each relative-time position in [0, 1]."""
        return LEFT + np.minimum((positions * self.plot_width).astype(np.int64), self.plot_width - 1)

    def position(self, x: float) -> float:
        """Relative time of a pixel x (a column's left edge; past-the-last for a box's x1), in [0, 1]."""
        return float(np.clip((x - LEFT) / self.plot_width, 0.0, 1.0))

    def panels(self, y0: float, y1: float) -> list[str]:
        """Channels whose panels overlap the rows [y0, y1)."""
        low, high = sorted((y0, y1))
        return [name for i, name in enumerate(self.channels)
                if low < (i + 1) * PANEL_HEIGHT and high > i * PANEL_HEIGHT]

    def rows(self, values: np.ndarray, y_range, panel: int) -> np.ndarray:
        """Pixel row of each value on the panel's fixed axis, clipped to the plot area."""
        top, bottom = self.plot_rows(panel)
        scaled = (np.asarray(values, dtype=np.float64) - y_range[0]) / (y_range[1] - y_range[0])
        return np.clip(np.round(bottom - 1 - scaled * (bottom - 1 - top)), top, bottom - 1).astype(np.int64)


def draw(series: Series, band: Band, distance: np.ndarray, tick_label: Callable[[float], str]) -> Image.Image:
    """The render: `series` (channels in the band's order), `distance` its (T, C) band deviations."""
    layout = Layout(band.channels)
    image = Image.new("RGB", layout.size, BACKGROUND)
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_SIZE)
    for panel, name in enumerate(band.channels):
        _axes(pen, layout, panel, band.y_range[panel], font)
        _band(pen, layout, panel, band)
        _curve(pen, layout, panel, series.positions(), series.values[:, panel], distance[:, panel],
               band.y_range[panel])
        _frame(pen, layout, panel, name, tick_label, font)
    return image


def _axes(pen, layout: Layout, panel: int, y_range, font) -> None:
    """Light grid lines and labels at round values of the panel's y axis."""
    for value in nice_ticks(*y_range):
        row = int(layout.rows([value], y_range, panel)[0])
        pen.line([(LEFT, row), (WIDTH - RIGHT - 1, row)], fill=GRID)
        pen.line([(LEFT - 3, row), (LEFT - 1, row)], fill=FRAME)
        pen.text((LEFT - 5, row), tick_text(value, y_range), fill=TEXT, font=font, anchor="rm")


def _band(pen, layout: Layout, panel: int, band: Band) -> None:
    """The band filled column by column, its median as a thin line."""
    x = np.arange(LEFT, WIDTH - RIGHT)
    bins = bins_of((x - LEFT + 0.5) / layout.plot_width, band.steps)
    high = layout.rows(band.high[bins, panel], band.y_range[panel], panel)
    low = layout.rows(band.low[bins, panel], band.y_range[panel], panel)
    for column, top, bottom in zip(x, high, low):
        pen.line([(int(column), int(top)), (int(column), int(bottom))], fill=BAND)
    median = layout.rows(band.median[bins, panel], band.y_range[panel], panel)
    pen.line(list(zip(x.tolist(), median.tolist())), fill=MEDIAN)


def _curve(pen, layout: Layout, panel: int, positions, values, distance, y_range) -> None:
    """The series: per pixel column a vertical stroke over its samples' min..max, joined to the next
    column from its last sample to that column's first; red where it leaves the band."""
    columns = layout.columns(positions)
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]])
    ends = np.r_[starts[1:], len(values)] - 1
    low = layout.rows(np.minimum.reduceat(values, starts), y_range, panel)
    high = layout.rows(np.maximum.reduceat(values, starts), y_range, panel)
    first, last = layout.rows(values[starts], y_range, panel), layout.rows(values[ends], y_range, panel)
    out = np.maximum.reduceat(distance, starts) > OUT_MARK
    xs = columns[starts]
    for j, x in enumerate(xs.tolist()):
        colour = OUT if out[j] else LINE
        if j:
            pen.line([(int(xs[j - 1]), int(last[j - 1])), (x, int(first[j]))], fill=colour)
        pen.line([(x, int(high[j])), (x, int(low[j]))], fill=colour)


def _frame(pen, layout: Layout, panel: int, name: str, tick_label, font) -> None:
    """The plot area's frame, the channel's name and the time axis' ticks and labels."""
    top, bottom = layout.plot_rows(panel)
    pen.rectangle([LEFT - 1, top - 1, WIDTH - RIGHT, bottom], outline=FRAME)
    pen.text((LEFT, top - 2), name, fill=TEXT, font=font, anchor="ld")
    if panel == 0:
        pen.text((WIDTH - RIGHT, top - 2), "band: normal 5-95 %", fill=MEDIAN, font=font, anchor="rd")
    for i, position in enumerate(TIME_TICKS):
        x = LEFT + round(position * (layout.plot_width - 1))
        pen.line([(x, bottom), (x, bottom + 2)], fill=FRAME)
        anchor = "la" if i == 0 else "ra" if i == len(TIME_TICKS) - 1 else "ma"
        pen.text((x, bottom + 4), tick_label(position), fill=TEXT, font=font, anchor=anchor)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values (1, 2 or 5 × 10^k apart) inside [low, high], about `count` of them."""
    raw = (high - low) / count
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = np.ceil(low / step) * step
    return [float(v) for v in np.arange(first, high + step * 1e-9, step)]


def tick_text(value: float, y_range) -> str:
    """A y label with as many decimals as the axis' tick step needs."""
    step, value = (y_range[1] - y_range[0]) / 4, value + 0.0      # + 0.0: no "-0"
    if abs(value) >= 1e5 or step < 1e-4:
        return f"{value:.3g}"
    decimals = max(0, int(-np.floor(np.log10(step))) + 1)
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"


def tick_labeller(series: Series) -> Callable[[float], str]:
    """Relative time -> the series' own time as a short label: a date or clock time (by the series'
    span), a number, or a sample index."""
    times = series.time_numbers()
    start, span = float(times[0]), float(times[-1] - times[0])
    if series.time_kind == "index":
        return lambda position: str(int(round(start + position * span)))
    if series.time_kind == "number":
        return lambda position: f"{start + position * span:.4g}"
    days = span / 86_400e6
    layout = "%Y" if days > 3 * 365 else "%Y-%m-%d" if days > 2 else "%H:%M" if days > 2 / 1440 else "%H:%M:%S"
    return lambda position: np.datetime64(int(round(start + position * span)), "us").item().strftime(layout)
