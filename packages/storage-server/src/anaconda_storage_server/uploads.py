"""Multipart upload sessions (docs/api.md, "Multipart uploads").

A session is a row of `uploads`; each part is a file `uploads/<session>/<random>.tmp`,
streamed in, fsynced, and recorded in `upload_parts` by one write transaction (a part sent
again replaces the row; the old file goes once that commits). Sessions untouched for longer
than the expiry are invisible at once and removed by a background task.

Completion writes no content. The file is content-addressed by the sha256 of the whole
content, which needs every byte in order, but most of it is known by then: each session
keeps in memory (`Prefix`) the running sha256 of its parts 1, 2, ... n received so far,
with a `hashlib` copy after each part; a part is hashed into it when it and all parts before
it are saved (re-read from the page cache, in the worker thread that saves it, so it overlaps
the transfer of the parts still in flight). Completion takes the longest run of that chain
matching the parts it joins (same number, same part file) and hashes only what follows
(parts sent out of order, a restarted server, an unusual order: all still correct, only
slower). The parts are then not copied: `Blobs.store_parts` hard-links them into a
composite blob (one part: the part file itself becomes the blob), inside the one write
transaction that re-checks everything (the session and its parts are unchanged, the
conditions given at creation still hold, the path clashes with no directory) and commits
the revision. A crash anywhere leaves the session as it was (its part files are linked,
never moved) and at most an unreferenced blob, removed at start-up.

Part files and blobs must share a filesystem (both live in the data directory) for the
hard links. Measured (bench/core_transfer.py, 2 GiB, StorageClient's 16 MiB parts 4 at a
time, interleaved A/B, median of 2): 118 MiB/s when completion re-read, re-hashed,
rewrote and fsynced the whole file (0.52x one streamed PUT), 254 MiB/s now (0.95x); the
composite downloads as fast as a plain blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anaconda_storage_core import checksum
from anaconda_storage_server import checksums, recovery
from anaconda_storage_server.access import Project, open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.blobs import CHUNK_SIZE, BlobWriter, receive
from anaconda_storage_server.changes import record, unchanged
from anaconda_storage_server.context import Context, caller, context, json_body
from anaconda_storage_server.data_dir import make_directory
from anaconda_storage_server.database import wall_us
from anaconda_storage_server.errors import (
    ApiError,
    checksum_mismatch,
    conflict,
    invalid,
    not_found,
)
from anaconda_storage_server.files import expected_sha256, prepare_write
from anaconda_storage_server.history import encoded_crc32c, format_instant
from anaconda_storage_server.names import check_path
from anaconda_storage_server.paging import Page, count_and_text_key
from anaconda_storage_server.text import MAX_DIGITS, ascii_integer

MAX_PART_NUMBER = 10_000
MAX_PART_SIZE = 5 * 1024**3


class Prefix:
    """The running sha256 of a session's parts 1..n saved by this process (a cache)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.saved: dict[int, str] = {}  # part number -> part file
        self.chain: list[tuple[int, str, Any]] = []  # (number, file, sha256 up to its end)

    def add(self, directory: Path, number: int, file: str) -> None:
        """Record a saved part and hash what has become contiguous (call from a thread)."""
        with self.lock:
            self.saved[number] = file
            for index, (known, known_file, _) in enumerate(self.chain):
                if known == number and known_file != file:  # replaced: the chain ends before
                    del self.chain[index:]
                    break
            while (following := len(self.chain) + 1) in self.saved:
                hasher = self.chain[-1][2].copy() if self.chain else hashlib.sha256()
                name = self.saved[following]
                try:
                    _hash_file(hasher, directory / name)
                except FileNotFoundError:  # replaced or removed meanwhile
                    return
                self.chain.append((following, name, hasher))

    def start(self, parts: list[sqlite3.Row]) -> tuple[Any, int]:
        """The sha256 state after the longest matching run of `parts`, and its length."""
        with self.lock:
            chain = list(self.chain)
        matched = 0
        for (number, file, _), part in zip(chain, parts, strict=False):
            if number != part["number"] or file != part["file"]:
                break
            matched += 1
        if matched == 0:
            return hashlib.sha256(), 0
        return chain[matched - 1][2].copy(), matched


def _hash_file(hasher: Any, path: Path) -> None:
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            hasher.update(chunk)


def _expiry_us(state: Context) -> int:
    return int(state.upload_expiry * 1_000_000)


def upload_json(
    state: Context, row: sqlite3.Row, parts: list[sqlite3.Row] | None
) -> dict[str, Any]:
    """The `Upload` object of docs/api.md (with `parts` when given)."""
    body: dict[str, Any] = {
        "id": row["id"],
        "path": row["path"],
        "created_at": format_instant(row["created_us"]),
        "expires_at": format_instant(row["touched_us"] + _expiry_us(state)),
    }
    if parts is not None:
        body["parts"] = [
            {
                "number": part["number"],
                "size": part["size"],
                "sha256": part["sha256"],
                "crc32c": encoded_crc32c(part["crc32c"]),
            }
            for part in parts
        ]
    return body


def _session(
    connection: sqlite3.Connection, state: Context, project: Project, upload_id: str
) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        "SELECT * FROM uploads WHERE id = ? AND project_id = ? AND touched_us >= ?",
        (upload_id, project.id, wall_us() - _expiry_us(state)),
    ).fetchone()
    if row is None:
        raise not_found("upload", f"no upload session {upload_id}")
    return row


def _parts(connection: sqlite3.Connection, upload_id: str) -> list[sqlite3.Row]:
    return connection.execute(
        "SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY number", (upload_id,)
    ).fetchall()


def _create(
    state: Context, user: Owner, owner: str, name: str, path: str, checks: dict[str, str | None]
) -> dict[str, Any]:
    with state.database.write() as transaction:
        project, _ = prepare_write(transaction, user, owner, name, path, **checks)
        upload_id = str(uuid.uuid4())
        make_directory(state.uploads_dir / upload_id)
        transaction.execute(
            "INSERT INTO uploads (id, project_id, path, created_us, touched_us, created_by,"
            " if_match, if_none_match) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                upload_id,
                project.id,
                path,
                transaction.now_us,
                transaction.now_us,
                user.id,
                checks["if_match"],
                int(checks["if_none_match"] is not None),
            ),
        )
        row = transaction.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return upload_json(state, row, [])


async def create_upload(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request)
    path = body.get("path")
    if not isinstance(path, str):
        raise invalid("path is required", field="path")
    path = check_path(path)
    if_match, if_none_match = body.get("if_match"), body.get("if_none_match")
    if if_match is not None and not isinstance(if_match, str):
        raise invalid("if_match must be a revision", field="if_match")
    if if_none_match not in (None, "*"):
        raise invalid('if_none_match can only be "*"', field="if_none_match")
    checks = {"if_match": if_match, "if_none_match": if_none_match}
    state = context(request)
    params = request.path_params
    upload = await state.run(_create, state, user, params["owner"], params["project"], path, checks)
    return JSONResponse(upload, status_code=201)


def _list(
    state: Context, user: Owner, owner: str, name: str, path: str | None, page: Page
) -> list[sqlite3.Row]:
    after = page.after if isinstance(page.after, list) and len(page.after) == 2 else None
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "write")
        return connection.execute(
            "SELECT * FROM uploads WHERE project_id = ?1 AND touched_us >= ?2"
            " AND (?3 IS NULL OR path = ?3)"
            " AND (?4 IS NULL OR created_us < ?4 OR (created_us = ?4 AND id < ?5))"
            " ORDER BY created_us DESC, id DESC LIMIT ?6",
            (
                project.id,
                wall_us() - _expiry_us(state),
                path,
                after[0] if after else None,
                after[1] if after else None,
                page.limit + 1,
            ),
        ).fetchall()


async def list_uploads(request: Request) -> JSONResponse:
    user = await caller(request)
    page = Page.from_request(request, key=count_and_text_key)
    path = request.query_params.get("path")
    if path is not None:
        path = check_path(path)
    state = context(request)
    params = request.path_params
    rows = await state.run(_list, state, user, params["owner"], params["project"], path, page)
    return JSONResponse(
        page.answer(
            rows,
            lambda row: [row["created_us"], row["id"]],
            lambda row: upload_json(state, row, None),
        )
    )


def _get(state: Context, user: Owner, owner: str, name: str, upload_id: str) -> dict[str, Any]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "write")
        row = _session(connection, state, project, upload_id)
        return upload_json(state, row, _parts(connection, upload_id))


async def get_upload(request: Request) -> JSONResponse:
    user = await caller(request)
    state = context(request)
    params = request.path_params
    upload = await state.run(_get, state, user, params["owner"], params["project"], params["id"])
    return JSONResponse(upload)


def _open_part(state: Context, user: Owner, owner: str, name: str, upload_id: str) -> BlobWriter:
    # Fail fast, before the body; `_save_part` checks again.
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "write")
        _session(connection, state, project, upload_id)
    try:
        return state.blobs.writer(state.uploads_dir / upload_id)
    except FileNotFoundError:  # the session was removed meanwhile
        raise not_found("upload", f"no upload session {upload_id}") from None


def _save_part(
    state: Context,
    user: Owner,
    owner: str,
    name: str,
    upload_id: str,
    number: int,
    writer: BlobWriter,
    tail: bytes,
    sha256: str | None,
    crc32c: int | None,
) -> dict[str, Any]:
    replaced: list[str] = []
    try:
        writer.complete(tail, sha256, expected_crc32c=crc32c)
        with state.database.write() as transaction:
            project = open_project(transaction.connection, user, owner, name, "write")
            _session(transaction.connection, state, project, upload_id)
            old = transaction.execute(
                "SELECT file FROM upload_parts WHERE upload_id = ? AND number = ?",
                (upload_id, number),
            ).fetchone()
            if old is not None:
                replaced.append(old[0])
            transaction.execute(
                "INSERT OR REPLACE INTO upload_parts"
                " (upload_id, number, size, sha256, file, crc32c) VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, number, writer.size, writer.sha256, writer.path.name, writer.crc32c),
            )
            transaction.execute(
                "UPDATE uploads SET touched_us = ? WHERE id = ?", (transaction.now_us, upload_id)
            )
    except BaseException:
        writer.discard()
        raise
    prefix = state.upload_prefixes.setdefault(upload_id, Prefix())
    with contextlib.suppress(OSError):  # only a cache: completion hashes what it lacks
        prefix.add(state.uploads_dir / upload_id, number, writer.path.name)
    for file in replaced:
        (state.uploads_dir / upload_id / file).unlink(missing_ok=True)
    return {
        "number": number,
        "size": writer.size,
        "sha256": writer.sha256,
        "crc32c": checksum.encode(writer.crc32c),
    }


def part_number(text: str) -> int:
    """A part number from the route: 1 to 10,000."""
    number = ascii_integer(text, max_digits=5)
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise invalid(f"a part number is an integer from 1 to {MAX_PART_NUMBER}", field="number")
    return number


async def put_part(request: Request) -> JSONResponse:
    user = await caller(request)
    number = part_number(request.path_params["number"])
    sha256 = expected_sha256(request)
    crc32c = checksums.expected_crc32c(request)
    length = request.headers.get("content-length", "")
    if len(length) > MAX_DIGITS or (ascii_integer(length) or 0) > MAX_PART_SIZE:
        raise ApiError(413, "a part is at most 5 GiB")
    state = context(request)
    owner, name, upload_id = (request.path_params[key] for key in ("owner", "project", "id"))
    writer = await state.run(_open_part, state, user, owner, name, upload_id)
    tail = await receive(writer, request.stream(), limit=MAX_PART_SIZE)
    part = await state.run(
        _save_part, state, user, owner, name, upload_id, number, writer, tail, sha256, crc32c
    )
    return JSONResponse(part)


def _plan(
    state: Context, user: Owner, owner: str, name: str, upload_id: str, wanted: list[Any] | None
) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
    """The session and the parts to concatenate, in order (400 for a bad list)."""
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "write")
        session = _session(connection, state, project, upload_id)
        parts = {part["number"]: part for part in _parts(connection, upload_id)}
    if wanted is None:
        return session, [parts[number] for number in sorted(parts)]
    chosen = []
    for index, item in enumerate(wanted):
        number = item.get("number") if isinstance(item, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise invalid(f"parts[{index}].number must be an integer", field="parts")
        if number not in parts:
            raise invalid(f"part {number} was not uploaded", field="parts")
        digest = item.get("sha256")
        if digest is not None and digest != parts[number]["sha256"]:
            raise invalid(f"part {number} has sha256 {parts[number]['sha256']}", field="parts")
        crc = item.get("crc32c")
        known = encoded_crc32c(parts[number]["crc32c"])
        if crc is not None and known is not None and crc != known:
            raise checksum_mismatch("parts", f"part {number} has CRC32C {known}, not {crc}")
        chosen.append(parts[number])
    if len({part["number"] for part in chosen}) != len(chosen):
        raise invalid("a part is listed twice", field="parts")
    return session, chosen


def _digest(state: Context, upload_id: str, parts: list[sqlite3.Row]) -> tuple[str, int]:
    """The sha256 of the parts joined (the cached prefix, then what remains is read), and
    their CRC32C (combined from the parts' own)."""
    prefix = state.upload_prefixes.get(upload_id)
    hasher, done = prefix.start(parts) if prefix is not None else (hashlib.sha256(), 0)
    try:
        for part in parts[done:]:
            _hash_file(hasher, state.uploads_dir / upload_id / part["file"])
        crc32c = checksums.combined(state.uploads_dir / upload_id, parts)
    except FileNotFoundError:
        raise not_found("upload", f"no upload session {upload_id}") from None
    digest: str = hasher.hexdigest()
    return digest, crc32c


def _complete(
    state: Context,
    user: Owner,
    owner: str,
    name: str,
    session: sqlite3.Row,
    parts: list[sqlite3.Row],
    digests: tuple[str, int],
) -> tuple[dict[str, Any], bool]:
    upload_id = session["id"]
    sha256, crc32c = digests
    directory = state.uploads_dir / upload_id
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner, name, "write")
        _session(connection, state, project, upload_id)
        now = {part["number"]: part["file"] for part in _parts(connection, upload_id)}
        if any(now.get(part["number"]) != part["file"] for part in parts):
            raise conflict("a part was replaced while completing; complete again")
        checks = {
            "if_match": session["if_match"],
            "if_none_match": "*" if session["if_none_match"] else None,
        }
        _, current = prepare_write(transaction, user, owner, name, session["path"], **checks)
        size = sum(part["size"] for part in parts)
        if current is not None and unchanged(current, size, sha256):
            version = current  # the same content: no new revision (docs/api.md)
        else:
            state.blobs.store_parts(sha256, [directory / part["file"] for part in parts])
            checksums.remember(transaction, sha256, crc32c)
            version = record(
                transaction,
                project.id,
                session["path"],
                user,
                size=size,
                sha256=sha256,
                description=current.description if current else "",
                metadata=current.metadata if current else {},
            )
        transaction.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
        transaction.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
    state.upload_prefixes.pop(upload_id, None)
    recovery.remove_upload_dirs(state, [upload_id])
    return version.file_json(), current is None


async def complete_upload(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request, optional=True)
    wanted = body.get("parts")
    if wanted is not None and not isinstance(wanted, list):
        raise invalid("parts must be a list", field="parts")
    if wanted is not None and len(wanted) > MAX_PART_NUMBER:
        raise ApiError(413, f"at most {MAX_PART_NUMBER} parts")
    state = context(request)
    owner, name, upload_id = (request.path_params[key] for key in ("owner", "project", "id"))
    session, parts = await state.run(_plan, state, user, owner, name, upload_id, wanted)
    digests = await state.run(_digest, state, upload_id, parts)
    file, created = await state.run(_complete, state, user, owner, name, session, parts, digests)
    return JSONResponse(file, status_code=201 if created else 200)


def _abort(state: Context, user: Owner, owner: str, name: str, upload_id: str) -> None:
    with state.database.write() as transaction:
        project = open_project(transaction.connection, user, owner, name, "write")
        _session(transaction.connection, state, project, upload_id)
        transaction.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
        transaction.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
    state.upload_prefixes.pop(upload_id, None)
    recovery.remove_upload_dirs(state, [upload_id])


async def abort_upload(request: Request) -> Response:
    user = await caller(request)
    state = context(request)
    params = request.path_params
    await state.run(_abort, state, user, params["owner"], params["project"], params["id"])
    return Response(status_code=204)


def expire(state: Context) -> int:
    """Remove the sessions untouched for longer than the expiry; how many."""
    with state.database.read() as connection:
        oldest = connection.execute("SELECT min(touched_us) FROM uploads").fetchone()[0]
        if state.upload_prefixes:  # drop the caches of sessions gone by any route
            live = {row[0] for row in connection.execute("SELECT id FROM uploads")}
            for upload_id in set(state.upload_prefixes) - live:
                state.upload_prefixes.pop(upload_id, None)
    if oldest is None or oldest >= wall_us() - _expiry_us(state):
        return 0  # nothing to do: no write transaction
    with state.database.write() as transaction:
        expired = [
            row[0]
            for row in transaction.execute(
                "SELECT id FROM uploads WHERE touched_us < ?", (wall_us() - _expiry_us(state),)
            )
        ]
        for upload_id in expired:
            transaction.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
            transaction.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
    for upload_id in expired:
        state.upload_prefixes.pop(upload_id, None)
        shutil.rmtree(state.uploads_dir / upload_id, ignore_errors=True)
    return len(expired)


UPLOADS = "/api/storage/projects/{owner}/{project}/uploads"
routes = [
    Route(UPLOADS, create_upload, methods=["POST"]),
    Route(UPLOADS, list_uploads, methods=["GET"]),
    Route(f"{UPLOADS}/{{id}}", get_upload, methods=["GET"]),
    Route(f"{UPLOADS}/{{id}}", abort_upload, methods=["DELETE"]),
    Route(f"{UPLOADS}/{{id}}/parts/{{number}}", put_part, methods=["PUT"]),
    Route(f"{UPLOADS}/{{id}}/complete", complete_upload, methods=["POST"]),
]
