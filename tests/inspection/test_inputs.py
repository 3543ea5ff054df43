"""Every way an image can be bad gets one clear line; unusual but valid encodings convert faithfully."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from assistant.config import InputConfig
from assistant.inspection.inputs import load_image
from retrieval.errors import BadInput


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path, limits=InputConfig()) -> str:
    with pytest.raises(BadInput) as info:
        load_image(path, limits)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_zero_byte_file(tmp_path):
    assert "empty (0 bytes)" in _refused(_write(tmp_path, "empty.png", b""))


def test_truncated_png(tmp_path):
    data = _png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    assert "truncated or corrupt" in _refused(_write(tmp_path, "cut.png", data[: len(data) // 2]))


def test_non_image(tmp_path):
    assert "not an image" in _refused(_write(tmp_path, "notes.png", b"hello, this is text\n" * 10))


def test_mislabelled_file_names_the_real_format(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, format="JPEG")
    message = _refused(_write(tmp_path, "photo.png", buffer.getvalue()))
    assert "holds JPEG data" in message and ".jpg" in message


def test_missing_file_and_folder(tmp_path):
    assert "does not exist" in _refused(tmp_path / "nope.png")
    assert "is a folder" in _refused(tmp_path)


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb as far as the header goes)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [30_000, 100_000])
def test_decompression_bomb_says_too_large_and_which_limit(tmp_path, side):
    message = _refused(_write(tmp_path, "bomb.png", _bomb_png(side, side)))
    assert "too large" in message and "inputs.max_pixels" in message and "not an image" not in message


def test_decoded_memory_limit_is_judged_from_the_header(tmp_path):
    path = _write(tmp_path, "wide.png", _bomb_png(4000, 4000))          # 16 M pixels, under max_pixels
    message = _refused(path, InputConfig(max_decoded_bytes=50_000_000))
    assert "too large" in message and "inputs.max_decoded_bytes" in message


def test_a_large_cheap_png_decodes_reduced_fast_and_small(tmp_path):
    import time

    path = tmp_path / "big1bit.png"
    Image.new("1", (6300, 6300)).save(path, optimize=True)              # ~5 KB, 39.7 M pixels
    start = time.perf_counter()
    loaded = load_image(path)
    seconds = time.perf_counter() - start
    assert max(loaded.size) <= 2 * InputConfig().work_side and loaded.source_size == (6300, 6300)
    assert seconds < 10, seconds


def test_a_large_jpeg_is_decoded_by_its_draft(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (5000, 3000), (120, 80, 40)).save(path, quality=90)
    loaded = load_image(path, InputConfig(work_side=1000))
    assert max(loaded.size) <= 2000 and loaded.source_size == (5000, 3000) and loaded.source_format == "JPEG"


def test_gif_is_read_by_inspect_and_ingest_alike(tmp_path):
    from assistant.records.ingestion import images_in

    path = tmp_path / "part.gif"
    Image.new("P", (32, 32), 3).save(path)
    assert load_image(path).image.mode == "RGB" and path in images_in(tmp_path)


def test_an_inspection_past_its_time_limit_stops_with_one_line():
    from assistant.inspection.time_limit import TimeLimit

    limit = TimeLimit(0.001, "part.png")
    limit.start -= 1
    with pytest.raises(BadInput, match=r"part.png took .* over inputs.max_seconds = 0.001"):
        limit.check("decoding")


def test_pixel_limit_from_config(tmp_path):
    path = _write(tmp_path, "big.png", _png(Image.new("RGB", (200, 100))))
    assert "over the limit of 10000" in _refused(path, InputConfig(max_pixels=10_000))


def test_16_bit_is_scaled_not_clipped(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    path = _write(tmp_path, "deep.png", _png(Image.fromarray(ramp)))
    loaded = load_image(path)
    pixels = np.asarray(loaded.image)
    assert loaded.source_mode.startswith("I") and loaded.image.mode == "RGB"
    assert pixels.min() == 0 and pixels.max() == 255
    assert 100 < pixels[32, 32, 0] < 155          # the middle of the ramp stays mid-grey, not white


def test_cmyk_palette_rgba_and_grayscale_become_rgb(tmp_path):
    buffer = io.BytesIO()
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(buffer, format="JPEG")
    cmyk = load_image(_write(tmp_path, "cmyk.jpg", buffer.getvalue()))
    assert cmyk.source_mode == "CMYK" and np.asarray(cmyk.image)[0, 0, 0] > 200   # red stays red

    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 16, 32))
    out = np.asarray(load_image(_write(tmp_path, "alpha.png", _png(rgba))).image)
    assert tuple(out[5, 5]) == (0, 0, 255) and tuple(out[5, 25]) == (255, 255, 255)  # transparent -> white

    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    assert tuple(np.asarray(load_image(_write(tmp_path, "pal.png", _png(palette))).image)[0, 0]) == (0, 200, 0)

    gray = load_image(_write(tmp_path, "gray.png", _png(Image.new("L", (32, 32), 77))))
    assert gray.image.mode == "RGB" and tuple(np.asarray(gray.image)[0, 0]) == (77, 77, 77)


def test_sha256_is_of_the_file_bytes(tmp_path):
    import hashlib

    data = _png(Image.new("RGB", (16, 16), "blue"))
    assert load_image(_write(tmp_path, "a.png", data)).sha256 == hashlib.sha256(data).hexdigest()
