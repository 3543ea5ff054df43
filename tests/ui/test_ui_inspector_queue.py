"""The Inspector lock (ui/inspector_queue.py): held for a handler's whole run, released however the run
ends — also when Gradio resumes a streamed handler on another worker thread at each step (an RLock
there stayed owned by the first thread and deadlocked the server under bench/load.py)."""

import threading

from ui.inspector_queue import InspectorQueue


def _steps_on_other_threads(generator) -> list:
    seen = []
    while True:
        box = {}
        worker = threading.Thread(target=lambda: box.update(item=next(generator, None)))
        worker.start()
        worker.join(timeout=10)
        if box.get("item") is None:
            return seen
        seen.append(box["item"])


def test_a_streamed_handler_resumed_on_other_threads_releases_the_lock():
    queue = InspectorQueue()

    def streamed():
        yield queue.lock.locked()
        yield queue.lock.locked()

    assert _steps_on_other_threads(queue.serial(streamed)()) == [True, True]
    assert queue.lock.acquire(timeout=5), "the lock stayed held after the stream ended"


def test_a_stream_closed_half_way_and_a_failing_handler_release_the_lock():
    queue = InspectorQueue()

    def streamed():
        yield 1
        yield 2

    def failing():
        raise ValueError("boom")

    stream = queue.serial(streamed)()
    next(stream)
    assert queue.lock.locked()
    stream.close()
    assert not queue.lock.locked()
    try:
        queue.serial(failing)()
    except ValueError:
        pass
    assert not queue.lock.locked() and queue.serial(failing).__name__ == "failing"
