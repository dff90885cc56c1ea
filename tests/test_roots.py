"""Source roots: static evaluation of sys.path edits, reading launch files, and detection on
small projects (checked targets, negatives, the `source-roots` override, the caches)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from async_pitfalls_lint.analysis import analysis_for, reset_analyses
from async_pitfalls_lint.config import Settings, load_settings
from async_pitfalls_lint.launchers import (
    Launch,
    launches_in,
    parse_yaml_subset,
    split_commands,
    targets_in_words,
)
from async_pitfalls_lint.project import Project
from async_pitfalls_lint.roots import FIRST, INSIDE, LAST, ROOTS_CODEC
from async_pitfalls_lint.runner import check_files
from async_pitfalls_lint.static_paths import read_module

ROOT = os.path.abspath("/proj")
ENTRY = os.path.join(ROOT, "pkg", "entry.py")


def _folders(source: str) -> list[str]:
    edits, _ = read_module(textwrap.dedent(source), ENTRY, ROOT)
    return [os.path.relpath(edit.folder, ROOT).replace(os.sep, "/") for edit in edits]


# -- static evaluation of sys.path edits ---------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os, sys\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))", "pkg"),
        ("import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))", "."),
        (
            "import sys\nfrom pathlib import Path\n"
            "sys.path.append(str(Path(__file__).resolve().parent.parent / 'backend'))",
            "backend",
        ),
        (
            "import sys, pathlib\nsys.path.append(str(pathlib.Path(__file__).parents[1] / 'lib'))",
            "lib",
        ),
        (
            "import os, sys\n"
            "BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n"
            "sys.path.insert(0, os.path.join(BASE_DIR, 'services'))",
            "services",
        ),
        (
            "import sys\nfrom pathlib import Path\nhere = Path(__file__).parent\n"
            "sys.path.insert(0, f'{here}/vendor')",
            "pkg/vendor",
        ),
        (
            "import os, sys\nnow_dir = os.getcwd()\nsys.path.append('%s/GPT' % (now_dir))",
            "GPT",
        ),
        ("import sys\nsys.path.append('backend')", "backend"),
        ("import sys\nd = 'x'\nsys.path.append('{a}/%s' % d)", "{a}/x"),
        (
            "import sys\nimport os.path as osp\n"
            "sys.path.insert(0, osp.join(osp.dirname(__file__), 'src'))",
            "pkg/src",
        ),
        (
            "import sys\nfrom os.path import dirname, join\n"
            "sys.path.insert(0, join(dirname(__file__), 'x'))",
            "pkg/x",
        ),
        (
            "import os, site\nsite.addsitedir(os.path.join(os.path.dirname(__file__), 'plugins'))",
            "pkg/plugins",
        ),
        (
            "import sys\nfrom pathlib import Path\n"
            "sys.path.append(str(Path(__file__).resolve().parent.joinpath('svc')))",
            "pkg/svc",
        ),
        ("import os, sys\nsys.path.append('{}/svc'.format(os.path.dirname(__file__)))", "pkg/svc"),
        ("import os, sys\nsys.path.append(os.path.split(os.path.abspath(__file__))[0])", "pkg"),
        ("import os, sys\nsys.path.append(os.path.dirname(__file__) + '/../api')", "api"),
        ("from sys import path\npath.insert(0, '/proj/backend')", "backend"),
        (
            "import os, sys\n\ndef setup():\n    here = os.path.dirname(__file__)\n"
            "    sys.path.insert(0, here)\n",
            "pkg",
        ),
    ],
)
def test_static_sys_path_forms(source: str, expected: str) -> None:
    assert _folders(source) == [expected]


@pytest.mark.parametrize(
    "source",
    [
        "import os, sys\nsys.path.append(os.environ['PLUGINS'])",
        "import sys\nfrom app import settings\nsys.path.insert(0, settings.EXTENSIONS_DIR)",
        "import sys\nfor folder in ['a', 'b']:\n    sys.path.append(folder)",
        "import sys\n\ndef add(folder):\n    sys.path.append(folder)\n",
        "import sys\nBASE = 'a'\n\ndef add(BASE):\n    sys.path.append(BASE)\n",
        "import site, sys\nsys.path.append(site.getusersitepackages())",
        "import sys\nx = 'a'\nx = 'b'\nsys.path.append(x)",
        "import sys\nfrom pathlib import Path\nsys.path.append(str(Path.home() / 'lib'))",
        "import os, sys\nsys.path.append(os.path.expanduser('~/lib'))",
        "import sys\nsys.path.append(compute_folder())",
        "import sys\nimport os\nsys.path.append(os.path.join(os.path.dirname(__file__), name))",
        "path = []\npath.insert(0, 'backend')",  # a list of one's own, not sys.path
        "import sys\nsys.path.insert(0,",  # does not parse
    ],
)
def test_dynamic_or_unrelated_edits_are_ignored(source: str) -> None:
    assert _folders(source) == []


def test_extend_keeps_only_the_known_folders_and_insert_goes_first() -> None:
    source = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        sys.path.extend([str(Path(__file__).parent / "a"), os.environ["B"]])
        sys.path.insert(1, "c")
        """
    )
    edits, _ = read_module(source, ENTRY, ROOT)
    assert [(os.path.basename(edit.folder), edit.first) for edit in edits] == [
        ("a", False),
        ("c", True),
    ]


def test_server_calls_in_python() -> None:
    source = textwrap.dedent(
        """
        import os
        import uvicorn
        from granian import Granian
        from uvicorn import run

        uvicorn.run("app.main:app", app_dir=os.path.join(os.path.dirname(__file__), "backend"))
        run("service:api", reload=True)
        uvicorn.Config("web.asgi:app")
        Granian("gateway:app", interface="asgi")
        uvicorn.run(app)
        uvicorn.run("dyn:app", app_dir=os.environ["DIR"])
        """
    )
    _, servers = read_module(source, ENTRY, ROOT)
    assert [(server.target, server.app_dir) for server in servers] == [
        ("app.main:app", os.path.join(ROOT, "pkg", "backend")),
        ("service:api", None),
        ("web.asgi:app", None),
        ("gateway:app", None),
    ]


# -- commands --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [
        ("uvicorn app.main:app --host 0.0.0.0 --port 80", "app.main", {}),
        ("gunicorn -k uvicorn.workers.UvicornWorker -b 0.0.0.0:8000 main:app", "main", {}),
        (
            "gunicorn --chdir backend --pythonpath lib,vendor 'svc.wsgi:create_app()'",
            "svc.wsgi",
            {"app_dir": "backend", "python_path": ("lib", "vendor")},
        ),
        ("hypercorn --bind localhost:8000 api.asgi:app", "api.asgi", {}),
        (
            "granian --interface asgi --working-dir src/web web.app:app",
            "web.app",
            {"app_dir": "src/web"},
        ),
        ("daphne -p 8001 project.asgi:application", "project.asgi", {}),
        ("python -m uvicorn app.main:app --reload", "app.main", {}),
        ("python3.12 -m app.main", "app.main", {}),
        (
            "uv run --frozen uvicorn --app-dir=backend app.main:app",
            "app.main",
            {"app_dir": "backend"},
        ),
        ("fastapi run --entrypoint pkg.api:app", "pkg.api", {}),
        ("/usr/local/bin/uvicorn main:app", "main", {}),
    ],
)
def test_server_targets(command: str, module: str, extra: dict[str, object]) -> None:
    (target,) = targets_in_words(command.replace("'", "").split())
    assert target.module == module
    for name, value in extra.items():
        assert getattr(target, name) == value


@pytest.mark.parametrize(
    ("command", "file", "default"),
    [
        ("fastapi run --workers 4 app/main.py", "app/main.py", False),
        ("fastapi dev --port 8000", None, True),
        ("fastapi run", None, True),
    ],
)
def test_fastapi_cli_targets(command: str, file: str | None, default: bool) -> None:
    (target,) = targets_in_words(command.split())
    assert (target.module, target.file, target.default_files) == (None, file, default)


@pytest.mark.parametrize(
    "command",
    [
        "pip install uvicorn gunicorn",
        "uvicorn $APP_MODULE",
        "gunicorn -b localhost:8000",
        "fastapi --version",
        "python -m",
        "python manage.py runserver",
        "echo uvicorn",
    ],
)
def test_commands_without_a_target(command: str) -> None:
    assert targets_in_words(command.split()) == []


def test_split_commands_respects_quotes_and_substitutions() -> None:
    line = 'cd "$(dirname "$0")" && echo "a && b" ; uvicorn x:app | tee log & wait'
    assert split_commands(line) == [
        'cd "$(dirname "$0")"',
        'echo "a && b"',
        "uvicorn x:app",
        "tee log",
        "wait",
    ]


def _launches(tmp_path: Path, name: str, text: str) -> list[Launch]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return launches_in(str(path), path.read_text(), str(tmp_path), os.path.exists)


def _rel(tmp_path: Path, folders: tuple[str, ...]) -> list[str]:
    return [os.path.relpath(folder, tmp_path).replace(os.sep, "/") for folder in folders]


def test_shell_script_cd_forms(tmp_path: Path) -> None:
    launches = _launches(
        tmp_path,
        "deploy/start.sh",
        """
        #!/bin/sh
        cd backend && uvicorn a:app
        cd "$(dirname "$0")/.."
        uvicorn b:app
        SERVICE_DIR=services/api
        cd $SERVICE_DIR
        gunicorn c:app
        cd $SOMEWHERE_ELSE
        exec uvicorn ${APP_MODULE:-d.main:app}
        """,
    )
    assert [(launch.target.module, _rel(tmp_path, launch.cwds)) for launch in launches] == [
        ("a", ["deploy/backend", "backend"]),
        ("b", ["."]),
        ("c", ["services/api"]),
        ("d.main", ["deploy", "."]),
    ]
    assert [launch.line for launch in launches] == [2, 4, 7, 9]


def test_makefile_and_procfile_lines_run_from_their_folder(tmp_path: Path) -> None:
    make = _launches(
        tmp_path,
        "Makefile",
        """
        run:
        \t@cd api && poetry run uvicorn --reload svc.app:app
        other: run
        uvicorn not.a.recipe:app
        """,
    )
    assert [(launch.target.module, _rel(tmp_path, launch.cwds)) for launch in make] == [
        ("svc.app", ["api"])
    ]
    procfile = _launches(
        tmp_path,
        "Procfile",
        """
        web: gunicorn -w 4 -k uvicorn.workers.UvicornWorker shop.asgi:app
        worker: celery -A shop.tasks worker
        """,
    )
    assert [(launch.target.module, _rel(tmp_path, launch.cwds)) for launch in procfile] == [
        ("shop.asgi", ["."])
    ]


def test_dockerfile_context_copies_and_workdir(tmp_path: Path) -> None:
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "scripts").mkdir()
    (tmp_path / "backend" / "pyproject.toml").write_text("")
    launches = _launches(
        tmp_path,
        "backend/Dockerfile",
        """
        FROM node:20 AS frontend
        WORKDIR /app/frontend
        COPY --from=builder /dist /app/frontend/dist

        FROM python:3.12
        WORKDIR /app/
        COPY ./backend/scripts /app/backend/scripts
        COPY ./backend/pyproject.toml /app/backend/
        # a comment inside the instructions
        COPY ./backend/app /app/backend/app
        WORKDIR /app/backend/
        CMD ["fastapi", "run", "--workers", "4"]
        """,
    )
    (launch,) = launches
    assert launch.target.default_files
    assert _rel(tmp_path, launch.cwds)[0] == "backend"  # the build context is the repository
    assert launch.line == 12


def test_dockerfile_shell_forms_and_entrypoint(tmp_path: Path) -> None:
    (tmp_path / "services" / "api").mkdir(parents=True)
    launches = _launches(
        tmp_path,
        "Dockerfile",
        """
        FROM python:3.12
        COPY services/api /srv/api
        WORKDIR /srv
        CMD cd /srv/api && uvicorn main:app \\
            --host 0.0.0.0
        ENTRYPOINT ["uvicorn"]
        CMD ["gateway:app", "--port", "80"]
        CMD ["sh", "-c", "alembic upgrade head && python -m api.server"]
        """,
    )
    found = [(launch.target.module, _rel(tmp_path, launch.cwds)[0]) for launch in launches]
    assert ("main", "services/api") in found  # `cd /srv/api` mapped through the COPY
    # /srv holds services/ (COPY services/api /srv/api): ENTRYPOINT + CMD, then `sh -c`
    assert ("gateway", "services") in found
    assert ("api.server", "services") in found


def test_compose_service_commands(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    launches = _launches(
        tmp_path,
        "docker-compose.yml",
        """
        x-common: &common
          restart: unless-stopped
        services:
          api:
            <<: *common
            build: ./backend
            working_dir: /code/src  # the app lives below the mount
            volumes:
              - "./backend:/code"
            command: ["uvicorn", "web.main:app", "--reload"]
          worker:
            image: python:3.12
            entrypoint:
              - sh
              - -c
              - "cd /code && python -m jobs.run"
            volumes:
              - type: bind
                source: ./backend
                target: /code
        """,
    )
    found = [
        (launch.target.module, _rel(tmp_path, launch.cwds), launch.line) for launch in launches
    ]
    assert found == [
        ("web.main", ["backend/src", "backend", "."], 10),
        ("jobs.run", ["backend"], 16),
    ]


def test_yaml_subset() -> None:
    document = parse_yaml_subset(
        textwrap.dedent(
            """
            # comment
            services:
              web:
                command: |
                  uvicorn a:app
                  --port 80
                ports: ["80:80", '443:443']
                labels:
                  - "traefik.enable=true"
                  - key: value
                    other: 2
            """
        )
    )
    web = document["services"]["web"]
    assert web["command"] == "uvicorn a:app\n--port 80"
    assert web["ports"] == ["80:80", "443:443"]
    assert web["labels"] == ["traefik.enable=true", {"key": "value", "other": "2"}]


def test_pyproject_scripts(tmp_path: Path) -> None:
    launches = _launches(
        tmp_path,
        "pyproject.toml",
        """
        [project.scripts]
        serve = "svc.cli:main"

        [tool.poetry]
        packages = [{ include = "svc", from = "lib" }]

        [tool.poetry.scripts]
        other = "svc.other:run"
        table = { reference = "x.py", type = "file" }
        """,
    )
    assert [(launch.target.module, launch.line) for launch in launches] == [
        ("svc.cli", 2),
        ("svc.other", 8),
    ]
    assert _rel(tmp_path, launches[0].cwds) == [".", "src", "lib"]


# -- detection on projects ------------------------------------------------------------------------
def _project(
    tmp_path: Path, files: dict[str, str], config: str = "", cache: bool = False
) -> Project:
    root = tmp_path / "svc"
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[tool.async-pitfalls-lint]\n" + ("" if cache else "cache = false\n") + config,
        encoding="utf-8",
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    reset_analyses()
    return Project(root, load_settings(root))


def _roots(project: Project) -> list[tuple[str, str]]:
    return [
        (os.path.relpath(root.folder, project.root).replace(os.sep, "/"), root.placement)
        for root in project.source_roots()
    ]


BACKEND = {
    "backend/__init__.py": "",
    "backend/app/__init__.py": "",
    "backend/app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
}


def test_a_target_is_kept_only_where_its_module_exists(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            **BACKEND,
            "Procfile": "web: cd backend && uvicorn app.main:app\n"
            "api: cd backend && uvicorn app.missing:app\n"
            "bogus: cd frontend && uvicorn app.main:app\n",
            "frontend/src/index.py": "",
        },
    )
    assert _roots(project) == [("backend", FIRST)]
    assert "Procfile:1: uvicorn app.main:app" in project.source_roots()[0].reason


def test_a_bogus_target_adds_no_root(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            **BACKEND,
            "Dockerfile": "FROM python\nCOPY backend /srv\nWORKDIR /srv\n"
            'CMD ["uvicorn", "nothing.here:app"]\n',
        },
    )
    assert _roots(project) == []


def test_site_folders_and_folders_without_project_modules_are_not_roots(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            **BACKEND,
            "main.py": """
                import os
                import sys
                sys.path.append("/usr/lib/python3/dist-packages")
                here = os.path.dirname(__file__)
                sys.path.insert(0, os.path.join(here, ".venv/lib/python3.12/site-packages"))
                sys.path.insert(0, os.path.join(os.path.dirname(__file__), "data"))
                sys.path.insert(0, os.path.dirname(__file__))
                sys.path.append(os.path.join(os.path.dirname(__file__), "backend"))
                """,
            ".venv/pyvenv.cfg": "",
            ".venv/lib/python3.12/site-packages/lib.py": "",
            "data/readme.txt": "",
        },
    )
    assert _roots(project) == [("backend", LAST)]


def test_own_folder_edits_and_flat_folders_only_hold_their_modules(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "tools/__init__.py": "",
            "tools/cli.py": "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n",
            "tools/helpers.py": "",
            "flat/server.py": "import db\n",
            "flat/db.py": "",
            "lonely/one.py": "import two\n",
            "scripts/a.py": "import os\n",
            "scripts/b.py": "import json\n",
        },
    )
    assert sorted(_roots(project)) == [("flat", INSIDE), ("tools", INSIDE)]
    flat = os.path.join(project.root, "flat")
    assert project._bases(os.path.join(flat, "server.py"))[0] == flat
    assert flat not in project._bases(os.path.join(project.root, "scripts", "a.py"))


def test_configured_source_roots_turn_detection_off(tmp_path: Path) -> None:
    files = {**BACKEND, "Procfile": "web: cd backend && uvicorn app.main:app\n", "lib/x.py": ""}
    configured = _project(tmp_path / "a", files, 'source-roots = ["lib"]\n')
    assert _roots(configured) == [("lib", FIRST)]
    assert configured.source_roots()[0].origin == "configured"
    assert configured.source_roots()[0].reason == "source-roots in pyproject.toml"
    empty = _project(tmp_path / "b", files, "source-roots = []\n")
    assert _roots(empty) == []
    detected = _project(tmp_path / "c", files)
    assert _roots(detected) == [("backend", FIRST)]


def test_regular_module_beats_a_namespace_folder_at_the_same_depth(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "config/settings.yaml": "",
            "config/__pycache__/x.py": "",
            "service/run.py": "from config import load\n",
            "service/config.py": "def load():\n    return {}\n",
        },
    )
    importer = os.path.join(project.root, "service", "run.py")
    module, rest = project.resolve_import(importer, 0, "config")
    assert module == os.path.join(project.root, "service", "config.py")
    assert rest == ()


def test_detected_roots_are_cached_and_follow_launch_file_changes(tmp_path: Path) -> None:
    files = {
        **BACKEND,
        "api/__init__.py": "",
        "api/app/__init__.py": "",
        "api/app/main.py": "",
        "Procfile": "web: cd backend && uvicorn app.main:app\n",
    }
    first = _project(tmp_path, files, cache=True)
    assert _roots(first) == [("backend", FIRST)]
    again = Project(Path(first.root), first.settings)
    key = again.roots_key()
    assert again.cache is not None
    assert key is not None
    assert again.cache.get(key, ROOTS_CODEC) == first.source_roots()
    procfile = Path(first.root) / "Procfile"
    procfile.write_text("web: cd api && uvicorn app.main:app --port 8000\n", encoding="utf-8")
    reset_analyses()
    changed = Project(Path(first.root), first.settings)
    assert changed.roots_key() != key
    assert _roots(changed) == [("api", FIRST)]


BLOCKING_HELPER = {
    "backend/__init__.py": "",
    "backend/shop/__init__.py": "",
    "backend/shop/main.py": """
        from fastapi import FastAPI

        from shop.store import load

        app = FastAPI()


        @app.get("/")
        async def index():
            return load()
        """,
    "backend/shop/store.py": "import time\n\n\ndef load():\n    time.sleep(1)\n",
}


def test_a_rerun_sees_a_changed_launch_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-run cache and the event-loop index are keyed by the launch files too."""
    procfile = {"Procfile": "web: cd backend && uvicorn shop.main:app\n"}
    root = Path(_project(tmp_path, {**BLOCKING_HELPER, **procfile}, cache=True).root)
    monkeypatch.chdir(root)

    def codes() -> list[str]:
        reset_analyses()
        report = check_files([root], load_settings(root))
        return [finding.code for finding in report.findings]

    assert codes() == ["APL201"]
    assert codes() == ["APL201"]  # warm
    (root / "Procfile").write_text("web: cd backend && uvicorn shop.gone:app --port 1\n")
    assert codes() == []


def test_roots_of_an_analysis_apply_to_resolution(tmp_path: Path) -> None:
    project = _project(
        tmp_path, {**BLOCKING_HELPER, "run.sh": "cd backend\nexec uvicorn shop.main:app\n"}
    )
    analysis = analysis_for(Path(project.root) / "backend" / "shop" / "main.py", project.settings)
    assert [root.reason for root in analysis.project.source_roots()] == [
        "run.sh:2: uvicorn shop.main:app"
    ]
    module, _ = analysis.project.resolve_import(
        os.path.join(project.root, "backend", "shop", "main.py"), 0, "shop.store"
    )
    assert module == os.path.join(project.root, "backend", "shop", "store.py")


def test_import_folder_of_fastapi_run_walks_up_packages(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "backend/app/__init__.py": "",
            "backend/app/main.py": "",
            "backend/Dockerfile": "FROM python\nWORKDIR /app\nCOPY . /app\n"
            "CMD fastapi run app/main.py\n",
            "other/Dockerfile": 'FROM python\nWORKDIR /srv\nCOPY . .\nCMD ["fastapi", "dev"]\n',
            "other/main.py": "",
        },
    )
    assert sorted(_roots(project)) == [("backend", FIRST), ("other", FIRST)]


def test_settings_default_is_detection() -> None:
    assert Settings().source_roots is None


LAUNCH_FILE_NAMES = (
    "Dockerfile",
    "compose.yaml",
    "Procfile",
    "Makefile",
    "justfile",
    "start.sh",
    "pyproject.toml",
)
LAUNCH_WORDS = st.sampled_from(
    [
        "FROM", "WORKDIR", "COPY", "CMD", "ENTRYPOINT", "services:", "command:", "  ", "\t",
        "- ", "[", "]", '"', "'", "\\", "\n", "cd", "&&", "$(", ")", "${", "}", "uvicorn",
        "fastapi", "run", "a.b:app", "--app-dir", "/", "..", ":", "#", "|", ">",
        "[project.scripts]",
        "x = ", "-m", "python",
    ]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(LAUNCH_FILE_NAMES),
    text=st.one_of(st.text(max_size=200), st.lists(LAUNCH_WORDS, max_size=40).map("".join)),
)
def test_launch_readers_never_fail(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    for launch in launches_in(str(path), text, str(tmp_path), os.path.exists):
        assert launch.target.text
        assert all(os.path.isabs(folder) for folder in launch.cwds)
