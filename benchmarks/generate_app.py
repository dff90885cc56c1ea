"""Generate a realistic, deterministic FastAPI application for the benchmark.

    python benchmarks/generate_app.py --seed 1 --modules 1000 --out benchmarks/.corpus/apps/app-1000

The same seed and size always give byte-identical files. The layout is the one most FastAPI
services use, so the cross-module analysis (routes -> dependencies -> services -> repositories
-> helpers) is exercised at scale:

    pyproject.toml
    app/__init__.py  main.py  config.py  db.py  deps.py  security.py
    app/models/<domain>.py        SQLAlchemy declarative models
    app/schemas/<domain>.py       pydantic models
    app/repositories/<domain>.py  repositories over a *sync* SQLAlchemy Session
    app/services/<domain>.py      service classes (some call helpers)
    app/routers/<domain>.py       APIRouter with async and sync routes and dependencies
    app/helpers/<name>.py         helpers calling requests, passlib, open(), plus pure functions

Most code is clean: sync routes (FastAPI runs them in a thread pool), async routes that await
httpx or offload with run_in_threadpool, pure helpers. A seeded minority of async routes and
dependencies block the event loop, some directly (requests.get, time.sleep, open) and some
behind a project helper or a service -> repository -> Session chain, so the analyser has real
findings to report. `--modules` counts every .py file written, exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

NOUNS = (
    "invoice", "customer", "order", "product", "shipment", "payment", "account", "ticket",
    "project", "report", "subscription", "coupon", "warehouse", "supplier", "employee", "team",
    "comment", "review", "article", "category", "tag", "event", "booking", "room", "vehicle",
    "route", "device", "sensor", "alert", "policy", "claim", "contract", "lead", "campaign",
    "message", "channel", "document", "folder", "asset", "license",
)  # fmt: skip
FIELDS = (
    ("title", "String(200)", "str", '""'),
    ("description", "Text", "str | None", "None"),
    ("status", "String(32)", "str", '"new"'),
    ("amount", "Numeric(12, 2)", "float", "0.0"),
    ("quantity", "Integer", "int", "0"),
    ("email", "String(320)", "str | None", "None"),
    ("is_active", "Boolean", "bool", "True"),
    ("priority", "Integer", "int", "1"),
    ("code", "String(64)", "str", '""'),
    ("notes", "Text", "str | None", "None"),
    ("score", "Float", "float", "0.0"),
    ("external_id", "String(64)", "str | None", "None"),
)
FIXED_MODULES = (
    "app/__init__.py", "app/main.py", "app/config.py", "app/db.py", "app/deps.py",
    "app/security.py", "app/models/__init__.py", "app/schemas/__init__.py",
    "app/repositories/__init__.py", "app/services/__init__.py", "app/routers/__init__.py",
    "app/helpers/__init__.py",
)  # fmt: skip
PER_DOMAIN = 5  # model, schema, repository, service, router


def plan_counts(modules: int) -> tuple[int, int]:
    """(domains, helper modules) so that fixed + 5 * domains + helpers == modules."""
    budget = modules - len(FIXED_MODULES)
    if budget < PER_DOMAIN + 1:
        raise SystemExit(f"--modules must be at least {len(FIXED_MODULES) + PER_DOMAIN + 1}")
    domains = 1
    while PER_DOMAIN * (domains + 1) + max(1, (domains + 1) // 4) <= budget:
        domains += 1
    return domains, budget - PER_DOMAIN * domains


@dataclass
class Domain:
    index: int
    noun: str
    name: str  # module name, e.g. invoice_12
    cls: str  # class stem, e.g. Invoice12
    fields: list[tuple[str, str, str, str]]
    helper: str  # helper module used by the service
    parent: Domain | None = None
    # which async routes block, and how: "clean", "direct", "helper", "repo"
    flavours: dict[str, str] = field(default_factory=dict)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class Generator:
    def __init__(self, seed: int, modules: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.modules = modules
        domain_count, helper_count = plan_counts(modules)
        self.helpers = [self._helper_name(i) for i in range(helper_count)]
        self.domains: list[Domain] = []
        for index in range(domain_count):
            noun = NOUNS[index % len(NOUNS)]
            name = f"{noun}_{index}"
            fields = self.rng.sample(FIELDS, self.rng.randint(3, 7))
            domain = Domain(index, noun, name, _camel(name), fields, self.rng.choice(self.helpers))
            if index and self.rng.random() < 0.4:
                domain.parent = self.domains[self.rng.randrange(index)]
            domain.flavours = {
                route: self._flavour() for route in ("read", "search", "create", "export", "sync")
            }
            self.domains.append(domain)
        self.files: dict[str, str] = {}

    @staticmethod
    def _helper_name(index: int) -> str:
        kinds = ("notifications", "storage", "passwords", "reports", "pricing", "text", "webhooks")
        return f"{kinds[index % len(kinds)]}_{index}"

    def _flavour(self) -> str:
        roll = self.rng.random()
        if roll < 0.06:
            return "direct"
        if roll < 0.12:
            return "helper"
        if roll < 0.17:
            return "repo"
        return "clean"

    # -- the whole tree ---------------------------------------------------------------------
    def build(self) -> dict[str, str]:
        files = self.files
        files["pyproject.toml"] = self.pyproject()
        files["app/__init__.py"] = '"""Generated FastAPI service (benchmark corpus)."""\n'
        for package in ("models", "schemas", "repositories", "services", "routers", "helpers"):
            files[f"app/{package}/__init__.py"] = f'"""{package.capitalize()} of the service."""\n'
        files["app/config.py"] = CONFIG
        files["app/db.py"] = DB
        files["app/security.py"] = SECURITY
        files["app/deps.py"] = DEPS
        files["app/main.py"] = self.main()
        for index, helper in enumerate(self.helpers):
            files[f"app/helpers/{helper}.py"] = self.helper_module(index, helper)
        for domain in self.domains:
            files[f"app/models/{domain.name}.py"] = self.model(domain)
            files[f"app/schemas/{domain.name}.py"] = self.schema(domain)
            files[f"app/repositories/{domain.name}.py"] = self.repository(domain)
            files[f"app/services/{domain.name}.py"] = self.service(domain)
            files[f"app/routers/{domain.name}.py"] = self.router(domain)
        count = sum(1 for path in files if path.endswith(".py"))
        assert count == self.modules, (count, self.modules)
        return files

    def pyproject(self) -> str:
        return (
            "[project]\n"
            f'name = "generated-service-s{self.seed}-m{self.modules}"\n'
            'version = "0.1.0"\n'
            'requires-python = ">=3.10"\n'
            "dependencies = [\n"
            '    "fastapi>=0.110", "sqlalchemy>=2.0", "pydantic>=2.5", "httpx>=0.27",\n'
            '    "requests>=2.31", "passlib[bcrypt]>=1.7",\n'
            "]\n\n"
            "[tool.async-pitfalls-lint]\n"
            'scope = "fastapi"\n'
        )

    def main(self) -> str:
        lines = [
            '"""Application factory: every router is mounted here."""',
            "",
            "from contextlib import asynccontextmanager",
            "",
            "from fastapi import FastAPI",
            "from fastapi.middleware.cors import CORSMiddleware",
            "",
            "from app.config import settings",
            "from app.db import Base, engine",
        ]
        for domain in self.domains:
            lines.append(f"from app.routers import {domain.name} as {domain.name}_router")
        lines += [
            "",
            "",
            "@asynccontextmanager",
            "async def lifespan(app: FastAPI):",
            "    app.state.started = True",
            "    yield",
            "    app.state.started = False",
            "",
            "",
            "def create_app() -> FastAPI:",
            "    app = FastAPI(title=settings.app_name, lifespan=lifespan)",
            "    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins)",
        ]
        for domain in self.domains:
            lines.append(f"    app.include_router({domain.name}_router.router)")
        lines += [
            "",
            '    @app.get("/health")',
            "    async def health() -> dict[str, str]:",
            '        return {"status": "ok"}',
            "",
            "    return app",
            "",
            "",
            "app = create_app()",
            "",
        ]
        return "\n".join(lines)

    def helper_module(self, index: int, name: str) -> str:
        kind = name.rsplit("_", 1)[0]
        body = HELPERS[kind].format(n=index)
        return f'"""Helpers: {kind}."""\n\n' + body

    def model(self, d: Domain) -> str:
        imports = sorted(
            {spec.split("(")[0] for _, spec, _, _ in d.fields} | {"Integer", "DateTime"}
        )
        if d.parent:
            imports.append("ForeignKey")
        lines = [
            f'"""Database model for {d.noun} records."""',
            "",
            "from datetime import datetime, timezone",
            "",
            f"from sqlalchemy import Column, {', '.join(sorted(set(imports)))}",
        ]
        if d.parent:
            lines.append("from sqlalchemy.orm import relationship")
        lines += [
            "",
            "from app.db import Base",
            "",
            "",
            f"class {d.cls}(Base):",
            f'    __tablename__ = "{d.name}s"',
            "",
            "    id = Column(Integer, primary_key=True, index=True)",
        ]
        for fname, spec, _, _ in d.fields:
            lines.append(
                f"    {fname} = Column({spec}, nullable={'True' if 'None' in _pytype(d, fname) else 'False'})"
            )
        lines.append(
            "    created_at = Column(DateTime, default=lambda: datetime.now(timezone.utc))"
        )
        if d.parent:
            p = d.parent
            lines.append(
                f'    {p.name}_id = Column(Integer, ForeignKey("{p.name}s.id"), nullable=True)'
            )
            lines.append(f'    {p.name} = relationship("{p.cls}")')
        lines += [
            "",
            "    def __repr__(self) -> str:",
            f'        return f"<{d.cls} id={{self.id}}>"',
            "",
        ]
        return "\n".join(lines)

    def schema(self, d: Domain) -> str:
        lines = [
            f'"""API schemas for {d.noun} records."""',
            "",
            "from datetime import datetime",
            "",
            "from pydantic import BaseModel, ConfigDict, Field",
            "",
            "",
            f"class {d.cls}Base(BaseModel):",
        ]
        for fname, _, pytype, default in d.fields:
            if pytype == "str" and default == '""':
                lines.append(f'    {fname}: str = Field(default="", max_length=200)')
            else:
                lines.append(f"    {fname}: {pytype} = {default}")
        lines += [
            "",
            "",
            f"class {d.cls}Create({d.cls}Base):",
            "    pass",
            "",
            "",
            f"class {d.cls}Update(BaseModel):",
        ]
        for fname, _, pytype, _ in d.fields:
            optional = pytype if "None" in pytype else f"{pytype} | None"
            lines.append(f"    {fname}: {optional} = None")
        lines += [
            "",
            "",
            f"class {d.cls}Read({d.cls}Base):",
            "    model_config = ConfigDict(from_attributes=True)",
            "",
            "    id: int",
            "    created_at: datetime | None = None",
            "",
        ]
        return "\n".join(lines)

    def repository(self, d: Domain) -> str:
        first = d.fields[0][0]
        return REPOSITORY.format(noun=d.noun, name=d.name, cls=d.cls, first=first)

    def service(self, d: Domain) -> str:
        helper = d.helper
        kind = helper.rsplit("_", 1)[0]
        call = HELPER_CALLS[kind]
        parent_import = parent_method = ""
        if d.parent:
            p = d.parent
            parent_import = f"from app.services.{p.name} import {p.cls}Service\n"
            parent_method = (
                f"\n    def with_parent(self, parent: {p.cls}Service, item_id: int) -> dict[str, object]:\n"
                f"        item = self.get(item_id)\n"
                f'        owner = parent.get(getattr(item, "{p.name}_id", None) or 0)\n'
                f'        return {{"item": item, "parent": owner}}\n'
            )
        return SERVICE.format(
            noun=d.noun,
            name=d.name,
            cls=d.cls,
            helper=helper,
            helper_call=call.format(n=helper.rsplit("_", 1)[1]),
            parent_import=parent_import,
            parent_method=parent_method,
        )

    def router(self, d: Domain) -> str:
        kind = d.helper.rsplit("_", 1)[0]
        out = [
            f'"""HTTP routes for {d.noun} records."""',
            "",
            "import asyncio",
            "import json",
            "import time",
            "",
            "import httpx",
            "import requests",
            "from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, status",
            "from fastapi.concurrency import run_in_threadpool",
            "from sqlalchemy.orm import Session",
            "",
            "from app.config import settings",
            "from app.deps import get_current_user, get_db, get_http_client, pagination",
            f"from app.helpers import {d.helper}",
            f"from app.repositories.{d.name} import {d.cls}Repository",
            f"from app.schemas.{d.name} import {d.cls}Create, {d.cls}Read, {d.cls}Update",
            f"from app.services.{d.name} import {d.cls}Service",
            "",
            f'router = APIRouter(prefix="/{d.name.replace("_", "-")}s", tags=["{d.noun}"])',
            "",
            "",
            f"def get_service(db: Session = Depends(get_db)) -> {d.cls}Service:",
            f"    return {d.cls}Service({d.cls}Repository(db))",
            "",
            "",
            f'@router.get("/", response_model=list[{d.cls}Read])',
            "def list_items(page: dict = Depends(pagination), service: "
            f"{d.cls}Service = Depends(get_service)):",
            '    return service.list(page["offset"], page["limit"])',
            "",
            "",
        ]
        f = d.flavours
        # read: async
        out += [
            f'@router.get("/{{item_id}}", response_model={d.cls}Read)',
            f"async def read_item(item_id: int, service: {d.cls}Service = Depends(get_service)):",
        ]
        if f["read"] == "repo":
            out += ["    item = service.get(item_id)"]
        elif f["read"] == "direct":
            out += [
                "    time.sleep(settings.read_delay)",
                "    item = await run_in_threadpool(service.get, item_id)",
            ]
        elif f["read"] == "helper":
            out += [
                f"    {d.helper}.{_helper_probe(kind)}",
                "    item = await run_in_threadpool(service.get, item_id)",
            ]
        else:
            out += ["    item = await run_in_threadpool(service.get, item_id)"]
        out += [
            "    if item is None:",
            "        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)",
            "    return item",
            "",
            "",
        ]
        # search: async, outbound http
        out += [
            '@router.get("/search/external")',
            "async def search_external(q: str, client: httpx.AsyncClient = Depends(get_http_client)):",
        ]
        if f["search"] == "direct":
            out += [
                '    response = requests.get(settings.search_url, params={"q": q}, timeout=5)',
                "    return response.json()",
            ]
        elif f["search"] == "helper":
            out += [
                f"    {d.helper}.{_helper_probe(kind)}",
                '    response = await client.get(settings.search_url, params={"q": q})',
                "    return response.json()",
            ]
        else:
            out += [
                '    response = await client.get(settings.search_url, params={"q": q})',
                "    response.raise_for_status()",
                "    return response.json()",
            ]
        out += ["", ""]
        # create: sync or async
        if f["create"] in ("repo", "helper"):
            out += [
                f'@router.post("/", response_model={d.cls}Read, status_code=201)',
                f"async def create_item(payload: {d.cls}Create, user: dict = Depends(get_current_user),",
                f"                      service: {d.cls}Service = Depends(get_service)):",
                '    return service.create(payload, actor=user["sub"])',
                "",
                "",
            ]
        else:
            out += [
                f'@router.post("/", response_model={d.cls}Read, status_code=201)',
                f"def create_item(payload: {d.cls}Create, user: dict = Depends(get_current_user),",
                f"                service: {d.cls}Service = Depends(get_service)):",
                '    return service.create(payload, actor=user["sub"])',
                "",
                "",
            ]
        # update: sync
        out += [
            f'@router.patch("/{{item_id}}", response_model={d.cls}Read)',
            f"def update_item(item_id: int, payload: {d.cls}Update, service: {d.cls}Service = Depends(get_service)):",
            "    item = service.update(item_id, payload)",
            "    if item is None:",
            "        raise HTTPException(status_code=404)",
            "    return item",
            "",
            "",
        ]
        # export: async, file io
        out += [
            '@router.get("/{item_id}/export")',
            f"async def export_item(item_id: int, tasks: BackgroundTasks, service: {d.cls}Service = Depends(get_service)):",
        ]
        if f["export"] == "direct":
            out += [
                "    item = await run_in_threadpool(service.get, item_id)",
                f'    with open(f"/tmp/{d.name}-{{item_id}}.json", "w") as handle:',
                '        json.dump({"id": item_id, "repr": repr(item)}, handle)',
                '    return {"exported": True}',
            ]
        else:
            out += ["    tasks.add_task(service.export, item_id)", '    return {"scheduled": True}']
        out += ["", ""]
        # sync: async, helper that calls requests (sometimes)
        out += [
            '@router.post("/{item_id}/sync")',
            f"async def sync_item(item_id: int, service: {d.cls}Service = Depends(get_service)):",
        ]
        if f["sync"] in ("helper", "repo"):
            out += ["    return service.push_to_partner(item_id)"]
        elif f["sync"] == "direct":
            out += [
                "    await asyncio.sleep(0)",
                '    requests.post(settings.partner_url, json={"id": item_id}, timeout=10)',
                '    return {"synced": True}',
            ]
        else:
            out += [
                "    await asyncio.sleep(0)",
                "    return await run_in_threadpool(service.push_to_partner, item_id)",
            ]
        out += ["", ""]
        out += [
            '@router.delete("/{item_id}", status_code=204)',
            f"def delete_item(item_id: int, service: {d.cls}Service = Depends(get_service)) -> None:",
            "    if not service.delete(item_id):",
            "        raise HTTPException(status_code=404)",
            "    started = time.monotonic()",
            "    _ = started",
            "",
        ]
        return "\n".join(out)


def _pytype(d: Domain, fname: str) -> str:
    for name, _, pytype, _ in d.fields:
        if name == fname:
            return pytype
    return ""


def _helper_probe(kind: str) -> str:
    return {
        "notifications": 'send_email("ops@example.com", "read", "item viewed")',
        "storage": 'read_blob("audit/read.log")',
        "passwords": 'hash_password("probe")',
        "reports": "build_report([])",
        "pricing": 'fetch_exchange_rate("EUR")',
        "text": 'load_stopwords("en")',
        "webhooks": 'deliver("item.read", {})',
    }[kind]


HELPER_CALLS = {
    "notifications": 'notifications_{n}.send_email(actor, "created", repr(item))',
    "storage": 'storage_{n}.write_blob(f"items/{{item.id}}.txt", repr(item))',
    "passwords": "passwords_{n}.hash_password(actor)",
    "reports": "reports_{n}.build_report([item])",
    "pricing": 'pricing_{n}.fetch_exchange_rate("EUR")',
    "text": "text_{n}.slugify(repr(item))",
    "webhooks": 'webhooks_{n}.deliver("item.created", {{"id": item.id}})',
}

HELPERS = {
    "notifications": """import smtplib
from email.message import EmailMessage

from app.config import settings


def render_subject(event: str, subject: str) -> str:
    return f"[{{settings.app_name}}] {{event}}: {{subject}}"


def send_email(to: str, event: str, body: str) -> None:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = render_subject(event, body[:40])
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host) as client:
        client.send_message(message)


def format_digest(lines: list[str]) -> str:
    return "\\n".join(f"- {{line}}" for line in lines)
""",
    "storage": """import os
from pathlib import Path

from app.config import settings


def blob_path(key: str) -> Path:
    return Path(settings.storage_root) / key


def read_blob(key: str) -> bytes:
    with open(blob_path(key), "rb") as handle:
        return handle.read()


def write_blob(key: str, data: str) -> None:
    path = blob_path(key)
    os.makedirs(path.parent, exist_ok=True)
    path.write_text(data)


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{{size}} {{unit}}"
        size //= 1024
    return f"{{size}} GB"
""",
    "passwords": """from passlib.context import CryptContext

context = CryptContext(schemes=["bcrypt"], deprecated="auto")


def hash_password(password: str) -> str:
    return context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return context.verify(password, hashed)


def password_strength(password: str) -> int:
    return sum((any(c.isdigit() for c in password), any(c.isupper() for c in password), len(password) > 11))
""",
    "reports": """import csv
import io
import statistics


def build_report(items: list[object]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for item in items:
        writer.writerow([getattr(item, "id", None), repr(item)])
    return buffer.getvalue()


def summarise(values: list[float]) -> dict[str, float]:
    if not values:
        return {{"mean": 0.0, "median": 0.0}}
    return {{"mean": statistics.fmean(values), "median": statistics.median(values)}}
""",
    "pricing": """import requests

from app.config import settings

RATES = {{"USD": 1.0}}


def fetch_exchange_rate(currency: str) -> float:
    response = requests.get(f"{{settings.rates_url}}/{{currency}}", timeout=5)
    response.raise_for_status()
    return float(response.json()["rate"])


def convert(amount: float, rate: float) -> float:
    return round(amount * rate, 2)
""",
    "text": """import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    normal = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_WORD.sub("-", normal.lower()).strip("-")


def load_stopwords(language: str) -> set[str]:
    with open(f"/usr/share/stopwords/{{language}}.txt") as handle:
        return {{line.strip() for line in handle}}


def truncate(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
""",
    "webhooks": """import hashlib
import hmac
import json

import requests

from app.config import settings


def sign(payload: bytes) -> str:
    return hmac.new(settings.webhook_secret.encode(), payload, hashlib.sha256).hexdigest()


def deliver(event: str, data: dict[str, object]) -> int:
    body = json.dumps({{"event": event, "data": data}}).encode()
    response = requests.post(settings.webhook_url, data=body, headers={{"X-Signature": sign(body)}}, timeout=10)
    return response.status_code
""",
}

CONFIG = '''"""Settings read from the environment."""

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    app_name: str = os.environ.get("APP_NAME", "generated-service")
    database_url: str = os.environ.get("DATABASE_URL", "sqlite:///./app.db")
    secret_key: str = os.environ.get("SECRET_KEY", "change-me")
    smtp_host: str = os.environ.get("SMTP_HOST", "localhost")
    storage_root: str = os.environ.get("STORAGE_ROOT", "/var/lib/app")
    search_url: str = os.environ.get("SEARCH_URL", "http://search.internal/q")
    partner_url: str = os.environ.get("PARTNER_URL", "http://partner.internal/sync")
    rates_url: str = os.environ.get("RATES_URL", "http://rates.internal")
    webhook_url: str = os.environ.get("WEBHOOK_URL", "http://hooks.internal")
    webhook_secret: str = os.environ.get("WEBHOOK_SECRET", "secret")
    read_delay: float = 0.0
    cors_origins: list[str] = field(default_factory=lambda: ["*"])


settings = Settings()
'''

DB = '''"""Database engine and session factory (synchronous SQLAlchemy)."""

from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

from app.config import settings

engine = create_engine(settings.database_url, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
Base = declarative_base()
'''

SECURITY = '''"""Tokens and passwords."""

import base64
import json

from passlib.context import CryptContext

from app.config import settings

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")


def verify_password(plain: str, hashed: str) -> bool:
    return pwd_context.verify(plain, hashed)


def decode_token(token: str) -> dict[str, str]:
    padded = token + "=" * (-len(token) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if data.get("iss") != settings.app_name:
        raise ValueError("bad issuer")
    return data
'''

DEPS = '''"""Dependencies shared by the routers."""

from collections.abc import AsyncIterator, Iterator

import httpx
from fastapi import Depends, Header, HTTPException, Query, status
from sqlalchemy.orm import Session

from app.db import SessionLocal
from app.security import decode_token, verify_password


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def get_current_user(authorization: str = Header(default="")) -> dict[str, str]:
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED)
    try:
        return decode_token(token)
    except ValueError:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED) from None


async def basic_auth_user(user: str = Header(default=""), password: str = Header(default="")) -> str:
    if not verify_password(password, user):
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED)
    return user


def pagination(offset: int = Query(0, ge=0), limit: int = Query(50, le=500)) -> dict[str, int]:
    return {"offset": offset, "limit": limit}


def admin_only(user: dict[str, str] = Depends(get_current_user)) -> dict[str, str]:
    if user.get("role") != "admin":
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN)
    return user
'''

REPOSITORY = '''"""Data access for {noun} records (synchronous SQLAlchemy session)."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.{name} import {cls}


class {cls}Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, item_id: int) -> {cls} | None:
        return self.session.get({cls}, item_id)

    def list(self, offset: int = 0, limit: int = 50) -> Sequence[{cls}]:
        statement = select({cls}).order_by({cls}.id).offset(offset).limit(limit)
        return self.session.scalars(statement).all()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from({cls})) or 0

    def find_by_{first}(self, value: object) -> {cls} | None:
        return self.session.scalars(select({cls}).where({cls}.{first} == value)).first()

    def add(self, data: dict[str, object]) -> {cls}:
        item = {cls}(**data)
        self.session.add(item)
        self.session.commit()
        self.session.refresh(item)
        return item

    def save(self, item: {cls}) -> {cls}:
        self.session.commit()
        self.session.refresh(item)
        return item

    def delete(self, item: {cls}) -> None:
        self.session.delete(item)
        self.session.commit()
'''

SERVICE = '''"""Business logic for {noun} records."""

from app.helpers import {helper}
from app.repositories.{name} import {cls}Repository
from app.schemas.{name} import {cls}Create, {cls}Update
{parent_import}

class {cls}Service:
    def __init__(self, repository: {cls}Repository) -> None:
        self.repository = repository

    def get(self, item_id: int):
        return self.repository.get(item_id)

    def list(self, offset: int, limit: int):
        return list(self.repository.list(offset, limit))

    def create(self, payload: {cls}Create, actor: str):
        item = self.repository.add(payload.model_dump())
        {helper_call}
        return item

    def update(self, item_id: int, payload: {cls}Update):
        item = self.repository.get(item_id)
        if item is None:
            return None
        for key, value in payload.model_dump(exclude_unset=True).items():
            setattr(item, key, value)
        return self.repository.save(item)

    def delete(self, item_id: int) -> bool:
        item = self.repository.get(item_id)
        if item is None:
            return False
        self.repository.delete(item)
        return True

    def export(self, item_id: int) -> str:
        return repr(self.repository.get(item_id))

    def push_to_partner(self, item_id: int) -> dict[str, object]:
        item = self.repository.get(item_id)
        return {{"id": item_id, "found": item is not None}}

    @staticmethod
    def describe(values: dict[str, object]) -> str:
        return ", ".join(f"{{key}}={{value!r}}" for key, value in sorted(values.items()))
{parent_method}'''


def write_app(seed: int, modules: int, out: Path) -> dict[str, object]:
    """Write the app under `out` (replacing it) and return a manifest."""
    generator = Generator(seed, modules)
    files = generator.build()
    if out.exists():
        shutil.rmtree(out)
    for relative, text in sorted(files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    flavours: dict[str, int] = {}
    for domain in generator.domains:
        for flavour in domain.flavours.values():
            flavours[flavour] = flavours.get(flavour, 0) + 1
    manifest = {
        "seed": seed,
        "modules": modules,
        "domains": len(generator.domains),
        "helpers": len(generator.helpers),
        "lines": sum(text.count("\n") for text in files.values()),
        "async_route_flavours": dict(sorted(flavours.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modules", type=int, default=1000, help="number of .py files (>= 18)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    manifest = write_app(args.seed, args.modules, args.out)
    print(json.dumps(manifest), file=sys.stderr if os.environ.get("QUIET") else sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
