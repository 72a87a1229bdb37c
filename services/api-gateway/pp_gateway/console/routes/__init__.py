"""The console's pages, one module per family; :data:`router` includes them all."""

from fastapi import APIRouter

from pp_gateway.console.routes import alerts, auth, catalogue, insights

router = APIRouter(include_in_schema=False)
for module in (auth, insights, alerts, catalogue):
    router.include_router(module.router)
