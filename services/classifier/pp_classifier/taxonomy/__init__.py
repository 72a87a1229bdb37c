"""The policy taxonomy: the versioned document (``document``), its published versions in
Postgres (``service``, ``repository``) and the packaged seed files (``seed/``)."""
