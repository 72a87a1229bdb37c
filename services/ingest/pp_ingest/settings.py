from pydantic import Field

from pp_shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    port: int = 8081
    produce_timeout_seconds: float = Field(
        default=1.5, gt=0, description="Longest wait for the broker's ack before answering 503."
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After on a 503.")
