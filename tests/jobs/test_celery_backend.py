"""Outbox jobs on real Celery workers (jobs/celery_backend.py, jobs/relay.py).

The workers and the relay are real processes started here (``celery worker --pool solo``,
``gated-delivery worker --relay``) on a real Redis broker, sharing a PostgreSQL database with
this process, which pays orders through the app. Test plugins reach the workers through
``GD_EXTRA_PLUGINS`` (see ``celery_test_plugins.py``). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import importlib.util
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Final

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.models import Job, JobState, Order
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus

HERE: Final = Path(__file__).parent
REDIS_HOST: Final = "127.0.0.1"
REDIS_PORT: Final = 6379
#: A Redis database of its own, emptied before each test, so no message outlives its test.
REDIS_DB: Final = 14
WAIT_SECONDS: Final = 45.0


def _load_test_plugins() -> ModuleType:
    # the same module the workers import by name; loaded by path here (importlib mode)
    spec = importlib.util.spec_from_file_location(
        "celery_test_plugins", HERE / "celery_test_plugins.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules.setdefault("celery_test_plugins", importlib.util.module_from_spec(spec))
    if not hasattr(module, "PROVIDER"):
        spec.loader.exec_module(module)
    return module


test_plugins = _load_test_plugins()


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def needs_celery_postgresql_and_redis(gd_backend: str) -> None:
    if gd_backend != "postgresql":
        pytest.skip("Celery workers are other processes sharing the database: PostgreSQL only")
    pytest.importorskip("celery", reason="needs the celery extra: pip install -e '.[celery]'")
    if not _reachable(REDIS_HOST, REDIS_PORT):
        pytest.skip(f"no Redis broker at {REDIS_HOST}:{REDIS_PORT} (.ci/run starts one)")


@pytest.fixture
def gd_plugins() -> list[object]:
    return [test_plugins]


@pytest.fixture
def generator_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "generator"
    folder.mkdir()
    return folder


def _empty_broker(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def broker_url() -> str:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    _empty_broker(url)
    return url


def worker_env(settings: CoreSettings, broker: str, generator_dir: Path) -> dict[str, str]:
    """The environment of every process started here: the test's own settings."""
    return {
        **os.environ,
        "GD_DATABASE_URL": settings.database_url,
        "GD_SECRET_KEY": settings.secret,
        "GD_BASE_URL": settings.base_url,
        "PRIVATE_MEDIA_ROOT": str(settings.private_media_root),
        "GD_MAIL_DIR": str(settings.mail_dir),
        "GD_JOB_BACKEND": "celery",
        "GD_CELERY_BROKER_URL": broker,
        "GD_CELERY_LEASE_SECONDS": "3",
        "GD_EXTRA_PLUGINS": "celery_test_plugins",
        "GD_WORKER_POLL_SECONDS": "0.2",
        "GD_RECONCILE_EVERY_MINUTES": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        test_plugins.GENERATOR_DIR_VARIABLE: str(generator_dir),
    }


class Processes:
    """Starts Celery workers and the relay; stops whatever is left at the end."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.started: list[subprocess.Popen[bytes]] = []

    def _start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with (self.cwd / log).open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own fixed command lines
                args, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append(proc)
        return proc

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self._start(
            sys.executable,
            *("-m", "celery", "-A", "gated_delivery.jobs.celery_backend", "worker"),
            *("--pool", "solo", "--loglevel", "INFO", "-n", f"{name}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            log=f"{name}.log",
        )

    def relay(self) -> subprocess.Popen[bytes]:
        gd = str(Path(sys.executable).with_name("gated-delivery"))
        return self._start(gd, "worker", "--relay", "--ack-timeout", "2", log="relay.log")

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def processes(
    gd_settings: CoreSettings, broker_url: str, generator_dir: Path, tmp_path: Path
) -> Iterator[Processes]:
    procs = Processes(worker_env(gd_settings, broker_url, generator_dir), tmp_path)
    yield procs
    procs.stop_all()


@pytest_asyncio.fixture
async def client(gd_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gd_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def new_order(rt: Runtime, slug: str = "report") -> Order:
    async with rt.db.transaction() as session:
        await upsert_product(
            session,
            slug=slug,
            title="Report",
            tier_id="std",
            tier_label="Standard",
            price=Money(5000, "XOF"),
            generator="celery-test",
        )
        return await create_order(
            session,
            product_slug=slug,
            tier_id="std",
            buyer_email="awa@example.org",
            now=rt.clock.now(),
        )


async def pay(client: httpx.AsyncClient, order: Order) -> None:
    """Check out with the fake provider and deliver its signed notification."""
    response = await client.post(f"/checkout/{order.id}/fake")
    attempt_id = response.headers["location"].rsplit("/", 1)[1]
    body, headers = test_plugins.PROVIDER.notification(attempt_id)
    notified = await client.post("/payments/fake/notify", content=body, headers=headers)
    assert notified.is_success


def mails(settings: CoreSettings) -> list[Path]:
    return sorted(settings.mail_dir.glob("*.eml")) if settings.mail_dir.exists() else []


#: What a paid, generated order sends its buyer: "payment confirmed", then the link.
MAILS_PER_ORDER: Final = 2


def subjects(settings: CoreSettings) -> list[str]:
    """Each mail's Subject header, sorted: a mail sent twice shows up twice."""
    found = []
    for path in mails(settings):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append(f"{message['To']}: {message['Subject']}")
    return sorted(found)


async def wait_for(what: str, check: Callable[[], object], procs: Processes) -> None:
    """Poll ``check`` until true, at most ``WAIT_SECONDS``; fail with the process logs."""
    for _ in range(int(WAIT_SECONDS / 0.1)):
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        await asyncio.sleep(0.1)
    logs = "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(procs.cwd.glob("*.log"))
    )
    pytest.fail(f"gave up waiting for {what}\n{logs}")


async def order_state(rt: Runtime, order_id: str) -> tuple[PaymentStatus, FulfilmentState]:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id, populate_existing=True)
        assert order is not None
        return order.payment_status, order.fulfilment_status


async def jobs_of(rt: Runtime, order_id: str) -> list[Job]:
    async with rt.db.transaction() as session:
        query = sa.select(Job).where(Job.order_id == order_id).order_by(Job.id)
        return list((await session.execute(query)).scalars())


async def all_jobs_done(rt: Runtime, order_id: str) -> bool:
    jobs = await jobs_of(rt, order_id)
    return bool(jobs) and all(job.state is JobState.DONE for job in jobs)


async def test_a_paid_order_is_verified_generated_and_mailed_by_celery_workers(
    gd_runtime: Runtime,
    gd_settings: CoreSettings,
    client: httpx.AsyncClient,
    processes: Processes,
) -> None:
    processes.worker("w1")
    processes.relay()
    order = await new_order(gd_runtime)

    await pay(client, order)

    await wait_for("every job done", lambda: all_jobs_done(gd_runtime, order.id), processes)
    payment, fulfilment = await order_state(gd_runtime, order.id)
    assert payment is PaymentStatus.PAID
    assert fulfilment is FulfilmentState.PUBLISHED
    sent = subjects(gd_settings)
    assert len(sent) == MAILS_PER_ORDER
    assert len(set(sent)) == len(sent), sent  # each mail once
    kinds = {job.kind for job in await jobs_of(gd_runtime, order.id)}
    assert {"verify_payment", "generate", "mail"} <= kinds


async def test_a_worker_killed_mid_job_loses_nothing_and_mails_once(
    gd_runtime: Runtime,
    gd_settings: CoreSettings,
    client: httpx.AsyncClient,
    processes: Processes,
    generator_dir: Path,
) -> None:
    (generator_dir / "stall").touch()
    doomed = processes.worker("doomed")
    processes.relay()
    order = await new_order(gd_runtime)

    await pay(client, order)
    started = generator_dir / f"started-{order.id}"
    await wait_for("the generation to start", started.exists, processes)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    processes.worker("survivor")

    await wait_for("every job done", lambda: all_jobs_done(gd_runtime, order.id), processes)
    sent = subjects(gd_settings)
    assert len(sent) == MAILS_PER_ORDER
    assert len(set(sent)) == len(sent), sent  # the link mail once, despite the kill
    generation = [job for job in await jobs_of(gd_runtime, order.id) if job.kind == "generate"]
    assert [job.attempts for job in generation] == [2]  # the killed try, then the survivor's
    assert (await order_state(gd_runtime, order.id))[1] is FulfilmentState.PUBLISHED


async def test_with_celery_the_app_relays_jobs_and_runs_none(
    gd_runtime: Runtime, gd_settings: CoreSettings, broker_url: str
) -> None:
    import redis

    from gated_delivery.jobs.celery_backend import QUEUE
    from gated_delivery.runtime import build_runtime
    from gated_delivery.web.app import create_app

    settings = gd_settings.model_copy(
        update={"job_backend": "celery", "celery_broker_url": broker_url}
    )
    rt = build_runtime(settings, plugins_extra=[test_plugins], load_entry_points=False)
    app = create_app(runtime=rt, run_worker=True)
    order = await new_order(gd_runtime)
    queue = redis.Redis.from_url(broker_url)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        await pay(client, order)
        for _ in range(200):  # bounded: the relay wakes on the commit
            if queue.llen(QUEUE):
                break
            await asyncio.sleep(0.05)
    assert queue.llen(QUEUE) == 1
    (verify,) = await jobs_of(gd_runtime, order.id)
    assert verify.state is JobState.PENDING  # published, but no job ran in the app
    assert verify.attempts == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((REDIS_HOST, 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """A redis-server of this test's own, without persistence: a restart forgets everything."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server is not None
        argv = [server, "--bind", REDIS_HOST, "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.folder)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own fixed command line
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def queued(self) -> int:
        """How many messages wait in the jobs' queue."""
        import redis

        from gated_delivery.jobs.celery_backend import QUEUE

        return int(redis.Redis.from_url(self.url).llen(QUEUE))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # as a crash would: queued messages are gone
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("the broker-outage test starts its own redis-server, which is not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_a_broker_outage_delays_jobs_but_loses_none(
    gd_runtime: Runtime,
    gd_settings: CoreSettings,
    client: httpx.AsyncClient,
    generator_dir: Path,
    own_redis: ThrowawayRedis,
    tmp_path: Path,
) -> None:
    procs = Processes(worker_env(gd_settings, own_redis.url, generator_dir), tmp_path)
    try:
        procs.relay()
        first, second = await new_order(gd_runtime, "first"), await new_order(gd_runtime, "second")
        await pay(client, first)
        # published while no worker listens, then lost with the broker's memory
        await wait_for("the relay to publish", lambda: own_redis.queued() > 0, procs)
        own_redis.stop()
        procs.worker("w1")
        await pay(client, second)  # committed while the broker is down
        await asyncio.sleep(2)
        assert mails(gd_settings) == []
        own_redis.start()

        for order in (first, second):
            await wait_for("every job done", lambda o=order: all_jobs_done(gd_runtime, o.id), procs)
            assert (await order_state(gd_runtime, order.id))[1] is FulfilmentState.PUBLISHED
        assert len(mails(gd_settings)) == 2 * MAILS_PER_ORDER
    finally:
        procs.stop_all()
