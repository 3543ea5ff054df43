"""Inspection: from an operator's file to the evidence and the evidence's own verdict.

`inputs` validates and decodes the file; `patch_scorer` turns images into patch features and scores a
query's patches against references; `class_threshold` keeps each class's threshold current (leave-one-out
over its normal references); `evidence` gathers one inspection's evidence (references, rules, map, score);
`text_map` adds the class's text-conditioned map and fuses it with the few-shot map (`text_spaces` looks up
the configured provider, `clad_provider` is the one over the embedded encoders, `class_texts` the normal and
abnormal texts compared); `class_guess` names the likely class; `evidence_verdict` writes the verdict when no model is configured;
`follow_up` answers follow-up questions from the evidence (where, which rule, compare); `modal_inputs` renders
point clouds and time series (`assistant.modalities`) against their class's profile into the image pipeline.

May import: retrieval, assistant.config, assistant.home, assistant.verdict, assistant.workspace, assistant.modalities.
"""
