"""Training data for SCT: sources (x, T(x), T′(x) columns), the two views per ``data.augmentation``, the paper's
data (``paper-nli``, :mod:`.paper_data`) and its back-translation (:mod:`.backtranslation`), and the tokenised,
cached pair dataset. ``python -m sct.data``: ``backtranslate`` and ``preview``."""

from sct.data.augment import AUGMENTATIONS, augmentation_params, delete_one_word, make_views, resolve_augmentation
from sct.data.sources import TextPairs, load_texts
from sct.data.tokenized import PairDataset, collate_pairs, load_pairs, prepare_pairs
from sct.storage import cache_root

__all__ = [
    "AUGMENTATIONS",
    "PairDataset",
    "TextPairs",
    "augmentation_params",
    "cache_root",
    "collate_pairs",
    "delete_one_word",
    "load_pairs",
    "load_texts",
    "make_views",
    "prepare_pairs",
    "resolve_augmentation",
]
