"""The write path: tagged events into the event log, the facts recomputed from it, the change
of every rollup row, monthly partitions and retention (``service``; SQL in ``repository``)."""
