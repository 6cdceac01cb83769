"""The Ray executor (extra ``ray``): parse, chunk and embed on Ray workers; the driver still writes.

``RayExecutor`` implements the :class:`ragkit.executors.base.Executor` seam. Its work goes to a pool
of Ray actors, one per free CPU of the cluster, each holding the embedding model and a chunker rebuilt from
the driver's configs (so a worker computes exactly what the driver would). Files go to the actors in
batches sized so every worker gets several; texts to embed are split evenly across them. Results come
back in input order. The store is never opened by a worker: the single writer in the driver does every
commit, so durability and the writer lock are the same as in-process.

Why one pool for both stages rather than plain tasks for parsing: actors that hold a model keep their
CPU reserved for their whole life, so separate parse tasks could wait forever for a CPU; and the
chunker needs the model's tokenizer, which the actor then loads once instead of once per task.

``spec``: ``ray`` (the cluster at ``RAY_ADDRESS`` when set, else a local Ray started for the run,
listening on 127.0.0.1 only (:func:`start_local_ray`), and shut down by :meth:`RayExecutor.close`), ``ray:auto`` (the cluster ``ray start`` left on this machine)
or ``ray://HOST:PORT`` (Ray Client, e.g. port 10001 of a cluster's head). Workers need the same ragkit
install and must see the indexed files at the same paths.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, replace
from types import ModuleType
from typing import Any

import numpy as np

from ragkit.chunking import StructuredChunker
from ragkit.config import ChunkingConfig, EmbedderConfig
from ragkit.executors.base import FileTask, Prepared
from ragkit.types import ConnectorOptions

SPECS = ("ray", "ray:auto", "ray://HOST:PORT")
LOOPBACK = "127.0.0.1"
MAX_FILES_PER_CALL = 32  # a parse call's files: enough to amortize the round trip, few enough to balance


def import_ray() -> ModuleType:
    """The ``ray`` module, or ImportError naming the extra that installs it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray executor needs the 'ray' extra: pip install 'ragkit[ray]'") from exc
    return ray


def check_spec(spec: str) -> str:
    """``spec`` when it names a Ray executor, else ValueError listing the valid forms."""
    if spec in ("ray", "ray:auto") or (spec.startswith("ray://") and len(spec) > len("ray://")):
        return spec
    raise ValueError(f"unknown Ray executor {spec!r}; valid: {', '.join(SPECS)}")


def is_loopback(ip: str) -> bool:
    """Whether ``ip`` (IPv4, IPv6, or IPv4-mapped IPv6 such as ``::ffff:127.0.0.1``) is a loopback
    address."""
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


@contextmanager
def _loopback_kept(ray: ModuleType) -> Iterator[None]:
    """Inside this block, a Ray started with ``_node_ip_address="127.0.0.1"`` keeps that address, and a
    driver joining a Ray at ``127.0.0.1:PORT`` connects there.

    Ray binds its gRPC servers (GCS, raylet, object manager, every worker's) and its runtime-env agent
    to 127.0.0.1 when the node's IP is 127.0.0.1, and to all interfaces otherwise. But on Linux
    ``ray.init`` replaces a loopback ``_node_ip_address``, and the host of a loopback ``RAY_ADDRESS``,
    by the machine's routable address (``ray._private.services.resolve_ip_for_localhost``; a driver
    joining a loopback-only Ray would then wait forever for a GCS at an address it does not listen
    on), unless multi-node clusters are off, which is
    Ray's own single-machine mode (the default on macOS and Windows): the switch is the environment
    variable ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read once when Ray is imported into
    ``ray._private.ray_constants.ENABLE_RAY_CLUSTER``. Ray has no public option for this, so the
    constant is turned off for the ``ray.init`` call only and restored after (setting the variable
    would not reach a Ray already imported, and would linger for the rest of the process). Never for
    a cluster at a routable address: a driver joining it with this mode would advertise 127.0.0.1.
    :func:`start_local_ray` checks the result, so a future Ray that renames the constant fails
    loudly rather than listening on every interface.
    """
    from ray._private import ray_constants

    had = hasattr(ray_constants, "ENABLE_RAY_CLUSTER")
    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if had:
            ray_constants.ENABLE_RAY_CLUSTER = saved
        else:
            del ray_constants.ENABLE_RAY_CLUSTER


def is_loopback_address(address: str) -> bool:
    """Whether a Ray address ``HOST:PORT`` names this machine's loopback (``127.0.0.1``, ``[::1]``,
    ``localhost``); False for ``ray://`` (Ray Client) and ``auto``."""
    if "://" in address or ":" not in address:
        return False
    host = address.rpartition(":")[0].strip("[]")
    try:
        return host == "localhost" or is_loopback(host)
    except ValueError:  # a host name
        return False


def start_local_ray(ray: ModuleType, num_cpus: int | None = None, **kwargs: Any) -> Any:
    """Start a new single-machine Ray that listens on 127.0.0.1 only; returns ``ray.init``'s context.

    ``num_cpus``: None for every CPU of this machine. No dashboard (so no dashboard HTTP server and no
    metrics agent port either). ``kwargs`` go to ``ray.init`` (e.g. ``log_to_driver``). RuntimeError,
    with Ray shut down again, if this Ray version did not keep the loopback address.
    """
    with _loopback_kept(ray):
        # "local" always starts a new Ray (a bare init could join one left running on this machine)
        context = ray.init(
            address="local", num_cpus=num_cpus, include_dashboard=False, _node_ip_address=LOOPBACK, **kwargs
        )
    node_ip = context.address_info.get("node_ip_address", "")
    gcs_host = context.address_info.get("gcs_address", "").rpartition(":")[0]
    if not (node_ip and is_loopback(node_ip) and gcs_host and is_loopback(gcs_host.strip("[]"))):
        ray.shutdown()
        raise RuntimeError(
            f"Ray {ray.__version__} did not start on {LOOPBACK} (node {node_ip!r}, GCS {gcs_host!r}), so it "
            "would listen on every network interface; ragkit refuses to run it. Start Ray yourself "
            "(`ray start --head`) and use --executor ray:auto, or set RAY_ADDRESS."
        )
    return context


class RaySession:
    """This process's connection to Ray, opened on first use; closing shuts Ray down only if this
    session started it (a local Ray), never a cluster it joined or a Ray the caller had initialized."""

    def __init__(self, spec: str = "ray", num_cpus: int | None = None):
        self.spec = check_spec(spec)
        self.num_cpus = num_cpus  # for a local Ray only (None: every CPU of this machine)
        self.started = False

    def connect(self) -> ModuleType:
        """Connect (or start a local Ray) unless this process already is; returns the ray module."""
        ray = import_ray()
        if ray.is_initialized():
            return ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # Ray's own switch: no usage reports
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if self.spec == "ray" and not os.environ.get("RAY_ADDRESS"):
            start_local_ray(ray, self.num_cpus, **quiet)
            self.started = True
        elif self.spec == "ray":
            # Ray reads RAY_ADDRESS itself; a loopback-only Ray on this machine is joined on loopback
            with _loopback_kept(ray) if is_loopback_address(os.environ["RAY_ADDRESS"]) else nullcontext():
                ray.init(**quiet)
        else:
            ray.init(address=self.spec[len("ray:"):] if self.spec == "ray:auto" else self.spec, **quiet)
        return ray

    def free_cpus(self) -> int:
        """CPUs of the cluster free now. Pools size themselves by it, so no call waits on an actor that
        cannot start while the pool's other actors hold the CPUs."""
        return int(self.connect().available_resources().get("CPU", 0))

    def close(self) -> None:
        if self.started:
            import_ray().shutdown()
            self.started = False


class IngestWorker:
    """One Ray actor of the pool: an embedder (its model loaded once) and the chunkers built on it."""

    def __init__(self, embedder_config: EmbedderConfig):
        from ragkit.embedding import make_embedder
        from ragkit.executors.local import LocalExecutor

        self.embedder = make_embedder(embedder_config)
        self.local = LocalExecutor(self.embedder)
        self.chunkers: dict[str, StructuredChunker] = {}

    def chunker(self, config: ChunkingConfig, tokenizer_name: str) -> StructuredChunker:
        key = repr((sorted(asdict(config).items()), tokenizer_name))
        if key not in self.chunkers:
            self.chunkers[key] = StructuredChunker(config, self.embedder.token_offsets, tokenizer_name)
        return self.chunkers[key]

    def parse_chunk(
        self, tasks: list[FileTask], options: ConnectorOptions, config: ChunkingConfig, tokenizer_name: str
    ) -> list[Prepared]:
        return list(self.local.parse_chunk(tasks, options, self.chunker(config, tokenizer_name)))

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.local.embed(texts)
        return np.stack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)


class RayExecutor:
    """Parse + chunk and embed on a pool of Ray actors (see the module docstring); cheap to build,
    connects on first use."""

    def __init__(
        self,
        spec: str = "ray",
        embedder_config: EmbedderConfig | None = None,
        num_cpus: int | None = None,
        actors: int = 0,
        session: RaySession | None = None,
    ):
        self.session = session or RaySession(spec, num_cpus)
        config = embedder_config or EmbedderConfig()
        # one torch thread per actor (each reserves one CPU) unless the config says otherwise
        self.embedder_config = config if config.threads > 0 else replace(config, threads=1)
        self.actors_wanted = actors  # 0: one actor per CPU of the cluster
        self.batch_size = max(1, config.batch_size)
        self._pool: list[Any] = []

    # -- the seam -----------------------------------------------------------------------------------

    def parse_chunk(
        self, tasks: Sequence[FileTask], options: ConnectorOptions, chunker: StructuredChunker
    ) -> Iterator[Prepared]:
        """Prepared files in the order of ``tasks``; a file whose worker died gets ``error`` set."""
        tasks = list(tasks)
        if not tasks:
            return
        pool = self._actors(len(tasks))
        per_call = max(1, min(MAX_FILES_PER_CALL, math.ceil(len(tasks) / (4 * len(pool)))))
        groups = [tasks[i : i + per_call] for i in range(0, len(tasks), per_call)]
        args = (options, chunker.config, chunker.tokenizer_name)
        for group, result in self._ordered("parse_chunk", [(g, *args) for g in groups]):
            if isinstance(result, Exception):
                yield from self._parse_alone(group[0], args, result)
            else:
                yield from result

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Float32 vectors in input order, the texts split evenly across the pool."""
        texts = list(texts)
        if not texts:
            return []
        pool = self._actors(math.ceil(len(texts) / self.batch_size))
        per_call = max(self.batch_size, math.ceil(len(texts) / len(pool)))
        parts = [(texts[i : i + per_call],) for i in range(0, len(texts), per_call)]
        out: list[np.ndarray] = []
        for _, result in self._ordered("embed", parts):
            if isinstance(result, Exception):
                raise RuntimeError(f"embedding on Ray failed: {result}") from result
            out.extend(np.asarray(result, dtype=np.float32))
        return out

    def release(self) -> None:
        """End the actors (their CPUs go back to the cluster); the connection stays open."""
        if self._pool:
            ray = import_ray()
            for actor in self._pool:
                ray.kill(actor)
            self._pool = []

    def close(self) -> None:
        """Release the actors; shut Ray down if this executor started it."""
        self.release()
        self.session.close()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the pool -----------------------------------------------------------------------------------

    def _actors(self, work: int) -> list[Any]:
        """The pool, made on first use: one actor per CPU free then (``actors`` when set), no more
        than that first call's work, at least one. It is not grown later: Ray's view of free CPUs lags
        behind actors just created, and an actor that cannot start would hold the calls given to it."""
        ray = self.session.connect()
        if not self._pool:
            size = max(1, min(self.actors_wanted or self.session.free_cpus(), work))
            worker = ray.remote(num_cpus=1, max_restarts=3)(IngestWorker)
            self._pool = [worker.remote(self.embedder_config) for _ in range(size)]
        return self._pool[: max(1, work)]

    def _ordered(self, method: str, calls: list[tuple]) -> Iterator[tuple[tuple, Any]]:
        """Run actor ``method`` with each argument tuple, at most one call per actor at a time; yield
        ``(args, result or exception)`` in the order of ``calls``, each as soon as it and all before it
        are done."""
        return ordered_calls(self.session.connect(), self._actors(len(calls)), method, calls)

    def _parse_alone(self, first: list[FileTask], args: tuple, error: Exception) -> Iterator[Prepared]:
        """A parse call failed as a whole (its worker died): retry its files one by one, so only a file
        that kills a worker again is reported as failed."""
        if len(first) == 1:
            task = first[0]
            yield Prepared(task, None, error=f"{task.source}: the Ray worker parsing it failed: {_short(error)}")
            return
        for (group, *_), result in self._ordered("parse_chunk", [([t], *args) for t in first]):
            if isinstance(result, Exception):
                task = group[0]
                yield Prepared(task, None, error=f"{task.source}: the Ray worker parsing it failed: {_short(result)}")
            else:
                yield from result


def ordered_calls(ray: ModuleType, pool: list[Any], method: str, calls: list[tuple]) -> Iterator[tuple[tuple, Any]]:
    """Spread ``calls`` of actor ``method`` over ``pool`` (one in flight per actor); yield each call's
    ``(args, result)`` in call order (the exception instead of the result when the call failed)."""
    yield from _in_order(as_completed_calls(ray, pool, method, calls))


def as_completed_calls(ray: ModuleType, pool: list[Any], method: str, calls: list[tuple]) -> Iterator[tuple[int, tuple, Any]]:
    """Like :func:`ordered_calls` but yields ``(index, args, result)`` as calls finish, in any order."""
    free = list(pool)
    pending: dict[Any, tuple[int, Any]] = {}
    nxt = 0
    while nxt < len(calls) or pending:
        while free and nxt < len(calls):
            actor = free.pop(0)
            pending[getattr(actor, method).remote(*calls[nxt])] = (nxt, actor)
            nxt += 1
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            index, actor = pending.pop(ref)
            free.append(actor)
            try:
                result: Any = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a failed call is the caller's to report
                result = exc
            yield index, calls[index], result


def _in_order(results: Iterator[tuple[int, tuple, Any]]) -> Iterator[tuple[tuple, Any]]:
    waiting: dict[int, tuple[tuple, Any]] = {}
    nxt = 0
    for index, args, result in results:
        waiting[index] = (args, result)
        while nxt in waiting:
            yield waiting.pop(nxt)
            nxt += 1


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".strip()
