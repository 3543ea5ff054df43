"""Load test of `normalcy serve` on loopback: N concurrent API clients (gradio_client) for M minutes.

    .venv/bin/python bench/load.py --clients 8 --minutes 5 [--questions 2] [--api [only|beside]] [--out runs/load.json]

The script builds a data home (class `brick`: tiles of scikit-image's real brick texture as references,
held-out tiles and tiles with synthetic defects as parts), starts a real `normalcy serve` on a free
127.0.0.1 port with its own temp folder (TMPDIR), and runs the clients. Each client plays operators one
after another: a new session (a new `Client`), an inspection, then `--questions` follow-ups (0-2; 0 makes
short sessions, to open many), then the next session. With --api (or --api only) every client drives the REST
API instead (httpx: POST /api/v1/inspect, then GET /api/v1/inspections/{id}); with --api beside, every other
client does. It reports sessions, requests, errors, latency
p50/p95 per kind, inspections and turns in the run log against those sent, the server's RSS over time
(and its trend over the second half) and its temp folder's size, and what is left in the temp folder
after SIGTERM. Only loopback is contacted; the number of clients and the duration are bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ("where is the defect?", "which rule applies?")
SAMPLE_S = 5.0


def make_parts(folder: Path) -> tuple[Path, list[Path]]:
    """train/ (14 normal brick tiles) and the parts to inspect (3 good, 6 with synthetic defects)."""
    import numpy as np
    import skimage.data
    from PIL import Image

    from assistant.demo.synthetic_defect import DEFECT_KINDS, add_defect, tiles

    parts, rng = tiles(skimage.data.brick(), 96), np.random.default_rng(7)
    (folder / "train").mkdir(parents=True)
    (folder / "parts").mkdir()
    for i, tile in enumerate(parts[:14]):
        Image.fromarray(tile).save(folder / "train" / f"ref_{i:02d}.png")
    shown = []
    for i, tile in enumerate(parts[14:23]):
        if i >= 3:
            tile = add_defect(tile, DEFECT_KINDS[i % len(DEFECT_KINDS)], rng)[0]
        shown.append(folder / "parts" / f"part_{i}.png")
        Image.fromarray(tile).save(shown[-1])
    return folder / "train", shown


def normalcy(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())", *args]


def server_env(tmp: Path) -> dict:
    return {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, tmp: Path, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(normalcy("--home", str(home), "serve", "--port", str(port)), cwd=ROOT,
                               env=server_env(tmp), stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited early, see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"serve did not answer within 300 s, see {log}")


class Tally:
    """What the clients did: latencies per kind, errors (first few kept), counted under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {"inspect": [], "ask": [], "session": [], "api_inspect": [],
                                                  "api_get": []}
        self.errors: dict[str, int] = {}
        self.examples: list[str] = []

    def time(self, kind: str, call):
        start = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # a load test counts every failure, whatever it is
            with self.lock:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        with self.lock:
            self.latencies[kind].append(time.perf_counter() - start)
        return result


def one_client(url: str, parts: list[Path], deadline: float, tally: Tally, index: int, downloads: Path,
               questions: tuple = QUESTIONS) -> None:
    from gradio_client import Client, handle_file

    turn = index
    while time.monotonic() < deadline:
        client = tally.time("session", lambda: Client(url, verbose=False, analytics_enabled=False,
                                                      download_files=str(downloads)))
        if client is None:
            time.sleep(1)
            continue
        part = parts[turn % len(parts)]
        turn += 1
        message = {"text": "is this part defective?", "files": [handle_file(str(part))]}
        done = tally.time("inspect", lambda: client.predict(message=message, class_choice="auto",
                                                            switches=["rules"], reference_count=2,
                                                            overlay_style="heatmap", api_name="/send_message"))
        for question in questions if done is not None else ():
            if time.monotonic() >= deadline:
                break
            tally.time("ask", lambda q=question: client.predict(
                message={"text": q, "files": []}, class_choice="auto", switches=["rules"], reference_count=2,
                overlay_style="heatmap", api_name="/send_message"))
        client.close()


def api_client(url: str, parts: list[Path], deadline: float, tally: Tally, index: int, downloads: Path) -> None:
    """A line machine on the REST API: inspect a part (class auto), read its record back, the next part."""
    turn = index
    with httpx.Client(base_url=f"{url}api/v1", timeout=300) as client:
        while time.monotonic() < deadline:
            part = parts[turn % len(parts)]
            turn += 1

            def inspect():
                answer = client.post("/inspect", files={"image": (part.name, part.read_bytes(), "image/png")},
                                     data={"class": "auto", "question": "is this part defective?"})
                return answer.raise_for_status().json()["id"]

            found = tally.time("api_inspect", inspect)
            if found is not None:
                tally.time("api_get", lambda: client.get(f"/inspections/{found}").raise_for_status())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def rss_bytes(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def sample(process: psutil.Process, tmp: Path, stop: threading.Event, start: float, samples: list) -> None:
    while not stop.is_set():
        samples.append({"t_s": round(time.monotonic() - start, 1), "rss_mb": round(rss_bytes(process) / 2**20, 1),
                        "tmp_mb": round(folder_bytes(tmp) / 2**20, 2)})
        stop.wait(SAMPLE_S)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(values), "p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3)}


def logged(home: Path) -> dict:
    counts: dict[str, int] = {}
    for path in (home / "runs").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            kind = json.loads(line).get("kind", "?")
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def run_clients(url: str, parts: list[Path], clients: int, seconds: float, work: Path, questions: tuple,
                api: str | None = None) -> Tally:
    """api: None (every client on gradio_client), "only" (every client on the REST API), "beside" (every other)."""
    tally, deadline = Tally(), time.monotonic() + seconds

    def client(i: int):
        chat = (one_client, (url, parts, deadline, tally, i, work / f"dl{i}", questions))
        rest = (api_client, (url, parts, deadline, tally, i, work / f"dl{i}"))
        return {None: chat, "only": rest, "beside": rest if i % 2 else chat}[api]

    threads = [threading.Thread(target=target, args=args) for target, args in map(client, range(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def stop_server(process: subprocess.Popen, tmp: Path) -> dict:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = "killed after 60 s"
    left = sorted(str(p.relative_to(tmp)) for p in tmp.iterdir())
    return {"exit_code": code, "left_in_tmp": left, "left_mb": round(folder_bytes(tmp) / 2**20, 2)}


def halves(samples: list) -> dict:
    """RSS trend: the second half's mean minus the first's, and the growth over the second half by a
    least-squares line through its samples (the per-minute heap trims make single samples noisy)."""
    first, second = samples[:len(samples) // 2], samples[len(samples) // 2:]
    if len(second) < 3:
        return {}
    t, rss = [s["t_s"] for s in second], [s["rss_mb"] for s in second]
    slope = statistics.linear_regression(t, rss).slope
    minutes: dict[int, list] = {}
    for s in samples:
        minutes.setdefault(int(s["t_s"] // 60), []).append(s["rss_mb"])
    return {"second_half_minus_first": round(statistics.mean(rss) - statistics.mean(s["rss_mb"] for s in first), 1),
            "second_half_growth_fit": round(slope * (t[-1] - t[0]), 1),
            "per_minute_min": [min(v) for v in minutes.values()],
            "per_minute_mean": [round(statistics.mean(v)) for v in minutes.values()]}


def summary(tally: Tally, samples: list, home: Path, stopped: dict, args) -> dict:
    sent = {kind: len(v) + tally.errors.get(kind, 0) for kind, v in tally.latencies.items()}
    counts = logged(home)
    warm = samples[min(len(samples) - 1, 2)] if samples else {}
    return {"clients": args.clients, "api": args.api, "minutes": args.minutes, "questions": args.questions,
            "sessions": sent["session"], "requests_sent": sent, "errors": tally.errors,
            "error_examples": tally.examples,
            "latency": {kind: percentiles(v) for kind, v in tally.latencies.items()},
            "run_log": {"inspections": counts.get("inspection", 0), "turns": counts.get("turn", 0),
                        "owners": counts.get("owner", 0)},
            "rss_mb": {"start": samples[0]["rss_mb"] if samples else None, "after_15_s": warm.get("rss_mb"),
                       "end": samples[-1]["rss_mb"] if samples else None,
                       "max": max((s["rss_mb"] for s in samples), default=None), **halves(samples)},
            "tmp_mb": {"start": samples[0]["tmp_mb"] if samples else None,
                       "end": samples[-1]["tmp_mb"] if samples else None},
            "after_sigterm": stopped, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, choices=range(1, 33), metavar="1..32")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), choices=range(len(QUESTIONS) + 1),
                        metavar=f"0..{len(QUESTIONS)}", help="follow-ups per session")
    parser.add_argument("--api", nargs="?", const="only", choices=("only", "beside"),
                        help="drive the REST API (/api/v1) instead of gradio_client, or beside it (every other client)")
    parser.add_argument("--out", type=Path, help="write the full result (with RSS samples) as JSON here")
    args = parser.parse_args()
    if not 0 < args.minutes <= 30:
        parser.error("--minutes must be in (0, 30]")
    work = Path(tempfile.mkdtemp(prefix="normalcy-load-"))
    home, tmp, port = work / "home", work / "tmp", free_port()
    tmp.mkdir()
    train, parts = make_parts(work / "data")
    subprocess.run(normalcy("--home", str(home), "ingest", str(train), "--class", "brick"), cwd=ROOT,
                   env=server_env(tmp), check=True, capture_output=True)
    process = start_server(home, tmp, port, work / "serve.log")
    samples, stop, start = [], threading.Event(), time.monotonic()
    sampler = threading.Thread(target=sample, args=(psutil.Process(process.pid), tmp, stop, start, samples))
    sampler.start()
    tally = run_clients(f"http://127.0.0.1:{port}/", parts, args.clients, args.minutes * 60, work,
                        QUESTIONS[:args.questions], args.api)
    stop.set()
    sampler.join()
    result = summary(tally, samples, home, stop_server(process, tmp), args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    print(f"work folder (home, server log): {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
