"""`rnnapps serve` end to end: a real server process with the demo model of every task, called over HTTP as
a TF Serving client would (tensorflow_serving/g3doc/api/api_rest.md)."""

import base64
import concurrent.futures
import dataclasses
import json
import os
import pathlib
import socket
import threading
import time

import numpy as np
import pytest
import requests

from rnnapps import registry
from rnnapps.pipelines.forecast import demo_data

pytestmark = pytest.mark.slow


def _post(server, model: str, body, **kwargs) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{server.url}/v1/models/{model}:predict", data=data, timeout=120, **kwargs)


def _pipeline(served_bundles, task: str):
    return registry.get(task).pipeline_class().from_bundle(served_bundles[task])


def _history(lookback: int) -> list:
    """The last `lookback` hours of the generated demo series, [lookback, 2] in its own units."""
    return demo_data.series()[1][-lookback:].tolist()


# --------------------------------------------------------------------------- status and metadata


def test_status_of_every_model_is_tf_servings(server, served_bundles):
    expected = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    for task in served_bundles:
        assert requests.get(f"{server.url}/v1/models/{task}").json() == expected
        assert requests.get(f"{server.url}/v1/models/{task}/versions/1").json() == expected
    missing = requests.get(f"{server.url}/v1/models/sentiment/versions/7")
    assert missing.status_code == 404 and "version 1" in missing.json()["error"]
    unknown = requests.get(f"{server.url}/v1/models/nope")
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"] and "sentiment" in unknown.json()["error"]


def test_metadata_lists_every_signature_as_tf_serving_writes_it(server):
    answer = requests.get(f"{server.url}/v1/models/translate/metadata").json()
    assert answer["model_spec"] == {"name": "translate", "signature_name": "", "version": "1"}
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "translate_greedy"} <= set(signatures)
    text = signatures["serving_default"]["inputs"]["text"]
    assert text["dtype"] == "DT_STRING"
    assert text["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert signatures["serving_default"]["method_name"] == "tensorflow/serving/predict"
    assert set(signatures["serving_default"]["outputs"]) == {"translation", "score"}

    generate = requests.get(f"{server.url}/v1/models/generate/metadata").json()
    filtered = generate["metadata"]["signature_def"]["signature_def"]["generate_filtered"]["inputs"]
    assert set(filtered) == {"prompt", "length", "temperature", "top_k", "top_p", "seed"}
    assert filtered["temperature"]["tensor_shape"]["dim"] == [] and filtered["seed"]["dtype"] == "DT_INT64"


# --------------------------------------------------------------------------- predict, every task


def test_sentiment_row_and_columnar_formats_give_the_bundles_answers(server, served_bundles):
    texts = ["i loved the story!", "the movie was not great."]
    rows = _post(server, "sentiment", {"instances": texts})
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    assert [set(p) for p in predictions] == [{"label", "label_id", "probability", "probabilities"}] * 2
    columns = _post(server, "sentiment", {"signature_name": "serving_default", "inputs": {"text": texts}}).json()
    assert columns["outputs"]["label"] == [p["label"] for p in predictions]
    np.testing.assert_allclose(columns["outputs"]["probability"], [p["probability"] for p in predictions], rtol=1e-6)
    # A bare columnar value works for a one-input signature, as in TF Serving.
    assert _post(server, "sentiment", {"inputs": texts}).json() == columns

    bundle_answers = _pipeline(served_bundles, "sentiment").predict(texts)
    assert [p["label"] for p in predictions] == [a["label"] for a in bundle_answers]
    np.testing.assert_allclose([p["probability"] for p in predictions], [a["probability"] for a in bundle_answers],
                               rtol=1e-4)


def test_translate_beam_and_greedy_signatures(server, served_bundles):
    pipeline = _pipeline(served_bundles, "translate")
    texts = list(pipeline.demo_inputs)
    beam = _post(server, "translate", {"instances": texts}).json()["predictions"]
    greedy = _post(server, "translate", {"signature_name": "translate_greedy", "instances": texts})
    greedy = greedy.json()["predictions"]
    assert len(beam) == len(greedy) == len(texts)
    assert [b["translation"] for b in beam] == [a["translation"] for a in pipeline.predict(texts)]
    assert all(b["score"] >= g["score"] - 1e-4 for b, g in zip(beam, greedy))  # beam keeps the better hypothesis


def test_generate_takes_request_wide_settings_in_the_columnar_format(server):
    body = {"signature_name": "generate_filtered",
            "inputs": {"prompt": ["ROMEO:\n", "the "], "length": 40, "temperature": 0.7, "top_k": 5, "top_p": 0.9,
                       "seed": 3}}
    first = _post(server, "generate", body).json()["outputs"]
    assert [len(g) for g in first["generated"]] == [40, 40]
    assert [t.startswith(p) for t, p in zip(first["text"], body["inputs"]["prompt"])] == [True, True]
    assert _post(server, "generate", body).json()["outputs"] == first  # the same seed, the same text
    rows = _post(server, "generate", {"instances": [{"prompt": "a", "length": 5}]})
    assert rows.status_code == 400 and "columnar" in rows.json()["error"]


def test_caption_reads_base64_image_bytes(server, served_bundles):
    pipeline = _pipeline(served_bundles, "caption")
    images = list(pipeline.demo_inputs)
    answer = _post(server, "caption", {"instances": [{"b64": base64.b64encode(image).decode()} for image in images]})
    assert answer.status_code == 200, answer.text
    assert [p["caption"] for p in answer.json()["predictions"]] == [r["caption"] for r in pipeline.predict(images)]
    bad = _post(server, "caption", {"instances": [{"b64": "not base64!"}]})
    assert bad.status_code == 400 and "Base64" in bad.json()["error"]


def test_forecast_answers_in_the_datas_units(server, served_bundles):
    pipeline = _pipeline(served_bundles, "forecast")
    lookback, horizon = pipeline.preprocessor.lookback, pipeline.preprocessor.horizon
    history = _history(lookback)
    answer = _post(server, "forecast", {"instances": [history]})
    assert answer.status_code == 200, answer.text
    prediction = answer.json()["predictions"][0]
    assert np.shape(prediction["forecast"]) == (horizon, 2) and np.shape(prediction["quantiles"]) == (horizon, 2, 3)
    forecast, quantiles = pipeline.forecast_arrays(np.array([history]))
    np.testing.assert_allclose(prediction["forecast"], forecast[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(prediction["quantiles"], quantiles[0], rtol=1e-4, atol=1e-4)


def test_anomaly_scores_and_flags_a_history_like_the_bundle(server, served_bundles):
    from rnnapps.pipelines.anomaly import demo_data as anomaly_demo

    pipeline = _pipeline(served_bundles, "anomaly")
    series = pipeline.read_input(anomaly_demo.SOURCE)
    rows = slice(1000, 1700)  # the spike is in these rows
    part = dataclasses.replace(series, values=series.values[rows], timestamps=series.timestamps[rows],
                               lines=series.lines[rows])
    history = part.values
    answer = _post(server, "anomaly", {"inputs": {"history": [history.tolist()]}})
    assert answer.status_code == 200, answer.text
    outputs = answer.json()["outputs"]
    expected = pipeline.detect(part, quiet_rows=0)
    np.testing.assert_allclose(outputs["anomaly_score"][0], expected.scores, atol=1e-4)
    assert outputs["is_anomaly"][0] == expected.flags.tolist() and any(outputs["is_anomaly"][0])
    short = _post(server, "anomaly", {"inputs": {"history": [history[:10].tolist()]}})
    assert short.status_code == 400 and "more than 48 rows" in short.json()["error"]
    assert _post(server, "anomaly", {"inputs": {"history": [history.tolist()]}}).status_code == 200


def test_speech_transcribes_base64_wav_files_like_the_bundle(server, served_bundles):
    from rnnapps.datasets import audio
    from rnnapps.pipelines.speech import demo_data as speech_demo

    pipeline = _pipeline(served_bundles, "speech")
    recordings = speech_demo.generate(3, seed=77)
    wavs = [audio.encode_wav(recording.samples, speech_demo.RATE) for recording in recordings]
    answer = _post(server, "speech", {"instances": [{"b64": base64.b64encode(wav).decode()} for wav in wavs]})
    assert answer.status_code == 200, answer.text
    assert [p["text"] for p in answer.json()["predictions"]] == [r["text"] for r in pipeline.predict(wavs)]
    for bad, says in [(b"not a wav file at all", "Header mismatch"), (wavs[0][:40], ""), (b"", "")]:
        refused = _post(server, "speech", {"instances": [{"b64": base64.b64encode(bad).decode()}]})
        assert refused.status_code == 400 and says in refused.json()["error"], refused.text
    assert _post(server, "speech", {"instances": [{"b64": base64.b64encode(wavs[1]).decode()}]}).status_code == 200


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize("model, body, status, says", [
    ("sentiment", b"{not json", 400, "not valid JSON"),
    ("sentiment", {"instance": ["x"]}, 400, "unknown field(s) 'instance'"),
    ("sentiment", {"instances": ["x"], "inputs": ["x"]}, 400, "not both"),
    ("sentiment", {"signature_name": "serving_default"}, 400, "exactly one of"),
    ("sentiment", {"instances": []}, 400, "non-empty list"),
    ("sentiment", {"instances": [1, 2]}, 400, "expects strings"),
    ("sentiment", {"inputs": {"txt": ["x"]}}, 400, "unknown 'txt'"),
    ("sentiment", {"instances": ["x"], "signature_name": "nope"}, 404, "signature 'nope' not found"),
    ("nope", {"instances": ["x"]}, 404, "Servable not found"),
    ("generate", {"inputs": {"prompt": ["a"], "length": 5}}, 400, "missing"),
    ("generate", {"inputs": {"prompt": ["a"], "length": 2.5, "temperature": 1, "seed": 0}}, 400, "whole numbers"),
    ("forecast", {"instances": ["x"]}, 400, "expects DT_FLOAT numbers"),
    ("forecast", {"instances": [[[1.0, 2.0], [3.0]]]}, 400, "ragged"),
    ("forecast", {"instances": [[[1.0, 2.0, 3.0]] * 200]}, 400, "channels"),
    ("forecast", {"instances": [[[1.0, 2.0]] * 3]}, 400, "at least"),
    ("forecast", {"instances": [[[float("nan"), 2.0]] * 200]}, 400, "NaN"),
])
def test_a_bad_request_gets_its_error_and_the_server_stays_up(server, model, body, status, says):
    answer = _post(server, model, body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
    assert requests.get(f"{server.url}/v1/models/sentiment").status_code == 200


def test_other_methods_and_paths_get_json_errors(server):
    assert requests.get(f"{server.url}/v1/models/sentiment:predict").status_code in (404, 405)
    other = requests.post(f"{server.url}/v1/models/sentiment:classify", data="{}")
    assert other.status_code == 400 and "predict" in other.json()["error"]
    assert requests.get(f"{server.url}/v2/anything").json()["error"].startswith("no such endpoint")


def test_a_50_mb_body_gets_413(server):
    body = json.dumps({"instances": ["x" * (50 * 1024 * 1024)]})
    try:
        answer = _post(server, "sentiment", body)
        assert answer.status_code == 413 and "limit" in answer.json()["error"]
    except requests.ConnectionError:
        pass  # the server may answer and close before the client finished sending: the refusal is the point
    # Without a Content-Length (chunked), the limit is counted as the body arrives.
    chunks = (b"x" * (1024 * 1024) for _ in range(50))
    try:
        answer = requests.post(f"{server.url}/v1/models/sentiment:predict", data=chunks, timeout=120)
        assert answer.status_code == 413
    except requests.ConnectionError:
        pass
    assert requests.get(f"{server.url}/v1/models/sentiment").status_code == 200


def test_a_client_that_disconnects_mid_request_does_not_hurt_the_server(server):
    for request in (b"POST /v1/models/sentiment:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ins",
                    b"POST /v1/models/translate:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n"
                    b"{\"instances\": [\"the girl will run\"]}"):
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall(request)
        time.sleep(0.2)
    assert _post(server, "sentiment", {"instances": ["fine"]}).status_code == 200


def _busy(pid: int, window_s: float = 0.5) -> float:
    """The share of one core the process used over the next `window_s` seconds (Linux's /proc)."""
    def cpu_seconds():
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    start = cpu_seconds()
    time.sleep(window_s)
    return (cpu_seconds() - start) / window_s


def test_a_request_over_a_bound_is_refused_before_any_work(server):
    settings = {"temperature": 1.0, "seed": 0}
    answer = _post(server, "generate", {"inputs": {"prompt": ["a"], "length": 100_000_000, **settings}})
    assert answer.status_code == 400 and "length must be at most 100,000" in answer.json()["error"]
    answer = _post(server, "sentiment", {"instances": ["good"] * 1025})
    assert answer.status_code == 400 and "--max-instances" in answer.json()["error"]


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="reads CPU time from Linux's /proc")
def test_the_work_of_an_abandoned_request_stops_and_frees_the_core(server):
    body = json.dumps({"inputs": {"prompt": ["a"], "length": 100_000, "temperature": 1.0, "seed": 0}}).encode()
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.sendall(b"POST /v1/models/generate:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    pid = server.process.pid
    assert any(_busy(pid) > 0.5 for _ in range(20)), "the server never got busy with the long generation"
    connection.close()  # the client gives up
    assert any(_busy(pid) < 0.15 for _ in range(10)), "the server kept working for a client that had gone"
    assert _post(server, "generate", {"inputs": {"prompt": ["a"], "length": 5, "temperature": 1.0, "seed": 0}}).ok


def test_1000_requests_from_64_clients_all_get_their_answers_in_bounded_memory(server):
    texts = [f"the film number {i} was {'great' if i % 2 else 'dull'}" for i in range(1000)]
    local = threading.local()

    def call(text):
        session = getattr(local, "session", None) or setattr(local, "session", requests.Session()) or local.session
        return session.post(f"{server.url}/v1/models/sentiment:predict", json={"instances": [text]}, timeout=120)

    def load():
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            return list(pool.map(call, texts))

    load()  # warm up: the first batches trace the model's shapes
    before = server.rss_bytes()
    answers = load()
    after = server.rss_bytes()
    assert [a.status_code for a in answers] == [200] * len(texts)
    labels = {text: a.json()["predictions"][0]["label"] for text, a in zip(texts, answers)}
    single = _post(server, "sentiment", {"instances": texts[:8]}).json()["predictions"]
    assert [labels[t] for t in texts[:8]] == [p["label"] for p in single]  # every client got its own row
    assert after - before < 200 * 1024 * 1024, (before, after)


# --------------------------------------------------------------------------- batching, limits, shutdown


@pytest.fixture(scope="module")
def unbatched_server(start_server, server, served_bundles, serve_cache):
    """The same models (from the cache `server` exported them to) with --no-batching."""
    args = [f"--model={t}={served_bundles[t]}" for t in ("sentiment", "translate", "caption", "forecast")]
    return start_server(args + ["--cache-dir", str(serve_cache), "--no-batching"], "sentiment")


def test_batched_and_unbatched_answers_are_the_same(server, unbatched_server, served_bundles):
    texts = [f"the {word} film was {verdict}" for word in ("long", "short", "new", "old")
             for verdict in ("great", "dull", "fine", "superb")]
    translate_texts = list(_pipeline(served_bundles, "translate").demo_inputs) * 4
    lookback = _pipeline(served_bundles, "forecast").preprocessor.lookback
    histories = [(np.array(_history(lookback)) + shift).tolist() for shift in range(8)]
    requests_to_send = ([("sentiment", {"instances": [t]}) for t in texts]
                        + [("translate", {"instances": [t]}) for t in translate_texts]
                        + [("forecast", {"instances": [h]}) for h in histories])

    def answers(target):
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            return list(pool.map(lambda request: _post(target, *request).json()["predictions"][0], requests_to_send))

    batched, unbatched = answers(server), answers(unbatched_server)
    for one, other in zip(batched, unbatched):
        assert one.keys() == other.keys()
        for key in one:
            if isinstance(one[key], str):
                assert one[key] == other[key]
            else:  # the same computation in a batch of another size: equal up to float rounding
                np.testing.assert_allclose(one[key], other[key], rtol=1e-4, atol=1e-5)


def test_sigterm_drains_in_flight_requests_and_exits_0(start_server, served_bundles, serve_cache):
    server = start_server([f"--model=generate={served_bundles['generate']}", "--cache-dir", str(serve_cache)],
                          "generate")
    assert "cached export" in server.log()  # the session server exported this bundle already
    body = {"inputs": {"prompt": ["a"] * 8, "length": 3000, "temperature": 1.0, "seed": 0}}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(_post, server, "generate", body)
        time.sleep(0.5)
        code = server.stop()
        answer = in_flight.result()
    assert answer.status_code == 200 and len(answer.json()["outputs"]["generated"][0]) == 3000
    assert code == 0, server.log()


def test_a_tune_gets_its_recording_and_a_bad_one_its_reason(tunes_server):
    import io
    import wave

    tune = "M:3/4\nL:1/8\nR:waltz\nK:D\n|:D2 F2 A2|c2 B2 A2|d2 c2 B2|A6:|\n"
    answer = requests.post(f"{tunes_server.url}/rnnapps/listen", json={"abc": tune}, timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(answer.content)) as reader:
        assert reader.getnframes() / reader.getframerate() == pytest.approx(12.0, abs=0.1)  # repeats played
    for body, says in [({"abc": "no music here"}, "does not read as ABC"), ({"tune": tune}, 'expected {"abc"'),
                       ({"abc": "M:4/4\nL:1/4\nK:C\n[CDEFGABcd]4|\n"}, "too dense")]:
        refused = requests.post(f"{tunes_server.url}/rnnapps/listen", json=body, timeout=60)
        assert refused.status_code == 400 and says in refused.json()["error"], refused.text
    too_big = requests.post(f"{tunes_server.url}/rnnapps/listen", json={"abc": "A" * 100_000}, timeout=60)
    assert too_big.status_code == 413


def test_only_a_server_of_tunes_answers_listen(server):
    assert requests.post(f"{server.url}/rnnapps/listen", json={"abc": "K:D\nA"}, timeout=30).status_code == 404
