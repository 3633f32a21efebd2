"""Uploads and downloads as flows: request bodies read from files, what an upload's source
can be, resumable reads and downloads, single and multipart uploads."""
