"""The bundled example app, examples/shop: the README's quick start runs the check on it, so it
must show every rule that is on by default, each at a known place, and its README lists them."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"

# (file, line, column, code): everything `async-pitfalls-lint check examples/shop` reports, with
# the shop's own configuration (the default rules plus APL3).
SHOP_FINDINGS = [
    ("shop/deps.py", 14, 1, "APL303"),
    ("shop/deps.py", 15, 12, "APL104"),
    ("shop/main.py", 13, 5, "APL104"),
    ("shop/main.py", 34, 1, "APL303"),
    ("shop/main.py", 35, 5, "APL101"),
    ("shop/routers/auth.py", 17, 1, "APL303"),
    ("shop/routers/auth.py", 18, 58, "APL206"),
    ("shop/routers/auth.py", 20, 5, "APL104"),
    ("shop/routers/auth.py", 25, 1, "APL303"),
    ("shop/routers/auth.py", 26, 12, "APL206"),
    ("shop/routers/auth.py", 28, 9, "APL201"),
    ("shop/routers/checkout.py", 13, 12, "APL304"),
    ("shop/routers/checkout.py", 19, 15, "APL202"),
    ("shop/routers/checkout.py", 20, 13, "APL204"),
    ("shop/routers/orders.py", 34, 1, "APL303"),
    ("shop/routers/orders.py", 35, 12, "APL203"),
    ("shop/routers/orders.py", 36, 11, "APL205"),
    ("shop/routers/orders.py", 41, 1, "APL303"),
    ("shop/routers/orders.py", 42, 11, "APL208"),
    ("shop/routers/orders.py", 49, 1, "APL303"),
    ("shop/routers/orders.py", 51, 5, "APL105"),
    ("shop/routers/products.py", 21, 1, "APL303"),
    ("shop/routers/products.py", 22, 12, "APL104"),
    ("shop/routers/products.py", 30, 5, "APL103"),
    ("shop/routers/products.py", 30, 24, "APL103"),
    ("shop/routers/products.py", 32, 5, "APL302"),
    ("shop/routers/products.py", 38, 1, "APL303"),
    ("shop/routers/products.py", 39, 10, "APL103"),
    ("shop/routers/products.py", 40, 16, "APL103"),
    ("shop/routers/products.py", 44, 1, "APL303"),
    ("shop/routers/products.py", 45, 22, "APL107"),
    ("shop/routers/products.py", 49, 1, "APL303"),
    ("shop/routers/products.py", 51, 12, "APL108"),
    ("shop/routers/products.py", 54, 9, "APL106"),
    ("shop/routers/products.py", 56, 9, "APL106"),
    ("shop/routers/products.py", 61, 1, "APL303"),
    ("shop/routers/products.py", 62, 52, "APL207"),
    ("shop/routers/shipping.py", 13, 1, "APL303"),
    ("shop/routers/shipping.py", 14, 16, "APL102"),
]
README_ROW = re.compile(
    r"^\| `(?P<file>shop/[^`:]+):(?P<line>\d+):(?P<column>\d+)` \| (?P<code>APL\d{3}) \|"
)


@pytest.fixture(scope="module")
def shop_findings() -> list[tuple[str, int, int, str]]:
    """The README's quick start: `async-pitfalls-lint check examples/shop` from the checkout."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(ROOT)
        status = main(
            ["check", "--no-cache", "--format", "json", "examples/shop"],
            stdout=stdout,
            stderr=stderr,
        )
    assert status == 1, stderr.getvalue()
    document = json.loads(stdout.getvalue())
    assert document["problems"] == []
    return [
        (
            finding["path"].removeprefix("examples/shop/"),
            finding["line"],
            finding["column"],
            finding["code"],
        )
        for finding in document["findings"]
    ]


def test_the_shop_reports_its_seeded_findings_exactly(
    shop_findings: list[tuple[str, int, int, str]],
) -> None:
    assert sorted(shop_findings) == sorted(SHOP_FINDINGS)


def test_the_shop_shows_every_default_rule(shop_findings: list[tuple[str, int, int, str]]) -> None:
    # APL900 (a file that could not be analysed) is the one default code the example cannot
    # show: the app must stay importable.
    defaults = {
        rule.code for rule in load_catalog().rules if rule.default and rule.family != "diagnostic"
    }
    assert {"APL101", "APL108", "APL201", "APL208"} <= defaults
    reported = {code for _, _, _, code in shop_findings}
    assert sorted(defaults - reported) == []


def test_the_shops_readme_lists_every_finding(
    shop_findings: list[tuple[str, int, int, str]],
) -> None:
    rows = [README_ROW.match(line) for line in (SHOP / "README.md").read_text("utf-8").splitlines()]
    listed = [
        (row["file"], int(row["line"]), int(row["column"]), row["code"]) for row in rows if row
    ]
    assert sorted(listed) == sorted(shop_findings)
    quick_start = (ROOT / "README.md").read_text("utf-8")
    assert f"{len(shop_findings)} findings in all" in quick_start
