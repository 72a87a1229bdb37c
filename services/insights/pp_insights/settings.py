from pydantic import Field

from pp_insights.alerts.settings import AlertSettings
from pp_shared.settings import ServiceSettings


class InsightsSettings(ServiceSettings, AlertSettings):
    port: int = 8083
    detail_retention_days: int = Field(
        default=400,
        ge=31,
        description=(
            "Keep the event log, facts and hourly rollups this many days (whole UTC months"
            " are dropped once they end before the horizon); daily rollups are kept."
        ),
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body insights reads (413)."
    )
    retention_interval_seconds: float = Field(
        default=3600, gt=0, description="How often retention runs (it also runs at start)."
    )
