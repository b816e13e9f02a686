"""Port forwarding, the part every transport shares: what `--forward [LOCAL:]PORT` means, the
check that the local port is free (naming the next free one when it is not), and a relay that
listens on 127.0.0.1:LOCAL and hands each connection to a transport's way of reaching
NODE:PORT (a socket here, a paramiko direct-tcpip channel there)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from qxub.errors import QxubError, UsageError
from qxub.record import record

LOCALHOST = "127.0.0.1"


@record(frozen=True)
class PortSpec:
    """`--forward [LOCAL:]PORT`: localhost:LOCAL here reaches NODE:PORT."""

    local: int
    port: int

    @classmethod
    def parse(cls, text: str) -> PortSpec:
        local, _, port = text.rpartition(":")
        try:
            spec = cls(int(local or port), int(port))
        except ValueError:
            raise UsageError(
                f"--forward {text!r} is not [LOCAL:]PORT", hint="e.g. --forward 8888 or 18888:8888"
            ) from None
        for number in (spec.local, spec.port):
            if not 0 < number < 65536:
                raise UsageError(f"--forward {text!r}: ports go from 1 to 65535")
        return spec

    def __str__(self) -> str:
        return f"{self.local}:{self.port}"


class Tunnel(Protocol):
    """A forward in place; `close` removes it."""

    def close(self) -> None: ...


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As ssh and the relay bind: connections of a closed forward in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            return False
    return True


def check_free(port: int) -> None:
    """Refuse a local port something already listens on, naming the next free one."""
    if _free(port):
        return
    free = next((p for p in range(port + 1, min(port + 200, 65536)) if _free(p)), None)
    hint = f"port {free} is free: --forward {free}:PORT" if free else "choose another port"
    raise QxubError(f"local port {port} is already in use", hint=hint)


def listen(port: int) -> socket.socket:
    check_free(port)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((LOCALHOST, port))
    except OSError:
        server.close()
        check_free(port)
        raise
    server.listen(16)
    return server


class Relay:
    """127.0.0.1:`port` here, each connection relayed to what `connect()` opens."""

    def __init__(self, port: int, connect: Callable[[], Any]) -> None:
        self.server = listen(port)
        self.connect = connect
        self.closed = threading.Event()
        self.open: set[Any] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        with self.lock:
            for end in list(self.open):
                with contextlib.suppress(Exception):
                    end.close()
            self.open.clear()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = self.connect()
            except Exception:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if hasattr(sink, "shutdown_write"):
                    sink.shutdown_write()  # a paramiko channel
                else:
                    sink.shutdown(socket.SHUT_WR)


class CanForward(Protocol):
    """The part of a Transport that forwarding uses."""

    def forward(self, spec: PortSpec, node: str) -> Tunnel: ...

    def reachable(self, node: str, port: int) -> bool: ...


class Forwarder:
    """Once the job's node is known (`find_node` answers it, or None while the job does not
    run yet), one tunnel per spec through `transport`, each announced with its local address
    when the job's port accepts connections. `close` removes them all; `reopen` puts them
    in place again (after a follow re-attached, perhaps over a new connection)."""

    def __init__(
        self,
        transport: CanForward,
        specs: Sequence[PortSpec],
        find_node: Callable[[], str | None],
        say: Callable[[str], None],
        *,
        every: float = 0.2,
    ) -> None:
        self.transport = transport
        self.specs = list(specs)
        self.find_node = find_node
        self.say = say
        self.every = every
        self.closed = threading.Event()
        self.tunnels: list[Tunnel] = []
        self.ready = threading.Event()  # every port answered
        self.failed: QxubError | None = None
        self.lock = threading.Lock()
        self.round = 0  # a reopen starts a new round; an older round's tunnels are dropped
        self._start()

    def _start(self) -> None:
        with self.lock:
            self.round += 1
            mine = self.round
        threading.Thread(target=self._run, args=(mine,), daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self._drop()

    def reopen(self) -> None:
        """Remove the tunnels and open them again (the node asked again, the port awaited)."""
        if self.closed.is_set():
            return
        self.ready.clear()
        self._drop()
        self._start()

    def heal(self) -> None:
        """Reopen the tunnels if any local end no longer listens (its connection went: a
        follow re-attached over a new one); a tunnel still in place is left alone, with the
        connections through it."""
        if self.closed.is_set() or not self.ready.is_set():
            return
        if any(not _listening(spec.local) for spec in self.specs):
            self.reopen()

    def _drop(self) -> None:
        with self.lock:
            tunnels, self.tunnels = self.tunnels, []
        for tunnel in tunnels:
            tunnel.close()

    def _current(self, mine: int) -> bool:
        return mine == self.round and not self.closed.is_set()

    def _run(self, mine: int) -> None:
        try:
            self._forward(mine)
        except QxubError as exc:
            if self._current(mine):
                self.failed = exc
                self.say(f"cannot forward: {exc}" + (f" ({exc.hint})" if exc.hint else ""))

    def _forward(self, mine: int) -> None:
        node = None
        while node is None:
            node = self.find_node()
            if node is None and self.closed.wait(self.every):
                return
        for spec in self.specs:
            if not self._current(mine):
                return
            tunnel = self.transport.forward(spec, node)
            with self.lock:
                if not self._current(mine):
                    tunnel.close()
                    return
                self.tunnels.append(tunnel)
        waiting = list(self.specs)
        while waiting and self._current(mine):
            for spec in list(waiting):
                if self.transport.reachable(node, spec.port) and self._current(mine):
                    waiting.remove(spec)
                    self.say(
                        f"forwarding http://localhost:{spec.local}/ to port {spec.port}"
                        f" on {node}: ready"
                    )
            if waiting:
                self.closed.wait(self.every)
        if self._current(mine):
            self.ready.set()


def _listening(port: int) -> bool:
    try:
        socket.create_connection((LOCALHOST, port), timeout=2).close()
    except OSError:
        return False
    return True


def check_all_free(specs: Sequence[PortSpec]) -> None:
    """Refuse a busy local port (or one given twice) before anything is submitted."""
    locals_ = [spec.local for spec in specs]
    if len(set(locals_)) != len(locals_):
        raise UsageError("--forward: the same local port twice", hint="give each its own LOCAL")
    for spec in specs:
        check_free(spec.local)


def tcp_connect(node: str, port: int, timeout: float = 10.0) -> socket.socket:
    connection = socket.create_connection((node, port), timeout=timeout)
    connection.settimeout(None)  # a quiet service is not a broken one
    return connection


def reachable_here(node: str, port: int) -> bool:
    """Does NODE:PORT accept a connection from this machine?"""
    try:
        tcp_connect(node, port, timeout=2.0).close()
    except OSError:
        return False
    return True
