from pp_ingest.settings import IngestSettings
from pp_shared.serve import serve

settings = IngestSettings()
serve("pp_ingest.main:create_app", settings, service="ingest", port=settings.port)
