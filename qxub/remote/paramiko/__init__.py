"""The paramiko transport, for machines without an OpenSSH client: reading the ssh config,
host keys, connecting, and a remote command shaped like a local process. paramiko itself is
imported only through `import_paramiko()`, when a connection is made."""

from __future__ import annotations

import logging
from typing import Any

from qxub.errors import QxubError

NOT_INSTALLED_HINT = "install it (pip install 'qxub[ssh]'), or install the OpenSSH client"


def import_paramiko() -> Any:
    try:
        import paramiko
    except ImportError:
        raise QxubError(
            "the paramiko transport needs the paramiko package, which is not installed",
            hint=NOT_INSTALLED_HINT,
        ) from None
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        # paramiko logs what it raises too; qxub says it once, as an error with a hint.
        logger.addHandler(logging.NullHandler())
    return paramiko
