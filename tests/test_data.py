"""The data layer: registry, mirror, cache, download (against a local HTTP server) and its errors."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from dataclasses import replace

import pytest

from utils import data

PAYLOAD = b"tiger\tcat\t7.35\nbook\tpaper\t7.46\n" * 500
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, int | None]] = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body, announced = self.routes.get(self.path, (None, None))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(announced if announced is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)  # when announced > len(body), the transfer ends early

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("pack/inner.txt", PAYLOAD)
    _Handler.routes = {
        "/good.txt": (PAYLOAD, None),
        "/corrupt.txt": (PAYLOAD[:-1] + b"X", None),
        "/truncated.txt": (PAYLOAD[:1000], len(PAYLOAD)),
        "/pack.zip": (zipped.getvalue(), None),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache and no mirror."""
    monkeypatch.setenv(data.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.delenv(data.MIRROR_VARIABLE, raising=False)
    return tmp_path


def _dataset(url: str, **changes) -> data.Dataset:
    base = data.Dataset(
        name="test-pairs", filename="test/pairs.txt", urls=(url,), sha256=(PAYLOAD_SHA,),
        size=len(PAYLOAD), licence="test", citation="test", description="a test file",
        mirror_path="eval/test/pairs.txt",
    )
    return replace(base, **changes)


def test_download_verifies_and_caches(server, isolated):
    path = data.fetch(_dataset(server + "/good.txt"), quiet=True)
    assert path == isolated / "cache" / "test" / "pairs.txt"
    assert path.read_bytes() == PAYLOAD
    assert not list(path.parent.glob("*.part"))
    # The second fetch uses the verified cache: no server needed.
    assert data.fetch(_dataset("http://127.0.0.1:9/unreachable"), quiet=True) == path


def test_checksum_mismatch_deletes_download(server, isolated):
    with pytest.raises(data.DataError, match="checksum mismatch.*deleted"):
        data.fetch(_dataset(server + "/corrupt.txt"), quiet=True)
    assert not any(p.is_file() for p in (isolated / "cache").rglob("*"))


def test_interrupted_transfer_leaves_nothing(server, isolated):
    with pytest.raises(data.DataError, match="interrupted"):
        data.fetch(_dataset(server + "/truncated.txt"), quiet=True)
    assert not any(p.is_file() for p in (isolated / "cache").rglob("*"))


def test_archive_member_is_extracted_and_verified(server, isolated):
    dataset = _dataset(server + "/pack.zip", archive_member="pack/inner.txt")
    assert data.fetch(dataset, quiet=True).read_bytes() == PAYLOAD
    with pytest.raises(data.DataError, match="lacks pack/missing.txt"):
        data.fetch(replace(dataset, filename="test/other.txt", archive_member="pack/missing.txt"), quiet=True)


def test_offline_error_names_dataset_url_file_and_variable(isolated):
    url = "http://127.0.0.1:9/pairs.txt"  # port 9 (discard): connection refused
    with pytest.raises(data.DataError) as error:
        data.fetch(_dataset(url), quiet=True)
    message = str(error.value)
    for expected in ("test-pairs", url, "pairs.txt", data.MIRROR_VARIABLE):
        assert expected in message


def test_dataset_without_public_download_says_where_to_put_it(isolated):
    with pytest.raises(data.DataError, match="no public download.*WV_MIRROR"):
        data.fetch("conll2003-train")


def test_mirror_is_used_first_and_verified(server, isolated, monkeypatch):
    mirror = isolated / "mirror"
    (mirror / "eval/test").mkdir(parents=True)
    (mirror / "eval/test/pairs.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv(data.MIRROR_VARIABLE, str(mirror))
    assert data.fetch(_dataset("http://127.0.0.1:9/x")) == mirror / "eval/test/pairs.txt"
    (mirror / "eval/test/pairs.txt").write_bytes(b"tampered")
    with pytest.raises(data.DataError, match="in the mirror.*sha256"):
        data.fetch(_dataset("http://127.0.0.1:9/x"))


def test_tampered_cache_is_detected_and_refetched(server, isolated):
    dataset = _dataset(server + "/good.txt")
    path = data.fetch(dataset, quiet=True)
    path.write_bytes(b"tampered")
    assert data.fetch(dataset, quiet=True).read_bytes() == PAYLOAD


def test_unpinned_file_is_pinned_on_first_download(server, isolated):
    dataset = _dataset(server + "/good.txt", sha256=())
    path = data.fetch(dataset, quiet=True)
    assert path.with_name("pairs.txt.sha256").read_text().split()[0] == PAYLOAD_SHA
    assert data.fetch(dataset, quiet=True) == path


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with data.atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_embedded_files_match_registry(isolated):
    for dataset in data.REGISTRY.values():
        if dataset.embedded:
            path = data.fetch(dataset.name)
            assert path.parent == data.EMBEDDED
            assert dataset.licence and dataset.citation


def test_embedded_readme_is_generated_from_registry():
    assert (data.EMBEDDED / "README.md").read_text(encoding="utf-8") == data.embedded_manifest()


def test_no_research_only_data_is_embedded():
    names = {p.name for p in data.EMBEDDED.iterdir()}
    assert not names & {"eng.train", "eng.testa", "eng.testb", "reuters.zip", "brown.zip", "datasetSentences.txt"}


def test_unknown_dataset_lists_registered_names():
    with pytest.raises(KeyError, match="questions-words"):
        data.fetch("no-such-set")


@pytest.mark.skipif(not data.available("reuters"), reason="needs the Reuters corpus (set WV_MIRROR)")
def test_mirror_copies_verify():
    for name in ("reuters", "gutenberg", "brown", "sst-sentences", "sst-split", "scws"):
        assert data.fetch(name).is_file()
def test_glove_50d_loads_offline_from_package():
    from utils.pretrained import load_glove_6b

    glove = load_glove_6b(50, max_words=1000)
    assert glove.vectors.shape == (1000, 50)
    assert glove.index_to_key[0] == "the"
    assert glove["the"][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])


