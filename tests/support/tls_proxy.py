"""A TLS-terminating proxy on 127.0.0.1 with a self-signed certificate, in front of a plain-HTTP server.

Why: Debian's Orthanc 1.10.1 crashes with SslEnabled, so certificate checks are tested against
this proxy instead. The certificate (CN and SAN 127.0.0.1) is made with ``cryptography``; its PEM
is the CA bundle a client must be given. Each connection is relayed both ways by one thread
(OpenSSL forbids reading and writing one TLS connection from two threads at once: doing so
cut replies short now and then); the proxy stops when the context exits.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import select
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "proxy-cert.pem", directory / "proxy-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TLSProxy:
    """``https://127.0.0.1:<port>`` forwarding to ``127.0.0.1:<target_port>``."""

    def __init__(self, target_port: int, directory: Path) -> None:
        self.target_port = target_port
        self.cert, key = self_signed(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TLSProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            client.settimeout(10)
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()  # a client that refused our certificate: nothing to forward
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        _relay(secure, upstream)


def _relay(secure: ssl.SSLSocket, upstream: socket.socket, idle: float = 10.0) -> None:
    """Copy bytes both ways until either side closes or both stay idle ``idle`` seconds."""
    other = {secure: upstream, upstream: secure}
    try:
        while True:
            # Bytes OpenSSL already decrypted are invisible to select: take them first.
            ready = [secure] if secure.pending() else select.select(list(other), [], [], idle)[0]
            if not ready:
                return
            for side in ready:
                data = side.recv(65536)
                if not data:
                    return
                other[side].sendall(data)
    except OSError:
        pass
    finally:
        for end in (secure, upstream):
            with contextlib.suppress(OSError):
                end.close()
