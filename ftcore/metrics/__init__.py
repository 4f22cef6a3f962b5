"""Generation metrics for Chinese, English and mixed text: BLEU, chrF, ROUGE, exact match.

- `registry.get_metrics(names, language)`: Metric objects (name, higher_is_better,
  per-example statistics, corpus aggregate, signature); `registry.METRIC_NAMES`.
- `text.detect_language(texts)`: 'zh', 'en' or 'mixed', which picks BLEU's tokenizer.
- `rouge.rouge_scores(prediction, reference)`: ROUGE-1/2/L F with CJK characters as tokens.
- `predictions.read_predictions(path)`: rows of a predictions JSONL and its bad lines.
- `outputs.write_report(report, out_dir)`: scores.json, per_example.jsonl and CSV exports.

ftcore.metrics.scoring puts these together with bootstrap confidence intervals. Nothing here
touches the network, and sacrebleu / rouge-score are imported on first use.
"""
