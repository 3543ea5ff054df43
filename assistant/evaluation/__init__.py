"""Evaluation: labelled datasets through an Inspector, metrics and the data of a report.

`dataset` reads the layouts (mvtec, visa, folder, json); `plan` names the strategies and samples;
`reference_home` ingests the training normals into an eval-private home; `harness` runs the plan
(evidence once per image, one verdict per strategy) with `result_cache` making it resumable; `metrics`
and `pixel_metrics` score it; `kept_maps` keeps score maps for pixel metrics; `results` builds
metrics.json; `worst_cases` renders the worst cases; `normality_protocol` runs NAND's protocol (a defect
group re-labelled normal by text, AUROC before/after). The Inspector it drives is handed in, not built here.

May import: retrieval, assistant.inspection, assistant.reasoning, assistant.records, assistant.demo,
assistant.config, assistant.home, assistant.verdict, assistant.workspace.
"""
