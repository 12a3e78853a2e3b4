"""After the trials: tables, statistics, the paper comparison and plots, read from MLflow, and what the parent
run receives at the end of a sweep or an ablation."""
