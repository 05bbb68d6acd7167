"""Shared by the e-mail tests."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from tests.email.dovecot import Dovecot


@pytest.fixture
def certificate(tmp_path: Path) -> ssl.SSLContext:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=mx.acme.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def dovecot():
    """A real IMAP server (Debian's dovecot) on a free port, removed after the test."""
    server = Dovecot().start()
    yield server
    server.remove()
