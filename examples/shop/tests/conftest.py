"""The shop's tests run against a real SQLite file, real bcrypt and a local payments provider,
in a scratch folder: the app opens `shop.db`, `media/` and `catalogue.json` relative to the
working folder."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import uuid4

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the shop package

PROVIDER_DELAY = 0.3  # seconds the payments provider takes to answer


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports the app: SQLAlchemy fixes the database file's absolute
    # path when shop.database is imported.
    scratch = Path(tempfile.mkdtemp(prefix="shop-tests-"))
    (scratch / "media").mkdir()
    config.stash[_FOLDERS] = (os.getcwd(), scratch)
    os.chdir(scratch)


def pytest_unconfigure(config: pytest.Config) -> None:
    previous, scratch = config.stash[_FOLDERS]
    os.chdir(previous)
    shutil.rmtree(scratch, ignore_errors=True)


_FOLDERS = pytest.StashKey[tuple[str, Path]]()


@pytest.fixture(scope="session", autouse=True)
def workdir() -> Iterator[Path]:
    from shop.database import engine
    from shop.models import Base

    Base.metadata.create_all(bind=engine)
    yield Path.cwd()
    engine.dispose()


@pytest.fixture
def client() -> Iterator[TestClient]:
    from shop.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def user() -> object:
    from shop.database import SessionLocal
    from shop.models import User

    with SessionLocal() as db:
        customer = User(email=f"{uuid4().hex}@example.com", hashed_password="!")
        db.add(customer)
        db.commit()
        db.refresh(customer)
        db.expunge(customer)
        return customer


class _SlowProvider(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        charge = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(PROVIDER_DELAY)
        body = json.dumps({"id": "ch_1", "amount": charge["amount"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def payments_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A payments provider on the loopback interface that takes PROVIDER_DELAY to answer."""
    from shop.services import payments

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowProvider)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/v1/charges"
    monkeypatch.setattr(payments, "PAYMENTS_URL", url)
    monkeypatch.setattr(payments.gateway.session, "trust_env", False)  # no proxy for loopback
    yield url
    server.shutdown()
    server.server_close()
