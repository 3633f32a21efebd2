"""The ASGI application: routes of docs/api.md, error mapping, start-up and background work."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anaconda_storage_server import (
    __version__,
    checkpoints,
    diff,
    directories,
    files,
    log,
    owners,
    permissions,
    projects,
    reading,
    recovery,
    restore,
    transfer,
    trash,
    tree,
    uploads,
)
from anaconda_storage_server.blobs import Blobs
from anaconda_storage_server.context import Context
from anaconda_storage_server.data_dir import make_directory, open_data_dir
from anaconda_storage_server.database import Database
from anaconda_storage_server.errors import ApiError, error_response
from anaconda_storage_server.faults import Faults
from anaconda_storage_server.options import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_UPLOAD_EXPIRY,
    ServerOptions,
)
from anaconda_storage_server.text import StrictUrl

API_VERSION = "2023.11.28"
logger = logging.getLogger("anaconda_storage_server")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, f"no route {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = ApiError(
            405,
            f"{request.method} is not allowed on {request.url.path}",
            headers=exc.headers or {},
        )
    else:
        error = ApiError(exc.status_code, exc.detail, headers=exc.headers or {})
    return error_response(error)


async def _disconnected(request: Request, exc: Exception) -> Response:
    # The client is gone mid-request; nobody reads this answer.
    return Response(status_code=400)


async def _internal(request: Request, exc: Exception) -> Response:
    logger.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500, f"internal error: {type(exc).__name__}"))


class _AnsweredErrors:
    """Keeps the connection usable after an unexpected error was answered 500 (issue 11).

    Starlette answers an unexpected exception with `_internal`'s 500 and then raises it
    again, so that the server may log it; uvicorn then closes the connection without having
    said `Connection: close`, and the client's next request on that pooled connection meets
    a reset. `_internal` has logged the error: once its answer is complete, the exception
    stops here and the connection lives on (uvicorn reads and drops whatever is left of the
    request's body, so a client still sending it reads the 500 rather than a reset). An
    exception raised after an answer started goes on to uvicorn, which must cut the
    connection: the client holds a partial answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def watch(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if not answered:
                raise


class _ApiVersion:
    """Adds `Api-Version` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"api-version", API_VERSION.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_version)


def open_context(
    data_dir: Path,
    *,
    upload_expiry: float = DEFAULT_UPLOAD_EXPIRY,
    disk_full_after: int | None = None,
    retention_days: float = DEFAULT_RETENTION_DAYS,
) -> Context:
    """Open (creating if needed, private) the data directory: database, blobs, upload parts.

    An existing data directory that other local accounts may read is reported (a warning).
    """
    open_data_dir(data_dir)
    uploads_dir = data_dir / "uploads"
    make_directory(uploads_dir, exist_ok=True)
    return Context(
        data_dir=data_dir,
        database=Database(data_dir / "storage.db"),
        blobs=Blobs(data_dir / "blobs", full_after=disk_full_after),
        uploads_dir=uploads_dir,
        upload_expiry=upload_expiry,
        retention_days=retention_days,
    )


def create_app(data_dir: Path, options: ServerOptions | None = None) -> ASGIApp:
    """The Storage API application over a data directory.

    Args:
        data_dir: Where the database, blobs and upload parts live (created if absent).
        options: Its test aids, upload expiry and trash retention (`ServerOptions`: all
            test aids off by default). Its connection limits are the HTTP server's to
            apply (`cli.uvicorn_config`), not the application's.

    Returns:
        An ASGI application: Starlette (its errors answered without losing the connection)
        inside the fault injection, inside `Api-Version`.
    """
    options = options if options is not None else ServerOptions()
    state = open_context(
        data_dir,
        upload_expiry=options.upload_expiry,
        disk_full_after=options.fault_disk_full_after,
        retention_days=options.retention_days,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(recovery.recover, state)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_expire_uploads, state)
            tasks.start_soon(_purge_trash, state)
            yield
            tasks.cancel_scope.cancel()

    routes: list[Route] = [
        Route("/api/health", health, methods=["GET"]),
        *owners.routes,
        *projects.routes,
        *checkpoints.routes,
        *permissions.routes,
        *tree.routes,
        *files.routes,
        *reading.routes,
        *directories.routes,
        *transfer.routes,
        *uploads.routes,
        *log.routes,
        *restore.routes,
        *diff.routes,
        *trash.routes,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            ClientDisconnect: _disconnected,
            Exception: _internal,
        },
        lifespan=lifespan,
    )
    assert isinstance(app.router, Router)
    app.router.redirect_slashes = False
    app.state.context = state
    # Api-Version outermost: injected faults carry it too.
    faults = Faults(
        # Invalid UTF-8 in the URL is 400 before any route decodes it.
        StrictUrl(_AnsweredErrors(app)),
        latency_ms=options.latency_ms,
        bandwidth=options.bandwidth,
        fault_rate=options.fault_rate,
        fault_status=options.fault_status,
        cut_rate=options.cut_rate,
        lose_rate=options.lose_rate,
    )
    return _ApiVersion(faults)


async def _expire_uploads(state: Context) -> None:
    """Remove multipart sessions idle for longer than the expiry, now and then."""
    interval = min(60.0, max(0.05, state.upload_expiry / 4))
    while True:
        try:
            removed = await state.run(uploads.expire, state)
            if removed:
                logger.info("removed %d expired upload session(s)", removed)
        except Exception:  # pragma: no cover - keep the sweeper alive, report the bug
            logger.exception("upload expiry failed")
        await anyio.sleep(interval if math.isfinite(interval) else 60.0)


async def _purge_trash(state: Context) -> None:
    """Purge the deleted projects whose retention period is over, now and then."""
    interval = min(60.0, max(0.05, state.retention_days * 86400 / 4))
    while True:
        try:
            purged = await state.run(trash.purge_expired, state)
            if purged:
                logger.info("purged %d deleted project(s) past their retention", purged)
        except Exception:  # pragma: no cover - keep the sweeper alive, report the bug
            logger.exception("trash purge failed")
        await anyio.sleep(interval if math.isfinite(interval) else 60.0)
