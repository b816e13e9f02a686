"""SHA-256 as a hex string, from the interpreter's own implementation where it has one:
`hashlib` loads OpenSSL first (some 4 ms), which a push that only names its record file and
its lists with a hash does not need. The digest is the same either way."""

from __future__ import annotations

import importlib


def sha256_hex(data: bytes) -> str:
    for name in ("_sha2", "_sha256"):  # Python 3.12 on, and before
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()
