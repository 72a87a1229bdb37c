"""Rules: the spec a threshold rule is written in, its validation, the masking of its
secrets, its versions (API and seed file), and what the ``/v1/rules`` routes do."""
