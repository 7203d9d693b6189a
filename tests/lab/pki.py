"""Certificates and keys for one lab cluster: a CA of its own, a serving
certificate for 127.0.0.1 (and the lab's bridge address, when it has nodes),
an admin client certificate and a service-account signing key. Everything is
written with mode 0600 (the CA certificate 0644)."""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert(subject, issuer, public_key, signing_key, *, ca=False, san=None, client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_pki(directory, cluster_name, extra_ips=()):
    """Create the cluster's PKI in *directory*; returns a dict of file paths.
    *extra_ips*: more addresses the API server's certificate is valid for."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in (
        "ca.crt", "ca.key", "apiserver.crt", "apiserver.key",
        "admin.crt", "admin.key", "sa.key", "sa.pub")}

    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab-ca-%s" % cluster_name)])
    ca = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    _write(paths["ca.crt"], ca.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths["ca.key"], _key_pem(ca_key))

    srv_key = _key()
    san = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
    ] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in extra_ips] + [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default.svc"),
    ]
    srv = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
                ca_name, srv_key.public_key(), ca_key, san=san)
    _write(paths["apiserver.crt"], srv.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths["apiserver.key"], _key_pem(srv_key))

    adm_key = _key()
    adm = _cert(x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
        x509.NameAttribute(NameOID.COMMON_NAME, "lab-admin"),
    ]), ca_name, adm_key.public_key(), ca_key, client=True)
    _write(paths["admin.crt"], adm.public_bytes(serialization.Encoding.PEM))
    _write(paths["admin.key"], _key_pem(adm_key))

    sa_key = _key()
    _write(paths["sa.key"], _key_pem(sa_key))
    _write(paths["sa.pub"], sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    return paths


def client_cert(paths, directory, stem, common_name, organization=None):
    """Another client certificate signed by the cluster's CA; returns (crt, key) paths."""
    with open(paths["ca.key"], "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(paths["ca.crt"], "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    key = _key()
    cert = _cert(x509.Name(attrs), ca.subject, key.public_key(), ca_key, client=True)
    crt_path = os.path.join(directory, stem + ".crt")
    key_path = os.path.join(directory, stem + ".key")
    _write(crt_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _key_pem(key))
    return crt_path, key_path
