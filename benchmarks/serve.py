"""`rnnapps serve` throughput and latency, with dynamic batching and without.

Starts the server twice (batching on with its defaults, then --no-batching) on the same models and sends the
same fixed requests, one example each (the way most clients call), from 1, 8 and 32 concurrent clients:
requests/s, median and p99 latency per model and concurrency. The clients run on this machine too, so they
share its cores with the server; every figure is measured the same way, and the ratios are the point.

Models (`--model NAME=PATH`, a bundle or SavedModel; defaults):
  sentiment: the IMDB bundle of benchmarks/sentiment.py (benchmarks/out/sentiment-imdb) when present, else the
             demo recipe's model; requests: IMDB test reviews from ../shared/data when present, else generated
             sentences;
  translate: the demo recipe's model (beam search, serving_default), requests: its toy sentences.

    python benchmarks/serve.py --record
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import tarfile
import threading
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)
import requests  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
IMDB_ARCHIVE = ROOT.parent / "shared" / "data" / "imdb" / "aclImdb_v1.tar.gz"
IMDB_BUNDLE = HERE / "out" / "sentiment-imdb"
CONCURRENCY = (1, 8, 32)


def imdb_reviews(count: int) -> list[str]:
    """The first `count` IMDB test reviews in the archive (positive and negative, in archive order)."""
    reviews = []
    with tarfile.open(IMDB_ARCHIVE) as archive:
        for member in archive:
            name = member.name
            if member.isfile() and name.startswith(("aclImdb/test/pos/", "aclImdb/test/neg/")) \
                    and name.endswith(".txt"):
                reviews.append(archive.extractfile(member).read().decode("utf-8").replace("<br />", " "))
                if len(reviews) == count:
                    break
    return reviews


def demo_model(task: str, out: pathlib.Path) -> pathlib.Path:
    """Train the task's demo recipe into out/TASK once (reused when present); returns the run directory."""
    from rnnapps import recipe_files, registry

    run_dir = out / task
    if not (run_dir / "bundle").exists():
        pipeline_cls = registry.get(task).pipeline_class()
        pipeline_cls.train(pipeline_cls.load_recipe(recipe_files.demo_recipe(registry.get(task).demo_recipe)), run_dir)
    return run_dir


class Server:
    """`rnnapps serve` in a subprocess on a free loopback port, ready when `start` returns."""

    def __init__(self, models: dict[str, pathlib.Path], extra: list[str], cache: pathlib.Path, log: pathlib.Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        args = [f"--model={name}={path}" for name, path in models.items()]
        self.log = log
        with open(log, "wb") as handle:
            self.process = subprocess.Popen([sys.executable, "-m", "rnnapps.cli", "serve", "--port", str(self.port),
                                             "--cache-dir", str(cache), *args, *extra],
                                            stdout=handle, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if all(requests.get(f"{self.url}/v1/models/{name}", timeout=5).ok for name in models):
                    return
            except requests.ConnectionError:
                time.sleep(0.5)
        raise RuntimeError(f"the server did not start:\n{log.read_text()}")

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.process.terminate()
        self.process.wait(60)


def measure(url: str, model: str, bodies: list[bytes], concurrency: int) -> dict:
    """Send every body once from `concurrency` clients; requests/s and latency percentiles (ms)."""
    local = threading.local()
    endpoint = f"{url}/v1/models/{model}:predict"

    def call(body: bytes) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        start = time.perf_counter()
        answer = local.session.post(endpoint, data=body, headers={"Content-Type": "application/json"}, timeout=300)
        elapsed = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"{model}: HTTP {answer.status_code}: {answer.text[:200]}")
        return elapsed

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, bodies[:concurrency * 2]))  # warm up: connections, traced batch shapes
        start = time.perf_counter()
        latencies = np.array(list(pool.map(call, bodies)))
        wall = time.perf_counter() - start
    return {"requests": len(bodies), "requests_per_s": len(bodies) / wall,
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="sentiment=... and/or translate=... (default: see the module docstring)")
    parser.add_argument("--sentiment-requests", type=int, default=600)
    parser.add_argument("--translate-requests", type=int, default=200)
    parser.add_argument("--out", default=str(HERE / "out" / "serve"), help="demo models and the export cache")
    parser.add_argument("--json-out", default=str(HERE / "results" / "serve.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = dict(flag.split("=", 1) for flag in args.model)
    if "sentiment" not in models:
        models["sentiment"] = IMDB_BUNDLE if (IMDB_BUNDLE / "bundle").exists() else demo_model("sentiment", out)
    models.setdefault("translate", str(demo_model("translate", out)))
    models = {name: pathlib.Path(path) for name, path in models.items()}

    rng = random.Random(0)
    if IMDB_ARCHIVE.exists():
        texts, text_source = imdb_reviews(args.sentiment_requests), "IMDB test reviews"
    else:
        words = "the a film movie plot cast was great dull superb boring long short story acting".split()
        texts = [" ".join(rng.choices(words, k=rng.randint(8, 40))) for _ in range(args.sentiment_requests)]
        text_source = "generated sentences"
    from rnnapps.pipelines.translate import TranslatePipeline

    sentences = list(TranslatePipeline.demo_inputs)
    bodies = {"sentiment": [json.dumps({"instances": [text]}).encode() for text in texts],
              "translate": [json.dumps({"instances": [rng.choice(sentences)]}).encode()
                            for _ in range(args.translate_requests)]}

    results = {"date": datetime.date.today().isoformat(), "machine": reporting.machine(),
               "models": {name: str(path) for name, path in models.items()}, "sentiment_texts": text_source,
               "figures": {}}
    for mode, extra in (("batching", []), ("no_batching", ["--no-batching"])):
        server = Server(models, extra, out / "cache", out / f"server-{mode}.log")
        try:
            for name in models:
                for concurrency in CONCURRENCY:
                    figure = measure(server.url, name, bodies[name], concurrency)
                    results["figures"][f"{name}/{mode}/c{concurrency}"] = figure
                    print(f"{name:9} {mode:11} c={concurrency:<3} {figure['requests_per_s']:8.1f} req/s  "
                          f"p50 {figure['p50_ms']:7.1f} ms  p99 {figure['p99_ms']:7.1f} ms", flush=True)
        finally:
            server.stop()

    rows = []
    for name in models:
        for concurrency in CONCURRENCY:
            on, off = (results["figures"][f"{name}/{mode}/c{concurrency}"] for mode in ("batching", "no_batching"))
            rows.append((f"{name}, {concurrency} clients: req/s batching / none (ratio)",
                         f"{on['requests_per_s']:.1f} / {off['requests_per_s']:.1f} "
                         f"({on['requests_per_s'] / off['requests_per_s']:.2f}x)"))
            rows.append((f"{name}, {concurrency} clients: p50 / p99 ms, batching | none",
                         f"{on['p50_ms']:.1f} / {on['p99_ms']:.1f} | {off['p50_ms']:.1f} / {off['p99_ms']:.1f}"))
    results["sentiment_speedup_c32"] = (results["figures"]["sentiment/batching/c32"]["requests_per_s"]
                                        / results["figures"]["sentiment/no_batching/c32"]["requests_per_s"])
    reporting.publish(results, rows, args.json_out, record=args.record, title="serve: dynamic batching",
                      command="python benchmarks/serve.py --record",
                      notes=(f"models: {', '.join(f'{n} = {p}' for n, p in models.items())}",
                             f"one example per request; sentiment requests: {len(texts)} {text_source}, "
                             f"translate: {args.translate_requests} toy sentences (beam search); batching "
                             "defaults: --max-batch-size 32 --batch-timeout-ms 5",
                             "the clients (Python threads, requests) run on the same 2 cores as the server"))


if __name__ == "__main__":
    main()
