"""``GET /metrics``: the app's OA delivery counters in the Prometheus text format (``api.metrics``)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.metrics import CONTENT_TYPE

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE)
