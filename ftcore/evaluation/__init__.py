"""Evaluation pipeline: batched greedy generation, perplexity, scoring and storage.

`ftcore.evaluation.pipeline.evaluate` is the entry point the Evaluate tab and `ftcore eval` call.
"""
