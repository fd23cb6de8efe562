"""A private certificate authority for the webhook tests, made with the openssl
command line: a CA certificate (what DISPUTE_WEBHOOK_CA_BUNDLE names) and a
certificate it signed for 127.0.0.1 and localhost (what the receiver serves)."""
from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass(frozen=True)
class PrivateCA:
    ca_certificate: Path  # PEM: trust this one
    server_certificate: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_certificate, self.server_key)
        return context


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_private_ca(directory: Path) -> PrivateCA:
    directory.mkdir(parents=True, exist_ok=True)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/O=Call Center Test/CN=Call Center Test Private CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)
    _openssl("req", *curve, "-keyout", "receiver.key", "-out", "receiver.csr", "-subj", "/CN=127.0.0.1", cwd=directory)
    (directory / "receiver.ext").write_text(SERVER_EXTENSIONS)
    _openssl("x509", "-req", "-in", "receiver.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "receiver.pem", "-days", "2", "-extfile", "receiver.ext", cwd=directory)
    return PrivateCA(ca_certificate=directory / "ca.pem", server_certificate=directory / "receiver.pem",
                     server_key=directory / "receiver.key")
