"""The shop's tests run against a real SQLite file, real bcrypt, local stand-ins for the
payments provider, the carrier and the warehouse (slow HTTP services on the loopback interface)
and for wkhtmltopdf and lp (slow commands), in a scratch folder: the app opens `shop.db`,
`media/`, `invoices/` and `catalogue.json` relative to the working folder."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import uuid4

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the shop package

PROVIDER_DELAY = 0.3  # seconds each stand-in (services, commands) takes to answer


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


class _SlowService(BaseHTTPRequestHandler):
    """Answers every request after PROVIDER_DELAY with the JSON its server's `answer` returns."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length)) if length else {}
        time.sleep(PROVIDER_DELAY)
        body = json.dumps(self.server.answer(self.path, request)).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _slow_service(answer: Callable[[str, dict], object]) -> Iterator[str]:
    """A service on the loopback interface that takes PROVIDER_DELAY to answer: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowService)
    server.answer = answer  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-ins listen on the loopback interface: no proxy from the environment for them."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture
def payments_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The payments provider: charges every card."""
    from shop.services import payments

    def charge(path: str, request: dict) -> object:
        return {"id": "ch_1", "amount": request["amount"]}

    with _slow_service(charge) as base:
        url = f"{base}/v1/charges"
        monkeypatch.setattr(payments, "PAYMENTS_URL", url)
        monkeypatch.setattr(payments.gateway.session, "trust_env", False)  # no proxy for loopback
        yield url


@pytest.fixture
def carrier(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The parcel carrier: one flat rate, and every parcel in transit."""
    from shop.routers import shipping

    def answer(path: str, request: dict) -> object:
        if path.startswith("/rates"):
            return {"service": "standard", "price_cents": 495}
        return {"parcel": path.rsplit("/", 1)[-1], "status": "in transit"}

    with _slow_service(answer) as base:
        monkeypatch.setattr(shipping, "CARRIER_URL", base)
        yield base


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The warehouse: twelve of everything."""
    from shop.services import stock

    def answer(path: str, request: dict) -> object:
        return {"sku": path.rsplit("/", 1)[-1], "available": 12}

    with _slow_service(answer) as base:
        monkeypatch.setattr(stock, "WAREHOUSE_URL", base)
        yield base


@pytest.fixture
def order(user) -> object:
    from shop.crud import save_order
    from shop.database import SessionLocal

    with SessionLocal() as db:
        placed = save_order(db, user.id, 2599, f"ch_{uuid4().hex[:8]}")
        db.expunge(placed)
        return placed


def _stand_in(script: str) -> list[str]:
    """A command line running `script` in this Python, for a tool the tests do not install."""
    return [sys.executable, "-c", script]


@pytest.fixture
def slow_pdf_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    """wkhtmltopdf's stand-in: takes PROVIDER_DELAY, then copies the page to the PDF."""
    from shop.services import invoices

    script = (
        f"import shutil, sys, time; time.sleep({PROVIDER_DELAY}); shutil.copyfile(*sys.argv[-2:])"
    )
    monkeypatch.setattr(invoices, "PDF_CONVERTER", _stand_in(script))


@pytest.fixture
def label_printer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """lp's stand-in: takes PROVIDER_DELAY, then writes the label it was sent to a file."""
    from shop.routers import orders

    printed = tmp_path / "label.txt"
    script = (
        f"import pathlib, sys, time; time.sleep({PROVIDER_DELAY}); "
        f"pathlib.Path({str(printed)!r}).write_text(sys.stdin.read())"
    )
    monkeypatch.setattr(orders, "LABEL_PRINTER", _stand_in(script))
    return printed
