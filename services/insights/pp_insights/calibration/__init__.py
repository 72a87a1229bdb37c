"""Calibration programmes: golden sets, exercises in which moderators answer them, their
agreement and accuracy, and agreement between moderators and QA in production."""
