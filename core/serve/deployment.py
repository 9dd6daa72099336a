"""The Ray Serve deployment: the model loaded once per replica, `/values` requests of every session batched.

Each replica holds one `core.model.inference.Classifier`. `/values` requests that arrive within
BATCH_WAIT_S of one another, up to MAX_BATCH_ROWS model inputs, are handed to `core.serve.batching`
together by `@serve.batch` (the fast ones in one bfloat16 stream, float32 ones of several rows in one
float32 stream); `/folded` (the float32 recheck) and `/exact` (a cell alone) run as asked. The passes
run in a thread, so the replica keeps taking requests, which gather into the next batch, meanwhile.
Routes and formats: `core.model.wire`.
"""
from __future__ import annotations

import asyncio

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from core.model import wire
from core.serve.batching import ValuesRequest, Values, rows_of, run_batch, warm_passes

MAX_BATCH_ROWS = 64  # model inputs per gathered batch: two passes of 32
BATCH_WAIT_S = 0.01  # how long the first request of a batch waits for others
MAX_ONGOING_REQUESTS = 64  # per replica: enough sessions' requests at once to fill its batches
DEPLOYMENT_NAME = "leukemia_values"


class ModelService:
    """One replica: the model at `model_path` with its compiled passes, answering `core.model.wire`'s routes."""

    def __init__(self, model_path: str) -> None:
        from core.model.inference import Classifier
        from core.model.store import load_classifier

        self.classifier = Classifier(load_classifier(model_path))
        warm_passes(self.classifier)
        loaded = self.classifier.loaded
        self.identity = wire.Identity(loaded.sha256, loaded.sidecar_sha256, loaded.metadata, list(loaded.warnings),
                                      self.classifier.batch_precision, self.classifier.many_batch_size)

    async def __call__(self, request: Request) -> Response:
        """Route one HTTP request; a bad request gets a one-line reason with its status, never a traceback."""
        path = request.url.path
        if request.method == "GET" and path == wire.INFO_PATH:
            return JSONResponse(self.identity.to_json())
        if request.method != "POST" or path not in (wire.VALUES_PATH, wire.FOLDED_PATH, wire.EXACT_PATH):
            return PlainTextResponse(f"No route {request.method} {path}: see core.model.wire.", status_code=404)
        refusal = self.refusal(request.query_params.get("model_sha256", ""), request.query_params.get("sidecar_sha256", ""))
        if refusal:
            return PlainTextResponse(refusal, status_code=wire.IDENTITY_REFUSED)
        try:
            inputs = wire.decode_inputs(await request.body(), self.classifier.image_size)
            batch_size = min(max(int(request.query_params.get("batch_size", 32)), 1), wire.MAX_CELLS_PER_REQUEST)
        except ValueError as error:
            return PlainTextResponse(str(error), status_code=400)
        fast = request.query_params.get("fast") == "1"
        if path == wire.VALUES_PATH:
            values = await self.gathered(ValuesRequest(inputs, fast))
        elif path == wire.FOLDED_PATH:
            values = Values(*await asyncio.to_thread(self.classifier.folded_values, inputs, batch_size), "float32")
        else:
            values = Values(*await asyncio.to_thread(self.classifier.exact_values, inputs), "float32")
        headers = {wire.GATHERED_HEADER: str(values.gathered), **({wire.PRECISION_HEADER: values.precision} if fast else {})}
        return Response(wire.encode_values(values.features, values.probabilities), headers=headers,
                        media_type="application/octet-stream")

    def refusal(self, model_sha256: str, sidecar_sha256: str) -> str | None:
        """Why a request naming this model and sidecar is refused (another model than this replica's), or None."""
        if (model_sha256, sidecar_sha256) == (self.identity.model_sha256, self.identity.sidecar_sha256):
            return None
        return (f"This inference service runs the model with SHA-256 {self.identity.model_sha256[:12]} (sidecar "
                f"{self.identity.sidecar_sha256[:12] or 'none'}), not {model_sha256[:12] or 'none'} (sidecar "
                f"{sidecar_sha256[:12] or 'none'}): restart the app, or the service, on one model file.")

    @serve.batch(max_batch_size=MAX_BATCH_ROWS, batch_wait_timeout_s=BATCH_WAIT_S, batch_size_fn=rows_of)
    async def gathered(self, requests: list[ValuesRequest]) -> list[Values]:
        """`/values` requests of every session that arrived together, run as one (`core.serve.batching.run_batch`)."""
        return await asyncio.to_thread(run_batch, self.classifier, requests)


def service_app(model_path: str, replicas: int, cpus_per_replica: float = 1.0) -> serve.Application:
    """The Serve application: `replicas` copies of `ModelService` on `model_path`, each reserving `cpus_per_replica`.

    A replica whose model cannot be loaded is not retried (the command line says why and stops).
    """
    deployment = serve.deployment(ModelService, name=DEPLOYMENT_NAME, num_replicas=replicas,
                                  ray_actor_options={"num_cpus": cpus_per_replica},
                                  max_ongoing_requests=MAX_ONGOING_REQUESTS, max_constructor_retry_count=1)
    return deployment.bind(str(model_path))
