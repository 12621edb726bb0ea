"""The composition root: ``create_server(settings)`` wires settings, SQL, disk, domain and gRPC.

The CLI and the tests build the server through this one function.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc
from ferry.v1 import ferry_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine, make_url

from ferry_server.config import (
    BLOCK_ALIGNMENT,
    MAX_MESSAGE_DATA,
    MAX_RECEIVE_MESSAGE,
    Settings,
    split_address,
)
from ferry_server.domain.catalog import TaskCatalog
from ferry_server.domain.errors import StoreUnavailable, Unavailable
from ferry_server.domain.fsck import FsckReport, check_storage
from ferry_server.domain.hashing import PrefixHasher
from ferry_server.domain.notifications import DeliveryPolicy, Notifier
from ferry_server.domain.part_size import s3_bounds
from ferry_server.domain.ports import BlockStore, Metrics, NoMetrics
from ferry_server.domain.quotas import Quotas
from ferry_server.domain.service import FaultHook, Limits, TransferService, no_fault, utc_now
from ferry_server.domain.watching import TaskWatcher
from ferry_server.domain.webhook_targets import NO_ROUTE, WebhookRoute, parse_webhook_url
from ferry_server.identity.gate import Gate
from ferry_server.identity.jwt_tokens import JwksError, JwtVerifier
from ferry_server.identity.principals import PrincipalsFile, PrincipalsFileError
from ferry_server.identity.upload_tokens import UploadTokens
from ferry_server.operations.health import DatabaseHealth, HealthServicer
from ferry_server.operations.metrics import MetricsEndpoint, PrometheusMetrics
from ferry_server.operations.webhooks import HttpWebhookSender
from ferry_server.persistence.database import (
    DatabaseTimeouts,
    PoolLimits,
    create_database_engine,
    migrate,
)
from ferry_server.persistence.repository import SqlTaskRepository
from ferry_server.storage.filesystem import FileSystemStore
from ferry_server.storage.objectstore import S3ObjectStore, StoreMisconfigured
from ferry_server.storage.s3blocks import S3BlockStore
from ferry_server.storage.spool import Spool
from ferry_server.transport.blocking import BlockingPool
from ferry_server.transport.servicer import SERVICE_NAME, FerryServicer, rpc_handlers
from ferry_server.transport.streams import OpenStreams
from ferry_server.transport.timing import TimingInterceptor
from ferry_server.transport.tls import ReloadingCertificates, TlsFilesInvalid

T = TypeVar("T")

log = logging.getLogger("ferry.server")


class StartupError(RuntimeError):
    """The server cannot start with these settings; the message says what to change."""


class _Periodic(threading.Thread):
    """Every ``interval`` seconds until stopped, runs each of its named jobs in turn. A job
    that finds the database out of reach (Unavailable) is logged as one WARNING line and
    tried again at the next round; any other failure is logged with its traceback (a bug)."""

    def __init__(
        self, name: str, interval: float, jobs: Sequence[tuple[str, Callable[[], object]]]
    ) -> None:
        super().__init__(name=f"ferry-{name}", daemon=True)
        self._interval = interval
        self._jobs = tuple(jobs)
        # Not ``_stop``: threading.Thread has a method of that name, which join() calls.
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            for name, job in self._jobs:
                if self._stopping.is_set():
                    return
                try:
                    job()
                except Unavailable as exc:
                    log.warning("%s skipped: %s", name, exc.message)
                except Exception:
                    log.exception("%s failed", name)

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()


def _sweeper(service: TransferService, interval: float) -> _Periodic:
    """Expires idle tasks, sweeps orphaned staging (one replica at a time, in bounded
    batches) and applies retention."""
    return _Periodic(
        "sweeper",
        interval,
        (
            ("expiry sweep", service.expire_idle),
            ("storage sweep", service.sweep_storage),
            ("retention sweep", service.apply_retention),
        ),
    )


#: Notices one claim takes at most.
_DELIVERY_BATCH = 50


def _delivery_loop(
    notifier: Notifier, depth: Callable[[], int], metrics: Metrics, interval: float
) -> _Periodic:
    """Delivers due completion notices (all of them, in batches) and reports the outbox's
    depth."""
    loop: _Periodic

    def deliver() -> None:
        while notifier.deliver_due(_DELIVERY_BATCH) == _DELIVERY_BATCH and not loop.stopping:
            pass
        metrics.outbox_depth(depth())

    loop = _Periodic("webhooks", interval, (("notice delivery", deliver),))
    return loop


class _EventLoop(threading.Thread):
    """The replica's asyncio event loop (gRPC, the RPC handlers), in a thread of its own so
    that :class:`FerryServer` keeps a plain synchronous API for the CLI and the tests."""

    def __init__(self) -> None:
        super().__init__(name="ferry-loop", daemon=True)
        self.loop = asyncio.new_event_loop()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the loop and wait for its outcome."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join()
        self.loop.close()


@dataclass(frozen=True)
class _Transport:
    """What ``create_server`` builds on the event loop."""

    grpc: grpc.aio.Server
    port: int
    health: Any  # operations.health.HealthServicer


class FerryServer:
    """A started-or-startable Ferry replica."""

    def __init__(
        self,
        settings: Settings,
        loop: _EventLoop,
        transport: _Transport,
        blocking: BlockingPool,
        engine: Engine,
        sweeper: _Periodic,
        hasher: PrefixHasher,
        service: TransferService,
        servicer: FerryServicer,
        health: DatabaseHealth,
        metrics: MetricsEndpoint | None,
        gate: Gate,
        deliveries: _Periodic | None = None,
        watcher: TaskWatcher | None = None,
        certificates: ReloadingCertificates | None = None,
    ) -> None:
        self.settings = settings
        self._watcher = watcher
        self._deliveries = deliveries
        self.service = service
        self._loop = loop
        self._grpc = transport.grpc
        self._port = transport.port
        self._blocking = blocking
        self._engine = engine
        self._sweeper = sweeper
        self._hasher = hasher
        self._servicer = servicer
        self._health = health
        self._metrics = metrics
        self._gate = gate
        self._stopped = threading.Event()
        self._certificates = certificates
        # Refreshes this replica's open-stream counts in SQL, so that they expire only when
        # the replica is gone (only with a stream quota).
        self._heartbeat = _Periodic(
            "stream-heartbeat",
            settings.stream_heartbeat_seconds,
            (("stream count heartbeat", service.streams.heartbeat),),
        )

    def reload_tls(self) -> None:
        """Read the TLS files again before the next handshake (SIGHUP); changed files are
        picked up without this too."""
        if self._certificates is not None:
            self._certificates.reload()

    def reload_credentials(self) -> None:
        """Re-read the principals file and the JWKS now (SIGHUP); both are also re-read when
        they change."""
        log.info("reloading credentials")
        self._gate.reload()

    @property
    def port(self) -> int:
        """The bound TCP port (useful when listening on port 0)."""
        return self._port

    @property
    def address(self) -> str:
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self._port}"

    @property
    def metrics_address(self) -> str | None:
        """Where the Prometheus endpoint listens (its bound port), None when it is off."""
        if self._metrics is None:
            return None
        host = self.settings.metrics_listen.rpartition(":")[0]
        return f"{host}:{self._metrics.port}"

    def start(self) -> None:
        self._hasher.start()
        self._loop.call(self._grpc.start())
        self._sweeper.start()
        if self._watcher is not None:
            self._watcher.start()
        if self._deliveries is not None:
            self._deliveries.start()
        if self.service.streams.enabled:
            self._heartbeat.start()
        self._health.start()
        log.info(
            "ferry listening on %s%s (data dir %s)",
            self.address,
            " with TLS" if self._certificates is not None else "",
            self.settings.data_dir,
        )

    def stop(self, grace: float | None = None) -> None:
        """Stop taking RPCs, end upload streams at once with UNAVAILABLE (clients reconnect and
        continue), let unary RPCs in flight finish for ``grace`` seconds, then release all."""
        self._sweeper.stop()
        if self._watcher is not None:
            self._watcher.stop()
        if self._deliveries is not None:
            self._deliveries.stop()
        self._heartbeat.stop()
        self._health.stop()
        self._loop.call(self._stop_serving(grace))
        self._blocking.shutdown()
        self._hasher.stop()
        if self._metrics is not None:
            self._metrics.stop()
        self._engine.dispose()
        self._loop.close()
        self._stopped.set()
        log.info("ferry stopped")

    @property
    def store(self) -> BlockStore:
        """Where this replica keeps bytes (the filesystem, or the object store and spool)."""
        return self.service.store

    async def _stop_serving(self, grace: float | None) -> None:
        stopping = asyncio.ensure_future(self._grpc.stop(grace))
        # After gRPC refuses new calls: the streams open now are all there will be.
        await asyncio.sleep(0)
        self._servicer.streams.end_all()
        await stopping

    def hashed_bytes(self, task_id: str) -> int:
        """How far this replica's background hash and assembly of a task have come."""
        return self._hasher.hashed_bytes(task_id)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Wait until :meth:`stop` finished (True), or ``timeout`` seconds passed (False)."""
        return self._stopped.wait(timeout)


def _prepare_directories(settings: Settings) -> None:
    if settings.object_store is not None:
        for directory in (settings.data_dir, settings.resolved_spool_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return
    root = settings.resolved_storage_root
    for directory in (settings.data_dir, settings.staging_dir, root):
        directory.mkdir(parents=True, exist_ok=True)
    if settings.staging_dir.stat().st_dev != root.stat().st_dev:
        raise StartupError(
            f"the data directory ({settings.data_dir}) and the storage root ({root}) are on "
            "different filesystems; publishing must be a rename, so put them on one"
        )
    real_root = Path(os.path.realpath(root))
    real_data = Path(os.path.realpath(settings.data_dir))
    if real_root == real_data or real_root in real_data.parents:
        raise StartupError(
            f"the storage root ({root}) must not contain the data directory "
            f"({settings.data_dir}): uploads could overwrite Ferry's own files"
        )


def _byte_store(settings: Settings) -> BlockStore:
    """The filesystem (data dir and storage root) or, with ``--storage s3://...``, the object
    store with its local spool; the object store is checked now (bucket, credentials)."""
    location = settings.object_store
    if location is None:
        return FileSystemStore(
            settings.staging_dir,
            settings.resolved_storage_root,
            fsync=settings.fsync,
            published_mode=settings.published_mode,
        )
    s3 = S3ObjectStore.connect(
        location,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        max_connections=settings.blocking_threads,
    )
    try:
        s3.check()
    except (StoreMisconfigured, StoreUnavailable) as exc:
        raise StartupError(f"cannot use the object store {location}: {exc}") from exc
    spool = Spool(settings.resolved_spool_dir, settings.spool_bytes, fsync=settings.fsync)
    return S3BlockStore(s3, spool)


def _limits(settings: Settings) -> Limits:
    part_bounds = None
    if settings.object_store is not None:
        part_bounds = s3_bounds(
            min_block_size=settings.min_block_size,
            max_block_size=settings.max_block_size,
            alignment=BLOCK_ALIGNMENT,
        )
    return Limits(
        default_block_size=settings.default_block_size,
        min_block_size=settings.min_block_size,
        max_block_size=settings.max_block_size,
        block_alignment=BLOCK_ALIGNMENT,
        max_file_size=settings.max_file_size,
        max_message_data=MAX_MESSAGE_DATA,
        task_ttl=timedelta(seconds=settings.task_ttl_seconds),
        merge_lease=timedelta(seconds=settings.merge_lease_seconds),
        fsync=settings.fsync,
        orphan_age=timedelta(seconds=settings.orphan_age_seconds),
        retention=timedelta(seconds=settings.retention_seconds),
        upload_token_ttl=timedelta(seconds=settings.upload_token_ttl_seconds),
        quotas=Quotas(
            active_tasks=settings.quota_active_tasks,
            staged_bytes=settings.quota_staged_bytes,
            streams=settings.quota_streams,
            disk_reserve=settings.disk_reserve_bytes,
            disk_overcommit=settings.disk_overcommit,
            stream_heartbeat=timedelta(seconds=settings.stream_heartbeat_seconds),
        ),
        part_bounds=part_bounds,
    )


def _gate(settings: Settings, repository: SqlTaskRepository) -> Gate:
    """The authenticator for ``settings``: a credential that cannot be loaded at start-up is a
    StartupError (later, a bad reload keeps the last good one)."""
    try:
        principals = PrincipalsFile(settings.principals_file) if settings.principals_file else None
        jwt = (
            JwtVerifier(
                settings.jwt_jwks,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                algorithms=settings.jwt_algorithms,
                leeway_seconds=settings.jwt_leeway_seconds,
                min_refresh_seconds=settings.jwks_refresh_seconds,
            )
            if settings.jwt_jwks
            else None
        )
    except (PrincipalsFileError, JwksError) as exc:
        raise StartupError(str(exc)) from exc
    gate = Gate(principals=principals, jwt=jwt, upload_tokens=UploadTokens(repository, utc_now))
    if not gate.configured:
        log.warning(
            "no credentials configured (--principals-file, --jwt-jwks): every caller is the "
            "anonymous principal and may do everything"
        )
    return gate


def _fault_hook(spec: str) -> FaultHook:
    """The test-only ``test_fault`` setting as a hook: at its point, kill, stop or pause."""
    if not spec:
        return no_fault
    point, _, action = spec.partition(":")

    def hook(reached: str) -> None:
        if reached != point:
            return
        log.warning("test fault: %s reached, %s", point, action)
        for handler in logging.getLogger().handlers:
            handler.flush()
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        else:
            time.sleep(float(action.removeprefix("sleep=")))

    return hook


def run_fsck(settings: Settings, *, min_age: float, repair: bool) -> FsckReport:
    """``ferry fsck`` against the database and staging ``settings`` name."""
    if settings.object_store is not None:
        raise StartupError(
            f"fsck checks the filesystem backend only; with storage={settings.storage} the "
            "sweeper reconciles SQL and the store by itself (it aborts the uploads of ended "
            "tasks, stores or reverts committed blocks left without their part, and removes "
            "spool files), and Merge checks every part against ListParts before publishing"
        )
    timeouts = DatabaseTimeouts()
    _migrate(settings, timeouts)
    engine = create_database_engine(
        settings.resolved_database_url,
        fsync=settings.fsync,
        pool_size=2,
        timeouts=timeouts,
        transaction_pooling=settings.db_transaction_pooling,
    )
    try:
        store = FileSystemStore(
            settings.staging_dir, settings.resolved_storage_root, fsync=settings.fsync
        )
        repository = SqlTaskRepository(engine)
        if repository.has_receipts():
            # Checked against the local disk, every block in the store would look lost.
            raise StartupError(
                "this database records blocks stored in an object store: fsck checks the "
                "filesystem backend only (give --storage to say which store; it is refused "
                "too, the sweeper does this work there)"
            )
        return check_storage(repository, store, min_age=timedelta(seconds=min_age), repair=repair)
    finally:
        engine.dispose()


def _migrate(settings: Settings, timeouts: DatabaseTimeouts) -> None:
    """Bring the schema up to date on an engine of its own, without the per-statement and
    per-call bounds that serving uses; a database out of reach is a StartupError."""
    engine = create_database_engine(
        settings.resolved_database_url,
        fsync=settings.fsync,
        pool_size=1,
        timeouts=timeouts.for_migrations(),
        transaction_pooling=settings.db_transaction_pooling,
    )
    try:
        migrate(engine)
    except Unavailable as exc:
        where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        raise StartupError(f"cannot use the database at {where}: {exc.message}") from exc
    finally:
        engine.dispose()


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is a loopback one (an unresolvable name or a
    wildcard is not)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).partition("%")[0]).is_loopback for address in addresses
    )


def insecure_exposure(settings: Settings) -> str | None:
    """Why the server must not start as configured, or None.

    Secure by default: without TLS *and* authentication, Ferry listens only on loopback
    addresses unless ``allow_insecure`` says the operator knows (e.g. a private network, or
    TLS ended by a proxy in front).
    """
    if settings.allow_insecure:
        return None
    if settings.tls_configured and settings.authentication_configured:
        return None
    host, _ = split_address(settings.listen)
    if host and _is_loopback(host):
        return None
    missing = [] if settings.tls_configured else ["TLS (--tls-cert/--tls-key)"]
    if not settings.authentication_configured:
        missing.append("authentication (--principals-file, --jwt-jwks or --tls-client-ca)")
    return (
        f"refusing to listen on {settings.listen}, a non-loopback address, without "
        f"{' and '.join(missing)}; configure them, listen on 127.0.0.1, or pass "
        "--allow-insecure [FERRY_ALLOW_INSECURE=1]"
    )


def create_server(settings: Settings) -> FerryServer:
    """Build a replica for ``settings``: directories, schema migrations, services, gRPC port."""
    refusal = insecure_exposure(settings)
    if refusal is not None:
        raise StartupError(refusal)
    try:
        certificates = (
            ReloadingCertificates(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
            if settings.tls_cert is not None and settings.tls_key is not None
            else None
        )
    except TlsFilesInvalid as exc:
        raise StartupError(f"cannot use the TLS files: {exc}") from exc
    _prepare_directories(settings)
    timeouts = DatabaseTimeouts(
        connect=settings.db_connect_timeout_seconds,
        statement=settings.db_statement_timeout_seconds,
        call=settings.db_call_timeout_seconds,
        tcp_user=settings.db_tcp_user_timeout_seconds,
        keepalive=settings.db_keepalive_seconds,
    )
    _migrate(settings, timeouts)
    engine = create_database_engine(
        settings.resolved_database_url,
        fsync=settings.fsync,
        # Every blocking thread may hold a connection, the background work too: by default the
        # pool is blocking_threads + 2 (Settings refuses a smaller size + overflow).
        pool_size=PoolLimits(
            settings.effective_db_pool_size,
            settings.db_max_overflow,
            settings.db_pool_timeout_seconds,
        ),
        timeouts=timeouts,
        transaction_pooling=settings.db_transaction_pooling,
    )
    loop = _EventLoop()
    try:
        repository = SqlTaskRepository(engine)
        store = _byte_store(settings)
        prometheus = PrometheusMetrics() if settings.metrics_listen else None
        metrics: Metrics | None = prometheus
        replica = secrets.token_hex(6)
        replica_id = f"{socket.gethostname()[:24]}:{os.getpid()}:{replica}"
        hasher = PrefixHasher(store, repository.committed_blocks, replica=replica)
        gate = _gate(settings, repository)
        deliveries = _deliveries(settings, repository, metrics or NoMetrics(), replica_id, gate)
        watcher = TaskWatcher(repository.get_many, settings.watch_interval_seconds)
        service = TransferService(
            repository,
            store,
            _limits(settings),
            hasher=hasher,
            replica_id=replica_id,
            fault=_fault_hook(settings.test_fault),
            metrics=metrics,
            webhook_for=_webhook_routes(settings, gate, delivering=deliveries is not None),
            watcher=watcher,
        )
        blocking = BlockingPool(settings.blocking_threads)
        servicer = FerryServicer(
            service,
            TaskCatalog(repository),
            gate,
            blocking,
            OpenStreams(settings.max_streams, settings.stream_idle_timeout_seconds),
        )
        loop.start()
        transport = loop.call(_transport(settings, servicer, prometheus, certificates))
        checker = DatabaseHealth(
            transport.health,
            loop.loop,
            [SERVICE_NAME],
            service.check_database,
            settings.health_interval_seconds,
        )
        # Checked once now (the schema was just migrated), so the first answer is true.
        checker.probe()
        endpoint = None if prometheus is None else _metrics_endpoint(settings, prometheus)
    except BaseException:
        if loop.is_alive():
            loop.close()
        engine.dispose()
        raise
    return FerryServer(
        settings,
        loop,
        transport,
        blocking,
        engine,
        _sweeper(service, settings.sweep_interval_seconds),
        hasher,
        service,
        servicer,
        checker,
        endpoint,
        gate,
        deliveries,
        watcher,
        certificates,
    )


def _webhook_routes(
    settings: Settings, gate: Gate, *, delivering: bool
) -> Callable[[str], WebhookRoute]:
    """Each principal's webhook settings: its ``[[principal]]`` entry's, the server's
    ``--webhook-url`` standing in for a URL it lacks; none at all when this server sends no
    notices (no signing secret), so that no notice is recorded that nothing would send."""
    if not delivering:
        return lambda _principal: NO_ROUTE
    fallback = parse_webhook_url(settings.webhook_url).text if settings.webhook_url else None

    def route(principal: str) -> WebhookRoute:
        own = gate.webhook_route(principal)
        if own is None:
            return WebhookRoute(fallback)
        return own if own.url is not None else WebhookRoute(fallback, own.allow)

    return route


def _deliveries(
    settings: Settings, repository: SqlTaskRepository, metrics: Metrics, owner: str, gate: Gate
) -> _Periodic | None:
    """The completion notices' delivery loop, when notices are signed (a secret is given:
    with the server's --webhook-url, or the principals file's URLs)."""
    if settings.webhook_secret_file is None:
        return None
    try:
        secret = settings.webhook_secret_file.read_text().strip()
        sender = HttpWebhookSender(
            secret,
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
        )
    except (OSError, ValueError) as exc:
        raise StartupError(
            f"cannot use the webhook secret in {settings.webhook_secret_file}: {exc} "
            "(expected whsec_ followed by base64)"
        ) from exc
    policy = DeliveryPolicy(retry_for=timedelta(seconds=settings.webhook_retry_seconds))
    notifier = Notifier(
        repository, sender, policy, owner=owner, clock=utc_now,
        on_outcome=metrics.notice_attempted, secret_for=gate.webhook_secret,
    )  # fmt: skip
    return _delivery_loop(notifier, repository.outbox_depth, metrics, settings.webhook_poll_seconds)


def _flow_control(lookahead: int) -> list[tuple[str, int]]:
    """gRPC's receive flow control for ``--stream-lookahead`` (0: its own). With BDP probing,
    gRPC grows each busy stream's receive window to several MiB, which one stream on a long
    link needs, but 200 streams sending as fast as they can had a replica buffer 3-4 GB
    (issue 9). With a bound and no probing, a stream receives the message it is reading (gRPC
    opens the window for it) plus the lookahead, and a stream whose previous message is still
    being written reads no further, so its client waits: 0.5-0.7 GB in that bench."""
    if lookahead == 0:
        return []
    return [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", lookahead)]


async def _transport(
    settings: Settings,
    servicer: FerryServicer,
    prometheus: PrometheusMetrics | None,
    certificates: ReloadingCertificates | None,
) -> _Transport:
    """The gRPC aio server (built on the loop it will run on), its services, and its port."""
    pending = max(1000, 2 * settings.max_streams)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE),
            ("grpc.max_send_message_length", MAX_RECEIVE_MESSAGE),
            # Without this a second replica could silently share the port with the first.
            ("grpc.so_reuseport", 0),
            # Clients keep idle connections alive with a ping a minute (e.g. during a
            # long Merge); by default the server would count those as abuse.
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 30_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # Calls gRPC accepted but the loop has not yet taken up wait here; beyond the
            # limit gRPC cancels new ones (CANCELLED, which clients rightly do not retry). A
            # burst of new streams must wait to be answered instead: OK, or OVERLOADED.
            ("grpc.server.max_pending_requests", pending),
            ("grpc.server.max_pending_requests_hard_limit", 2 * pending),
            *_flow_control(settings.stream_lookahead_bytes),
        ],
        interceptors=[] if prometheus is None else [TimingInterceptor(prometheus)],
    )
    server.add_generic_rpc_handlers((rpc_handlers(servicer),))
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        ferry = ferry_pb2.DESCRIPTOR.services_by_name["FerryService"].full_name
        health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        reflection.enable_server_reflection((ferry, health_name, reflection.SERVICE_NAME), server)
    try:
        port = (
            server.add_insecure_port(settings.listen)
            if certificates is None
            else server.add_secure_port(settings.listen, certificates.credentials())
        )
    except RuntimeError as exc:
        raise StartupError(f"cannot listen on {settings.listen}: {exc}") from exc
    if port == 0:
        raise StartupError(f"cannot listen on {settings.listen} (address in use?)")
    return _Transport(server, port, health_servicer)


def _metrics_endpoint(settings: Settings, metrics: PrometheusMetrics) -> MetricsEndpoint:
    host, port = split_address(settings.metrics_listen)
    endpoint = MetricsEndpoint(metrics, host, port)
    try:
        endpoint.start()
    except OSError as exc:
        raise StartupError(f"cannot serve metrics on {settings.metrics_listen}: {exc}") from exc
    return endpoint
