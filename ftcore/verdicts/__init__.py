"""Verdicts on a fine-tune: overfitting, memorisation and forgetting, as pure functions."""
