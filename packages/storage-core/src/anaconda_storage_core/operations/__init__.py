"""Every call of the Storage API (docs/api.md), one module per resource, free of I/O: each
function builds a `Call` (an `httpx.Request` and the function that parses its answer)."""
