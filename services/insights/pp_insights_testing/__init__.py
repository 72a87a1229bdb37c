"""Test helpers of insights, kept out of the service's package: the wheel and the image ship
``pp_insights`` only. The editable install puts this folder on the path beside
``pp_insights``, so the tests and ``tests/bench/bench_insights.py`` import them as
``pp_insights_testing.<module>``."""
