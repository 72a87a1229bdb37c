from pp_shared.settings import ServiceSettings


class ClassifierSettings(ServiceSettings):
    port: int = 8082
