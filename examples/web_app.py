# examples/web_app.py: a web backend that follows every signup it queues, for its lifetime.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from omeda_async import OmedaClient, SqliteStore, StatusEvent, TrackingResult, TransactionPoller

CLIENT = web.AppKey("client", OmedaClient)
POLLER = web.AppKey("poller", TransactionPoller)
# Where each signup stands, for the status page (a real app writes it to its own database).
STATUS = web.AppKey("status", dict[int, dict[str, Any]])


def make_app(journal: str = "omeda.db", **client_options: Any) -> web.Application:
    """The app; ``client_options`` go to ``OmedaClient.from_env`` (OMEDA_* variables)."""

    async def omeda(app: web.Application) -> AsyncIterator[None]:
        # Startup: one client and one poller for as long as the app runs.
        async with OmedaClient.from_env(**client_options) as client:
            poller = client.poller(store=SqliteStore(journal))  # the poller opens and closes it
            await poller.start()  # results() and events() now wait for as long as it is open
            events, results = poller.events(), poller.results()  # before anything is tracked
            await poller.resume()  # what the last run left unfinished (held records too)
            app[CLIENT], app[POLLER] = client, poller
            watchers = [asyncio.create_task(watch(app, events))]
            watchers.append(asyncio.create_task(report(app, results)))
            yield
            # Shutdown: stop at once. Unfinished records (held ones too) stay in the journal.
            await poller.close()
            await asyncio.gather(*watchers)  # both feeds end with close()

    app = web.Application()
    app[STATUS] = {}
    app.cleanup_ctx.append(omeda)
    app.router.add_post("/signups", signup)
    app.router.add_get("/signups/{transaction_id}", status)
    return app


async def watch(app: web.Application, events: AsyncIterator[StatusEvent]) -> None:
    async for event in events:  # every status change of every tracked record
        held = event.status.is_held  # waiting for a person at Omeda: say so
        app[STATUS][event.transaction_id] = {"status": int(event.status), "held": held}


async def report(app: web.Application, results: AsyncIterator[TrackingResult]) -> None:
    async for result in results:  # each record's end (CANCELLED at shutdown)
        app[STATUS][result.transaction_id] = {"outcome": result.outcome.value}


async def signup(request: web.Request) -> web.Response:
    form = await request.json()
    payload = {"FirstName": form["first_name"], "Emails": [{"EmailAddress": form["email"]}]}
    receipt = await request.app[CLIENT].store_customer_and_order(payload)
    request.app[POLLER].track(receipt.transaction_id)  # followed from now on; no waiting here
    return web.json_response({"transaction_id": receipt.transaction_id}, status=202)


async def status(request: web.Request) -> web.Response:
    transaction_id = int(request.match_info["transaction_id"])
    seen = request.app[STATUS].get(transaction_id, {"status": None})
    return web.json_response({"transaction_id": transaction_id, **seen})


if __name__ == "__main__":
    web.run_app(make_app())
