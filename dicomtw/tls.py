"""
TLS for the storage SCP (``+tls``): a pyOpenSSL context built from
storescp's options, with the protocol versions and cipher suites of the
DICOM/BCP 195 security profiles (behaviour reference §11).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from cryptography import x509
from OpenSSL import SSL, crypto
from twisted.internet.interfaces import IOpenSSLContextFactory
from twisted.logger import Logger
from zope.interface import implementer

from dicomtw.ciphers import CIPHER_SUITES

#: Profile -> (lowest version, highest version, TLS <= 1.2 cipher suites
#: in OpenSSL's names, strongest first).
PROFILES: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "profile-bcp195-nd": (
        SSL.TLS1_2_VERSION,
        SSL.TLS1_3_VERSION,
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            "DHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "DHE-RSA-AES128-GCM-SHA256",
        ),
    ),
    "profile-bcp195": (
        SSL.TLS1_VERSION,
        SSL.TLS1_3_VERSION,
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            "DHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "DHE-RSA-AES128-GCM-SHA256",
            "AES128-SHA",
        ),
    ),
    "profile-bcp195-ex": (
        SSL.TLS1_2_VERSION,
        SSL.TLS1_2_VERSION,
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "DHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "DHE-RSA-AES128-GCM-SHA256",
        ),
    ),
    "profile-aes": (SSL.TLS1_VERSION, SSL.TLS1_2_VERSION, ("AES128-SHA",)),
    "profile-null": (SSL.TLS1_VERSION, SSL.TLS1_2_VERSION, ("NULL-SHA",)),
}


_log = Logger(namespace=__name__)


class TLSSetupError(Exception):
    """
    The TLS context cannot be built; ``str()`` is the reference's message
    after ``F: ``.
    """


@dataclass(frozen=True)
class TLSOptions:
    """
    storescp's TLS options, as the context needs them.

    :ivar password: the key's password; ``None`` asks on the terminal.
    :ivar peer: ``require-peer-cert``, ``verify-peer-cert`` or
        ``ignore-peer-cert``.
    :ivar crl_check: ``none``, ``leaf`` (``+crv``, implied by ``+crl``) or
        ``all`` (``+cra``).
    :ivar dhparam: DH parameters (``+dp``) for the DHE suites.
    """

    private_key: str
    certificate: str
    password: str | None = None
    der: bool = False
    trusted_files: tuple[str, ...] = ()
    trusted_dirs: tuple[str, ...] = ()
    peer: str = "require-peer-cert"
    profile: str = "profile-bcp195-nd"
    crl_files: tuple[str, ...] = ()
    crl_check: str = "none"
    dhparam: str | None = None
    ciphers: tuple[str, ...] = ()


def _read(path: str) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


def build_context(options: TLSOptions) -> SSL.Context:
    """
    Build the server's TLS context.

    :raises TLSSetupError: when the key or certificate cannot be used.
    """
    low, high, ciphers = PROFILES[options.profile]
    ciphers = (*ciphers, *_extra_ciphers(options))
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(low)
    context.set_max_proto_version(high)
    suites = ":".join(ciphers)
    if options.profile == "profile-null":
        suites += ":@SECLEVEL=0"
    elif low < SSL.TLS1_2_VERSION:
        # Older protocol versions need OpenSSL's security level lowered.
        suites += ":@SECLEVEL=0"
    context.set_cipher_list(suites.encode("ascii"))
    context.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_NO_TICKET)
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    _load_identity(context, options)
    for path in options.trusted_files:
        context.load_verify_locations(path.encode(), None)
    for path in options.trusted_dirs:
        context.load_verify_locations(None, path.encode())
    _load_revocation(context, options)
    warnings = _load_dh(context, options)
    modes = {
        "require-peer-cert": SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
        "verify-peer-cert": SSL.VERIFY_PEER,
        "ignore-peer-cert": SSL.VERIFY_NONE,
    }
    context.set_verify(modes[options.peer], _accept_verified)
    for warning in warnings:
        _log.warn("{warning}", warning=warning)
    return context


#: The profiles' titles, for messages.
PROFILE_TITLES = {
    "profile-bcp195-nd": "Non-downgrading BCP 195 TLS Profile",
    "profile-bcp195": "BCP 195 TLS Profile",
    "profile-bcp195-ex": "Extended BCP 195 TLS Profile",
    "profile-aes": "AES TLS Secure Transport Connection Profile",
    "profile-null": "Authenticated unencrypted communication",
}


def _extra_ciphers(options: TLSOptions) -> tuple[str, ...]:
    """
    ``+cs``: the suites added to the profile's, as OpenSSL names.

    :raises TLSSetupError: for an unknown suite, or an unencrypted one
        under an encrypting profile.
    """
    extra = []
    for name in options.ciphers:
        openssl_name = CIPHER_SUITES.get(name)
        if openssl_name is None:
            raise TLSSetupError("0001:0007 Illegal call, perhaps wrong parameters")
        if "NULL" in name and options.profile != "profile-null":
            raise TLSSetupError(
                f"Unencrypted ciphersuite '{name}' not permitted with security"
                f" profile '{PROFILE_TITLES[options.profile]}'\nF: 000b:000a"
                " Ciphersuite not allowed in current DICOM security profile"
            )
        if name.startswith("TLS_RSA_"):
            _log.warn(
                "Ciphersuite '{name}' uses RSA key transport. RFC 7525 recommends"
                " that such cipher suites should not be used.",
                name=name,
            )
        extra.append(openssl_name)
    return tuple(extra)


def _load_revocation(context: SSL.Context, options: TLSOptions) -> None:
    """
    ``+crl``, ``+crv``, ``+cra``: revocation lists and how far they are
    checked.
    """
    store = context.get_cert_store()
    assert store is not None
    for path in options.crl_files:
        try:
            with open(path, "rb") as stream:
                store.add_crl(x509.load_pem_x509_crl(stream.read()))
        except (OSError, ValueError):
            _log.warn("unable to load CRL file '{path}', ignoring", path=path)
    if options.crl_check == "leaf":
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK)
    elif options.crl_check == "all":
        store.set_flags(
            crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
        )


def _load_dh(context: SSL.Context, options: TLSOptions) -> list[str]:
    """
    ``+dp``: DH parameters for the DHE suites.

    :returns: warnings for the log.
    """
    if options.dhparam is None:
        return []
    try:
        context.load_tmp_dh(options.dhparam.encode())
    except (OSError, SSL.Error):
        return [
            f"unable to load temporary DH parameter file '{options.dhparam}', ignoring"
        ]
    return []


def _accept_verified(
    connection: SSL.Connection,
    certificate: crypto.X509,
    error: int,
    depth: int,
    ok: int,
) -> bool:
    return bool(ok)


def _load_identity(context: SSL.Context, options: TLSOptions) -> None:
    password = options.password
    file_type = crypto.FILETYPE_ASN1 if options.der else crypto.FILETYPE_PEM
    try:
        raw_key = _read(options.private_key)
        if options.der:
            key = crypto.load_privatekey(file_type, raw_key)
        else:
            if password is None and b"ENCRYPTED" in raw_key:
                password = getpass.getpass("Enter PEM pass phrase:")
            key = crypto.load_privatekey(
                file_type, raw_key, (password or "").encode("utf-8")
            )
    except (OSError, crypto.Error, ValueError):
        raise TLSSetupError(
            f"000b:0004 Unable to load private TLS key from '{options.private_key}'"
        ) from None
    mismatch = TLSSetupError(
        f"000b:0006 Private key '{options.private_key}' and certificate"
        f" '{options.certificate}' do not match"
    )
    try:
        if options.der:
            context.use_certificate(
                crypto.load_certificate(file_type, _read(options.certificate))
            )
        else:
            context.use_certificate_chain_file(options.certificate.encode())
        context.use_privatekey(key)
        context.check_privatekey()
    except (OSError, SSL.Error, crypto.Error):
        raise mismatch from None


@implementer(IOpenSSLContextFactory)
class ServerContextFactory:
    """
    What Twisted's TLS endpoints ask for: ``getContext()``.
    """

    def __init__(self, context: SSL.Context) -> None:
        self._context = context

    def getContext(self) -> SSL.Context:
        """
        :returns: the one context all connections share.
        """
        return self._context


def peer_subject(transport: object) -> str | None:
    """
    The subject of the peer's certificate on a TLS transport, or ``None``.
    """
    get = getattr(transport, "getPeerCertificate", None)
    if get is None:
        return None
    try:
        certificate = get()
    except Exception:  # noqa: BLE001 - not a TLS transport after all
        return None
    if certificate is None:
        return None
    subject = certificate.get_subject()
    return "/".join(
        f"{name.decode()}={value.decode('utf-8', 'replace')}"
        for name, value in subject.get_components()
    )
