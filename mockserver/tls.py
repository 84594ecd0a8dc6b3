"""A self-signed certificate for serving https locally (some SDKs accept only https URLs)."""

from __future__ import annotations

import datetime
import ipaddress
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertPair:
    certfile: Path
    keyfile: Path


def self_signed(
    directory: Path | None = None, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> CertPair:
    """Write a fresh key and a certificate for `hosts` (valid one day) and return their paths.

    The certificate is its own CA, so a client can trust it with `verify=<certfile>`.
    Needs the `cryptography` package (`pip install 'deploymock[tls]'`).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deploymock local")])
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    # Certificates need real validity dates; this is the one wall-clock read outside the Clock.
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    where = directory or Path(tempfile.mkdtemp(prefix="deploymock-tls-"))
    pair = CertPair(where / "cert.pem", where / "key.pem")
    pair.certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pair.keyfile.chmod(0o600)
    return pair
