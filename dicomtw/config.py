"""
Every setting of the storage SCP, as one immutable value.

:class:`ServerConfig` is what the command line (``dicomtw.options``) turns
into and what the front ends hand to the service.  Its defaults are those of
DCMTK's ``storescp`` 3.6.7 when run with no options but a port.  Names that
select one option out of a mutually exclusive group hold that option's long
name without the leading dashes (``"prefer-lossless"``, ``"write-xfer-same"``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Values of :attr:`ServerConfig.log_level`, most verbose last.  ``"off"``
#: (from ``-ll off``) silences everything, fatal messages included.
LOG_LEVELS = ("off", "fatal", "error", "warn", "info", "debug", "trace")

#: Values of :attr:`ServerConfig.on_duplicate`.
ON_DUPLICATE = ("overwrite", "keep", "unique", "reject")


@dataclass(frozen=True)
class ServerConfig:
    """
    The complete configuration of one storage SCP process.

    :ivar port: the TCP port to listen on (all IPv4 interfaces), or ``None``
        when only ``listen`` endpoints are used or in inetd mode.
    :ivar listen: Twisted server endpoint descriptions (``--listen``).
    :ivar inetd: serve one association on standard input and output.
    :ivar fork: serve each association in a child process.
    :ivar aetitle: our AE title (``-aet``); it never reaches the wire.
    :ivar max_pdu: our maximum receive PDU length (``-pdu``), not yet made
        even.
    :ivar ts_preference: the transfer-syntax preference (``+x=`` ...
        ``+xa``), e.g. ``"prefer-uncompr"``, ``"implicit"``,
        ``"accept-all"``.
    :ivar config_file: ``(file, profile)`` of ``-xf``.
    :ivar promiscuous: accept unknown SOP classes (``-pm``).
    :ivar refuse: refuse every association (``--refuse``).
    :ivar reject: reject associations without implementation class UID.
    :ivar ignore: receive data sets but store nothing (``--ignore``).
    :ivar socket_timeout: seconds, 0 for none, -1 for the system default.
    :ivar acse_timeout: seconds to wait for the first PDU.
    :ivar dimse_timeout: seconds to wait for the next data-set fragment, or
        ``None`` for no limit.
    :ivar log_level: one of :data:`LOG_LEVELS`.
    :ivar verbose_pc: show presentation contexts at info level (``+v``).
    :ivar log_config: a log4cplus property file (``-lc``).
    :ivar print_arguments: log the expanded command line (``--arguments``).
    :ivar expanded_arguments: the command line after ``@file`` expansion,
        options in their long form.
    :ivar warnings: messages for the log, e.g. an ignored port in inetd mode.
    :ivar access_control: apply the TCP wrapper rules (``+ac``).
    :ivar hosts_allow: the allow file for ``+ac``.
    :ivar hosts_deny: the deny file for ``+ac``.
    :ivar allowed_calling_aes: ``--allow-calling-ae`` values; empty: all.
    :ivar disable_host_lookup: do not resolve peer addresses (``-dhl``).
    :ivar uid_padding: correct space-padded UIDs (``-up``).
    :ivar sleep_after: seconds to sleep after each store.
    :ivar sleep_during: seconds to sleep during each store.
    :ivar abort_after: abort after receiving each C-STORE data set.
    :ivar abort_during: abort while receiving each C-STORE data set.
    :ivar output_directory: where files go, trailing separators removed.
    :ivar bit_preserving: store the received bytes unchanged (``+B``).
    :ivar write_dataset: write the data set only, no meta header (``-F``).
    :ivar write_xfer: the output transfer syntax: ``"write-xfer-same"``,
        ``"write-xfer-little"``, ``"write-xfer-big"``,
        ``"write-xfer-implicit"`` or ``"write-xfer-deflated"``.
    :ivar new_vr: write post-1993 VRs as such (``+u``); else as OB.
    :ivar group_length: ``"group-length-recalc"``, ``"group-length-create"``
        or ``"group-length-remove"``.
    :ivar length_encoding: ``"length-explicit"`` or ``"length-undefined"``.
    :ivar padding: ``(file_pad, item_pad)`` of ``+p``, or ``None``.
    :ivar convert_un: give defined-length UN elements their real VR.
    :ivar compression_level: zlib level for deflated output.
    :ivar sort: ``"sort-conc-studies"``, ``"sort-on-study-uid"``,
        ``"sort-on-patientname"`` or ``None``.
    :ivar sort_prefix: the directory prefix of ``-ss`` and ``-su``.
    :ivar unique_filenames: generate unique file names (``+uf``).
    :ivar timenames: name files after the reception time (``-tn``).
    :ivar filename_extension: appended to every file name (``-fe``).
    :ivar exec_on_reception: command run after each stored object.
    :ivar exec_on_eostudy: command run at the end of each study.
    :ivar rename_on_eostudy: rename a study's files at its end.
    :ivar eostudy_timeout: seconds of silence that end a study, or ``None``.
    :ivar exec_sync: run commands in the foreground.
    :ivar max_associations: concurrent associations served at most.
    :ivar fsync: flush every stored file to stable storage.
    :ivar on_duplicate: one of :data:`ON_DUPLICATE`.
    :ivar tls: accept TLS connections only (``+tls``).
    :ivar tls_private_key: our private key file.
    :ivar tls_certificate: our certificate file.
    :ivar tls_password: the key's password; ``None`` means ask on the
        terminal (``+ps``), ``""`` is the empty password (``-pw``).
    :ivar tls_key_format: ``"pem-keys"`` or ``"der-keys"``.
    :ivar tls_cert_files: trusted certificate files (``+cf``), in order.
    :ivar tls_cert_dirs: trusted certificate directories (``+cd``).
    :ivar tls_crl_files: certificate revocation lists (``+crl``).
    :ivar tls_crl_check: ``"none"``, ``"leaf"`` or ``"all"``.
    :ivar tls_profile: the security profile, e.g. ``"profile-bcp195-nd"``.
    :ivar tls_ciphers: extra cipher suites (``+cs``), in order.
    :ivar tls_dhparam: a DH parameter file (``+dp``).
    :ivar tls_seed: a random seed file (``+rs``).
    :ivar tls_write_seed: where to write the seed back (``+ws``, ``+wf``).
    :ivar tls_peer_cert: ``"require-peer-cert"``, ``"verify-peer-cert"`` or
        ``"ignore-peer-cert"``.
    """

    port: int | None = None
    listen: tuple[str, ...] = ()
    inetd: bool = False
    fork: bool = False
    aetitle: str = "STORESCP"
    max_pdu: int = 16384
    ts_preference: str = "prefer-uncompr"
    config_file: tuple[str, str] | None = None
    promiscuous: bool = False
    refuse: bool = False
    reject: bool = False
    ignore: bool = False
    socket_timeout: int = 60
    acse_timeout: int = 30
    dimse_timeout: int | None = None
    log_level: str = "warn"
    verbose_pc: bool = False
    log_config: str | None = None
    print_arguments: bool = False
    expanded_arguments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    access_control: bool = False
    hosts_allow: str = "/etc/hosts.allow"
    hosts_deny: str = "/etc/hosts.deny"
    allowed_calling_aes: tuple[str, ...] = ()
    disable_host_lookup: bool = False
    uid_padding: bool = False
    sleep_after: int = 0
    sleep_during: int = 0
    abort_after: bool = False
    abort_during: bool = False
    output_directory: str = "."
    bit_preserving: bool = False
    write_dataset: bool = False
    write_xfer: str = "write-xfer-same"
    new_vr: bool = True
    group_length: str = "group-length-recalc"
    length_encoding: str = "length-explicit"
    padding: tuple[int, int] | None = None
    convert_un: bool = False
    compression_level: int = 6
    sort: str | None = None
    sort_prefix: str | None = None
    unique_filenames: bool = False
    timenames: bool = False
    filename_extension: str = ""
    exec_on_reception: str | None = None
    exec_on_eostudy: str | None = None
    rename_on_eostudy: bool = False
    eostudy_timeout: int | None = None
    exec_sync: bool = False
    max_associations: int = 64
    fsync: bool = True
    on_duplicate: str = "overwrite"
    tls: bool = False
    tls_private_key: str | None = None
    tls_certificate: str | None = None
    tls_password: str | None = None
    tls_key_format: str = "pem-keys"
    tls_cert_files: tuple[str, ...] = ()
    tls_cert_dirs: tuple[str, ...] = ()
    tls_crl_files: tuple[str, ...] = ()
    tls_crl_check: str = "none"
    tls_profile: str = "profile-bcp195-nd"
    tls_ciphers: tuple[str, ...] = ()
    tls_dhparam: str | None = None
    tls_seed: str | None = None
    tls_write_seed: str | None = None
    tls_peer_cert: str = "require-peer-cert"
