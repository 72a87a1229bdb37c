from pp_insights.settings import InsightsSettings
from pp_shared.serve import serve

settings = InsightsSettings()
serve("pp_insights.main:create_app", settings, service="insights", port=settings.port)
