import time
from uuid import uuid4

from shop import security


def _credentials() -> dict[str, str]:
    return {"email": f"{uuid4().hex}@example.com", "password": "correct horse"}


def test_register_then_login(client) -> None:
    credentials = _credentials()
    registered = client.post("/auth/register", json=credentials)
    assert registered.status_code == 200
    token = client.post("/auth/token", json=credentials)
    assert token.json() == {"access_token": str(registered.json()["id"])}


def test_login_rejects_a_wrong_password_slowly(client, monkeypatch) -> None:
    monkeypatch.setattr(security, "FAILED_LOGIN_DELAY", 0.3)
    credentials = _credentials()
    client.post("/auth/register-threaded", json=credentials)
    started = time.perf_counter()
    wrong = client.post("/auth/token", json={**credentials, "password": "wrong"})
    assert wrong.status_code == 400
    assert time.perf_counter() - started >= 0.3


def test_register_threaded(client) -> None:
    response = client.post("/auth/register-threaded", json=_credentials())
    assert response.status_code == 200
    assert isinstance(response.json()["id"], int)


def test_login_of_an_unknown_email_is_slowed_down_too(client, monkeypatch) -> None:
    monkeypatch.setattr(security, "FAILED_LOGIN_DELAY", 0.3)
    started = time.perf_counter()
    unknown = client.post("/auth/token", json=_credentials())
    assert unknown.status_code == 400
    assert time.perf_counter() - started >= 0.3
