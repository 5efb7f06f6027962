"""The HTTP application: TF Serving's REST API over the served models, and the try-it page at `/`.

Routes (as tensorflow_serving/g3doc/api/api_rest.md):
    GET  /v1/models/NAME[/versions/N]             model status
    GET  /v1/models/NAME[/versions/N]/metadata    signatures, their inputs and outputs
    POST /v1/models/NAME[/versions/N]:predict     row ("instances") or columnar ("inputs") format
    GET  /                                        the try-it page (one form per model, no network needed)
    POST /rnnapps/listen                          {"abc": a tune in ABC notation} -> its WAV recording (an
                                                  rnnapps extra for the page, where a model of tunes is
                                                  served: `rnnapps.music`)

Errors are `{"error": "..."}`: 400 bad request (the message names the field), 404 unknown model, version or
signature, 413 body over the limit, 503 queue full, 504 past the request timeout (499, logged only, when the
client disconnected first), 500 anything else. No
request can stop the server, and none can keep a core busy after it is given up: every request-wide setting
has an upper bound checked before any work (`ServerOptions`, the models' own bounds), and the model call of a
request that timed out or whose client disconnected is stopped (`rnnapps.server.stopping`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import pathlib
import re

import tensorflow as tf
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from rnnapps import music
from rnnapps.server import codec
from rnnapps.server.batching import Batcher, BatchingOptions, QueueFull, mergeable
from rnnapps.server.models import ServedModel

log = logging.getLogger(__name__)

PAGE_FILE = pathlib.Path(__file__).with_name("page.html")
LISTEN_MAX_BODY_BYTES = 64 * 1024  # a tune is at most `music.MAX_TUNE_CHARACTERS` characters
LISTEN_MAX_SECONDS = 300.0  # the longest recording the page gets (a folk tune with its repeats: 1-3 minutes)


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    """Limits and batching of a server.

    Attributes:
        batching: BatchingOptions (TF Serving's batching parameters).
        max_body_bytes: larger request bodies are refused with 413.
        max_instances: examples per request; more are refused with 400 before any work.
        request_timeout_s: a request not answered by then gets 504, and its model call is stopped.
        threads: worker threads that run the models.
    """

    batching: BatchingOptions = BatchingOptions()
    max_body_bytes: int = 10 * 1024 * 1024
    max_instances: int = 1024
    request_timeout_s: float = 30.0
    threads: int = max(2, os.cpu_count() or 2)


class _HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def create_app(models: dict[str, ServedModel], options: ServerOptions = ServerOptions()) -> Starlette:
    """The ASGI application serving `models` (name -> ServedModel)."""
    executor = concurrent.futures.ThreadPoolExecutor(options.threads, thread_name_prefix="rnnapps-model")
    batchers = {(name, key): Batcher(signature, _batching_for(signature, options.batching), executor)
                for name, model in models.items() for key, signature in model.signatures.items()}

    def find(name: str, version: str | None) -> ServedModel:
        model = models.get(name)
        if model is None:
            raise _HttpError(404, f"Servable not found for request: Latest({name}); this server serves "
                                  f"{', '.join(sorted(models)) or 'no model'}")
        if version is not None and version != str(model.version):
            raise _HttpError(404, f"Servable not found for request: Specific({name}, {version}); "
                                  f"{name} is served at version {model.version}")
        return model

    async def status(request: Request) -> Response:
        return JSONResponse(find(request.path_params["name"], request.path_params.get("version")).status())

    async def metadata(request: Request) -> Response:
        return JSONResponse(find(request.path_params["name"], request.path_params.get("version")).metadata())

    async def predict(request: Request) -> Response:
        name, verb = request.path_params["name_verb"].rpartition(":")[::2]
        if not name or verb != "predict":
            raise _HttpError(404 if not name else 400,
                             f"unsupported verb {verb!r}: this server answers :predict (classify and regress "
                             "need tf.Example signatures, which rnnapps models do not have)" if name else
                             "expected POST /v1/models/NAME[/versions/N]:predict")
        model = find(name, request.path_params.get("version"))
        body = await _read_json(request, options.max_body_bytes)
        signature_name, values, row_format = codec.read_request(body)
        signature_name = signature_name or model.default_signature
        signature = model.signatures.get(signature_name)
        if signature is None:
            raise _HttpError(404, f"signature {signature_name!r} not found in model {name}; its signatures: "
                                  f"{', '.join(sorted(model.signatures))}")
        arrays = codec.decode_inputs(signature, values, row_format)
        codec.check_examples(arrays, signature, options.max_instances)
        try:
            outputs = await _answer_unless_given_up(request, batchers[(name, signature_name)].run(arrays),
                                                    options.request_timeout_s)
        except QueueFull as error:
            raise _HttpError(503, str(error)) from None
        except tf.errors.InvalidArgumentError as error:
            raise codec.BadRequest(_model_message(error)) from None
        return _Answer(codec.encode_outputs(outputs, row_format))

    # What the page knows of each model: its task and example inputs (`rnnapps.serving_examples`), inlined so the
    # page needs no other request to start; <, > and & escaped so no value can end or upset the script element.
    listing = json.dumps({name: models[name].card for name in sorted(models)})
    listing = listing.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page_html = PAGE_FILE.read_text(encoding="utf-8").replace("/*MODELS*/{}", listing)

    async def page(request: Request) -> Response:
        return HTMLResponse(page_html)

    # Recordings of tunes, one at a time on a thread of their own (a model call never waits for one); each is
    # bounded (`rnnapps.music`: characters, notes at once, LISTEN_MAX_SECONDS), a fraction of a second of one core.
    listening = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rnnapps-listen")

    async def listen(request: Request) -> Response:
        body = await _read_json(request, min(options.max_body_bytes, LISTEN_MAX_BODY_BYTES))
        if not isinstance(body, dict) or not isinstance(body.get("abc"), str):
            raise codec.BadRequest('expected {"abc": "a tune in ABC notation"}')
        recording = asyncio.wrap_future(listening.submit(music.wav_bytes, body["abc"],
                                                         max_seconds=LISTEN_MAX_SECONDS))
        try:
            audio = await _answer_unless_given_up(request, recording, options.request_timeout_s)
        except music.TuneError as error:
            raise codec.BadRequest(str(error)) from None
        return Response(audio, media_type="audio/wav")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        # After the HTTP server stopped taking requests: answer what was accepted, then stop the workers.
        await asyncio.gather(*(batcher.close() for batcher in batchers.values()))
        executor.shutdown(wait=True)
        listening.shutdown(wait=True, cancel_futures=True)

    version = "/v1/models/{name}/versions/{version}"
    routes = [
        Route("/", page),
        Route("/v1/models/{name}", status),
        Route(version, status),
        Route("/v1/models/{name}/metadata", metadata),
        Route(version + "/metadata", metadata),
        Route("/v1/models/{name_verb}", predict, methods=["POST"]),
        Route("/v1/models/{name}/versions/{version_verb}", _versioned(predict), methods=["POST"]),
    ]
    if any(model.card.get("music") == "abc" for model in models.values()):  # a model of tunes is served
        routes.append(Route("/rnnapps/listen", listen, methods=["POST"]))
    handlers = {_HttpError: _http_error, codec.BadRequest: _bad_request, Exception: _internal_error,
                404: _not_found, 405: _not_allowed}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


async def _answer_unless_given_up(request: Request, work, timeout_s: float):
    """The result of `work` (a coroutine); past `timeout_s`, or when the client disconnects first, `work` is
    cancelled (which stops its model call) and the request ends with 504 (or 499: nobody reads it)."""
    answer = asyncio.ensure_future(work)
    client_gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({answer, client_gone}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            return answer.result()
        if client_gone in done:
            log.debug("the client of %s disconnected before its answer; its work is stopped", request.url.path)
            raise _HttpError(499, "the client disconnected before the answer")
        raise _HttpError(504, f"the request was not answered within {timeout_s:g} s (--request-timeout); try "
                              "fewer examples, or a shorter length, per request")
    finally:
        client_gone.cancel()
        answer.cancel()


async def _disconnected(request: Request) -> None:
    """Return once the client has closed the connection (the body was read; what the server receives next
    is the disconnect). Where the connection cannot tell, wait forever: the timeout still holds."""
    try:
        while (await request.receive())["type"] != "http.disconnect":
            pass
    except Exception:  # noqa: BLE001 - no disconnect to watch for; the request timeout still bounds the work
        log.debug("cannot watch %s for a disconnect", request.url.path, exc_info=True)
        await asyncio.Event().wait()


class _Answer(JSONResponse):
    """A JSON answer that writes NaN and Infinity as TF Serving does (Starlette's own JSONResponse refuses them,
    which would turn a model's NaN output into a 500)."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode("utf-8")


def _batching_for(signature, batching: BatchingOptions) -> BatchingOptions:
    """The server's batching options, turned off for a signature whose requests cannot be merged."""
    if batching.enabled and not mergeable([spec.shape for spec in signature.inputs.values()]):
        return dataclasses.replace(batching, enabled=False)
    return batching


def _versioned(predict):
    async def handler(request: Request) -> Response:
        version, _, verb = request.path_params["version_verb"].partition(":")
        request.path_params["version"] = version
        request.path_params["name_verb"] = f"{request.path_params['name']}:{verb}"
        return await predict(request)
    return handler


async def _read_json(request: Request, limit: int):
    """The request body parsed as JSON (NaN and Infinity accepted), refused past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _HttpError(413, f"the request body is {int(declared):,} bytes; the limit is {limit:,} "
                              "(--max-request-mb)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _HttpError(413, f"the request body is over the limit of {limit:,} bytes (--max-request-mb)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _HttpError(400, "the client disconnected before sending the whole request") from None
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise codec.BadRequest(f"the request body is not valid JSON: {error}") from None


def _model_message(error: tf.errors.OpError) -> str:
    """What a TensorFlow error raised by the model's serving graph says (an assertion's message, a
    CheckNumerics message), without the graph execution boilerplate around it."""
    lines = [line.strip() for line in (error.message or str(error)).splitlines()]
    for line in lines:
        assertion = re.match(r"assertion failed: \[(.*?)\](?: \[|$)", line)
        if assertion:
            return assertion.group(1).replace("\\'", "'")
    boilerplate = ("Graph execution error", "Detected at node", "<stack traces", "[[")
    meaningful = [line for line in lines if line and not line.startswith(boilerplate)]
    return meaningful[0] if meaningful else type(error).__name__


async def _http_error(request: Request, error: _HttpError) -> Response:
    return JSONResponse({"error": str(error)}, status_code=error.status)


async def _bad_request(request: Request, error: codec.BadRequest) -> Response:
    return JSONResponse({"error": str(error)}, status_code=400)


async def _not_found(request: Request, error) -> Response:
    return JSONResponse({"error": f"no such endpoint: {request.method} {request.url.path}; see GET / or "
                                  "/v1/models/NAME[/metadata], POST /v1/models/NAME:predict"}, status_code=404)


async def _not_allowed(request: Request, error) -> Response:
    return JSONResponse({"error": f"{request.method} is not allowed on {request.url.path}"}, status_code=405)


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("request %s %s failed", request.method, request.url.path)
    return JSONResponse({"error": f"internal error: {type(error).__name__}: {error}"}, status_code=500)
