from pp_gateway.settings import GatewaySettings
from pp_shared.serve import serve

settings = GatewaySettings()
serve("pp_gateway.main:create_app", settings, service="api-gateway", port=settings.port)
