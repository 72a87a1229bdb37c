"""The read path: what the query API answers, from the rollups and the facts (``repository``):
volume, trends and the metric catalogue, performance cards, top movers, drill-downs, the
periods they compare, their statistics, and tabular answers as JSON or CSV."""
