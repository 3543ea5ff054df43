"""The model side of one request made with `InspectOptions`.

It is the shared `ModelReasoner` seen through this request's options: the prompt uses the options'
strategy (any combination of the switches, not only the named ones), reference count and overlay style;
the backend and the calibration of P(anomalous) are the shared ones. Nothing shared is mutated.
"""

from __future__ import annotations

from assistant.reasoning.model_reasoner import ModelReasoner


class ConfiguredWorkspace:
    """A workspace with another configuration: the config is this one, everything else is the shared one."""

    def __init__(self, workspace, config):
        self._workspace = workspace
        self.config = config

    def __getattr__(self, name):
        return getattr(self._workspace, name)


class OptionReasoner(ModelReasoner):
    def __init__(self, base: ModelReasoner, options):
        self.backend = base.backend
        self.ws = ConfiguredWorkspace(base.ws, options.apply(base.ws.config))
        self.calibrator = base.calibrator
        self.options = options

    def session(self, evidence, question: str | None, strategy_name: str | None):
        """The options' strategy decides (a strategy name given by the caller wins over the switches)."""
        from assistant.reasoning.prompt_builder import strategy

        chosen = strategy(strategy_name) if strategy_name else self.options.strategy()
        return self.new_session(evidence, question, chosen), chosen
