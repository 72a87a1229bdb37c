"""The console's pages, one module per family; :data:`router` includes them all."""

from fastapi import APIRouter

from pp_gateway.console.routes import agreement, alerts, auth, catalogue, insights, simulation

router = APIRouter(include_in_schema=False)
# agreement before catalogue: /calibration/agreement is not an exercise's number.
for module in (auth, insights, alerts, agreement, catalogue, simulation):
    router.include_router(module.router)
