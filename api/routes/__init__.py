"""HTTP routes, one module per area; ``api_router`` collects them under ``/api``."""

from fastapi import APIRouter

from api.routes import claims, corrections, exports, health, oa, review, travel, uploads

api_router = APIRouter(prefix="/api")
for module in (uploads, claims, corrections, oa, exports, health, review, travel):
    api_router.include_router(module.router)
