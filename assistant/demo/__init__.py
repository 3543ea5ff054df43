"""Demo parts: real ELPV solar cells and scikit-image textures, with synthetic defects of known masks.

`demo_parts` lists the demo's references and held-out cases; `synthetic_defect` paints scratches,
stains, cuts and missing patches on normal images (also used by the benchmarks and the tests).

May import: retrieval.
"""
