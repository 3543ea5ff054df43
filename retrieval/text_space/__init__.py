"""Patches and texts in one space: a region of an image can be compared with a description of it.

`space` holds the contract every provider meets (`PatchTextSpace`) and the map arithmetic that only needs
that contract: the two-state (normal / abnormal) patch probability of WinCLIP / APRIL-GAN and NAND's
suppression A' = A * (1 - A_sup). Providers: a local open_clip checkpoint, and CLAD projection heads
trained per class over the embedded EfficientNet-Lite0 and all-MiniLM-L6-v2 encoders (`clad`: heads, loss,
training; `synthetic`: the anomalies it trains on; `clad_store`: the trained heads on disk with provenance).
"""
