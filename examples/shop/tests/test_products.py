import json
import os
import sqlite3
import threading
import time
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from shop.routers.products import audit_log
from shop.services import images

DELAY = 0.3


def test_products_wait_for_a_migration_holding_the_database(client, workdir: Path) -> None:
    migration = sqlite3.connect(workdir / "shop.db", isolation_level=None, check_same_thread=False)
    migration.execute("BEGIN EXCLUSIVE")
    migration.execute("INSERT INTO products (name, image) VALUES ('desk lamp', '')")
    commit = threading.Timer(DELAY, migration.execute, ["COMMIT"])
    commit.start()
    try:
        response = client.get("/products/")
    finally:
        commit.join()
        migration.close()
    assert "desk lamp" in [product["name"] for product in response.json()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a named pipe stands for a slow mount")
def test_catalogue_read_from_a_slow_mount(client, workdir: Path) -> None:
    pipe = workdir / "catalogue.json"
    os.mkfifo(pipe)

    def publish() -> None:
        time.sleep(DELAY)
        with open(pipe, "w") as handle:
            json.dump({"lamps": 3}, handle)

    writer = threading.Thread(target=publish, daemon=True)
    writer.start()
    try:
        response = client.get("/products/catalogue")
    finally:
        writer.join(timeout=10)
        pipe.unlink()
    assert response.json() == {"lamps": 3}


def test_next_audit_entry_waits_for_one(client) -> None:
    while not audit_log.empty():
        audit_log.get_nowait()
    producer = threading.Timer(DELAY, audit_log.put, ["7 uploaded media/7.png"])
    producer.start()
    response = client.get("/products/audit/next")
    producer.join()
    assert response.json() == {"entry": "7 uploaded media/7.png"}


def test_upload_image_makes_a_thumbnail(client, user, monkeypatch: pytest.MonkeyPatch) -> None:
    optimised: list[Path] = []
    monkeypatch.setattr(images, "optimise", optimised.append)  # no optipng in the tests
    photo = BytesIO()
    Image.new("RGB", (1600, 1200), "teal").save(photo, "PNG")
    response = client.post(
        "/products/7/image",
        files={"file": ("photo.png", photo.getvalue(), "image/png")},
        headers={"x-user-id": str(user.id)},
    )
    assert response.json() == {"thumbnail": "7.thumb.png"}
    assert optimised == [Path("media/7.thumb.png")]
    assert audit_log.get_nowait() == f"{user.id} uploaded media/7.png"


def test_resized_image_of_a_camera_photo(client, workdir: Path) -> None:
    Image.new("RGB", (4000, 3000), "orange").save(workdir / "media" / "8.png")
    response = client.get("/products/8/image/800")
    assert response.headers["content-type"] == "image/webp"
    with Image.open(BytesIO(response.content)) as resized:
        assert resized.size == (800, 600)
    assert client.get("/products/9/image/400").status_code == 404


def test_stock_level_asks_the_warehouse(client, warehouse: str) -> None:
    response = client.get("/products/7/stock")
    assert response.json() == {"product_id": 7, "available": 12}
