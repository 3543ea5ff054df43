"""Modalities other than still images, turned into 2D evidence the image pipeline inspects unchanged.

`rendering` holds the contract (`Modality`, `Rendered`) and the registry by file extension; each modality
module (point clouds, time series, video) reads its files, builds a class profile from the class's normal
references (a fixed view, axes, a normal band) and renders any file of the class the same way, with a
`location` that maps a box on the render back to the modality (3D box, time range, frame timestamps).
`contact_sheet` lays out the sheet of captioned tiles a model is shown beside the render (a video's frames).

May import: retrieval, assistant.config.
"""
