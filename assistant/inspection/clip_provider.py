"""Text-map provider "clip": the patch <-> text space of a local open_clip checkpoint.

`retrieval.text_map: {provider: clip, path: FOLDER_OR_FILE, arch: ViT-B-16}` — a folder holding
`open_clip_config.json` and its weights, or a weights file with `arch`. The space is the same for every
class (the class enters through its prompts), so it is loaded once per checkpoint and kept on the
workspace; a checkpoint that is not there is `MissingWeights`, one line saying what to put where. Its text
features are kept beside the home's cached patch features (when the home exists and is writable), so
a class's prompts are embedded once per home.
"""

from __future__ import annotations

from assistant.inspection.text_spaces import provider

CACHE = "_clip_text_spaces"      # workspace attribute: {(path, arch): ClipTextSpace}


@provider("clip")
def clip_text_space(workspace, class_name: str):
    """The workspace's ClipTextSpace for `retrieval.text_map` (loaded on first use)."""
    from retrieval.text_space.clip_space import ClipTextSpace

    settings = workspace.config.retrieval.text_map
    spaces = vars(workspace).setdefault(CACHE, {})
    key = (settings.path, settings.arch)
    if key not in spaces:
        home = workspace.home
        cache = home.features if home.root.is_dir() and home.writable() else None
        spaces[key] = ClipTextSpace(settings.path, settings.arch, cache=cache)
    return spaces[key]
