from pp_classifier.settings import ClassifierSettings
from pp_shared.serve import serve

settings = ClassifierSettings()
serve("pp_classifier.main:create_app", settings, service="classifier", port=settings.port)
