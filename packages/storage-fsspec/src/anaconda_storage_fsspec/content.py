"""Bytes in and out: ``cat``, ``pipe``, ``get``, ``put``, ``open`` and ``open_async``.

Each file is one request each way (a range read, a streamed ``PUT``), so fsspec's batched
``put`` of many files keeps ``batch_size`` requests in flight; ``cat`` and ``get`` of many
files read them together, up to 1,000 in one request (core's ``read_files``). Downloads are
core's: written beside the target, checked against the checksum the server announced (its
CRC32C by default, its sha256 with ``checksum="sha256"``), renamed into place, resumed at
the same revision when a connection breaks. A whole file read into memory is checked the
same way; a range cannot be (the server announces the whole content's digests only).
Uploads stream from disk; large ones go in parts (core decides, by size).
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from fsspec.asyn import _run_coros_in_chunks, sync
from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.utils import isfilelike

from anaconda_storage_core.models import FileInfo, Upload, UploadPart
from anaconda_storage_core.transfer.digest import Verify
from anaconda_storage_core.uri import StorageURI
from anaconda_storage_core.workers import in_workers

from .base import checksum_option
from .files import AnacondaFile, AsyncAnacondaFile
from .namespace import Namespace
from .saving import Saving

__all__ = ["CONCURRENCY", "INLINE_LIMIT", "Content"]

T = TypeVar("T")

INLINE_LIMIT = 256 * 1024
"""The largest file read with the others (core's ``inline_limit``); a larger one is read
on its own, where one request more costs little beside its bytes. With ``CONCURRENCY``
it bounds what a ``cat`` or ``get`` holds in memory: at most 2 x 1,000 files of 256 KiB."""

CONCURRENCY = 2
"""Requests of up to 1,000 files each that core's ``read_files`` sends at once."""

_PLANNED = 1000
"""fsspec's batch size while it plans a ``get`` (see ``Content._get``): its coroutines
only note a pair of paths each."""

# The keyword that makes `_get_file` note its pair of paths rather than download.
_PLAN = "_anaconda_plan"


def _local_size(path: str) -> int | None:
    """The size of a local file; None for a directory; 0 if nothing is there yet.

    A stat of a local path, made on the event loop as fsspec's own async implementations
    do: microseconds, not worth a hop to a thread per file.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return 0
    return None if stat.S_ISDIR(status.st_mode) else status.st_size


async def _caught(coroutine: Coroutine[Any, Any, T]) -> T | Exception:
    """What ``coroutine`` returns, or the exception it raises."""
    try:
        return await coroutine
    except Exception as exc:
        return exc


async def _result(coroutine: Coroutine[Any, Any, T]) -> T:
    return await coroutine


class Content(Namespace):
    """Reading and writing file content."""

    def _sync(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one of this filesystem's coroutines from blocking code, on its loop."""
        result: T = sync(self.loop, _result, coroutine)
        return result

    async def _cat(
        self,
        path: str | list[str],
        recursive: bool = False,
        on_error: str = "raise",
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> bytes | Exception | dict[str, bytes | Exception]:
        """The contents of one or many files (fsspec's ``cat``), the whole-file reads of
        many files read together: one stream of core's ``read_files`` (up to 1,000 files a
        request), no coroutine per file. Ranges (``start``, ``end``) are one request per
        file, and so is a single file. What fsspec's ``cat`` returns: one file's bytes, or a
        dict by path; ``on_error`` as fsspec's (``"raise"`` the first error in path order,
        ``"omit"`` the failed files, ``"return"`` their exceptions)."""
        window = batch_size or self.batch_size
        if "start" in kwargs or "end" in kwargs:
            result: bytes | Exception | dict[str, bytes | Exception] = await super()._cat(
                path, recursive=recursive, on_error=on_error, batch_size=window, **kwargs
            )
            return result
        paths = await self._expand_path(path, recursive=recursive)
        if len(paths) == 1:
            contents = [await _caught(self._cat_file(paths[0], **kwargs))]
        else:
            contents = await self._cat_listed(paths, window, **kwargs)
        if on_error == "raise":
            for content in contents:
                if isinstance(content, BaseException):
                    raise content
        if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):
            return {
                name: content
                for name, content in zip(paths, contents, strict=True)
                if on_error != "omit" or not isinstance(content, BaseException)
            }
        return contents[0]  # fsspec's cat of one path: its bytes (or, unless raised, error)

    async def _cat_listed(
        self, paths: list[str], window: int, **kwargs: Any
    ) -> list[bytes | Exception]:
        """The contents of ``paths`` (or each one's error), in order, read together; a
        file over ``INLINE_LIMIT`` is read on its own, at the revision announced, with at
        most ``window`` of those in flight."""
        client = await self._client()
        verify = self._checksum(kwargs)
        contents: list[bytes | Exception] = []
        alone: dict[int, StorageURI] = {}
        reading = client.read_files(
            [self._uri(path) for path in paths],
            verify=verify,
            inline_limit=INLINE_LIMIT,
            concurrency=CONCURRENCY,
        )
        async for read in reading:
            if read.data is not None:
                contents.append(read.data)
            elif read.error is not None:
                contents.append(read.error)
            else:  # too large to come with the others
                alone[len(contents)] = read.pinned
                contents.append(b"")
        if alone:
            reads = [self._cat_file(uri, **kwargs) for uri in alone.values()]
            answers = await _run_coros_in_chunks(reads, batch_size=window, return_exceptions=True)
            for index, answer in zip(alone, answers, strict=True):
                contents[index] = answer
        return contents

    async def _cat_file(
        self,
        path: str | StorageURI,
        start: int | None = None,
        end: int | None = None,
        **kwargs: Any,
    ) -> bytes:
        """The bytes ``[start, end)`` of a file (Python slice bounds; negative from the
        end), one request. ``b""`` for a range past the end.

        The whole file (no ``start``, no ``end``) is checked as the ``checksum`` option
        (or a ``checksum=`` given here) says: ``ChecksumMismatch`` if it differs.
        """
        client = await self._client()
        verify = self._checksum(kwargs)
        return await client.read_bytes(self._uri(path), start, end, verify=verify)

    def _checksum(self, kwargs: dict[str, Any]) -> Verify:
        """A call's ``checksum=``, else the filesystem's, as core's ``verify``."""
        if "checksum" in kwargs:
            return checksum_option(kwargs["checksum"])
        return self.download_check

    async def _pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Write ``value`` as the file's new revision.

        Args:
            mode: ``"create"`` writes only if the path holds no file
                (``FileExistsError`` otherwise, decided atomically by the server).
        """
        uri = self._uri(path)
        await self._upload_bytes(uri, value, if_none_match="*" if mode == "create" else None)

    async def _upload_bytes(
        self,
        uri: StorageURI,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> FileInfo:
        client = await self._client()
        try:
            return await client.upload(uri, data, if_match=if_match, if_none_match=if_none_match)
        finally:
            self.invalidate_cache(uri.fs_path)

    async def _put(
        self,
        lpath: str | list[str],
        rpath: str | list[str],
        recursive: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
        batch_size: int | None = None,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Upload files (fsspec's ``put``); files named one by one, in two lists of as
        many paths, are sent by ``batch_size`` workers, with no coroutine per file."""
        window = batch_size or self.batch_size
        if isinstance(lpath, list) and isinstance(rpath, list):
            return await self._put_listed(lpath, rpath, callback, window, **kwargs)
        return await super()._put(
            lpath,
            rpath,
            recursive=recursive,
            callback=callback,
            batch_size=window,
            maxdepth=maxdepth,
            **kwargs,
        )

    async def _put_listed(
        self,
        lpaths: list[str],
        rpaths: list[str],
        callback: Callback,
        window: int,
        **kwargs: Any,
    ) -> list[None]:
        """``put`` of two lists: what fsspec's does (the directories among the local paths
        made remotely first, a child callback per file, one step of ``callback`` per file
        sent, the first error raised and the rest stopped), without its task per file and
        its wait on all of them at each completion (about 100 of the 790 Python calls of a
        small file's upload)."""
        if len(lpaths) != len(rpaths):
            raise ValueError(
                f"put: {len(lpaths)} local paths for {len(rpaths)} remote ones; give as many"
            )
        sizes = [_local_size(lpath) for lpath in lpaths]
        directories = [rpath for rpath, size in zip(rpaths, sizes, strict=True) if size is None]
        await asyncio.gather(*(self._makedirs(path, exist_ok=True) for path in directories))
        files = [
            (lpath, rpath, size)
            for lpath, rpath, size in zip(lpaths, rpaths, sizes, strict=True)
            if size is not None
        ]
        callback.set_size(len(files))

        async def put(file: tuple[str, str, int]) -> None:
            lpath, rpath, size = file
            with callback.branched(lpath, rpath) as child:
                await self._put_local(lpath, size, rpath, child, **kwargs)
            callback.relative_update(1)

        # No more workers than files (-1, fsspec's "all at once": one per file).
        await in_workers(files, put, len(files) if window < 0 else min(window, len(files)))
        return [None] * len(files)

    async def _put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload a local file, streamed from disk (in parts when it is large)."""
        size = _local_size(lpath)
        if size is None:
            return  # a directory: fsspec's put made it already
        await self._put_local(lpath, size, rpath, callback, mode)

    async def _put_local(
        self,
        lpath: str,
        size: int,
        rpath: str,
        callback: Callback,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload the local file ``lpath`` of ``size`` bytes (see ``_put_file``)."""
        uri = self._uri(rpath)
        callback.set_size(size)
        client = await self._client()
        try:
            await client.upload(
                uri,
                lpath,
                if_none_match="*" if mode == "create" else None,
                progress=callback.relative_update,
            )
        finally:
            self.invalidate_cache(uri.fs_path)

    async def _get(
        self,
        rpath: str | list[str],
        lpath: str | list[str],
        recursive: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Download files (fsspec's ``get``): read together, up to 1,000 in one request,
        each written atomically, as ``get_file`` writes it.

        For a directory or a pattern, fsspec's ``get`` decides which files and where each
        goes (its rules for a trailing ``/``, for flattening, for names that would leave the
        target), but it is only asked: the pairs of paths it would download one coroutine
        each are noted, then read as two lists (``_get_listed``). A coroutine per file, each
        waiting on its share of a gathered read, cost twice the time of two lists for 1,000
        small files.
        """
        window = kwargs.pop("batch_size", None) or self.batch_size
        if isinstance(rpath, list) and isinstance(lpath, list):
            if len(rpath) != len(lpath):
                raise ValueError(
                    f"get: {len(rpath)} remote paths for {len(lpath)} local ones; give as many"
                )
            rpaths, lpaths = list(rpath), list(lpath)
        else:
            pairs: list[tuple[str, Any]] = []
            await super()._get(
                rpath,
                lpath,
                recursive=recursive,
                maxdepth=maxdepth,
                batch_size=_PLANNED,
                **{**kwargs, _PLAN: pairs.append},
            )
            rpaths, lpaths = [], []
            for planned, target in pairs:
                if self._uri(planned).path:
                    rpaths.append(planned)
                    lpaths.append(target)
                elif isinstance(target, str):
                    # The project itself (or an owner), listed by fsspec: a directory.
                    os.makedirs(target, exist_ok=True)
        if len(rpaths) == 1 or any(isfilelike(target) for target in lpaths):
            # One file (a GET costs what a POST .../read does, and streams to disk), or
            # open files to write into: each downloaded on its own.
            coroutines = [
                self._get_alone(self._uri(r), r, lp, callback, **kwargs)
                for r, lp in zip(rpaths, lpaths, strict=True)
            ]
            callback.set_size(len(coroutines))
            await _run_coros_in_chunks(coroutines, batch_size=window, callback=callback)
            return
        await self._get_listed(rpaths, lpaths, callback, window, **kwargs)

    async def _get_listed(
        self,
        rpaths: list[str],
        lpaths: list[str],
        callback: Callback,
        window: int,
        **kwargs: Any,
    ) -> None:
        """``get`` of files named one by one, two lists of as many paths: one stream of
        core's ``read_files``, the contents written by a worker thread as runs of them arrive
        (``saving.py``), no coroutine per file
        (fsspec's, with their futures, cost as much CPU as reading and writing a small
        file: about 47 us each). What fsspec's ``get`` of two lists does otherwise: the
        same parent directories made, the same callbacks, the first error raised."""
        verify = self._checksum(kwargs)
        for parent in {os.path.dirname(target) for target in lpaths}:
            if parent:
                os.makedirs(parent, exist_ok=True)
        callback.set_size(len(lpaths))
        client = await self._client()
        uris = [self._uri(path) for path in rpaths]
        alone: list[Coroutine[Any, Any, None]] = []
        saving = Saving(callback)
        try:
            index = 0
            reading = client.read_files(
                uris, verify=verify, inline_limit=INLINE_LIMIT, concurrency=CONCURRENCY
            )
            async for read in reading:
                lpath, index = lpaths[index], index + 1
                if read.data is not None:
                    await saving.add(rpaths[index - 1], lpath, read)  # counted once written
                    continue
                if _local_size(lpath) is None:
                    pass  # a directory, as fsspec's get leaves it
                elif read.error is None:  # too large to come with the others
                    rpath = rpaths[index - 1]
                    alone.append(self._get_alone(read.pinned, rpath, lpath, callback, **kwargs))
                    continue  # counted once downloaded
                elif isinstance(read.error, FileNotFoundError) and await self._isdir(
                    uris[index - 1].fs_path
                ):
                    os.makedirs(lpath, exist_ok=True)  # an empty directory (only its .keep)
                else:
                    await saving.close()  # the files before it are written, as one by one
                    raise read.error
                callback.relative_update(1)
            await saving.close()
        except BaseException:
            await saving.abandon()
            for coroutine in alone:
                coroutine.close()
            raise
        if alone:
            await _run_coros_in_chunks(alone, batch_size=window, callback=callback)

    async def _get_alone(
        self, uri: StorageURI, rpath: str, lpath: str, callback: Callback, **kwargs: Any
    ) -> None:
        with callback.branched(rpath, lpath) as child:
            await self._get_file(uri, lpath, callback=child, **kwargs)

    async def _get_file(
        self,
        rpath: str | StorageURI,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        **kwargs: Any,
    ) -> None:
        """Download a file, checked as the ``checksum`` option (or a ``checksum=`` given
        here) says: to a path atomically (written beside it, then renamed, only if it
        checks out), or into an open file."""
        plan = kwargs.pop(_PLAN, None)
        if plan is not None:  # fsspec's get planning, for `_get`: note, download nothing
            plan((rpath, lpath))
            return
        uri = self._uri(rpath)
        client = await self._client()
        verify = self._checksum(kwargs)
        if isfilelike(lpath):
            await client.download(uri, lpath, progress=callback.relative_update, verify=verify)
            return
        if _local_size(lpath) is None:
            return  # a directory fsspec's get already made
        try:
            await client.download(uri, lpath, progress=callback.relative_update, verify=verify)
        except FileNotFoundError:
            if await self._isdir(uri.fs_path):
                os.makedirs(lpath, exist_ok=True)  # an empty directory (only its .keep)
                return
            raise

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AnacondaFile:
        """Open a file (``rb``, ``wb``, ``ab`` or ``xb``); see :class:`AnacondaFile`."""
        return AnacondaFile(
            self,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    async def open_async(
        self, path: str, mode: str = "rb", block_size: int | None = None, **kwargs: Any
    ) -> AsyncAnacondaFile:
        """Open a file for asynchronous reading or writing (``rb``, ``wb``, ``ab``, ``xb``).

        Example:
            >>> async with await fs.open_async("alice/sales/q1.csv") as f:
            ...     header = await f.read(100)

        Args:
            path: The file; for reading, maybe at a checkpoint or revision.
            mode: A binary mode (there is no text mode, as in fsspec's other drivers).
            block_size: A writer's block: the memory it holds, and its part size.

        Returns:
            An :class:`AsyncAnacondaFile`: pinned to the revision it opened for reading,
            streamed in parts of ``block_size`` for writing, nothing written if the
            ``async with`` block raises.

        Raises:
            FileNotFoundError: Reading a file that does not exist.
            ReadOnlyError: Writing at a checkpoint or a revision (a ``PermissionError``).
            ValueError: A text mode, or compression (as fsspec's ``open_async``).
        """
        if "b" not in mode or kwargs.get("compression"):
            raise ValueError(f"open_async opens binary files without compression, not {mode!r}")
        kwargs.pop("compression", None)
        return await AsyncAnacondaFile.open(self, path, mode, block_size=block_size, **kwargs)

    # -- the multipart primitives a writer uses --------------------------------------------

    async def _create_upload(
        self, uri: StorageURI, *, if_match: str | None, if_none_match: str | None
    ) -> Upload:
        client = await self._client()
        return await client.create_upload(uri, if_match=if_match, if_none_match=if_none_match)

    async def _put_part(
        self, uri: StorageURI, session: str, number: int, data: bytes
    ) -> UploadPart:
        client = await self._client()
        return await client.put_part(uri, session, number, data)

    async def _complete_upload(
        self, uri: StorageURI, session: str, parts: Sequence[UploadPart]
    ) -> FileInfo:
        client = await self._client()
        try:
            return await client.complete_upload(uri, session, parts)
        finally:
            self.invalidate_cache(uri.fs_path)

    async def _abort_upload(self, uri: StorageURI, session: str) -> None:
        client = await self._client()
        await client.abort_upload(uri, session)
