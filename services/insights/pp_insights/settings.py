from pp_shared.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    port: int = 8083
