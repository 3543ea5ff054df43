"""Where the app serializes work on the shared Inspector, and why.

Gradio runs handlers in a thread pool. Every event that touches the evidence path, the model or the
stores joins one queue group, `inspector`, that runs one event at a time; other events (history listing,
feedback, report export, overlay redraw) run alongside. Requests beyond the running one wait in the
queue (the browser shows their place) instead of failing.

Why one at a time (read from the code; the parts that are safe were also measured: 64 concurrent
featurize + Chroma nearest + rule-ranking calls on 4 threads, and 64 concurrent gathers, returned exactly
the sequential results):
- the model: one loaded backend; two generations at once would only slow each other down (and the
  transformers backend's generate is not documented as thread-safe);
- `FeatureCache` keeps an in-memory LRU (`OrderedDict.move_to_end` / `popitem`) that is not safe
  under concurrent gathers;
- `Calibrator._save` / `ModelCalibrator._save` and `RunLog.store_image` write temp files whose names
  are per process, not per thread: two threads recalibrating, or storing the same image, can collide;
- ingest (accept as normal) and rule edits change the stores that a gather is reading.
Chroma's embedded client and the encoders' forward passes are thread-safe on their own; the group is
what keeps the combination above consistent. `INSPECTOR_LIMIT` could rise for vision-only sites once
the items above are made thread-safe.
"""

INSPECTOR_LIMIT = 1
SERIAL = {"concurrency_id": "inspector", "concurrency_limit": INSPECTOR_LIMIT}
