"""The statistical layer and how it improves: features, the model, fitting, the seed data,
training sets from moderators' decisions, evaluation, and the replica's retraining loop."""
