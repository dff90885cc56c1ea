def _as(user) -> dict[str, str]:
    return {"x-user-id": str(user.id)}


def test_list_orders(client, user, order) -> None:
    response = client.get("/orders/", headers=_as(user))
    assert response.json() == [{"id": order.id, "amount_cents": 2599, "charge_id": order.charge_id}]


def test_an_order_is_only_shown_to_its_customer(client, user, order) -> None:
    assert client.get(f"/orders/{order.id}", headers=_as(user)).json()["id"] == order.id
    assert client.get(f"/orders/{order.id}", headers={"x-user-id": "0"}).status_code == 401
    assert client.get(f"/orders/{order.id + 1000}", headers=_as(user)).status_code == 404


def test_invoice_is_rendered_then_downloaded(client, user, order, slow_pdf_converter) -> None:
    invoice = f"/orders/{order.id}/invoice"
    assert client.get(invoice, headers=_as(user)).status_code == 404
    rendered = client.post(invoice, headers=_as(user))
    assert rendered.json() == {"invoice": f"{order.id}.pdf"}
    downloaded = client.get(invoice, headers=_as(user))
    assert downloaded.headers["content-type"] == "application/pdf"
    assert f"INV-{order.id:06d}" in downloaded.text
    assert "25.99 EUR" in downloaded.text


def test_shipping_label_goes_to_the_printer(client, user, order, label_printer) -> None:
    response = client.post(f"/orders/{order.id}/label", headers=_as(user))
    assert response.json() == {"printed": f"order-{order.id}"}
    assert label_printer.read_text() == f"ORDER {order.id}\nCHARGE {order.charge_id}\n"
