"""Invoices: an HTML page per order, turned into a PDF by wkhtmltopdf."""

import os
import subprocess
from pathlib import Path

from shop.models import Order

INVOICES_ROOT = Path("invoices")
PDF_CONVERTER = ["wkhtmltopdf", "--quiet", "--page-size", "A4"]

TEMPLATE = """<!doctype html>
<html><body>
<h1>Invoice {number}</h1>
<p>Order {order_id}, charge {charge_id}</p>
<p>Total: {euros}.{cents:02d} EUR</p>
</body></html>
"""


def write_invoice(order: Order) -> Path:
    INVOICES_ROOT.mkdir(exist_ok=True)
    page = INVOICES_ROOT / f"{order.id}.html"
    page.write_text(
        TEMPLATE.format(
            number=f"INV-{order.id:06d}",
            order_id=order.id,
            charge_id=order.charge_id,
            euros=order.amount_cents // 100,
            cents=order.amount_cents % 100,
        ),
        encoding="utf-8",
    )
    return page


def render_pdf(page: Path) -> Path:
    pdf = page.with_suffix(".pdf")
    subprocess.run([*PDF_CONVERTER, str(page), str(pdf)], check=True, timeout=60)
    return pdf


def find_invoice(order_id: int) -> str | None:
    pdf = os.path.join(INVOICES_ROOT, f"{order_id}.pdf")
    return pdf if os.path.isfile(pdf) else None
