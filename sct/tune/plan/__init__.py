"""Before Ray starts: search spaces and ablation grids read and checked, every input checked, each trial's
config resolved, and the experiment's plan (:class:`~sct.tune.run.lifecycle.ExperimentSpec`) built. No Ray here."""
