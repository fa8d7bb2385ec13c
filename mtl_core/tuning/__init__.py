"""Multi-objective hyperparameter tuning with Optuna: one objective per task, studies shared by many workers.

``space`` (the search space table) and ``objectives``/``pruning`` (fronts and the pruning rule) are pure Python;
``study`` (the Tuner) imports Optuna, and TensorFlow only once a trial trains.
"""
