"""CLAD: small projection heads that put the product's own patch and text features in one space.

A fresh machine has no CLIP weights, but it has EfficientNet-Lite0 patch features (the aggregated grid
the few-shot map uses) and all-MiniLM-L6-v2 sentence features (the rules' encoder). Per class, a visual
head (2-layer MLP) and a text head (linear) map both into a `dim`-d unit sphere, trained with CLAD's
contrastive alignment loss

    1/N sum_i [||z_v^i - z_t^i||^2 - alpha]_+  +  1/N sum_i sum_{j != i} max(0, beta - ||z_v^i - z_t^j||^2)

where each patch i is paired with a text of its own state (normal patches of the references with the
class's normality texts, synthetic-anomaly patches with its defect texts or the texts of their own kind:
"a stain on a brick") and j runs over the texts of the other state and, for an anomaly of a known kind,
the texts of the other kinds (a patch is never pushed from a text that describes it as well, and a kind
stays apart from the others, so an added normality can name one) — plus lambda times a
reconstruction term: a decoder maps z_v back to the (standardised) visual feature, so the space keeps the
features' detail and does not collapse to a two-point classifier. Batches draw normal and abnormal
patches in equal numbers (defect masks are small). Training is seeded and runs on the CPU in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CLAD_VERSION = "clad-2"      # the training recipe: heads trained by another recipe are retrained


@dataclass(frozen=True)
class CladSettings:
    """dim: width of the shared space; alpha / beta: the pull and push margins on squared distances of
    unit vectors (range 0..4); reconstruction: lambda; steps, batch, lr: Adam's schedule; seed: all draws;
    kind_share: how often an anomaly of a known kind is paired with a text of its kind, not a generic one
    (1.0 measured best on the textures, for the text map alone and for NAND: README, "NAND on the textures")."""

    dim: int = 128
    hidden: int = 256
    alpha: float = 0.2
    beta: float = 1.0
    reconstruction: float = 0.1
    steps: int = 150
    batch: int = 512
    lr: float = 2e-3
    seed: int = 0
    kind_share: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PairedPatches:
    """What one class trains on: (P, C) patch features and their states (0 normal, 1 abnormal), and
    (K, T) text features and theirs. Both states must be present on both sides. visual_kinds (P,) /
    text_kinds (K,): the defect kind of an abnormal patch or text (0, 1, ...), -1 for none (normal ones,
    the class's generic defect texts); None: no kinds at all."""

    visual: torch.Tensor
    visual_states: torch.Tensor
    text: torch.Tensor
    text_states: torch.Tensor
    visual_kinds: torch.Tensor | None = None
    text_kinds: torch.Tensor | None = None

    def __post_init__(self):
        for name, states in (("patches", self.visual_states), ("texts", self.text_states)):
            if set(states.unique().tolist()) != {0, 1}:
                raise ValueError(f"CLAD needs normal and abnormal {name}; got states {states.unique().tolist()}")
        if self.visual_kinds is None:
            self.visual_kinds = torch.full_like(self.visual_states, -1)
        if self.text_kinds is None:
            self.text_kinds = torch.full_like(self.text_states, -1)


class CladHeads(nn.Module):
    """Visual head, text head and the decoder of the reconstruction term; the visual standardisation
    (mean and std of the training patches per channel) travels with the weights."""

    def __init__(self, visual_dim: int, text_dim: int, dim: int = 128, hidden: int = 256):
        super().__init__()
        self.dims = {"visual_dim": visual_dim, "text_dim": text_dim, "dim": dim, "hidden": hidden}
        self.visual = nn.Sequential(nn.Linear(visual_dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.text = nn.Linear(text_dim, dim)
        self.decoder = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, visual_dim))
        self.register_buffer("mean", torch.zeros(visual_dim))
        self.register_buffer("std", torch.ones(visual_dim))

    def standardise(self, visual: torch.Tensor) -> torch.Tensor:
        return (visual - self.mean) / self.std

    def embed_visual(self, visual: torch.Tensor) -> torch.Tensor:
        """(..., C) patch features -> (..., dim) unit vectors."""
        return F.normalize(self.visual(self.standardise(visual.float())), dim=-1)

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        """(N, T) sentence features -> (N, dim) unit vectors."""
        return F.normalize(self.text(text.float()), dim=-1)


def clad_loss(heads: CladHeads, visual: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
              text: torch.Tensor, settings: CladSettings) -> torch.Tensor:
    """visual (B, C); positive (B,) index of each patch's paired text; negative (B, K) bool, the texts of
    the other state; text (K, T). The CLAD loss above plus lambda * the reconstruction error."""
    z_v, z_t = heads.embed_visual(visual), heads.embed_text(text)
    distance = (z_v[:, None, :] - z_t[None, :, :]).pow(2).sum(-1)              # (B, K)
    pull = (distance.gather(1, positive[:, None])[:, 0] - settings.alpha).clamp(min=0).mean()
    push = ((settings.beta - distance).clamp(min=0) * negative).sum(1).mean()
    rebuilt = F.mse_loss(heads.decoder(z_v), heads.standardise(visual))
    return pull + push + settings.reconstruction * rebuilt


def _draw(pairs: PairedPatches, size: int, generator: torch.Generator, kind_share: float = 0.0):
    """A batch of half normal, half abnormal patches, each paired with a random text of its state that has
    no kind or, with probability `kind_share`, with one of its own kind (where it has one and there are
    any); its negatives are the texts of the other state and those of the other kinds."""
    picks = []
    for state in (0, 1):
        pool = torch.nonzero(pairs.visual_states == state)[:, 0]
        picks.append(pool[torch.randint(len(pool), (size // 2,), generator=generator)])
    rows = torch.cat(picks)
    states, kinds = pairs.visual_states[rows], pairs.visual_kinds[rows]
    positive = torch.empty_like(rows)
    for state, kind in sorted(set(zip(states.tolist(), kinds.tolist()))):
        chosen = torch.nonzero((states == state) & (kinds == kind))[:, 0]
        own = torch.nonzero((pairs.text_states == state) & (pairs.text_kinds == kind))[:, 0]
        generic = torch.nonzero((pairs.text_states == state) & (pairs.text_kinds < 0))[:, 0]
        generic = generic if len(generic) else torch.nonzero(pairs.text_states == state)[:, 0]   # all have kinds
        positive[chosen] = generic[torch.randint(len(generic), (len(chosen),), generator=generator)]
        if kind >= 0 and len(own):
            mine = chosen[torch.rand(len(chosen), generator=generator) < kind_share]
            positive[mine] = own[torch.randint(len(own), (len(mine),), generator=generator)]
    text_kinds = pairs.text_kinds[None, :]
    other_kind = (text_kinds >= 0) & (kinds[:, None] >= 0) & (text_kinds != kinds[:, None])
    negative = (pairs.text_states[None, :] != states[:, None]) | other_kind
    return pairs.visual[rows], positive, negative


@dataclass
class Trained:
    heads: CladHeads
    first_loss: float      # on one fixed held batch, before training
    last_loss: float       # on the same batch, after
    seconds: float


Progress = Callable[[int, int, float], None]      # (step, steps, loss)


def train(pairs: PairedPatches, settings: CladSettings = CladSettings(), progress: Progress | None = None) -> Trained:
    """Train a class's heads on its paired patches and texts (deterministic for a given seed). One
    thread: heads this small gain nothing from more, and on a shared machine extra threads only spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(pairs, settings, progress)
    finally:
        torch.set_num_threads(threads)


def _train(pairs: PairedPatches, settings: CladSettings, progress: Progress | None) -> Trained:
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    heads = CladHeads(pairs.visual.shape[1], pairs.text.shape[1], settings.dim, settings.hidden)
    normal = pairs.visual[pairs.visual_states == 0]
    heads.mean.copy_(normal.mean(0))
    heads.std.copy_(normal.std(0).clamp(min=1e-6))
    held = _draw(pairs, settings.batch, generator, settings.kind_share)
    first = _held_loss(heads, held, pairs, settings)
    optimiser = torch.optim.Adam(heads.parameters(), lr=settings.lr)
    report = max(1, settings.steps // 10)
    for step in range(1, settings.steps + 1):
        loss = clad_loss(heads, *_draw(pairs, settings.batch, generator, settings.kind_share), pairs.text, settings)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if progress is not None and (step % report == 0 or step == settings.steps):
            progress(step, settings.steps, loss.item())
    heads.eval()
    return Trained(heads, first, _held_loss(heads, held, pairs, settings), time.perf_counter() - start)


def _held_loss(heads: CladHeads, held, pairs: PairedPatches, settings: CladSettings) -> float:
    with torch.no_grad():
        return float(clad_loss(heads, *held, pairs.text, settings))


def grid_states(mask: np.ndarray, grid: tuple[int, int], share: float = 0.3) -> np.ndarray:
    """(H, W) bool defect mask -> (h, w) bool: the grid cells at least `share` covered by the defect
    (the encoder resizes the whole image to its square input, so cells map onto the image evenly)."""
    from PIL import Image

    cover = Image.fromarray(mask.astype(np.float32)).resize(grid[::-1], Image.BOX)
    return np.asarray(cover) >= share


def assemble(normal: Sequence[np.ndarray], anomalous: Sequence[tuple[np.ndarray, np.ndarray]],
             normal_text: np.ndarray, abnormal_text: np.ndarray, kinds: Sequence[int] | None = None,
             kind_text: tuple[np.ndarray, Sequence[int]] | None = None) -> PairedPatches:
    """Training pairs of a class: every patch of its normal references' (C, H, W) features (state 0), the
    defect cells of its synthetic anomalies ((C, H, W) features, (h, w) bool cell mask; state 1), and the
    (N, T) / (M, T) sentence features of its normal and abnormal texts. kinds: each anomaly's kind
    (0, 1, ...); kind_text: (L, T) sentence features of texts of those kinds, and the kind of each."""
    normal_rows = [np.asarray(f).reshape(f.shape[0], -1).T for f in normal]
    abnormal_rows = [np.asarray(f).reshape(f.shape[0], -1).T[np.asarray(cells).ravel()] for f, cells in anomalous]
    visual = np.concatenate(normal_rows + abnormal_rows)
    counts = (sum(len(r) for r in normal_rows), sum(len(r) for r in abnormal_rows))
    states = np.repeat([0, 1], counts)
    kind_features, text_kind = kind_text if kind_text is not None else (np.zeros((0, normal_text.shape[1])), [])
    visual_kinds = np.full(len(states), -1)
    if kinds is not None:
        visual_kinds[counts[0]:] = np.repeat(np.asarray(kinds, int), [len(r) for r in abnormal_rows])
    text = np.concatenate([normal_text, abnormal_text, kind_features])
    text_states = np.repeat([0, 1, 1], (len(normal_text), len(abnormal_text), len(kind_features)))
    text_kinds = np.concatenate([np.full(len(normal_text) + len(abnormal_text), -1), np.asarray(text_kind, int)])
    as_long = lambda a: torch.from_numpy(np.asarray(a, np.int64))      # noqa: E731
    return PairedPatches(torch.from_numpy(visual.astype(np.float32)), as_long(states),
                         torch.from_numpy(text.astype(np.float32)), as_long(text_states),
                         as_long(visual_kinds), as_long(text_kinds))


class CladSpace:
    """A class's trained heads as a `PatchTextSpace`. `featurize`: PIL image -> (C, H, W) aggregated
    patch features (the few-shot map's own); `encode_texts`: texts -> (N, T) sentence features."""

    def __init__(self, heads: CladHeads, featurize, encode_texts, space_id: str):
        self.heads = heads
        self.featurize = featurize
        self.encode_texts = encode_texts
        self.id = space_id
        self._texts: dict[tuple[str, ...], torch.Tensor] = {}

    def from_features(self, features) -> torch.Tensor:
        """(C, H, W) patch features already computed for the few-shot map -> (H, W, dim) unit vectors
        (an inspection encodes its query once)."""
        features = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        with torch.no_grad():
            return self.heads.embed_visual(features.permute(1, 2, 0))

    def patch_embeddings(self, image) -> torch.Tensor:
        return self.from_features(self.featurize(image))

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """Remembered per text list: the state texts of a class are asked for on every inspection."""
        key = tuple(texts)
        if key not in self._texts:
            with torch.no_grad():
                self._texts[key] = self.heads.embed_text(torch.as_tensor(self.encode_texts(list(texts))))
        return self._texts[key]
