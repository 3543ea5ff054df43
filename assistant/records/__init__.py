"""Records: what Normalcy keeps and changes on disk for an operator.

`ingestion` adds normal references to the store; `accepted_normal` adds one inspected image as normal
(accept-as-normal); `rule_book` edits the operator's expert rules; `normality_book` adds and removes
normalities described by text (NAND); `run_log` appends every inspection
and turn (images by sha256); `inspection_history` reads them back for History and reopening;
`home_doctor` says what in the home is damaged and rebuilds what can be rebuilt (`normalcy doctor`).

May import: retrieval, assistant.inspection, assistant.config, assistant.home, assistant.verdict,
assistant.workspace.
"""
