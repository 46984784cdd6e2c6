"""Sweeps over DPO settings: the search space, trials that resume, selection on a validation split."""
