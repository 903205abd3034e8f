"""The checkout's local signing keys: generated once, pairs that match, trusted through the secret."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets


def _sign(private_pem: str, message: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def test_keys_are_generated_once_and_kept(tmp_path):
    first = local_signing_keys(tmp_path)
    again = local_signing_keys(tmp_path)
    assert first.paypal_certificate == again.paypal_certificate
    assert (first.folder.stat().st_mode & 0o777) in (0o700, 0o755, 0o775)
    assert (first.folder / "paypal-private.pem").stat().st_mode & 0o077 == 0


def test_each_private_key_matches_its_public_half(tmp_path):
    keys = local_signing_keys(tmp_path)
    message = b"id|2026-11-27T10:00:00Z|WH-1|123"
    cert = x509.load_pem_x509_certificate(keys.paypal_certificate.encode())
    cert.public_key().verify(_sign(keys.paypal_private_key, message), message, padding.PKCS1v15(), hashes.SHA256())
    public = serialization.load_pem_public_key(keys.adobe_public_key.encode())
    public.verify(_sign(keys.adobe_private_key, message), message, padding.PKCS1v15(), hashes.SHA256())


def test_the_secret_trusts_the_generated_halves_unless_files_are_named(tmp_path):
    keys = local_signing_keys(tmp_path)
    secrets = local_secrets({}, keys)
    assert secrets["PAYPAL_CERT"] == keys.paypal_certificate
    assert secrets["ADOBE_IO_PUBLIC_KEY"] == keys.adobe_public_key
    own = tmp_path / "own.pem"
    own.write_text("-----BEGIN CERTIFICATE-----\nmine\n-----END CERTIFICATE-----\n")
    assert local_secrets({"PAYPAL_CERT_FILE": str(own)}, keys)["PAYPAL_CERT"].endswith(
        "mine\n-----END CERTIFICATE-----\n"
    )
