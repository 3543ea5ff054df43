"""Air-gap switches: set before any heavy library is imported, so nothing tries the network.

Hub libraries (transformers, huggingface_hub, sentence-transformers), Chroma and Gradio each have
their own telemetry or download path; these variables turn all of them off.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",        # `transformers serve` asks PyPI for updates otherwise
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    """Force the offline settings (overriding anything the environment had)."""
    os.environ.update(OFFLINE_ENV)


enforce_offline()
