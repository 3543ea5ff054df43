"""Where the app serializes work on the shared Inspector, and why.

Gradio runs handlers in a thread pool (`default_concurrency_limit` workers per event). Every handler that
touches the evidence path, the model or the stores holds one lock, `InspectorQueue.lock`, while it does
(`queue.serial(handler)`); other events (history listing, feedback, report export, overlay redraw) run
alongside. An uploaded image is read, size-checked and decoded *before* its inspection takes the lock
(`ChatHandlers.send_message`), so a slow input (a large image, a slow disk) holds no one else up while
it decodes: other sessions' follow-ups, rule edits and inspections go on meanwhile, and wait at most for
the locked part of one inspection (evidence of an already reduced image, then the verdict).

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
Decoding touches none of these (it reads the upload and returns new pixels). Chroma's embedded client and
the encoders' forward passes are thread-safe on their own; the lock is what keeps the combination above
consistent. A streamed answer holds the lock until its last piece (or until the stream is closed).
"""

from __future__ import annotations

import functools
import inspect
import threading


class InspectorQueue:
    def __init__(self):
        self.lock = threading.Lock()    # not an RLock: a streamed handler may resume on another worker thread

    def serial(self, handler):
        """`handler` (plain or generator) run holding the lock; keeps its name (its API endpoint's)."""
        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def streaming(*args, **kwargs):
                with self.lock:
                    yield from handler(*args, **kwargs)
            return streaming

        @functools.wraps(handler)
        def plain(*args, **kwargs):
            with self.lock:
                return handler(*args, **kwargs)
        return plain
