"""Inspection: from an operator's file to the evidence and the evidence's own verdict.

`inputs` validates and decodes the file; `patch_scorer` turns images into patch features and scores a
query's patches against references; `class_threshold` keeps each class's threshold current (leave-one-out
over its normal references); `evidence` gathers one inspection's evidence (references, rules, map, score);
`class_guess` names the likely class; `evidence_verdict` writes the verdict when no model is configured;
`follow_up` answers follow-up questions from the evidence (where, which rule, compare).

May import: retrieval, assistant.config, assistant.home, assistant.verdict, assistant.workspace.
"""
