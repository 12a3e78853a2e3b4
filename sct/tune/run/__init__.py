"""While the experiment runs: the Tuner and its lifecycle, the trial function, the searcher and scheduler, the
Tune callbacks (MLflow writer, live view, trial ends) and the hygiene of the local Ray. The only ``sct.tune``
code that imports Ray."""
