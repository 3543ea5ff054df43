"""The on-disk CLIP patches of the references: float16 round trip, one folder per space, damage is a miss."""

import numpy as np
import torch

from retrieval.text_space.clip_patch_cache import SPACE_FILE, ClipPatchCache

SHA = "ab" + "0" * 62


def test_patches_round_trip_in_float16_and_a_get_returns_what_the_put_did(tmp_path):
    cache = ClipPatchCache(tmp_path, "clip:ViT-B-16@0123 blocks 3,6,9,12 windows 1")
    patches = torch.nn.functional.normalize(torch.randn(14, 14, 32), dim=-1)
    assert cache.get(SHA, (14, 14, 32)) is None
    kept = cache.put(SHA, patches)
    assert torch.equal(kept, patches.half().float()) and kept.dtype == torch.float32
    assert torch.equal(cache.get(SHA, (14, 14, 32)), kept)
    assert cache.path(SHA).parent.name == "ab" and np.load(cache.path(SHA)).dtype == np.float16
    assert (cache.dir / SPACE_FILE).read_text().strip() == cache.space_id
    assert cache.get(SHA, (14, 14, 64)) is None                  # another shape: not these
    other = ClipPatchCache(tmp_path, "clip:ViT-B-16@0123 blocks 3,6,9,12 windows 1,3")
    assert other.dir != cache.dir and other.get(SHA, (14, 14, 32)) is None


def test_a_damaged_file_is_a_miss_and_the_next_put_rewrites_it(tmp_path):
    cache = ClipPatchCache(tmp_path, "clip:x")
    patches = torch.randn(2, 2, 4)
    cache.put(SHA, patches)
    for damage in (b"", b"\x93NUMPY\x01\x00garbage", cache.path(SHA).read_bytes()[:60]):
        cache.path(SHA).write_bytes(damage)
        assert cache.get(SHA, (2, 2, 4)) is None
    np.save(cache.path(SHA), np.full((2, 2, 4), np.inf, np.float16))
    assert cache.get(SHA, (2, 2, 4)) is None
    np.save(cache.path(SHA), np.zeros((2, 2, 4), np.float32))     # not what a put writes
    assert cache.get(SHA, (2, 2, 4)) is None
    cache.put(SHA, patches)
    assert torch.equal(cache.get(SHA, (2, 2, 4)), patches.half().float())


def test_without_a_folder_nothing_is_kept(tmp_path):
    cache = ClipPatchCache(None, "clip:x")
    assert torch.equal(cache.put(SHA, torch.ones(1, 1, 2)), torch.ones(1, 1, 2))
    assert cache.get(SHA, (1, 1, 2)) is None and cache.path(SHA) is None
