"""Shared fixtures: the bundled sample data, the bundled alias table, an offline hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# No model hub here, nor in CI: every model comes from a local path or a fixture.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
    from augment_core.aliases import load_alias_table

    return load_alias_table(tags_json)
