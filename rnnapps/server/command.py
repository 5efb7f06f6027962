"""The `rnnapps serve` command: load the models, build the application, run it under uvicorn.

TensorFlow is imported only when the command runs, so `rnnapps --help` stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import pathlib
import socket

import click
import uvicorn

from rnnapps import quiet_stderr
from rnnapps.datasets.images import MAX_PIXELS
from rnnapps.errors import UserError
from rnnapps.sections import MAX_SAMPLE_LENGTH

log = logging.getLogger(__name__)

DEFAULT_CACHE = pathlib.Path("~/.cache/rnnapps/serve")


HELP = """Serve exported models over TensorFlow Serving's REST API, with a try-it page at /.

\b
Endpoints (as TF Serving's api_rest.md):
  GET  /v1/models/NAME                 status
  GET  /v1/models/NAME/metadata        signatures, input and output names, dtypes and shapes
  POST /v1/models/NAME:predict         {"instances": [...]} or {"inputs": ...}, "signature_name" optional

\b
Example:
  rnnapps serve --model sentiment=runs/demo/sentiment/saved_model
  curl -d '{"instances": ["a wonderful film"]}' localhost:8501/v1/models/sentiment:predict

\b
Bounds, checked before any work (HTTP 400 past them):
  --max-request-mb and --max-instances  per request
  generate: length <= LENGTH characters; caption: images <= PIXELS megapixels
  translate and caption: the beam size and output length the recipe exported
A request that times out (--request-timeout) or whose client disconnects is stopped, so it frees its core.

Ctrl+C or SIGTERM stops taking requests, answers those in flight, and exits 0.
""".replace("LENGTH", f"{MAX_SAMPLE_LENGTH:,}").replace("PIXELS", f"{MAX_PIXELS / 1e6:g}")


@click.command(help=HELP)
@click.option("--model", "model_flags", multiple=True, required=True, metavar="NAME=PATH",
              help="A model to serve at /v1/models/NAME (repeatable). PATH: a SavedModel ('rnnapps TASK export'), "
                   "a folder of numbered SavedModel versions, or a bundle (exported on start into --cache-dir).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default answers this machine only, 0.0.0.0 every network.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(0, 65535),
              help="Port (TF Serving's REST port is 8501).")
@click.option("--max-batch-size", default=32, show_default=True, type=click.IntRange(1),
              help="Most examples merged into one model call.")
@click.option("--batch-timeout-ms", default=5.0, show_default=True, type=click.FloatRange(0),
              help="How long the first request of a batch waits for others to join.")
@click.option("--max-enqueued", default=256, show_default=True, type=click.IntRange(1),
              help="Requests waiting per model signature before new ones get HTTP 503.")
@click.option("--num-batch-threads", default=2, show_default=True, type=click.IntRange(1),
              help="Merged batches of one model signature that run at the same time.")
@click.option("--no-batching", is_flag=True, help="Run every request on its own (no merging).")
@click.option("--max-request-mb", default=10.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Larger request bodies get HTTP 413.")
@click.option("--max-instances", default=1024, show_default=True, type=click.IntRange(1),
              help="Most examples (texts, prompts, images, histories) in one request; more get HTTP 400.")
@click.option("--request-timeout", default=30.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Seconds before an unanswered request gets HTTP 504; its work is stopped then.")
@click.option("--cache-dir", default=str(DEFAULT_CACHE), show_default=True,
              type=click.Path(file_okay=False, path_type=pathlib.Path),
              help="Where bundles given as --model are exported.")
def serve(model_flags: tuple[str, ...], host: str, port: int, max_batch_size: int, batch_timeout_ms: float,
          max_enqueued: int, num_batch_threads: int, no_batching: bool, max_request_mb: float, max_instances: int,
          request_timeout: float, cache_dir: pathlib.Path) -> None:
    """The `rnnapps serve` command (its help is HELP)."""
    listener = _listen(host, port)  # before the models load: a port in use is said at once, not after them
    quiet_stderr.start_tensorflow()
    from rnnapps.server.app import ServerOptions, create_app
    from rnnapps.server.batching import BatchingOptions
    from rnnapps.server.models import ServedModel, locate, parse_model_flag

    names = {}
    for flag in model_flags:
        name, path = parse_model_flag(flag)
        if name in names:
            raise UserError(f"--model {flag!r}: the name {name!r} is given twice")
        names[name] = path
    cache_dir = cache_dir.expanduser()
    models = {}
    for name, path in names.items():
        saved_model, version = locate(path, cache_dir)
        models[name] = ServedModel(name, saved_model, version)
        click.echo(f"serving {name} (version {version}) from {saved_model}: signatures "
                   f"{', '.join(sorted(models[name].signatures))}", err=True)
    options = ServerOptions(
        batching=BatchingOptions(enabled=not no_batching, max_batch_size=max_batch_size,
                                 batch_timeout_ms=batch_timeout_ms, max_enqueued=max_enqueued,
                                 num_batch_threads=num_batch_threads),
        max_body_bytes=int(max_request_mb * 1024 * 1024), max_instances=max_instances,
        request_timeout_s=request_timeout)
    config = uvicorn.Config(create_app(models, options), host=host, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=int(request_timeout) + 5)
    server = _GracefulServer(config)
    click.echo(f"listening on http://{_url_host(host)}:{listener.getsockname()[1]}/ (Ctrl+C to stop)", err=True)
    server.run(sockets=[listener])
    click.echo("stopped", err=True)


class _GracefulServer(uvicorn.Server):
    """uvicorn's server, except that SIGINT/SIGTERM end it with exit code 0 after the graceful shutdown
    (uvicorn re-raises the signal once done, which would end the process with the signal's status)."""

    @contextlib.contextmanager
    def capture_signals(self):
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one), as uvicorn binds its own.

    Raises:
        UserError: the port is in use, or the host is not an address of this machine.
    """
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise UserError(f"--host {host!r} is not a host name or address this machine knows ({error.strerror})") \
            from None
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is already in use: stop what listens there or choose another "
                            "--port") from None
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.set_inheritable(True)
    return listener


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
