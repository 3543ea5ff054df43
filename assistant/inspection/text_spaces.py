"""Which patch <-> text space a class's text map uses: `retrieval.text_map.provider`, looked up here.

Providers register a factory by name (`provider("clad")`); `text_space_for` returns the class's space
(a `retrieval.text_space.PatchTextSpace`), or None when the text map is off. A factory may train or load
on first use and keep what it built on the workspace; it raises the usual one-line errors
(`MissingWeights` for a checkpoint that is not there, `ConfigError` for a bad setting).
"""

from __future__ import annotations

from collections.abc import Callable

from retrieval.errors import ConfigError

Factory = Callable[[object, str], object]     # (workspace, class name) -> PatchTextSpace
PROVIDERS: dict[str, Factory] = {}


def provider(name: str) -> Callable[[Factory], Factory]:
    """Decorator: register `factory(workspace, class_name)` as the text-map provider `name`."""
    def register(factory: Factory) -> Factory:
        PROVIDERS[name] = factory
        return factory
    return register


def text_space_for(workspace, class_name: str):
    """The class's patch <-> text space, or None when `retrieval.text_map.provider` is "none"."""
    name = workspace.config.retrieval.text_map.provider
    if name == "none":
        return None
    if name not in PROVIDERS:
        raise ConfigError(f"text_map.provider: {name!r} is not available in this installation; "
                          f"set retrieval.text_map.provider: none")
    return PROVIDERS[name](workspace, class_name)


# the providers register themselves by name; imported after `provider` exists
from assistant.inspection import clad_provider, clip_provider  # noqa: E402,F401
