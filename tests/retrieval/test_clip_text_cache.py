"""The on-disk CLIP text features: a round trip keeps texts and features; a damaged file is a miss."""

import torch

from retrieval.text_space import clip_text_cache


def test_text_features_round_trip_and_damage_is_a_miss(tmp_path):
    path = clip_text_cache.cache_file(tmp_path, "open_clip:ViT-B-16@0123456789ab")
    assert path.name == "ViT-B-16@0123456789ab.text.npz" and path.parent == tmp_path
    assert clip_text_cache.load(path, 8) == {}
    features = {"a photo of a brick.": torch.randn(8), "ünïcode brick ✓": torch.randn(8)}
    clip_text_cache.save(path, features)
    loaded = clip_text_cache.load(path, 8)
    assert list(loaded) == list(features)
    assert all(torch.equal(loaded[t], features[t]) for t in features)
    assert clip_text_cache.load(path, 16) == {}                 # another checkpoint size: not these
    path.write_bytes(path.read_bytes()[:40])
    assert clip_text_cache.load(path, 8) == {}
