"""Uploads and downloads as flows: request bodies read from files, resumable reads and
downloads, single and multipart uploads."""
