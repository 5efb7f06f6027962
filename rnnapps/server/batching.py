"""Dynamic batching: concurrent requests to one model signature are merged into one call.

Like TF Serving's batching (max_batch_size, batch_timeout_micros, max_enqueued_batches), per signature:
the first waiting request opens a batch; requests that arrive within the batch timeout join it until it holds
`max_batch_size` examples; the merged batch runs once on a worker thread and every request gets its own rows
back. Requests are merged only when their non-batch dimensions agree: padding a model's input changes what it
computes unless the model knows about the padding, and rnnapps' text, image and prompt inputs are one string
per example, so they never need it (each model pads its own token sequences, with masks). A forecast history
of another length runs in its own batch.

Only signatures whose inputs all have a batch dimension are merged (see `mergeable`). A signature with
request-wide inputs (generation's length, temperature and seed) answers for the request as a whole: its
sampling noise is drawn for the batch, so a prompt merged into another request's batch would get other text
than the same request alone.

The queue is bounded (`max_enqueued` requests): a full queue answers 503 at once instead of growing memory.
If a merged batch fails on bad input (a NaN history, say), each of its requests is run on its own, so one
bad request never fails the others. A call whose requests were all given up (timed out, client gone) is
stopped (`rnnapps.server.stopping`), so it frees its core.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from rnnapps.server.stopping import Stopped, Stopper

log = logging.getLogger(__name__)


class QueueFull(RuntimeError):
    """The signature's queue holds `max_enqueued` requests: answered with HTTP 503."""


@dataclasses.dataclass
class _Pending:
    arrays: dict[str, np.ndarray]
    rows: int
    key: tuple
    future: asyncio.Future


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's batching parameters.

    Attributes:
        enabled: merge concurrent requests (False: every request runs on its own, concurrently).
        max_batch_size: examples in one merged call.
        batch_timeout_ms: how long the first request of a batch waits for others to join.
        max_enqueued: requests waiting per signature before new ones are refused (HTTP 503).
        num_batch_threads: merged batches of one signature that run at the same time: a recurrent model's
            time steps are small sequential operations that keep about one core busy, so a second batch runs
            on the second core while the first one finishes.
    """

    enabled: bool = True
    max_batch_size: int = 32
    batch_timeout_ms: float = 5.0
    max_enqueued: int = 256
    num_batch_threads: int = 2


def mergeable(input_shapes: list[tuple]) -> bool:
    """Whether requests to a signature with these input shapes may be merged: every input is batched
    (its first dimension is None) -- see the module docstring."""
    return bool(input_shapes) and all(len(shape) > 0 and shape[0] is None for shape in input_shapes)


class Batcher:
    """Merges concurrent calls of one function (a model signature) into batches.

    Args:
        function: (name -> array (batch first), Stopper) -> name -> array (batch first); it raises `Stopped`
            when the Stopper is stopped before it returns.
        options: BatchingOptions; requests run one by one (concurrently) when not enabled.
        executor: the thread pool the function runs on.
    """

    def __init__(self, function: Callable[[dict, Stopper], dict], options: BatchingOptions,
                 executor: concurrent.futures.Executor):
        self.function, self.options, self.executor = function, options, executor
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._in_flight = 0
        self._outstanding = 0  # accepted and not yet answered (close() waits for them)
        self._carry: list[_Pending] = []  # taken from the queue, waiting for a batch of their shape
        self._slots: asyncio.Semaphore | None = None  # batches allowed to run at once
        self._batches: set[asyncio.Task] = set()

    async def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one request (its own batch of rows) and return its outputs.

        Raises:
            QueueFull: too many requests are waiting.
            whatever the function raises for this request's inputs.
        """
        if not self.options.enabled:
            return await self._run_alone(arrays)
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.options.max_enqueued)
            self._slots = asyncio.Semaphore(self.options.num_batch_threads)
            self._worker = asyncio.get_running_loop().create_task(self._serve())
        pending = _Pending(arrays, self._rows(arrays), self._merge_key(arrays),
                           asyncio.get_running_loop().create_future())
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            raise QueueFull(f"{self.options.max_enqueued} requests are already waiting for this model; "
                            "retry later (or start the server with a larger --max-enqueued)") from None
        self._outstanding += 1
        pending.future.add_done_callback(self._answered)
        return await pending.future

    def _answered(self, _future) -> None:
        self._outstanding -= 1

    async def close(self) -> None:
        """Stop the worker after every request already accepted has been answered."""
        while self._outstanding:
            await asyncio.sleep(0.01)
        if self._worker is not None:
            self._worker.cancel()

    async def _run_alone(self, arrays):
        if self._in_flight >= self.options.max_enqueued:
            raise QueueFull(f"{self.options.max_enqueued} requests are already running on this model; retry later "
                            "(or start the server with a larger --max-enqueued)")
        self._in_flight += 1
        stopper = Stopper()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self.function, arrays, stopper)
        except asyncio.CancelledError:  # the request was given up: so is its work
            stopper.stop()
            raise
        finally:
            self._in_flight -= 1

    @staticmethod
    def _rows(arrays) -> int:
        return len(next(iter(arrays.values())))

    @staticmethod
    def _merge_key(arrays) -> tuple:
        """Requests with equal keys can share a batch: equal non-batch shapes."""
        return tuple((name, arrays[name].shape[1:]) for name in sorted(arrays))

    async def _next(self) -> _Pending:
        return self._carry.pop(0) if self._carry else await self._queue.get()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # A batch forms once a slot is free, so requests that arrive meanwhile join it.
            await self._slots.acquire()
            batch = [await self._next()]
            deadline = loop.time() + self.options.batch_timeout_ms / 1000
            # Requests set aside earlier (another shape) join first if they fit, then new arrivals.
            waiting, self._carry = self._carry, []
            for item in waiting:
                self._join_or_carry(batch, item)
            while sum(item.rows for item in batch) < self.options.max_batch_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    self._join_or_carry(batch, await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            task = loop.create_task(self._run_batch(batch))
            self._batches.add(task)
            task.add_done_callback(self._batch_done)

    def _join_or_carry(self, batch: list[_Pending], item: _Pending) -> None:
        """Add `item` to `batch` if it has the batch's shapes and fits; otherwise set it aside for a later one."""
        if item.key == batch[0].key and sum(i.rows for i in batch) + item.rows <= self.options.max_batch_size:
            batch.append(item)
        else:
            self._carry.append(item)

    def _batch_done(self, task: asyncio.Task) -> None:
        self._batches.discard(task)
        self._slots.release()

    async def _run_batch(self, batch: list[_Pending]) -> None:
        live = [item for item in batch if not item.future.done()]  # a timed-out request is not run
        if not live:
            return
        if len(live) == 1:
            await self._settle(live[0], self._call(live, live[0].arrays))
            return
        merged = {name: np.concatenate([item.arrays[name] for item in live]) for name in live[0].arrays}
        try:
            outputs = await self._call(live, merged)
        except Stopped:
            return
        except Exception:  # noqa: BLE001 - one bad request in the batch: run each alone for its own answer
            log.debug("a merged batch of %d requests failed; running them one by one", len(live))
            for item in live:
                if not item.future.done():  # given up meanwhile: not run again
                    await self._settle(item, self._call([item], item.arrays))
            return
        start = 0
        for item in live:
            if not item.future.done():
                item.future.set_result({name: value[start:start + item.rows] for name, value in outputs.items()})
            start += item.rows

    def _call(self, items: list[_Pending], arrays: dict[str, np.ndarray]) -> asyncio.Future:
        """Run the function on `arrays` (the rows of `items`) on a worker thread; the call is stopped once
        every one of the items' requests is given up."""
        stopper = Stopper()

        def given_up(_future) -> None:
            if all(item.future.done() for item in items):  # answered (then stopping is a no-op) or abandoned
                stopper.stop()

        for item in items:
            item.future.add_done_callback(given_up)
        return asyncio.get_running_loop().run_in_executor(self.executor, self.function, arrays, stopper)

    @staticmethod
    async def _settle(item: _Pending, call) -> None:
        try:
            result = await call
        except Exception as error:  # noqa: BLE001 - handed to the request that caused it
            if not item.future.done():
                item.future.set_exception(error)
            return
        if not item.future.done():
            item.future.set_result(result)
