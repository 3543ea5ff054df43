"""The "clad" text-map provider: a class's CLAD heads over the embedded encoders, trained when it is recalibrated.

`retrieval.text_map.provider: clad` works on a fresh machine with no CLIP weights. A class's heads
(`retrieval/text_space/clad.py`) train on patches of its normal references (paired with its normal
texts) and of synthetic anomalies painted on them (each paired with the texts of its own kind: "a stain
on a brick", `defect_kinds`, so a normality added by text can name one kind), and are stored under
HOME/text_heads with their provenance (`clad_store`). They are trained again when that provenance
changes: another encoder or its weights, references added or removed, rules edited, another recipe or
other kind texts. Within a process
the built space is kept per workspace and class while the class's store version and texts are the
same, so an inspection pays neither the digest nor the load.
"""

from __future__ import annotations

import logging
import time
import weakref

import numpy as np

from assistant.inspection.class_texts import StateTexts, class_words, state_texts
from assistant.inspection.patch_scorer import PatchScorer
from assistant.inspection.text_spaces import provider
from retrieval.patch_features import FEATURES_VERSION
from retrieval.text_space import clad, defect_kinds, synthetic
from retrieval.text_space.clad_store import HeadStore, provenance_digest, text_digest

SETTINGS = clad.CladSettings()
MAX_REFERENCES = 12            # references a class trains on (a seeded choice): seconds, not minutes
ANOMALIES_PER_REFERENCE = 2
BATCH = 8                      # images per encoder call while featurizing the synthetic anomalies
log = logging.getLogger(__name__)
_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # workspace -> {class: (key, space)}


@provider("clad")
def clad_space(workspace, class_name: str, progress=None) -> clad.CladSpace:
    """The class's CLAD space: kept, loaded from HOME/text_heads, or trained (and stored) when stale.
    progress(step, steps, loss): told how training goes (default: the log)."""
    texts = state_texts(workspace, class_name)
    key = (workspace.references.fingerprint(class_name), texts)
    built = _BUILT.setdefault(workspace, {})
    if class_name not in built or built[class_name][0] != key:
        built[class_name] = (key, _build(workspace, class_name, texts, progress))
    return built[class_name][1]


def provenance(workspace, class_name: str, texts: StateTexts) -> dict:
    """Everything the class's heads depend on (its digest names them)."""
    neighbourhood = workspace.config.retrieval.map.neighbourhood
    return {"recipe": clad.CLAD_VERSION, "settings": SETTINGS.to_dict(),
            "sampling": {"references": MAX_REFERENCES, "anomalies_per_reference": ANOMALIES_PER_REFERENCE,
                         "kinds": list(synthetic.ANOMALY_KINDS)},
            "kind_texts": text_digest(t for group in defect_kinds.kind_texts(class_words(class_name)).values()
                                      for t in group),
            "image_encoder": workspace.encoder.id, "features": f"{FEATURES_VERSION}-n{neighbourhood}",
            "text_encoder": workspace.text_encoder.id,
            "references": text_digest(workspace.references.shas(class_name)),
            "normal_texts": text_digest(texts.normal), "abnormal_texts": text_digest(texts.abnormal)}


def _build(workspace, class_name: str, texts: StateTexts, progress) -> clad.CladSpace:
    record = provenance(workspace, class_name, texts)
    digest = provenance_digest(record)
    store = HeadStore(workspace.home.text_heads)
    heads = store.load(class_name, digest)
    scorer = PatchScorer(workspace)
    if heads is None:
        start = time.perf_counter()
        trained = train_heads(workspace, scorer, class_name, texts, progress)
        store.save(class_name, trained.heads, record, {"first_loss": trained.first_loss, "last_loss": trained.last_loss,
                                                       "seconds": round(time.perf_counter() - start, 3),
                                                       "steps_seconds": round(trained.seconds, 3)})
        heads = trained.heads
    return clad.CladSpace(heads, lambda image: scorer.featurize([image])[0][0].numpy(),
                          workspace.text_encoder.encode, f"clad:{digest}")


def train_heads(workspace, scorer: PatchScorer, class_name: str, texts: StateTexts, progress=None) -> clad.Trained:
    """Train the class's heads on (a seeded choice of) its references and anomalies painted on them."""
    references = workspace.references.of_class(class_name)
    rng = np.random.default_rng(SETTINGS.seed)
    chosen = sorted(rng.choice(len(references), min(MAX_REFERENCES, len(references)), replace=False))
    references = [references[i] for i in chosen]
    normal = [scorer.query_features(r) for r in references]
    side = workspace.encoder.image_size           # painted at the encoder's input size: it resizes to it anyway
    images = [np.asarray(scorer.copy_of(r).image.convert("RGB").resize((side, side))) for r in references]
    painted = synthetic.anomalies_of(images, ANOMALIES_PER_REFERENCE, SETTINGS.seed)
    from PIL import Image

    features = []
    for start in range(0, len(painted), BATCH):
        batch = [Image.fromarray(image) for image, _ in painted[start:start + BATCH]]
        features += list(scorer.featurize(batch)[0].numpy())
    cells = [clad.grid_states(mask, normal[0].shape[1:]) for _, mask in painted]
    encode = workspace.text_encoder.encode
    kinds = [synthetic.ANOMALY_KINDS.index(k) for k in synthetic.kinds_in_turn(len(painted))]
    pairs = clad.assemble(normal, list(zip(features, cells)), encode(list(texts.normal)), encode(list(texts.abnormal)),
                          kinds, _kind_text(class_name, encode))
    trained = clad.train(pairs, SETTINGS, progress or _logged(class_name))
    log.info("text heads of %s: loss %.3f -> %.3f in %.1f s", class_name, trained.first_loss, trained.last_loss,
             trained.seconds)
    return trained


def _kind_text(class_name: str, encode) -> tuple[np.ndarray, list[int]]:
    """(L, T) sentence features of the texts of each synthetic anomaly kind, and the kind of each."""
    texts = defect_kinds.kind_texts(class_words(class_name))
    flat = [(synthetic.ANOMALY_KINDS.index(kind), text) for kind, group in texts.items() for text in group]
    return encode([text for _, text in flat]), [kind for kind, _ in flat]


def _logged(class_name: str):
    return lambda step, steps, loss: log.info("training the text heads of %s: step %d/%d, loss %.3f",
                                              class_name, step, steps, loss)
