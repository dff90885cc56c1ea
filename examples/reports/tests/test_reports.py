import hashlib
import hmac
import zlib

import httpx
import pytest
from starlette.testclient import TestClient

from reports.data import REPORTS
from reports.exporters.signed import ITERATIONS
from reports.main import app


@pytest.fixture
def client():
    with TestClient(app) as test_client:
        yield test_client


def test_hexdump_export(client) -> None:
    response = client.get("/reports/sales/export")
    assert response.text.startswith(REPORTS["sales"][:16].hex(" ", 16))


def test_signed_export(client) -> None:
    response = client.get("/reports/stock/export", params={"format": "signed"})
    data = REPORTS["stock"]
    key = hashlib.pbkdf2_hmac("sha256", b"export-secret", data[:16], ITERATIONS)
    assert response.content[:32] == hmac.new(key, data, "sha256").digest()


def test_unknown_format(client) -> None:
    assert client.get("/reports/sales/export", params={"format": "pdf"}).status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["archive", "archive-offloaded"])
async def test_archive(route: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://reports") as http:
        response = await http.get(f"/reports/sales/{route}")
    assert zlib.decompress(response.content) == REPORTS["sales"]
