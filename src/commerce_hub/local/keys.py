"""Local signing keys for the RSA-signed sources (PayPal, Adobe I/O Events).

PayPal and Adobe sign with private keys only they hold. Locally the hub needs a pair it can both
sign with (for `commerce-hub send`, the demo and tests) and verify with (through the same code as
in AWS): a self-signed PayPal certificate and an Adobe key pair, generated once per checkout
under `.commerce-hub/keys/` (git-ignored), readable by the owner only. The public halves reach the
functions through the local secret as PAYPAL_CERT and ADOBE_IO_PUBLIC_KEY, unless
PAYPAL_CERT_FILE / ADOBE_IO_PUBLIC_KEY_FILE name files of your own.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalKeys", "local_signing_keys"]

_FILES = ("paypal-private.pem", "paypal-cert.pem", "adobe-private.pem", "adobe-public.pem")


@dataclass(frozen=True)
class LocalKeys:
    folder: Path

    def _read(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="ascii")

    @property
    def paypal_private_key(self) -> str:
        return self._read("paypal-private.pem")

    @property
    def paypal_certificate(self) -> str:
        return self._read("paypal-cert.pem")

    @property
    def adobe_private_key(self) -> str:
        return self._read("adobe-private.pem")

    @property
    def adobe_public_key(self) -> str:
        return self._read("adobe-public.pem")


def _generate(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def private_pem(key: rsa.RSAPrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    paypal = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "commerce-hub-local-paypal")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(paypal.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(paypal, hashes.SHA256())
    )
    adobe = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    contents = {
        "paypal-private.pem": private_pem(paypal),
        "paypal-cert.pem": certificate.public_bytes(serialization.Encoding.PEM),
        "adobe-private.pem": private_pem(adobe),
        "adobe-public.pem": adobe.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
    for file_name, data in contents.items():
        path = folder / file_name
        path.write_bytes(data)
        path.chmod(0o600)


def local_signing_keys(root: Path) -> LocalKeys:
    """The checkout's local keys, generated on first use."""
    folder = root / ".commerce-hub" / "keys"
    if all((folder / f).is_file() for f in _FILES):
        return LocalKeys(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".keys-", dir=folder.parent))
    try:
        _generate(staging)
        # Whole folder at once: two processes starting together never mix halves of different pairs.
        os.rename(staging, folder)
    except OSError:
        if not all((folder / f).is_file() for f in _FILES):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return LocalKeys(folder)
