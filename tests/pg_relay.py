"""A TCP relay on a loopback port to the test PostgreSQL server, which a test can turn into a
dead server without touching the real one: `hang()` cuts every relayed connection and from
then on accepts new ones but never answers them (a host that went away mid-connection looks
like this), `refuse()` stops listening (nothing on the port)."""

from __future__ import annotations

import contextlib
import socket
import threading

import sqlalchemy as sa


class PgRelay:
    def __init__(self, url: str) -> None:
        self.url = sa.make_url(url)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._hung = threading.Event()
        self.held = threading.Event()  # a connection came in while hung (and is held)
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="pg-relay").start()

    @property
    def relayed_url(self) -> str:
        """The test server's URL, through this relay."""
        return self.url.set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)

    def _keep(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.extend(sockets)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # refuse() or close()
            self._keep(client)
            if self._hung.is_set():
                self.held.set()  # read nothing, say nothing
                continue
            upstream = socket.create_connection((self.url.host or "127.0.0.1",
                                                 self.url.port or 5432))
            self._keep(upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def _cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def hang(self) -> None:
        self._hung.set()
        self._cut()

    def refuse(self) -> None:
        self._server.close()
        self._cut()

    def close(self) -> None:
        self._server.close()
        self._cut()
