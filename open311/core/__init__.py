"""Building blocks every package may use: dates, signing, text cleaning, validation, YAML, logs, metrics."""
