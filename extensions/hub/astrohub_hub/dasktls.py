"""TLS for the Dask clusters a user starts inside their own server (``LocalCluster()``, ``Client()``).

distributed's ``LocalCluster`` listens on plain TCP ports of this machine and accepts any client: another local
user connected to a classmate's scheduler and ran code as them (``client.run_on_scheduler``). On the local
platform, when servers run as system users, each server gets its own key pair in dask's configuration
(:func:`local_cluster_tls_environment`: ``distributed.comm.require-encryption`` and the ``tls`` entries, as
environment variables holding the PEM text), so a LocalCluster is TLS with client certificates that only the
user's processes hold; the key lives in the server's environment, readable by its owner (and root) only, as
its hub token does. Gateway clusters keep their own per-cluster credentials. May import cryptography.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["local_cluster_tls_environment"]

_ROLES = ("CLIENT", "SCHEDULER", "WORKER")


def local_cluster_tls_environment(days: int = 30) -> dict[str, str]:
    """dask configuration, as environment variables, that makes every ``LocalCluster`` TLS with a new key pair.

    One self-signed certificate is the CA and every role's certificate (as ``Security.temporary()`` makes
    it), valid for ``days``; a server gets a new one at each start.

    Examples
    --------
    >>> env = local_cluster_tls_environment()
    >>> env["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"]
    'True'
    >>> env["DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"].startswith("-----BEGIN PRIVATE KEY-----")
    True
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dask-internal")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dask-internal")]), critical=False)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    env = {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True", "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": cert_pem}
    for role in _ROLES:
        env[f"DASK_DISTRIBUTED__COMM__TLS__{role}__CERT"] = cert_pem
        env[f"DASK_DISTRIBUTED__COMM__TLS__{role}__KEY"] = key_pem
    return env
