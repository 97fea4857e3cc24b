"""Fixtures of the scaled-deployment tests: clusters, tiny media."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mediagen import make_video
from tests.scale import services as svc
from tests.scale.cluster import Cluster


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds, 160x120: the flows here test distribution, not media."""
    return make_video(
        tmp_path_factory.mktemp("scale-media") / "tiny.mp4", duration=2, width=160, height=120
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped after the test."""
    svc.require_services()
    name = svc.create_database()
    yield svc.database_url(name)
    svc.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each store: a SQLite file, then a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vodflow.db'}"
        return
    svc.require_services()
    name = svc.create_database()
    yield svc.database_url(name)
    svc.drop_database(name)


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[object]:
    """Start clusters with `make_cluster(replicas=.., workers=.., env={..})`; all stopped after."""
    started: list[Cluster] = []

    def make(**kwargs: object) -> Cluster:
        c = Cluster(tmp_path / f"cluster{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(c)
        return c.start()

    yield make
    for c in started:
        c.stop()
