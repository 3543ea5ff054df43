"""PLY (ascii, binary little/big endian) and PCD (ascii, binary) files -> `Cloud`, parsed with numpy.

Both are a text header then a body; only the vertices' x, y, z are read (other properties and elements
skipped), a truncated body is a `BadInput`, and PCD's `binary_compressed` is refused with a hint to re-save
it as binary. An organised PCD (HEIGHT > 1) keeps its grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.modalities.point_cloud_files import Cloud, check_cap, cloud_from
from retrieval.errors import BadInput

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_PLY_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


def _header(data: bytes, end: bytes, name: str, kind: str) -> tuple[list[str], int]:
    """Header lines (decoded, stripped, comments dropped) up to and including the line starting `end`,
    and the byte offset of the body."""
    lines, offset = [], 0
    while offset < min(len(data), 1 << 20):
        stop = data.find(b"\n", offset)
        if stop < 0:
            break
        line = data[offset:stop].decode("latin-1").strip()
        offset = stop + 1
        if line and not line.startswith(("comment", "obj_info", "#")):
            lines.append(line)
            if line.split()[0] == end.decode():
                return lines, offset
    raise BadInput(f"{name}: not a {kind} file (no '{end.decode()}' header line); re-export it as {kind}")


def _count(word, name: str, kind: str) -> int:
    """A header's count (vertices, points, width...) as an int; anything else is a `BadInput`."""
    try:
        value = int(word)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise BadInput(f"{name}: the {kind} header has {word!r} where a count belongs; re-export the file")
    return value


def _ply_vertex(lines: list[str], name: str):
    """(format, vertex count, [(property, dtype or None for a list)], the elements before the vertex)."""
    if lines[0] != "ply" or len(lines[1].split()) < 2 or lines[1].split()[0] != "format":
        raise BadInput(f"{name}: not a PLY file (it must start 'ply' then 'format ...')")
    fmt = lines[1].split()[1]
    if fmt not in _PLY_FORMATS:
        raise BadInput(f"{name}: unknown PLY format {fmt!r}; use ascii or binary_little/big_endian")
    elements = []                                  # [name, count, [(property, type or None for a list)]]
    for line in lines[2:]:
        words = line.split() + ["", ""]                  # padded: a short line fails below, by name
        if words[0] == "element":
            elements.append([words[1], _count(words[2], name, "PLY"), []])
        elif words[0] == "property" and elements:
            words = line.split()
            listed = words[1:2] == ["list"]
            if not listed and (len(words) != 3 or words[1] not in _PLY_TYPES):
                raise BadInput(f"{name}: unreadable PLY property line {line!r}; re-export the file")
            elements[-1][2].append((words[-1], None if listed else _PLY_TYPES[words[1]]))
    names = [e[0] for e in elements]
    if "vertex" not in names:
        raise BadInput(f"{name}: the PLY has no 'element vertex'; export the points as vertices")
    before = elements[:names.index("vertex")]
    _, count, props = elements[names.index("vertex")]
    return fmt, count, props, before


def read_ply(path: Path) -> Cloud:
    """x, y, z of the PLY's vertices (other vertex properties and other elements ignored)."""
    data = path.read_bytes()
    lines, offset = _header(data, b"end_header", path.name, "PLY")
    fmt, count, props, before = _ply_vertex(lines, path.name)
    columns = [p for p, _ in props]
    if not {"x", "y", "z"} <= set(columns):
        raise BadInput(f"{path.name}: the PLY vertices have no x/y/z properties (they have "
                       f"{', '.join(columns) or 'none'}); export the point positions")
    check_cap(count, path.name)
    if any(t is None for _, t in props) or (fmt != "ascii" and any(t is None for e in before for _, t in e[2])):
        raise BadInput(f"{path.name}: list properties before or in the PLY vertices are not read; "
                       f"re-save it with the vertex element first (e.g. CloudCompare, Open3D write_point_cloud)")
    if fmt == "ascii":
        skip = sum(e[1] for e in before)
        body = data[offset:].decode("latin-1").split("\n")[skip:skip + count]
        rows = [line.split() for line in body if line.strip()]
        if len(rows) < count or any(len(r) < len(columns) for r in rows):
            raise BadInput(f"{path.name}: the PLY is truncated ({len(rows):,} of {count:,} vertex lines); "
                           f"re-export it")
        table = _floats([r[:len(columns)] for r in rows], path.name, "PLY").reshape(count, len(columns))
        xyz = table[:, [columns.index(c) for c in "xyz"]]
    else:
        end = _PLY_FORMATS[fmt]
        offset += sum(e[1] * np.dtype([(p, end + t) for p, t in e[2]]).itemsize for e in before)
        xyz = _binary_rows(data, offset, count, [(p, end + t) for p, t in props], path.name, "PLY")
    return cloud_from(xyz, path.name)


def _floats(words, name: str, kind: str) -> np.ndarray:
    """ASCII body words -> float64 array; a word that is not a number is a `BadInput`."""
    try:
        return np.array(words, dtype=np.float64)
    except ValueError as error:
        raise BadInput(f"{name}: the ascii {kind} body holds a non-number ({error}); re-export it") from None


def _binary_rows(data: bytes, offset: int, count: int, fields, name: str, kind: str) -> np.ndarray:
    """(count, 3) x, y, z of `count` packed records with `fields` at `offset`; truncation is a BadInput."""
    dtype = np.dtype(fields)
    if len(data) - offset < count * dtype.itemsize:
        have = max(len(data) - offset, 0) // dtype.itemsize
        raise BadInput(f"{name}: the binary {kind} is truncated ({have:,} of {count:,} points present); "
                       f"re-export it")
    table = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return np.stack([table[c].astype(np.float64) for c in "xyz"], axis=1)


def _pcd_header(lines: list[str], name: str) -> dict:
    """PCD header lines -> {key: words}; a header without x, y, z fields is a `BadInput`."""
    head = {line.split()[0].upper(): line.split()[1:] for line in lines}
    fields = head.get("FIELDS", [])
    if not {"x", "y", "z"} <= set(fields):
        raise BadInput(f"{name}: the PCD has no x/y/z fields (it has {', '.join(fields) or 'none'}); "
                       f"export the point positions")
    head.setdefault("COUNT", ["1"] * len(fields))
    head.setdefault("DATA", [""])
    kinds = [f"{t}{s}" for t, s in zip(head.get("TYPE", []), head.get("SIZE", []))]
    if any(k not in ("F4", "F8", "I1", "I2", "I4", "I8", "U1", "U2", "U4", "U8") for k in kinds):
        raise BadInput(f"{name}: the PCD header's TYPE/SIZE {kinds} are not F/I/U of 1, 2, 4 or 8 bytes; "
                       f"re-export it")
    if not (len(head.get("SIZE", [])) == len(head.get("TYPE", [])) == len(head["COUNT"]) == len(fields)):
        raise BadInput(f"{name}: the PCD header's FIELDS, SIZE, TYPE and COUNT differ in length; re-export it")
    return head


def read_pcd(path: Path) -> Cloud:
    """x, y, z of a PCD (ascii or binary); an organised one (HEIGHT > 1) keeps its grid."""
    data = path.read_bytes()
    lines, offset = _header(data, b"DATA", path.name, "PCD")
    head = _pcd_header(lines, path.name)
    fields, counts = head["FIELDS"], [_count(c, path.name, "PCD") for c in head["COUNT"]]
    width, height = (_count(head.get(key, [default])[0], path.name, "PCD") for key, default in
                     (("WIDTH", "0"), ("HEIGHT", "1")))
    points = _count(head.get("POINTS", [width * height])[0], path.name, "PCD")
    mode = head["DATA"][0].lower()
    if mode == "binary_compressed":
        raise BadInput(f"{path.name}: PCD 'binary_compressed' is not read; re-save it as binary "
                       f"(pcl_convert_pcd_ascii_binary in.pcd out.pcd 1, or Open3D with compressed=False)")
    check_cap(points, path.name)
    if mode == "ascii":
        words = data[offset:].decode("latin-1").split()
        if len(words) < points * sum(counts):
            raise BadInput(f"{path.name}: the PCD is truncated ({len(words) // max(sum(counts), 1):,} of "
                           f"{points:,} points present); re-export it")
        table = _floats(words[:points * sum(counts)], path.name, "PCD").reshape(points, sum(counts))
        starts = dict(zip(fields, np.cumsum([0, *counts[:-1]])))
        xyz = table[:, [starts[c] for c in "xyz"]]
    elif mode == "binary":
        layout = [(f if f in "xyz" else f"_{k}", f"<{t.lower()}{s}", (c,) if c > 1 else ())
                  for k, (f, s, t, c) in enumerate(zip(fields, head["SIZE"], head["TYPE"], counts))]
        xyz = _binary_rows(data, offset, points, layout, path.name, "PCD")
    else:
        raise BadInput(f"{path.name}: unknown PCD DATA {mode!r}; re-save it as ascii or binary")
    if height > 1 and width * height == points:
        xyz = xyz.reshape(height, width, 3)
    return cloud_from(xyz, path.name)
