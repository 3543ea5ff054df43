"""Pipeline overhead of the transformers backend vs bare `model.generate`, on a small random VLM.

    .venv/bin/python bench/vlm_overhead.py [--family qwen2_vl] [--tokens 64] [--repeats 7] [--threads 1]

Builds a random model (text: hidden 256, 4 layers; the test factory's "bench" size) in a temp folder,
loads it through the real loader, and times on identical inputs (k=4 references + query + overlay):
  bare      processor.apply_chat_template(...) + model.generate(...)   (the minimal HF recipe)
  pipeline  TransformersBackend.generate(messages) from the prompt builder's Message list
            (layout, pixel limits, chat template, value-logit recorder, decode, P(anomalous))
  guided    the pipeline with the xgrammar JSON grammar + budget guard
Time to first token = a call with max_new_tokens=1 (prefill + one token). Medians of --repeats runs.
Target: pipeline/bare <= 1.10. Greedy bare and pipeline outputs must be identical (checked).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "vlm")]  # the random-model factory is a test tool

import retrieval.offline  # noqa: E402,F401  (offline switches before transformers is imported)


def median_seconds(call, repeats: int) -> tuple[float, object]:
    """Median wall time of `call()` over `repeats` runs (after one warm-up), and its last result."""
    result = call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def build_backend(family: str, folder: Path):
    from tiny_vlm_factory import build

    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend

    build(family, folder, size="bench")
    preset = ModelPreset(name=f"bench-{family}", path=str(folder), dtype="float32", device_map="cpu",
                         max_pixels=112 * 112)
    return TransformersBackend.load(preset)


def inspection_messages():
    from PIL import Image

    from assistant.reasoning.prompt_builder import STRATEGIES, build_messages
    from retrieval.rule import Rule

    references = [Image.new("RGB", (224, 224), (40 * i, 120, 90)) for i in range(4)]
    rules = [Rule("r1", "bottle", "A crack on the rim is a defect.", "defect", "critical")]
    return build_messages(STRATEGIES["overlay"], query=Image.new("RGB", (224, 224), (200, 30, 30)),
                          class_name="bottle", question="Is the rim intact?", rules=rules,
                          references=references, overlay=Image.new("RGB", (224, 224), (250, 250, 0)))


def bare_call(backend, messages, tokens: int):
    """The minimal recipe on the same conversation dicts: chat template + generate + decode."""
    import torch

    conversation = backend.conversation(messages)
    config = backend._config(tokens)

    def call():
        inputs = backend.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=True,
                                                       return_dict=True, return_tensors="pt")
        with torch.inference_mode():
            out = backend.model.generate(**inputs, generation_config=config)
        return backend.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    return call


def run(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="normalcy_bench_")) / args.family
    backend = build_backend(args.family, folder)
    messages = inspection_messages()
    prompt_tokens = backend.count_tokens(messages)
    rows = {}
    for label, tokens in (("ttft", 1), ("total", args.tokens)):
        bare_s, bare_text = median_seconds(bare_call(backend, messages, tokens), args.repeats)
        pipe_s, generation = median_seconds(lambda: backend.generate(messages, max_new_tokens=tokens), args.repeats)
        if generation.text != bare_text:
            raise SystemExit(f"pipeline and bare outputs differ ({label}): {generation.text!r} vs {bare_text!r}")
        rows[label] = (bare_s, pipe_s, generation.n_tokens)
    compile_start = time.perf_counter()
    backend.guided_json()
    compile_s = time.perf_counter() - compile_start
    guided_s, guided = median_seconds(lambda: backend.generate(messages, max_new_tokens=args.tokens, guided=True),
                                      args.repeats)
    report(args, backend, prompt_tokens, rows, (guided_s, guided, compile_s))


def report(args, backend, prompt_tokens: int, rows: dict, guided_row) -> None:
    import torch
    import transformers

    n_params = sum(p.numel() for p in backend.model.parameters())
    print(f"model: random {args.family}, {n_params / 1e6:.2f} M parameters, text hidden 256 x 4 layers; "
          f"prompt {prompt_tokens} tokens (6 images); torch {torch.__version__}, transformers "
          f"{transformers.__version__}, {args.threads} thread(s), median of {args.repeats}")
    for label, (bare_s, pipe_s, n_tokens) in rows.items():
        print(f"{label:<6} ({n_tokens:>3} new tokens)  bare {bare_s * 1000:8.1f} ms  pipeline {pipe_s * 1000:8.1f} ms  "
              f"ratio {pipe_s / bare_s:.3f}")
    _, pipe_total, plain_tokens = rows["total"]
    prefill = rows["ttft"][1]
    guided_s, guided, compile_s = guided_row
    # Guided answers have another length; compare the decode phase per token (prefill subtracted).
    per_token = ((guided_s - prefill) / (guided.n_tokens - 1)) / ((pipe_total - prefill) / (plain_tokens - 1))
    print(f"guided ({guided.n_tokens:>3} new tokens)  {guided_s * 1000:8.1f} ms; decode time per token vs "
          f"unguided pipeline: ratio {per_token:.3f}; grammar compile (once per model) {compile_s * 1000:.1f} ms; "
          f"P(anomalous) {guided.p_anomalous:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="qwen2_vl")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
