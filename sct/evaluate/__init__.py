"""STS evaluation (paper §4): the seven STS sets, cosine Spearman x 100, and their average.

``python -m sct.evaluate MODEL_PATH --sts-dir DIR`` runs it from the command line (see ``__main__``).
"""

from sct.evaluate.embedding import encode_sentences
from sct.evaluate.evaluator import STSEvaluator, evaluate_encoder, score_tasks, spearman_cosine
from sct.evaluate.hub_sources import HUB_SOURCES, SENTEVAL_PAIRS
from sct.evaluate.sts_data import SENTEVAL_SUBSETS, STSPairs, load_task

__all__ = [
    "HUB_SOURCES",
    "SENTEVAL_PAIRS",
    "SENTEVAL_SUBSETS",
    "STSEvaluator",
    "STSPairs",
    "encode_sentences",
    "evaluate_encoder",
    "load_task",
    "score_tasks",
    "spearman_cosine",
]
