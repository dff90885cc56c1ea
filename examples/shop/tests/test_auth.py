from uuid import uuid4


def _credentials() -> dict[str, str]:
    return {"email": f"{uuid4().hex}@example.com", "password": "correct horse"}


def test_register_then_login(client) -> None:
    credentials = _credentials()
    registered = client.post("/auth/register", json=credentials)
    assert registered.status_code == 200
    token = client.post("/auth/token", json=credentials)
    assert token.json() == {"access_token": str(registered.json()["id"])}


def test_login_rejects_a_wrong_password(client) -> None:
    credentials = _credentials()
    client.post("/auth/register-threaded", json=credentials)
    wrong = client.post("/auth/token", json={**credentials, "password": "wrong"})
    assert wrong.status_code == 400


def test_register_threaded(client) -> None:
    response = client.post("/auth/register-threaded", json=_credentials())
    assert response.status_code == 200
    assert isinstance(response.json()["id"], int)
