"""Local vision-language model backends behind one protocol (`backend.Backend`).

Importing this package (or `messages`, `backend`, `preset`, `model_check`) imports neither torch nor
transformers; the transformers backend imports them when a model is loaded. `assistant.config` gives the
model settings (`VlmConfig`), `assistant.verdict` the schema that guided decoding enforces.

May import: retrieval, assistant.config, assistant.verdict.
"""
