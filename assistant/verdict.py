"""The verdict: the one schema every front end, log and report reads.

The model is only ever asked for `reasoning` and `correctness` (the source paper's schema,
`MODEL_SCHEMA`); everything the system can compute itself (scores, threshold, box, references,
rules, hashes) is filled in by the system, never by the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

DEFAULT_QUESTION = "Is this part defective, and why?"   # asked when the operator asks nothing

STATUSES = ("ok", "unparsed", "vision_only", "needs_review", "out_of_distribution")

# What the language model must answer: the source paper's verdict.
MODEL_SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "correctness": {"type": "integer", "enum": [0, 1]},
    },
    "required": ["reasoning", "correctness"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Verdict:
    """One inspection's answer.

    correctness: 1 normal, 0 anomalous (the source paper's convention).
    anomaly_score: fused score normalised so that 1.0 is the class threshold (> 1 means anomalous).
    threshold: the class threshold on the raw anomaly-map score.
    map_score: raw anomaly-map score of the query (same units as `threshold`).
    model_score: P(correctness = 0) read from the language model's logits, when a model answered.
    defect_box: [x0, y0, x1, y1] of the hottest region in image pixels, or None when nothing is hot.
    references / rules: the evidence used (JSON-ready dicts).
    status "needs_review": the model's answer and the calibrated fused score disagree beyond the
      configured margin; correctness is then 0 (the part is held) and `notice` says why.
    status "out_of_distribution": the query is farther from its class's nearest references than the
      class's own normals are (calibrated leave-one-out); neither PASS nor FAIL, correctness 0 (held),
      `notice` names the nearest known class (or none); `out_of_distribution` holds the distance, the
      class's limit, the normals it rests on and the nearest class. The model is not asked about such a part.
    operating_point: what the class threshold promises — {"target_overkill", "expected_overkill", "normals"}
      (the stated false-alarm rate, the rate the leave-one-out normals can promise, and how many they are).
    region_check: where the model's reasoning names a region, whether the map agrees (see
      `reasoning.region_check`); None when it names none or no model answered.
    mm_per_px: millimetres per pixel of `defect_box`'s coordinates, from the class's configured scale
      (`classes: {NAME: {mm_per_px}}`, adjusted when the image was decoded reduced); None: no scale, px only.
    modality: "image", or what the inspected image is a render of ("point_cloud", "time_series"); then
      location is where `defect_box` lies in the file's own terms (a 3D box, a time range and channels;
      None when nothing is hot) and source_sha256 the hash of the file itself (`image_sha256`: its render).
    """

    reasoning: str
    correctness: int
    anomaly_score: float
    threshold: float
    status: str
    class_name: str
    map_score: float
    image_sha256: str
    references: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)
    defect_box: list[int] | None = None
    model_score: float | None = None
    model: str | None = None
    raw_text: str | None = None
    notice: str | None = None
    region_check: dict | None = None
    operating_point: dict | None = None
    out_of_distribution: dict | None = None
    mm_per_px: float | None = None
    modality: str = "image"
    location: dict | None = None
    source_sha256: str | None = None

    def __post_init__(self):
        if self.correctness not in (0, 1):
            raise ValueError(f"correctness must be 0 or 1, got {self.correctness!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        scores = (self.anomaly_score, self.threshold, self.map_score, self.model_score)
        if not all(v is None or math.isfinite(v) for v in scores):
            raise ValueError(f"verdict scores must be finite (a NaN would read as PASS), got {scores!r}")

    @property
    def label(self) -> str:
        return verdict_label(self.to_dict())

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def score_in_words(anomaly_score: float) -> str:
    """The score against the class limit (1.0), rounded once, for every place that shows it:
    "23 % over the class limit", "41 % under the class limit" or "at the class limit"."""
    percent = round((float(anomaly_score) - 1.0) * 100)
    if percent == 0:
        return "at the class limit"
    return f"{abs(percent)} % {'over' if percent > 0 else 'under'} the class limit"


def box_words(box, mm_per_px: float | None = None) -> str:
    """Where a box is and how big, for every place that shows one: "x 12-80, y 30-95 px (68×65 px)"; with
    the class's scale also in mm, "(68×65 px, 3.40×3.25 mm)". No scale: px only, no mm claim."""
    x0, y0, x1, y1 = box
    size = f"{x1 - x0}×{y1 - y0} px"
    if mm_per_px:
        size += f", {_mm((x1 - x0) * mm_per_px)}×{_mm((y1 - y0) * mm_per_px)} mm"
    return f"x {x0}-{x1}, y {y0}-{y1} px ({size})"


def _mm(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def verdict_label(verdict: dict) -> str:
    """The one PASS / FAIL / NEEDS REVIEW / OUT OF DISTRIBUTION label of a verdict (its dict form)."""
    if verdict.get("status") == "needs_review":
        return "NEEDS REVIEW"
    if verdict.get("status") == "out_of_distribution":
        return "OUT OF DISTRIBUTION"
    return "PASS" if verdict["correctness"] == 1 else "FAIL"


def location_words(location: dict | None) -> str:
    """A location in words: "In the point cloud: x 1.2 to 3.4, y ..., z ... (120 points)." / "In the series:
    2026-01-03 to 2026-01-05, channel temperature." ("" for none)."""
    if not location:
        return ""
    if "worst_frame" in location:
        return video_words(location)
    if "box_3d" in location:
        low, high = location["box_3d"]["min"], location["box_3d"]["max"]
        axes = ", ".join(f"{a} {lo:.4g} to {hi:.4g}" for a, lo, hi in zip("xyz", low, high))
        return f"In the point cloud: {axes} ({location.get('points', '?')} points)."
    if "time_range" in location:
        start, end = location["time_range"]
        channels = location.get("channels") or []
        named = f", channel{'s' if len(channels) > 1 else ''} {', '.join(map(str, channels))}" if channels else ""
        return f"In the series: {start} to {end}{named}."
    return ""


def video_words(location: dict) -> str:
    """"In the video: anomalous frames at 2.0 s (1.42), 2.5 s (1.31); worst at 2.0 s." (none: said so)."""
    worst = location["worst_frame"]
    if not location.get("frames"):
        return f"In the video: no sampled frame reaches the class limit; the highest is at {worst['t']:.1f} s."
    listed = ", ".join(f"{f['t']:.1f} s ({f['score']:.2f})" for f in location["frames"][:12])
    more = f" and {len(location['frames']) - 12} more" if len(location["frames"]) > 12 else ""
    return f"In the video: anomalous frames at {listed}{more}; worst at {worst['t']:.1f} s."
