"""Agreement in production: each moderator's decision against the QA reviewer's reading of
it (Cohen's kappa), from the QA reviews insights already receives."""
