"""Synonym views (Table 4, "synonym replacement"): one word per sentence swapped for a WordNet synonym.

WordNet is read with nltk's ``WordNetCorpusReader`` (nltk imported lazily: ``pip install nltk``) from, in
order: ``data.wordnet_dir``; ``/usr/share/wordnet`` (Debian/Ubuntu ``wordnet-base``); nltk's data path
(``python -m nltk.downloader wordnet``). Debian's dict layout (``data.noun``, ``index.noun``, ``noun.exc``,
...) lacks nltk's ``lexnames`` file, so the reader here supplies WordNet 3.0's fixed lexicographer-file
list (lexnames(5WN)) when the file is absent, and skips nltk's OMW version mapping (not used here). The
chosen directory is added to ``nltk.data.path``, which nltk's path sandbox requires before it reads it.

Per sentence: the words are the alphabetic tokens (hyphens/apostrophes inside), minus a short list of
function words; those with at least one synonym other than themselves (and their base form) are the
candidates; one candidate is drawn uniformly, then one of its sorted synonyms (multi-word lemmas joined by
spaces); case of a capitalised word is kept. Punctuation and spacing stay untouched. A sentence without a
candidate stays as it is. Two uniform draws per sentence from one seeded generator: deterministic.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DEBIAN_WORDNET = "/usr/share/wordnet"
_NLTK_PREFIX = "nltk:"
_REQUIRED = ("index.noun", "data.noun", "index.verb", "data.verb", "index.adj", "data.adj")
_HOW_TO_GET = (
    "install WordNet with `apt-get install wordnet-base` (dict at /usr/share/wordnet) or "
    "`python -m nltk.downloader wordnet`, or point data.wordnet_dir at a WordNet dict directory"
)
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}  # the third lexnames column: syntactic category
_LEXNAMES_FILE = "".join(f"{i:02d} {name} {_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAMES))
_STOPWORDS = frozenset(
    "a an the and or but nor so yet if then else than as of at by for from in into on onto to up down out "
    "off over under with without about above below after before between through during is am are was were "
    "be been being do does did done have has had having will would shall should can could may might must "
    "i me my mine we us our ours you your yours he him his she her hers it its they them their theirs this "
    "that these those there here who whom whose which what when where why how not no all any both each few "
    "more most other some such only own same too very just also s t don't can't won't isn't aren't".split()
)
_WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")


def _is_wordnet_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in _REQUIRED)


def find_wordnet_dir(wordnet_dir: str | None = None) -> str:
    """The WordNet to use: ``wordnet_dir``, else Debian's, else ``"nltk:<path>"`` from nltk's data path."""
    if wordnet_dir is not None:
        path = Path(wordnet_dir).expanduser()
        if not _is_wordnet_dir(path):
            raise FileNotFoundError(
                f"data.wordnet_dir={wordnet_dir!r} is not a WordNet dict directory (needs "
                f"{', '.join(_REQUIRED)}); {_HOW_TO_GET}"
            )
        return str(path.resolve())
    if _is_wordnet_dir(Path(DEBIAN_WORDNET)):
        return DEBIAN_WORDNET
    try:
        import nltk

        found = nltk.data.find("corpora/wordnet")
    except ImportError as err:
        raise FileNotFoundError(
            f"WordNet not found and nltk is not installed (pip install nltk); {_HOW_TO_GET}"
        ) from err
    except LookupError as err:
        raise FileNotFoundError(
            f"WordNet not found at {DEBIAN_WORDNET} nor on nltk's data path; {_HOW_TO_GET}"
        ) from err
    return _NLTK_PREFIX + str(getattr(found, "path", found))


@functools.lru_cache(maxsize=4)
def open_wordnet(directory: str) -> Any:
    """An nltk WordNet reader over ``directory`` (a result of :func:`find_wordnet_dir`), cached."""
    try:
        import nltk
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as err:
        raise ImportError(f"synonym views need nltk: pip install nltk (or sct[lexical]); {_HOW_TO_GET}") from err

    class _DictReader(WordNetCorpusReader):
        """Accepts dict dirs without ``lexnames`` (Debian) and skips the OMW version mapping."""

        def open(self, file: str) -> Any:
            if file == "lexnames" and not Path(str(getattr(self._root, "path", self._root)), file).exists():
                return io.StringIO(_LEXNAMES_FILE)
            return super().open(file)

        def map_wn(self, version: str = "wordnet") -> None:
            return None

    if directory.startswith(_NLTK_PREFIX):
        root: Any = nltk.data.find("corpora/wordnet")
    else:
        root = directory
        if directory not in nltk.data.path:
            nltk.data.path.append(directory)  # nltk's sandbox only reads registered data roots
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*multilingual functions.*")
        return _DictReader(root, None)


class _Synonyms:
    """Synonym lists per lower-cased word, memoised (each distinct word is looked up once)."""

    def __init__(self, wordnet: Any) -> None:
        self.wordnet = wordnet
        self.memo: dict[str, tuple[str, ...]] = {}

    def __call__(self, word: str) -> tuple[str, ...]:
        key = word.lower()
        if key not in self.memo:
            if key in _STOPWORDS or len(key) < 2:
                self.memo[key] = ()
            else:
                bases = {key} | {self.wordnet.morphy(key) or key}
                names = {
                    lemma.replace("_", " ") for synset in self.wordnet.synsets(key) for lemma in synset.lemma_names()
                }
                self.memo[key] = tuple(sorted(name for name in names if name.lower() not in bases))
        return self.memo[key]


def _match_case(original: str, synonym: str) -> str:
    if len(original) > 1 and original.isupper():
        return synonym.upper()
    if original[:1].isupper():
        return synonym[:1].upper() + synonym[1:]
    return synonym


def replace_synonyms(texts: list[str], wordnet: Any, seed: int) -> list[str]:
    """One word per sentence replaced by a synonym from ``wordnet`` (an nltk WordNet reader)."""
    synonyms = _Synonyms(wordnet)
    draws = np.random.default_rng(seed).random((len(texts), 2))  # (n, 2): which word, which synonym
    out: list[str] = []
    for text, (pick_word, pick_synonym) in zip(texts, draws, strict=True):
        candidates = [m for m in _WORD.finditer(text) if synonyms(m.group())]
        if not candidates:
            out.append(text)
            continue
        match = candidates[min(int(pick_word * len(candidates)), len(candidates) - 1)]
        options = synonyms(match.group())
        choice = options[min(int(pick_synonym * len(options)), len(options) - 1)]
        out.append(text[: match.start()] + _match_case(match.group(), choice) + text[match.end() :])
    return out


def synonym_views(texts: list[str], *, wordnet_dir: str | None = None, seed: int = 0) -> list[str]:
    """Second views of ``texts`` by WordNet synonym replacement (WordNet located by :func:`find_wordnet_dir`)."""
    return replace_synonyms(texts, open_wordnet(find_wordnet_dir(wordnet_dir)), seed)
