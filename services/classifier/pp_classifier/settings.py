from pydantic import Field

from pp_shared.settings import ServiceSettings


class ClassifierSettings(ServiceSettings):
    port: int = 8082
    taxonomy_refresh_seconds: float = Field(
        default=5.0, gt=0, description="How often to look for a newly published taxonomy."
    )
