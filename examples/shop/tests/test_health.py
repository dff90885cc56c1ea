import httpx
import pytest

from shop.main import app


@pytest.mark.anyio
async def test_health_reports_ok_with_the_elapsed_time() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        response = await http.get("/health")
    assert response.json() == {"status": "ok"}
    assert float(response.headers["X-Elapsed"]) >= 0.1
