"""The raw topic's consumer logic: validate what intake did not seal, store each event once,
publish it to the validated topic, and dead-letter what cannot be decoded or validated."""
