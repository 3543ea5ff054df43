"""Per-request inspection options: which evidence goes to the model, and how it is drawn.

A front end (the browser chat) lets the operator switch evidence on and off for one inspection. The
switches become an `InspectOptions`, passed into `Inspector` calls; the shared configuration is never
mutated — `apply(config)` returns a copy (`dataclasses.replace`) for this one call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from assistant.reasoning.prompt_builder import STRATEGIES, Strategy
from retrieval.errors import BadInput
from retrieval.overlay import STYLES


@dataclass(frozen=True)
class InspectOptions:
    """class_context: name the product class. rules: retrieve the class's rules (prompt and evidence).
    reference_images: how many of the retrieved references the model is shown (0 = none; the anomaly map
    always uses all k). overlay: show the model the anomaly overlay, drawn in `overlay_style`."""

    class_context: bool = True
    rules: bool = True
    reference_images: int = 2
    overlay: bool = True
    overlay_style: str = "heatmap"

    def __post_init__(self):
        if self.overlay_style not in STYLES:
            raise BadInput(f"overlay style {self.overlay_style!r} is not one of {', '.join(STYLES)}")
        if not 0 <= self.reference_images <= 16:
            raise BadInput(f"reference images must be between 0 and 16, got {self.reference_images}")

    @classmethod
    def from_config(cls, config) -> InspectOptions:
        """The options equivalent to the configured strategy, reference count and overlay style."""
        named = STRATEGIES.get(config.vlm.strategy, STRATEGIES["overlay"])
        return cls(class_context=named.class_context, rules=named.rules,
                   reference_images=config.vlm.reference_images if named.references else 0,
                   overlay=named.overlay, overlay_style=config.vlm.overlay_style)

    @classmethod
    def from_dict(cls, data: dict) -> InspectOptions:
        """Back from `to_dict()` (as logged with an inspection); the derived strategy name is ignored."""
        return cls(**{key: value for key, value in data.items() if key != "strategy"})

    @property
    def strategy_name(self) -> str:
        """The paper's strategy name when the switches match one, else `custom-` plus the switches."""
        for name, known in STRATEGIES.items():
            if _switches(known) == self._switches():
                return name
        flags = "".join(f"{key}{int(on)}" for key, on in zip("crfo", self._switches()))
        return f"custom-{flags}"

    def strategy(self) -> Strategy:
        class_context, rules, references, overlay = self._switches()
        return Strategy(self.strategy_name, class_context=class_context, rules=rules,
                        references=references, overlay=overlay)

    def apply(self, config):
        """A copy of `config` with this request's model settings (the shared config is untouched)."""
        return replace(config, vlm=self.apply_vlm(config.vlm))

    def apply_vlm(self, vlm):
        """A copy of the `VlmConfig` with this request's reference count, overlay style and strategy."""
        vlm = replace(vlm, reference_images=self.reference_images, overlay_style=self.overlay_style)
        return replace(vlm, strategy=self.strategy_name) if self.strategy_name in STRATEGIES else vlm

    def to_dict(self) -> dict:
        return {**asdict(self), "strategy": self.strategy_name}

    def _switches(self) -> tuple[bool, bool, bool, bool]:
        return self.class_context, self.rules, self.reference_images > 0, self.overlay


def _switches(strategy: Strategy) -> tuple[bool, bool, bool, bool]:
    return strategy.class_context, strategy.rules, strategy.references, strategy.overlay
