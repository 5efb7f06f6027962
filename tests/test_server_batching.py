"""Dynamic batching (rnnapps/server/batching.py) and the server's limits, on a fake model that records its
calls: requests are merged, split back, kept apart when they cannot merge, and refused when queues are full."""

import asyncio
import concurrent.futures
import threading
import time

import numpy as np
import pytest
import tensorflow as tf
from starlette.testclient import TestClient

from rnnapps.server.app import ServerOptions, create_app
from rnnapps.server.batching import Batcher, BatchingOptions, QueueFull, mergeable
from rnnapps.server.models import Signature, TensorInfo
from rnnapps.server.stopping import Stopped, Stopper


class Recorder:
    """A model function: doubles `x`; records the batch sizes it was called with; can block or fail."""

    def __init__(self, delay_s: float = 0.0):
        self.calls, self.delay_s, self.release = [], delay_s, threading.Event()
        self.release.set()

    def __call__(self, arrays, stopper=None):
        self.release.wait(10)
        time.sleep(self.delay_s)
        x = arrays["x"]
        if np.isnan(x).any():
            raise ValueError("NaN in x")
        self.calls.append(len(x))
        return {"y": x * 2}


def _run_all(batcher, requests_arrays):
    async def main():
        return await asyncio.gather(*(batcher.run(arrays) for arrays in requests_arrays), return_exceptions=True)
    return asyncio.run(main())


@pytest.fixture
def executor():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        yield pool


# A batch that fills up runs at once: the tests below fill their batches, so what they check does not depend on
# how soon the requests reach the batcher (under load that can take longer than a short batch timeout). The
# timeout only bounds how long a broken batcher keeps the test waiting.
FILLS_FIRST_MS = 5_000


def test_concurrent_requests_are_merged_and_split_back(executor):
    model = Recorder()
    batcher = Batcher(model, BatchingOptions(max_batch_size=8, batch_timeout_ms=FILLS_FIRST_MS), executor)
    requests = [{"x": np.full((rows, 3), float(index))} for index, rows in enumerate([1, 2, 1, 3, 1])]  # 8 rows
    answers = _run_all(batcher, requests)
    assert model.calls == [8]  # one call for all five requests
    for request, answer in zip(requests, answers):
        np.testing.assert_array_equal(answer["y"], request["x"] * 2)


def test_a_batch_never_exceeds_max_batch_size(executor):
    model = Recorder()
    batcher = Batcher(model, BatchingOptions(max_batch_size=4, batch_timeout_ms=50), executor)
    answers = _run_all(batcher, [{"x": np.full((1, 2), float(i))} for i in range(10)])
    assert max(model.calls) <= 4 and sum(model.calls) == 10
    assert [float(a["y"][0, 0]) for a in answers] == [2.0 * i for i in range(10)]


def test_requests_of_other_shapes_run_in_their_own_batches(executor):
    model = Recorder()
    batcher = Batcher(model, BatchingOptions(max_batch_size=3, batch_timeout_ms=FILLS_FIRST_MS), executor)
    requests = [{"x": np.ones((1, 3))}, {"x": np.ones((1, 5))}, {"x": np.ones((2, 3))}, {"x": np.ones((2, 5))}]
    answers = _run_all(batcher, requests)
    assert model.calls == [3, 3]  # the two 3-wide requests together, then the two 5-wide ones
    assert [a["y"].shape for a in answers] == [(1, 3), (1, 5), (2, 3), (2, 5)]


def test_a_bad_request_fails_alone_not_its_batch(executor):
    model = Recorder()
    batcher = Batcher(model, BatchingOptions(batch_timeout_ms=50), executor)
    requests = [{"x": np.ones((1, 2))}, {"x": np.full((1, 2), np.nan)}, {"x": np.ones((1, 2)) * 3}]
    good, bad, other = _run_all(batcher, requests)
    assert isinstance(bad, ValueError)
    np.testing.assert_array_equal(good["y"], [[2, 2]])
    np.testing.assert_array_equal(other["y"], [[6, 6]])


def test_without_batching_every_request_runs_alone(executor):
    model = Recorder()
    batcher = Batcher(model, BatchingOptions(enabled=False), executor)
    _run_all(batcher, [{"x": np.ones((1, 2))} for _ in range(6)])
    assert model.calls == [1] * 6


@pytest.mark.parametrize("enabled", [True, False])
def test_a_full_queue_refuses_at_once(executor, enabled):
    model = Recorder()
    model.release.clear()  # the model hangs until released: requests pile up
    batcher = Batcher(model, BatchingOptions(enabled=enabled, max_batch_size=1, batch_timeout_ms=0, max_enqueued=2),
                      executor)

    async def main():
        tasks = [asyncio.ensure_future(batcher.run({"x": np.ones((1, 1))})) for _ in range(8)]
        await asyncio.sleep(0.2)
        model.release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    answers = asyncio.run(main())
    refused = [a for a in answers if isinstance(a, QueueFull)]
    assert refused and len(refused) < 8
    assert all(isinstance(a, dict) for a in answers if not isinstance(a, QueueFull))


class Endless:
    """A model function that runs until its Stopper is stopped (then raises Stopped); records each call's end."""

    def __init__(self):
        self.stopped_calls = 0
        self.ended = threading.Event()

    def __call__(self, arrays, stopper):
        deadline = time.monotonic() + 30
        while not stopper.stopped and time.monotonic() < deadline:
            time.sleep(0.01)
        self.stopped_calls += stopper.stopped
        self.ended.set()
        raise Stopped()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_work_of_a_request_given_up_is_stopped(executor, enabled):
    model = Endless()
    batcher = Batcher(model, BatchingOptions(enabled=enabled, batch_timeout_ms=0), executor)

    async def main():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher.run({"x": np.ones((1, 2))}), 0.2)

    asyncio.run(main())
    assert model.ended.wait(5) and model.stopped_calls == 1


def test_a_merged_call_runs_on_while_one_of_its_requests_still_waits(executor):
    calls = []

    def model(arrays, stopper):
        time.sleep(0.5)
        calls.append(stopper.stopped)
        return {"y": arrays["x"] * 2}

    batcher = Batcher(model, BatchingOptions(max_batch_size=2, batch_timeout_ms=FILLS_FIRST_MS), executor)

    async def main():
        impatient = asyncio.ensure_future(asyncio.wait_for(batcher.run({"x": np.ones((1, 2))}), 0.2))
        patient = asyncio.ensure_future(batcher.run({"x": np.full((1, 2), 3.0)}))
        return await asyncio.gather(impatient, patient, return_exceptions=True)

    impatient, patient = asyncio.run(main())
    assert isinstance(impatient, TimeoutError)
    np.testing.assert_array_equal(patient["y"], [[6, 6]])
    assert calls == [False]  # one merged call, never stopped


def test_a_stopper_ends_a_running_tensorflow_loop_at_once():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int64)])
    def count(limit):
        return tf.while_loop(lambda i: i < limit, lambda i: i + 1, [tf.constant(0, tf.int64)])[0]

    stopper, outcome = Stopper(), {}

    def run():
        try:
            outcome["value"] = stopper.run(count, tf.constant(10**12, tf.int64))
        except Stopped:
            outcome["stopped"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    stopped_at = time.monotonic()
    stopper.stop()
    thread.join(10)
    assert "stopped" in outcome and outcome["stopped"] - stopped_at < 2, outcome
    with pytest.raises(Stopped):  # stopped before it starts: ends at once
        stopper.run(count, tf.constant(10**12, tf.int64))
    assert int(Stopper().run(count, tf.constant(5, tf.int64))) == 5


def test_stopping_one_of_two_concurrent_calls_leaves_the_other_running():
    # Each call starts while the other is already inside its Stopper: TensorFlow's own process-wide hand-over
    # of the manager would tie the first call to the second one's switch.
    @tf.function(input_signature=[tf.TensorSpec([], tf.int64)])
    def count(limit):
        return tf.while_loop(lambda i: i < limit, lambda i: i + 1, [tf.constant(0, tf.int64)])[0]

    second_inside, first_started, outcomes = threading.Event(), threading.Event(), {}
    first, second = Stopper(), Stopper()

    def first_call():
        second_inside.wait(10)  # inside our Stopper, before the TensorFlow call starts
        first_started.set()
        return count(tf.constant(10**12, tf.int64))

    def second_call():
        second_inside.set()
        first_started.wait(10)
        time.sleep(0.2)  # the first call has read its manager by now
        return count(tf.constant(10**12, tf.int64))

    def run(name, stopper, call):
        try:
            outcomes[name] = stopper.run(call)
        except Stopped:
            outcomes[name] = "stopped"

    threads = [threading.Thread(target=run, args=("first", first, first_call)),
               threading.Thread(target=run, args=("second", second, second_call))]
    for thread in threads:
        thread.start()
    time.sleep(0.6)
    second.stop()
    threads[1].join(10)
    assert outcomes.get("second") == "stopped" and threads[0].is_alive() and "first" not in outcomes
    first.stop()
    threads[0].join(10)
    assert outcomes.get("first") == "stopped"


def test_only_signatures_with_every_input_batched_are_merged():
    assert mergeable([(None,), (None, 3)])
    assert not mergeable([(None,), ()])  # a request-wide setting (a seed, a length)
    assert not mergeable([])


# --------------------------------------------------------------------------- the application's limits


class FakeModel:
    """A ServedModel stand-in serving one signature `x -> y` (float32 [batch, 2]) run by `function`."""

    version, default_signature, card = 1, "serving_default", {}

    def __init__(self, function):
        def call(x):
            return {"y": tf.constant(function({"x": x.numpy()})["y"])}
        spec = {"x": TensorInfo("x", tf.float32, (None, 2))}
        self.signatures = {"serving_default": Signature("serving_default", spec,
                                                        {"y": TensorInfo("y", tf.float32, (None, 2))}, call)}

    def status(self):
        return {"model_version_status": []}

    def metadata(self):
        return {}


def test_past_the_request_timeout_the_answer_is_504():
    app = create_app({"slow": FakeModel(Recorder(delay_s=1.0))}, ServerOptions(request_timeout_s=0.1))
    with TestClient(app) as client:
        answer = client.post("/v1/models/slow:predict", json={"instances": [[1.0, 2.0]]})
        assert answer.status_code == 504 and "--request-timeout" in answer.json()["error"]


def test_past_the_timeout_a_real_model_call_is_stopped_not_left_running():
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def spin(x):
        steps = tf.while_loop(lambda i: i < 10**12, lambda i: i + 1, [tf.constant(0, tf.int64)])[0]
        return {"y": x * tf.cast(tf.minimum(steps, 2), tf.float32)}

    ended = threading.Event()

    def call(x):
        try:
            return spin(x)
        finally:
            ended.set()

    spec = {"x": TensorInfo("x", tf.float32, (None, 2))}
    model = FakeModel(Recorder())
    model.signatures = {"serving_default": Signature("serving_default", spec, {"y": spec["x"]}, call)}
    app = create_app({"spin": model}, ServerOptions(request_timeout_s=0.5))
    with TestClient(app) as client:
        answer = client.post("/v1/models/spin:predict", json={"instances": [[1.0, 2.0]]})
        assert answer.status_code == 504
        assert ended.wait(5)  # without the stop, the loop would run for hours


def test_a_nan_output_is_answered_as_tf_serving_writes_it_not_a_500():
    app = create_app({"m": FakeModel(lambda arrays: {"y": arrays["x"] * np.nan})})
    with TestClient(app) as client:
        answer = client.post("/v1/models/m:predict", json={"instances": [[1.0, 2.0]]})
        assert answer.status_code == 200 and answer.text == '{"predictions":[[NaN,NaN]]}'


def test_more_examples_than_max_instances_are_refused_before_any_work():
    model = Recorder()
    app = create_app({"m": FakeModel(model)}, ServerOptions(max_instances=3))
    with TestClient(app) as client:
        answer = client.post("/v1/models/m:predict", json={"instances": [[1, 2]] * 4})
        assert answer.status_code == 400 and "at most 3 per request (--max-instances)" in answer.json()["error"]
        assert model.calls == []
        assert client.post("/v1/models/m:predict", json={"instances": [[1, 2]] * 3}).status_code == 200


def test_a_full_queue_is_503_and_the_others_are_answered():
    model = Recorder(delay_s=0.05)
    options = ServerOptions(batching=BatchingOptions(max_batch_size=1, batch_timeout_ms=0, max_enqueued=1))
    app = create_app({"m": FakeModel(model)}, options)
    with TestClient(app) as client, concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: client.post("/v1/models/m:predict", json={"instances": [[i, i]]}),
                                range(16)))
    codes = [a.status_code for a in answers]
    assert set(codes) == {200, 503}, codes
    assert all(a.json()["predictions"][0] == [2.0 * i, 2.0 * i] for i, a in enumerate(answers) if a.status_code == 200)
    assert "--max-enqueued" in next(a for a in answers if a.status_code == 503).json()["error"]


def test_a_body_over_the_limit_is_413_before_it_is_read():
    app = create_app({"m": FakeModel(Recorder())}, ServerOptions(max_body_bytes=1000))
    with TestClient(app) as client:
        answer = client.post("/v1/models/m:predict", content=b"[" + b"1," * 2000 + b"1]")
        assert answer.status_code == 413 and "1,000" in answer.json()["error"]
        assert client.post("/v1/models/m:predict", json={"instances": [[1, 2]]}).status_code == 200


@pytest.mark.parametrize("flag, says", [
    ("sentiment", "expected NAME=PATH"),
    ("bad name=/tmp", "letters, digits"),
    ("m=/no/such/model", "does not exist"),
])
def test_a_bad_model_flag_is_one_line_and_exit_2(flag, says):
    from click.testing import CliRunner

    from rnnapps.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--model", flag])
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    from click.testing import CliRunner

    from rnnapps.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--model", f"m={tmp_path}"])
    assert result.exit_code == 2 and "neither a SavedModel" in result.output, result.output
