"""A throwaway public-key infrastructure for the TLS tests: a CA, a server certificate for
127.0.0.1/localhost, client certificates whose CN is a device agent's user name, and a revocation
list (CRL) signed by the CA. Files are PEM, in a folder the broker's user can read."""
from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key, as PEM files."""

    cert: pathlib.Path
    key: pathlib.Path
    serial: int


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sta-server tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: pathlib.Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o644)  # a test key; Mosquitto reads it after dropping to its own user


class Pki:
    """`ca.pem`, `server.pem`/`server.key`, `<name>.pem`/`<name>.key` per client and `crl.pem`
    (empty until `revoke`). `remove()` deletes the folder."""

    def __init__(self, folder: pathlib.Path | None = None) -> None:
        self.folder = folder or pathlib.Path(tempfile.mkdtemp(prefix="sta-test-pki-"))
        os.chmod(self.folder, 0o755)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = _name("sta-server test CA")
        self._ca_cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - DAY).not_valid_after(_now() + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._ca_key.public_key()), critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )
        self.ca = self.folder / "ca.pem"
        self.ca.write_bytes(self._ca_cert.public_bytes(serialization.Encoding.PEM))
        os.chmod(self.ca, 0o644)
        self.crl = self.folder / "crl.pem"
        self.revoked: dict[str, int] = {}
        self._serials: dict[str, int] = {}
        self.write_crl()
        self.server = self._issue("server", "localhost", server=True)

    def client(self, name: str) -> Identity:
        """A client certificate with CN `name` (a device agent's user name)."""
        return self._issue(name, name, server=False)

    def _issue(self, file_stem: str, common_name: str, *, server: bool) -> Identity:
        key = ec.generate_private_key(ec.SECP256R1())
        serial = x509.random_serial_number()
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self._ca_cert.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(_now() - DAY).not_valid_after(_now() + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                           critical=False)
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        identity = Identity(self.folder / f"{file_stem}.pem", self.folder / f"{file_stem}.key", serial)
        identity.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.chmod(identity.cert, 0o644)
        _write_key(key, identity.key)
        self._serials[file_stem] = serial
        return identity

    def revoke(self, name: str) -> None:
        """Add the client certificate `name` to the CRL and rewrite `crl.pem`."""
        self.revoked[name] = self._serials[name]
        self.write_crl()

    def write_crl(self) -> None:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self._ca_cert.subject)
                   .last_update(_now() - DAY).next_update(_now() + 7 * DAY)
                   .add_extension(x509.CRLNumber(len(self.revoked) + 1), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                                  critical=False))
        for serial in self.revoked.values():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_now() - DAY).build())
        crl = builder.sign(self._ca_key, hashes.SHA256())
        tmp = self.crl.with_suffix(".tmp")
        tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        os.chmod(tmp, 0o644)
        tmp.replace(self.crl)  # atomically: a reader never sees half a CRL

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
