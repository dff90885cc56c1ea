import asyncio
import importlib
import zlib
from types import ModuleType

from fastapi import FastAPI, HTTPException, Response

from reports.data import REPORTS

app = FastAPI(title="reports")


def report_data(name: str) -> bytes:
    if name not in REPORTS:
        raise HTTPException(status_code=404, detail=f"no report {name!r}")
    return REPORTS[name]


def load_exporter(name: str) -> ModuleType:
    if not name.isidentifier():
        raise HTTPException(status_code=400, detail="bad format")
    try:
        return importlib.import_module(f"reports.exporters.{name}")
    except ModuleNotFoundError:
        raise HTTPException(status_code=404, detail=f"no format {name!r}") from None


@app.get("/reports/{name}/export")
async def export(name: str, format: str = "hexdump"):
    exporter = load_exporter(format)
    return Response(exporter.render(report_data(name)), media_type=exporter.MEDIA_TYPE)


@app.get("/reports/{name}/archive")
async def archive(name: str):
    return Response(zlib.compress(report_data(name), 9), media_type="application/zlib")


@app.get("/reports/{name}/archive-offloaded")
async def archive_offloaded(name: str):
    data = report_data(name)
    return Response(await asyncio.to_thread(zlib.compress, data, 9), media_type="application/zlib")
