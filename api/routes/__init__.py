"""HTTP routes, one module per area; ``api_router`` collects them under ``/api``."""

from fastapi import APIRouter

from api.routes import claims, health, oa, uploads

api_router = APIRouter(prefix="/api")
for module in (uploads, claims, oa, health):
    api_router.include_router(module.router)
