"""Pure statistics: bootstrap resampling and confidence intervals (numpy only)."""
