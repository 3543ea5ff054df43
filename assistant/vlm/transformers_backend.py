"""The transformers backend: `AutoProcessor` + `AutoModelForImageTextToText` from a local folder.

One code path for every supported family; what differs lives in `model_family.FamilyProfile`
(read from the folder's config.json `model_type`). The processor's own chat template renders the
conversation. Loading is `local_files_only=True` always; an incomplete folder is a `MissingWeights`
naming the path and the missing files. Weights: dtype, accelerate `device_map`, and bitsandbytes
4-bit NF4 / 8-bit quantisation when the preset asks. Decoding is greedy (deterministic verdicts).
torch and transformers are imported when a backend is loaded, not when this module is imported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import retrieval.offline  # noqa: F401  (offline switches before transformers is imported)
from assistant.vlm.backend import Generation
from assistant.vlm.context_window import context_window
from assistant.vlm.messages import Message, layout_chunks
from assistant.vlm.model_check import check_model_dir
from assistant.vlm.model_family import FamilyProfile, family_of, supported_types
from assistant.vlm.pixel_limits import fit_pixels, set_processor_limits
from assistant.vlm.preset import ModelPreset
from assistant.vlm.value_logits import ValueLogitsRecorder, digit_pairs
from retrieval.errors import ConfigError, MissingWeights

DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}


class TransformersBackend:
    """A loaded local VLM. Build with `TransformersBackend.load(preset)`.

    name: preset name. family: the `FamilyProfile`. context_tokens: the context window (preset's
    `context_tokens`, else the folder's declared window, see `context_window`). max_new_tokens: the
    preset's default answer budget.
    """

    def __init__(self, preset: ModelPreset, profile: FamilyProfile, processor, model):
        self.preset = preset
        self.name = preset.name
        self.family = profile
        self.layout = preset.layout or profile.layout
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.model = model
        self.context_tokens = context_window(preset.context_tokens, model.config.get_text_config(), self.tokenizer)
        self.max_new_tokens = preset.max_new_tokens
        self._encoded: tuple[tuple, object] | None = None  # (messages, inputs) of the last encode
        self._pairs = digit_pairs(self.tokenizer)
        self._greedy, self._penalty = _greedy_config(model)
        self._guided = None

    @classmethod
    def load(cls, preset: ModelPreset) -> TransformersBackend:
        """Check the folder, pick the family profile, load processor and model. Raises MissingWeights/ConfigError."""
        if preset.local_path is None:
            raise ConfigError(f"model preset {preset.name}: set `path:` to the local model folder")
        report = check_model_dir(preset.local_path)
        if not report.complete:
            raise MissingWeights(f"model folder {report.path} is incomplete, missing: {'; '.join(report.missing)}; "
                                 "copy the complete model folder there")
        profile = family_of(report.model_type)
        if profile is None:
            raise ConfigError(f"model folder {report.path} holds model_type {report.model_type!r}; "
                              f"supported: {supported_types()}")
        if report.problems:
            raise ConfigError(f"model folder {report.path}: {report.problems[0]}")
        processor = _load_processor(report.path, profile, preset)
        model = _load_model(report.path, preset, profile)
        return cls(preset, profile, processor, model)

    # -- prompt ---------------------------------------------------------------------------------

    def conversation(self, messages: list[Message]) -> list[dict]:
        """Messages → the chat-template input: [{"role", "content": [{"type": "text"|"image", ...}]}]."""
        return [{"role": m.role, "content": [self._content(kind, value) for kind, value in
                                             layout_chunks(m, self.layout)]} for m in messages]

    def _content(self, kind: str, value) -> dict:
        if kind == "text":
            return {"type": "text", "text": value}
        if self.family.pixel_limits == "resize":
            value = fit_pixels(value.convert("RGB"), self.preset.min_pixels, self.preset.max_pixels)
        return {"type": "image", "image": value.convert("RGB")}

    def render(self, messages: list[Message]) -> str:
        """The prompt text as the processor's chat template renders it (image markers unexpanded)."""
        return self.processor.apply_chat_template(self.conversation(messages), add_generation_prompt=True,
                                                  tokenize=False)

    def encode(self, messages: list[Message]):
        """Processor output on the model's device: input_ids (1, T), attention_mask, pixel tensors.

        The last encoding is kept, so counting a prompt and then generating it runs the image processor once.
        """
        key = tuple(messages)
        if self._encoded is not None and len(key) == len(self._encoded[0]) and \
                all(a is b for a, b in zip(key, self._encoded[0])):
            return self._encoded[1]
        inputs = self.processor.apply_chat_template(self.conversation(messages), add_generation_prompt=True,
                                                    tokenize=True, return_dict=True, return_tensors="pt")
        inputs = inputs.to(self.model.device, dtype=_float_dtype(self.model))
        self._encoded = (key, inputs)
        return inputs

    def count_tokens(self, messages: list[Message]) -> int:
        """Exact prompt length in tokens, image tokens included (runs the real processor)."""
        return int(self.encode(messages)["input_ids"].shape[1])

    # -- Backend protocol ------------------------------------------------------------------------

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None,
                 guided: bool = False) -> Generation:
        """Greedy answer; p_anomalous read at the correctness value token (see value_logits)."""
        import torch

        budget = max_new_tokens or self.preset.max_new_tokens
        start = time.perf_counter()
        inputs = self.encode(messages)
        recorder = ValueLogitsRecorder(self._pairs)
        processors = [recorder, *self._penalties()] + (self.guided_json().processors(budget) if guided else [])
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=self._config(budget),
                                         logits_processor=processors)
        new_ids = output[0, inputs["input_ids"].shape[1]:].tolist()
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        return Generation(text=text, p_anomalous=recorder.p_anomalous(self.tokenizer, new_ids),
                          n_tokens=len(new_ids), seconds=time.perf_counter() - start)

    def stream(self, messages: list[Message], *, max_new_tokens: int | None = None) -> Iterator[str]:
        """Text deltas from a `TextIteratorStreamer` fed by `generate` in a worker thread.

        Closing the iterator early stops generation; an exception in the worker is re-raised here.
        """
        from transformers import TextIteratorStreamer

        inputs = self.encode(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failure: list[BaseException] = []
        kwargs = dict(inputs, generation_config=self._config(max_new_tokens), streamer=streamer,
                      logits_processor=self._penalties(),
                      stopping_criteria=[lambda ids, scores, **kw: stop.is_set()])
        worker = threading.Thread(target=self._run_streaming, args=(kwargs, streamer, failure), daemon=True)
        worker.start()
        try:
            yield from (delta for delta in streamer if delta)
        finally:
            stop.set()
            worker.join()
        if failure:
            raise failure[0]

    def _penalties(self) -> list:
        """The model's own repetition penalty, applied after the value-logits recorder (see _greedy_config)."""
        from transformers import RepetitionPenaltyLogitsProcessor

        return [RepetitionPenaltyLogitsProcessor(self._penalty)] if self._penalty != 1.0 else []

    def _config(self, max_new_tokens: int | None):
        """The greedy generation config with this call's token budget."""
        import copy

        config = copy.copy(self._greedy)
        config.max_new_tokens = max_new_tokens or self.preset.max_new_tokens
        return config

    def _run_streaming(self, kwargs: dict, streamer, failure: list) -> None:
        import torch

        try:
            with torch.inference_mode():
                self.model.generate(**kwargs)
        except BaseException as exc:  # handed to the consuming thread, which re-raises it
            failure.append(exc)
            streamer.end()

    def guided_json(self):
        """The compiled JSON grammar for this tokenizer (compiled once, on first use)."""
        if self._guided is None:
            from assistant.vlm.guided_json import GuidedJSON

            vocab_size = self.model.config.get_text_config().vocab_size
            self._guided = GuidedJSON(self.tokenizer, vocab_size, _eos_ids(self.model, self.tokenizer))
        return self._guided


def _load_processor(folder: str, profile: FamilyProfile, preset: ModelPreset):
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    except OSError as exc:
        raise MissingWeights(f"processor files in {folder} cannot be loaded ({_first_line(exc)}); "
                             "copy the model's tokenizer and processor files there") from exc
    if profile.pixel_limits == "processor":
        set_processor_limits(processor.image_processor, preset.min_pixels, preset.max_pixels)
    return processor


def _load_model(folder: str, preset: ModelPreset, profile: FamilyProfile):
    from transformers import AutoModelForImageTextToText

    kwargs = dict(local_files_only=True, dtype=_torch_dtype(preset.dtype))
    if preset.device_map:
        kwargs["device_map"] = preset.device_map
    if preset.quantization:
        kwargs["quantization_config"] = quantization_config(preset, profile)
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
    except OSError as exc:
        raise MissingWeights(f"weights in {folder} cannot be loaded ({_first_line(exc)}); "
                             "copy the complete model folder there") from exc
    return model.eval()


def quantization_config(preset: ModelPreset, profile: FamilyProfile):
    """bitsandbytes settings: "4bit" = NF4 with double quantisation, computing in the preset dtype;
    "8bit" = LLM.int8. The family's vision tower, projector and lm_head stay in full precision."""
    from transformers import BitsAndBytesConfig

    keep = [*profile.unquantized, "lm_head"]
    if preset.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=keep)
    compute = _torch_dtype(preset.dtype)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=None if compute == "auto" else compute,
                              llm_int8_skip_modules=keep)


def _torch_dtype(name: str):
    import torch

    return "auto" if name == "auto" else getattr(torch, DTYPES[name])


def _float_dtype(model):
    """The dtype image tensors are cast to: the model's floating dtype (float32 for int8 models)."""
    import torch

    dtype = getattr(model, "dtype", torch.float32)
    return dtype if dtype.is_floating_point else torch.float32


def _greedy_config(model):
    """(generation config with sampling switched off, the model's repetition penalty).

    The penalty (Qwen2.5-VL ships 1.05) is taken out of the config and applied as an explicit logits
    processor after the value-logits recorder, so P(anomalous) is read from the model's own logits
    and not from scores the penalty has bent (it penalises the "0"/"1" the prompt itself contains).
    """
    import copy

    config = copy.deepcopy(model.generation_config)
    penalty = float(config.repetition_penalty or 1.0)
    config.repetition_penalty = 1.0
    config.do_sample = False
    config.temperature, config.top_p, config.top_k, config.min_p = 1.0, 1.0, 50, None
    if config.pad_token_id is None:
        eos = config.eos_token_id
        config.pad_token_id = eos[0] if isinstance(eos, list) else eos
    return config, penalty


def _eos_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    return list(eos) if isinstance(eos, (list, tuple)) else [eos]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
