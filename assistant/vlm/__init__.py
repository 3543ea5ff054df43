"""Local vision-language model backends behind one protocol (`backend.Backend`).

Importing this package (or `messages`, `backend`, `preset`, `model_check`) imports neither torch nor
transformers; the transformers backend imports them when a model is loaded.

May import: retrieval.
"""
