"""Training data for SCT: sources, the second view (augmentation), and the tokenised, cached pair dataset."""

from sct.data.augment import AUGMENTATIONS, augmentation_params, delete_one_word, make_views, resolve_augmentation
from sct.data.sources import TextPairs, load_texts
from sct.data.tokenized import PairDataset, cache_root, collate_pairs, load_pairs, prepare_pairs

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
