"""Generation metrics for Chinese, English and mixed text: BLEU, chrF, ROUGE, exact match.

- `registry.get_metrics(names, language)`: Metric objects (name, higher_is_better,
  per-example statistics, corpus aggregate, signature); `registry.METRIC_NAMES`.
- `text.row_bleu_tokenizer(reference)`: BLEU's `zh` or `13a` for one row, by its reference.
- `rouge.rouge_scores(prediction, reference)`: ROUGE-1/2/L F with CJK characters as tokens.
- `evaluate_modules.load_evaluate_metric(spec)`: a Hugging Face `evaluate` module, no download.
- `predictions.read_predictions(path)`: rows of a predictions JSONL and its bad lines.
- `scoring.score_predictions(rows)`: corpus scores with intervals (`confidence` says which).
- `comparisons.compare_to_baseline(rows)`: paired deltas of every model against a baseline.
- `generalisation.generalisation_gap(train, heldout)`: train minus held-out per metric.
- `score_files.write_report(report, out_dir)`: scores.json, per_example.jsonl and CSV exports.

Nothing here touches the network, and sacrebleu / rouge-score / evaluate are imported on
first use.
"""
