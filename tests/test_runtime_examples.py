"""The example apps' own test suites under the runtime monitor: the shop's tests confirm its
seeded findings, and the reports service shows the stalls static analysis cannot see and none
for the offloaded variant."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from async_pitfalls_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCHEMA = json.loads((ROOT / "schemas" / "runtime-report.schema.json").read_text("utf-8"))

# (file of the shop, text on the line, code): what the shop's tests make stall on purpose
SHOP_CONFIRMED = [
    ("shop/main.py", "time.sleep(0.1)", "APL101"),
    ("shop/routers/auth.py", "hashed_password=hash_password(credentials.password)", "APL206"),
    ("shop/routers/auth.py", "user = authenticate_user(", "APL206"),
    ("shop/routers/auth.py", "slow_down_failed_login()", "APL201"),
    ("shop/routers/checkout.py", "receipt = gateway.charge(", "APL202"),
    ("shop/routers/products.py", "return db.query(Product)", "APL104"),
    ("shop/routers/products.py", 'with open(Path("catalogue.json"))', "APL103"),
    ("shop/routers/products.py", "audit_log.get(timeout=5)", "APL107"),
    ("shop/routers/products.py", "image.thumbnail((size, size))", "APL106"),
    ("shop/routers/products.py", '"available": stock_level(product_id)', "APL207"),
    ("shop/routers/orders.py", "pdf = render_pdf(page)", "APL205"),
    ("shop/routers/orders.py", "subprocess.run([*LABEL_PRINTER", "APL105"),
    ("shop/routers/shipping.py", "response = requests.get(", "APL102"),
]
# (file, text, code): seeded findings the tests reach, with calls too quick to stall the loop
SHOP_NOT_EXERCISED = [
    ("shop/deps.py", "user = db.get(User, x_user_id)", "APL104"),
    ("shop/routers/orders.py", "page = write_invoice(order)", "APL203"),
    ("shop/routers/orders.py", "pdf = find_invoice(order.id)", "APL208"),
    ("shop/routers/products.py", "if not source.exists():", "APL108"),
]


def _line(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _monitored_run(example: str, report: Path) -> dict[str, object]:
    """The example's tests under the monitor, as a user runs them from the repository."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"examples/{example}/tests",
            "-n",
            "0",  # the monitor watches the event loops of this process, not of xdist workers
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::DeprecationWarning",
            "--apl-monitor",
            f"--apl-report={report}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "event-loop stall" in result.stdout
    document = json.loads(report.read_text(encoding="utf-8"))
    Draft202012Validator(SCHEMA).validate(document)
    return document


def _check(*args: str) -> tuple[int, str]:
    stdout = io.StringIO()
    status = main(["check", "--no-cache", *args], stdout=stdout, stderr=io.StringIO())
    return status, stdout.getvalue()


@pytest.fixture(scope="module")
def shop_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("shop") / "stalls.json"
    _monitored_run("shop", report)
    return report


@pytest.mark.slow
def test_the_shops_tests_confirm_its_seeded_findings(shop_report: Path) -> None:
    document = json.loads(shop_report.read_text(encoding="utf-8"))
    stalls = document["stalls"]
    assert isinstance(stalls, list)
    confirmed = {
        (stall["finding"]["path"], stall["finding"]["line"], stall["finding"]["code"])
        for stall in stalls
        if stall["finding"]
    }
    shop = EXAMPLES / "shop"
    for file, text, code in SHOP_CONFIRMED:
        expected = (f"examples/shop/{file}", _line(shop / file, text), code)
        assert expected in confirmed, (expected, sorted(confirmed))
    tests = {stall["test"].rsplit("::", 1)[-1] for stall in stalls}
    assert "test_register_threaded" not in tests  # a plain def route runs in the threadpool
    assert "test_list_orders" not in tests  # a plain def route, with the order query in a helper
    assert "test_tracking_awaits_the_carrier" not in tests  # a shared httpx.AsyncClient, awaited
    checkout = next(stall for stall in stalls if stall["route"] == "POST /checkout/")
    assert checkout["frame"]["function"] == "PaymentGateway.charge"
    assert checkout["library_call"] == "requests.sessions.Session.post"
    assert checkout["thread"] == "MainThread"  # httpx's AsyncClient: the test's own loop


@pytest.mark.slow
def test_check_annotates_the_shops_findings(
    shop_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    _, out = _check("--format", "json", "--runtime-report", str(shop_report), "examples/shop")
    document = json.loads(out)
    statuses = {
        (finding["path"], finding["line"], finding["code"]): finding.get("runtime", {}).get(
            "status"
        )
        for finding in document["findings"]
    }
    for file, text, code in SHOP_CONFIRMED:
        key = (f"examples/shop/{file}", _line(EXAMPLES / "shop" / file, text), code)
        assert statuses[key] == "confirmed"
    for file, text, code in SHOP_NOT_EXERCISED:  # quick with the tests' data
        key = (f"examples/shop/{file}", _line(EXAMPLES / "shop" / file, text), code)
        assert statuses[key] == "not_exercised"
    assert {status for key, status in statuses.items() if key[2] == "APL303"} == {None}


@pytest.mark.slow
def test_the_reports_service_stalls_where_no_finding_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    status, out = _check("examples/reports")
    assert (status, out) == (0, "")  # static analysis sees nothing here
    report = tmp_path / "stalls.json"
    document = _monitored_run("reports", report)
    stalls = document["stalls"]
    assert isinstance(stalls, list)
    places = {
        stall["test"].rsplit("::", 1)[-1]: (
            stall["frame"]["path"],
            stall["frame"]["function"],
            stall["library_call"],
            stall["finding"],
        )
        for stall in stalls
    }
    assert places == {
        # a name loaded dynamically: the exporter module the route imports by name
        "test_signed_export": (
            "examples/reports/reports/exporters/signed.py",
            "render",
            "hashlib.pbkdf2_hmac",
            None,
        ),
        # a compiled module the knowledge base does not list
        "test_archive[asyncio-archive]": (
            "examples/reports/reports/main.py",
            "archive",
            "zlib.compress",
            None,
        ),
        # and nothing for test_archive[asyncio-archive-offloaded]: asyncio.to_thread
    }
    _, text = _check("--runtime-report", str(report), "examples/reports")
    assert "event-loop stalls no finding explains" in text
    assert "examples/reports/reports/exporters/signed.py:" in text
    assert "in archive → zlib.compress" in text
