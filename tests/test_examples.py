"""The examples the README shows, run as their users run them: against a FakeOmeda."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from omeda_async import RecordState, SqliteStore
from omeda_async.testing import FakeOmeda
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[1]
WEB_APP = ROOT / "examples" / "web_app.py"


def load(path: Path) -> ModuleType:
    """Import an example from its file, as a module of its own."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_shows_the_web_app_as_it_is() -> None:
    """The README's web app is examples/web_app.py, word for word."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```python\n{WEB_APP.read_text(encoding='utf-8')}```" in readme


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OMEDA_* variable of the machine leaks in (each test sets the fake's)."""
    for name in ("OMEDA_BRAND", "OMEDA_APP_ID", "OMEDA_INPUT_ID", "OMEDA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


async def _status(http: TestClient[Any, Any], transaction_id: int) -> dict[str, Any]:
    response = await http.get(f"/signups/{transaction_id}")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_the_web_app_follows_signups_for_its_lifetime_and_shuts_down_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_env: None
) -> None:
    """Signups are tracked from request handlers; results and events arrive for the app's
    lifetime (it goes idle in between); shutdown does not wait on a record held for a
    person, which stays unfinished in the journal and is followed again at the next start."""
    web_app = load(WEB_APP)
    journal = tmp_path / "omeda.db"
    async with FakeOmeda(time_scale=1000, seed=5) as fake:
        for name, value in (
            ("OMEDA_BRAND", fake.brand),
            ("OMEDA_APP_ID", fake.app_id),
            ("OMEDA_INPUT_ID", fake.input_id),
            ("OMEDA_BASE_URL", fake.url),
        ):
            monkeypatch.setenv(name, value)
        app = web_app.make_app(str(journal), clock=fake.clock)
        async with TestServer(app) as server, TestClient(server) as http:
            poller = app[web_app.POLLER]

            async def signup(n: int) -> int:
                form = {"first_name": f"Jane{n}", "email": f"jane{n}@example.com"}
                response = await http.post("/signups", json=form)
                assert response.status == 202
                body: dict[str, int] = await response.json()
                return body["transaction_id"]

            fake.script_next("new_customer")
            first = await signup(1)
            await eventually(lambda: not len(poller))  # done: the poller is idle again
            assert (await _status(http, first))["outcome"] == "succeeded"
            # Idle, yet still open: what is tracked now is followed and reported too.
            fake.script_next("existing_customer", "held_customer")
            second, held = await signup(2), await signup(3)
            await eventually(lambda: poller.counts().held == 1 and len(poller) == 1)
            assert (await _status(http, second))["outcome"] == "succeeded"
            assert (await _status(http, held))["held"] is True
            # Shutdown while a person must act: at once, not after hours of polling.
            async with asyncio.timeout(5):
                await server.close()
        async with SqliteStore(journal) as store:
            assert [record.transaction_id for record in await store.unfinished()] == [held]
            done = await store.get(f"transaction:{second}")
            assert done is not None
            assert done.state is RecordState.FINISHED
        # The next start follows the held record again (resume).
        again = web_app.make_app(str(journal), clock=fake.clock)
        async with TestServer(again) as server:
            resumed = again[web_app.POLLER]
            assert resumed.counts().held == 1
            looked_up = fake.lookups[held]
            await eventually(lambda: fake.lookups[held] > looked_up)  # followed again
    assert fake.duplicates() == []
