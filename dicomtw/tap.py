"""
``twistd storescp``: the options class and the service maker.

The same :class:`Options` serves ``twistd -n storescp [options] PORT`` and
the drop-in command ``dicomtw-storescp [options] PORT``.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.application import service, strports
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import protocol
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from dicomtw import logs
from dicomtw.commands import ReceptionCommand
from dicomtw.eostudy import EndOfStudy
from dicomtw.access import CallingAllowList
from dicomtw.config import ServerConfig
from dicomtw.dictionary import load_dictionary_path
from dicomtw.logconfig import LogConfigError, apply_file
from dicomtw.negotiation import Policy, even_length
from dicomtw.options import StoreSCPOptions
from dicomtw.profiles import Profile, ProfileError, load, select
from dicomtw.protocol import HostRules, ServerSettings, StorageServerFactory
from dicomtw.reencode import Encoding
from dicomtw.scp import FileStore, FileStoreOptions, TestingOptions
from dicomtw.sopclasses import STORAGE_SOP_CLASSES, is_known_uid
from dicomtw.storage import remove_spool_files
from dicomtw.tls import ServerContextFactory, TLSOptions, TLSSetupError, build_context
from dicomtw.uids import (
    DEFLATED_LITTLE,
    EXPLICIT_BIG,
    EXPLICIT_LITTLE,
    IMPLICIT_LITTLE,
    PREFERENCE_LISTS,
    VERIFICATION,
)

Options = StoreSCPOptions

_log = Logger(namespace=__name__, observer=logs.GATE)


class StartupError(SystemExit):
    """
    A fatal start-up problem, reported as storescp does (``F: ...``) with
    exit status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"F: {message}")


def check_output_directory(config: ServerConfig) -> None:
    """
    The reference's start-up checks of ``-od`` (behaviour reference §1.7,
    steps 7 and 8).

    :raises StartupError: when the directory is missing or unwritable.
    """
    directory = config.output_directory
    if not os.path.isdir(directory):
        raise StartupError("specified output directory does not exist")
    if not config.ignore and not os.access(directory, os.W_OK | os.X_OK):
        raise StartupError("specified output directory is not writeable")


def load_profile(config: ServerConfig) -> Profile | None:
    """
    Read and check the ``-xf`` file and profile, as the reference does at
    start-up (behaviour reference §5.1).

    :raises StartupError: with the reference's message.
    """
    if config.config_file is None:
        return None
    path, name = config.config_file
    try:
        with open(path, encoding="latin-1") as stream:
            text = stream.read()
    except OSError:
        raise StartupError(
            f"cannot read config file: unable to open configuration file: {path}"
        ) from None
    try:
        return select(load(text), name)
    except ProfileError as error:
        raise StartupError(str(error)) from None


def build_policy(config: ServerConfig) -> Policy:
    """
    The negotiation policy for ``config``.
    """
    return Policy(
        profile=load_profile(config),
        abstract_syntaxes=STORAGE_SOP_CLASSES | {VERIFICATION},
        transfer_syntaxes=PREFERENCE_LISTS[config.ts_preference],
        promiscuous=config.promiscuous,
        is_known_uid=is_known_uid,
        max_pdu=even_length(config.max_pdu),
        refuse=config.refuse,
        require_implementation_uid=config.reject,
    )


_dictionaries_loaded = False


def load_dictionaries() -> None:
    """
    ``DCMDICTPATH``: add the data dictionaries it names (DCMTK's format)
    to the built-in one, once per process.  Unlike the reference, a
    missing dictionary only warns: dicomtw carries pydicom's.
    """
    global _dictionaries_loaded
    value = os.environ.get("DCMDICTPATH")
    if _dictionaries_loaded or not value:
        return
    _dictionaries_loaded = True
    loaded, failed = load_dictionary_path(value)
    for path in failed:
        _log.error("DcmDataDictionary: Cannot open file: {path}", path=path)
    if not loaded:
        _log.warn("no data dictionary loaded, check environment variable: DCMDICTPATH")


def padding(value: tuple[int, int] | None) -> dict[str, Any]:
    """
    The :class:`Encoding` arguments for ``+p FILE ITEM`` (or ``-p``, None),
    as the reference applies it: with an odd multiple, received padding is
    kept and none is added.
    """
    if value is not None and any(multiple % 2 for multiple in value):
        return {"keep_padding": True}
    return {"padding": value}


#: ``+te``, ``+tb``, ``+ti`` and ``+td``; ``+t=`` is not here.
WRITE_SYNTAXES = {
    "write-xfer-little": EXPLICIT_LITTLE,
    "write-xfer-big": EXPLICIT_BIG,
    "write-xfer-implicit": IMPLICIT_LITTLE,
    "write-xfer-deflated": DEFLATED_LITTLE,
}


def build_settings(config: ServerConfig, reactor: Any) -> ServerSettings:
    """
    The per-association settings for ``config``.
    """
    load_dictionaries()
    store = FileStore(
        FileStoreOptions(
            directory=config.output_directory,
            bit_preserving=config.bit_preserving,
            write_dataset=config.write_dataset,
            extension=config.filename_extension,
            on_duplicate=config.on_duplicate,
            sort=config.sort,
            encoding=Encoding(
                group_lengths=config.group_length.removeprefix("group-length-"),
                undefined_lengths=config.length_encoding == "length-undefined",
                new_vrs=config.new_vr,
                convert_un=config.convert_un,
                **padding(config.padding),
            ),
            transfer_syntax=WRITE_SYNTAXES.get(config.write_xfer),
            compression_level=config.compression_level,
            sort_prefix=config.sort_prefix or "",
            naming=(
                "unique"
                if config.unique_filenames
                else "time" if config.timenames else "default"
            ),
            fsync=config.fsync,
            ignore=config.ignore,
        ),
        reactor,
    )
    if (
        config.rename_on_eostudy
        or config.exec_on_eostudy
        or config.eostudy_timeout is not None
    ):
        store.end_of_study = EndOfStudy(
            reactor,
            store.run_blocking,
            store.close_study,
            rename=config.rename_on_eostudy,
            command=config.exec_on_eostudy,
            timeout=config.eostudy_timeout,
            wait=config.exec_sync,
        )
    socket_timeout = config.socket_timeout if config.socket_timeout > 0 else None
    access = None
    if config.access_control:
        access = HostRules(
            config.hosts_allow, config.hosts_deny, not config.disable_host_lookup
        )
    return ServerSettings(
        policy=build_policy(config),
        handler=store,
        acse_timeout=float(config.acse_timeout),
        socket_timeout=socket_timeout,
        dimse_timeout=config.dimse_timeout,
        max_associations=config.max_associations,
        verbose_pc=config.verbose_pc,
        access=access,
        calling_allow=CallingAllowList.from_options(config.allowed_calling_aes),
        testing=TestingOptions(
            sleep_after=config.sleep_after,
            sleep_during=config.sleep_during,
            abort_after=config.abort_after,
            abort_during=config.abort_during,
        ),
        on_reception=(
            ReceptionCommand(
                config.exec_on_reception,
                reactor,
                wait=config.exec_sync,
                ignore=config.ignore,
            )
            if config.exec_on_reception
            else None
        ),
    )


#: On SIGTERM, how long associations in progress may go on before they are
#: aborted.
DRAIN_GRACE = 30.0


class DrainService(service.Service):
    """
    Stops the server gently: see :meth:`StorageServerFactory.drain`.
    """

    def __init__(self, factory: StorageServerFactory, grace: float) -> None:
        self.factory = factory
        self.grace = grace

    def stopService(self) -> Deferred[None]:
        """
        Let associations in progress finish, for up to ``grace`` seconds.
        """
        super().stopService()
        drained = self.factory.drain(self.grace)
        store = self.factory.settings.handler
        if isinstance(store, FileStore):
            drained.addCallback(lambda _: store.close())
        return drained


def log_start_up(config: ServerConfig) -> None:
    """
    Log what the command line left to say, and remove the spool files of
    processes that are gone (a crash leaves them behind).
    """
    for warning in config.warnings:
        _log.warn("{warning}", warning=warning)
    removed = remove_spool_files(config.output_directory)
    if removed:
        _log.warn(
            "removed {count} spool file(s) left behind in {directory}",
            count=removed,
            directory=config.output_directory,
        )


def endpoint_descriptions(config: ServerConfig) -> list[str]:
    """
    The server endpoint strings to listen on: ``--listen`` values, and
    ``tcp:PORT`` for the positional port (all IPv4 interfaces, as the
    reference).
    """
    descriptions = list(config.listen)
    if config.port is not None and not config.tls:
        descriptions.append(f"tcp:{config.port}")
    return descriptions


def tls_context(config: ServerConfig) -> ServerContextFactory | None:
    """
    The TLS context of ``+tls``, built at start-up.

    :raises StartupError: when the key or certificate cannot be used.
    """
    if not config.tls:
        return None
    assert config.tls_private_key is not None and config.tls_certificate is not None
    options = TLSOptions(
        private_key=config.tls_private_key,
        certificate=config.tls_certificate,
        password=config.tls_password,
        der=config.tls_key_format == "der-keys",
        trusted_files=config.tls_cert_files,
        trusted_dirs=config.tls_cert_dirs,
        peer=config.tls_peer_cert,
        profile=config.tls_profile,
        crl_files=config.tls_crl_files,
        crl_check=config.tls_crl_check,
        dhparam=config.tls_dhparam,
        ciphers=config.tls_ciphers,
    )
    _seed(config)
    try:
        return ServerContextFactory(build_context(options))
    except TLSSetupError as error:
        raise StartupError(str(error)) from None


def _seed(config: ServerConfig) -> None:
    """
    ``+rs``, ``+ws``, ``+wf``: OpenSSL 3 seeds itself from the operating
    system, so a seed file adds nothing; it is still read if given, and
    fresh random bytes are written back where asked, once at start-up.
    """
    if config.tls_seed is None:
        return
    try:
        with open(config.tls_seed, "rb") as stream:
            stream.read(1 << 16)
    except OSError:
        _log.warn("cannot read random seed file {path}", path=config.tls_seed)
    if config.tls_write_seed is not None:
        target = config.tls_write_seed
        try:
            with open(target, "wb") as stream:
                stream.write(os.urandom(1024))
        except OSError:
            _log.warn("cannot write random seed file {path}", path=target)


def with_tls(
    factory: protocol.Factory, tls: ServerContextFactory | None
) -> protocol.Factory | TLSMemoryBIOFactory:
    """
    ``factory`` behind TLS when ``tls`` is given (inetd and fork modes).
    """
    if tls is None:
        return factory
    # Twisted aggregates TLS writes on a clock, the global reactor unless
    # told otherwise; a --fork child runs a reactor of its own.
    return TLSMemoryBIOFactory(
        tls, False, factory, clock=getattr(factory, "reactor", None)
    )


def makeService(options: StoreSCPOptions, reactor: Any = None) -> service.IService:
    """
    Build the storage SCP service from parsed options.

    :raises StartupError: for the reference's fatal start-up problems.
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    config: ServerConfig = options.config
    if config.inetd or config.fork:
        raise StartupError(
            "--inetd and --fork are served by the dicomtw-storescp command"
        )
    if config.log_config is not None:
        try:
            apply_file(config.log_config)
        except LogConfigError as error:
            raise StartupError(f"--log-config: {error}") from None
    else:
        logs.set_level(config.log_level)
    check_output_directory(config)
    log_start_up(config)
    if config.max_pdu & 1:
        _log.warn(
            "ASSOC: PDV receive length {length} is odd (using {even})",
            length=config.max_pdu,
            even=even_length(config.max_pdu),
        )
    factory = StorageServerFactory(build_settings(config, reactor), reactor)
    top = service.MultiService()
    DrainService(factory, DRAIN_GRACE).setServiceParent(top)
    tls = tls_context(config)
    for description in endpoint_descriptions(config):
        # +tls secures every endpoint that is not TLS already.
        wrapped = factory if description.startswith("ssl:") else with_tls(factory, tls)
        listener = strports.service(description, wrapped, reactor=reactor)
        listener._raiseSynchronously = True
        listener.setServiceParent(top)
    if tls is not None and config.port is not None:
        endpoint = SSL4ServerEndpoint(reactor, config.port, tls)
        secure = StreamServerEndpointService(endpoint, factory)
        secure._raiseSynchronously = True
        secure.setServiceParent(top)
    return top
