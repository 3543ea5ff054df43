"""Normalcy's use cases, behind one door: `inspector.Inspector`.

An inspection starts in `Inspector.inspect` (inspector.py). Its evidence is gathered in `inspection/`
(input decoded, references retrieved, anomaly map scored against the class threshold); the model is
asked in `reasoning/` (prompt, answer parser, fused score, conversation) over a backend from `vlm/`; the
record is written in `records/` (run log, history, references, rules). `evaluation/` runs labelled
datasets through an Inspector; `demo/` supplies demo parts. At the top: the facade (`inspector.py`) and
the contracts every layer shares — `config.py`, `home.py` (the data folder), `workspace.py` (its open
stores and encoders), `inspect_options.py` (per-request switches), `verdict.py` (the output schema).

May import: retrieval. `ui/` imports only the top-level modules named in `FACADE` (tests/test_layering.py).
"""
