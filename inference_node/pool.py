"""The model pool: a fixed number of loaded checkpoints, least recently used evicted first.

All bookkeeping runs on the event loop (no locks needed there); the blocking load runs
in a worker thread. Rules:

- a load of an id that is loaded with the same files returns the loaded one; with other
  files (a new identity) the old runtime is retired and the new files are loaded;
- concurrent loads of one id share one load;
- a load that needs a free slot evicts the least recently used checkpoint that has no
  request in flight; when every slot is busy (in flight, or loading) it fails with 503;
- `acquire` (one per request) re-checks the identity: changed or vanished files retire
  the runtime and answer 404, so nothing cached outlives its files;
- a retired runtime (evicted, unloaded, stale) leaves the pool at once (new requests get
  a 404) but keeps its memory until its last request ends, outside the capacity count;
  then the weights are dropped and, on CUDA, the cache is emptied (`cuda_memory_allocated`
  in /models/info shows it back at its baseline).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

import torch

from contracts.node_api import ModelsInfo
from inference_node.errors import ModelNotFound, NodeError, PoolBusy
from inference_node.identity import Catalog, Resolved
from inference_node.loading import ModelRuntime, load_runtime

log = logging.getLogger("inference_node.pool")


class ModelPool:
    def __init__(self, catalog: Catalog, capacity: int, device: torch.device, dtype: torch.dtype,
                 attention: str) -> None:
        self.catalog = catalog
        self.capacity = capacity
        self.device, self.dtype, self.attention = device, dtype, attention
        self.entries: OrderedDict[str, ModelRuntime] = OrderedDict()  # least recently used first
        self.loading: dict[str, tuple[Resolved, asyncio.Future[ModelRuntime]]] = {}
        self.loads_started = 0  # loads that really ran (merged ones are not counted twice)
        self.evictions = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ----- queries

    def info(self) -> ModelsInfo:
        extra = {}
        if self.device.type == "cuda":  # to check that memory returns to its baseline after an unload
            extra["cuda_memory_allocated"] = torch.cuda.memory_allocated(self.device)
            extra["cuda_memory_reserved"] = torch.cuda.memory_reserved(self.device)
        return ModelsInfo(models=[e.info() for e in self.entries.values()], pool_capacity=self.capacity,
                          loading=sorted(self.loading), available=self.catalog.available(),
                          loads_started=self.loads_started, evictions=self.evictions, device=str(self.device),
                          **extra)

    def loaded(self) -> list[ModelRuntime]:
        return list(self.entries.values())

    # ----- loading

    async def load(self, model_id: str) -> ModelRuntime:
        """The runtime for the files `model_id` names now, loading them when needed."""
        while True:
            resolved = await asyncio.to_thread(self.catalog.resolve, model_id)
            current = self.entries.get(resolved.model_id)
            if current is not None:
                if current.fingerprint == resolved.fingerprint and current.path == resolved.path:
                    self._touch(current)
                    return current
                log.info("%s: files changed since it was loaded; loading the new ones", model_id)
                self._retire(current)
            pending = self.loading.get(resolved.model_id)
            if pending is not None:
                runtime = await asyncio.shield(pending[1])
                if runtime.fingerprint == resolved.fingerprint:
                    return runtime
                continue  # that load was of older files: look again
            return await self._start_load(resolved)

    async def _start_load(self, resolved: Resolved) -> ModelRuntime:
        self._make_room()
        future: asyncio.Future[ModelRuntime] = asyncio.get_running_loop().create_future()
        self.loading[resolved.model_id] = (resolved, future)
        self.loads_started += 1
        # the load runs on its own: a caller that goes away does not abort it for the others
        task = asyncio.create_task(self._run_load(resolved, future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(future)

    async def _run_load(self, resolved: Resolved, future: asyncio.Future[ModelRuntime]) -> None:
        started = time.perf_counter()
        try:
            runtime = await asyncio.to_thread(load_runtime, resolved, self.device, self.dtype, self.attention,
                                              self.catalog.base_path)
            runtime.load_seconds = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - handed to every waiter
            self.loading.pop(resolved.model_id, None)
            future.set_exception(exc)
            future.exception()  # retrieved here; each waiter re-raises it
            log.warning("loading %s failed: %s", resolved.model_id, exc)
            return
        self.loading.pop(resolved.model_id, None)
        self.entries[resolved.model_id] = runtime
        self.entries.move_to_end(resolved.model_id)
        future.set_result(runtime)
        log.info("loaded %s (%s, sha256 %s)", resolved.model_id, resolved.path.name, runtime.weights_sha256[:12])

    def _make_room(self) -> None:
        while len(self.entries) + len(self.loading) >= self.capacity:
            idle = next((e for e in self.entries.values() if e.in_flight == 0), None)
            if idle is None:
                busy = [f"{e.model_id} ({e.in_flight} in flight)" for e in self.entries.values()]
                busy += [f"{m} (loading)" for m in self.loading]
                raise PoolBusy(f"the pool is full ({self.capacity} slots) and every slot is busy: "
                               f"{', '.join(busy)}; retry when a request ends, or unload one")
            log.info("evicting %s (least recently used)", idle.model_id)
            self.evictions += 1
            self._retire(idle)

    # ----- unloading

    def unload(self, model_id: str) -> ModelRuntime:
        runtime = self.entries.get(model_id)
        if runtime is None:
            raise ModelNotFound(f"model {model_id!r} is not loaded")
        self._retire(runtime)
        return runtime

    def _retire(self, runtime: ModelRuntime) -> None:
        if self.entries.get(runtime.model_id) is runtime:
            del self.entries[runtime.model_id]
        runtime.retired = True
        if runtime.in_flight == 0 and runtime.model is not None:
            runtime.release_memory()

    def close(self) -> None:
        for runtime in list(self.entries.values()):
            self._retire(runtime)

    # ----- requests

    def acquire(self, model_id: str | None) -> ModelRuntime:
        """The loaded runtime for a request (in_flight + 1), its identity checked against the files now."""
        if not model_id:
            raise ModelNotFound("no model given: name one with 'model' ('base' or 'checkpoint-<step>')",
                                code="model_missing")
        runtime = self.entries.get(model_id)
        if runtime is None:
            if model_id in self.loading:
                raise ModelNotFound(f"model {model_id!r} is still loading; retry when /models/load returns",
                                    code="model_loading")
            hint = "" if not self.entries else f" (loaded: {', '.join(self.entries)})"
            raise ModelNotFound(f"model {model_id!r} is not loaded; load it with POST /models/load{hint}",
                                code="model_not_loaded")
        try:
            now = self.catalog.resolve(model_id)
        except NodeError as exc:
            self._retire(runtime)
            raise ModelNotFound(f"model {model_id!r} was loaded from {runtime.path.name}, which is no longer "
                                f"servable ({exc.message}); it was unloaded", code="model_gone") from None
        if now.path != runtime.path or now.fingerprint != runtime.fingerprint:
            self._retire(runtime)
            raise ModelNotFound(f"model {model_id!r}: its files changed since it was loaded (sha256 "
                                f"{runtime.weights_sha256[:12]}); the old copy was unloaded, load it again",
                                code="model_changed")
        runtime.in_flight += 1
        runtime.requests += 1
        self._touch(runtime)
        return runtime

    def release(self, runtime: ModelRuntime, *, cancelled: bool = False) -> None:
        runtime.in_flight -= 1
        if cancelled:
            runtime.cancelled += 1
        runtime.last_used = time.time()
        if runtime.retired and runtime.in_flight == 0 and runtime.model is not None:
            runtime.release_memory()

    def _touch(self, runtime: ModelRuntime) -> None:
        runtime.last_used = time.time()
        if self.entries.get(runtime.model_id) is runtime:
            self.entries.move_to_end(runtime.model_id)
