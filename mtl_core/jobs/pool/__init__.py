"""Jobs in worker processes: a bounded pool, a fair queue, turns of training, limits per session.

``get_pool()`` is the server's pool; ``PoolTrainingJob`` and ``PoolJob`` are the page-side proxies with the
``TrainingJob``/``Job`` interface. ``MTL_WORKERS`` sets the number of worker processes (default: one per core;
0 = jobs run in threads of the calling process, as the CLI does). See ``settings.PoolSettings`` for the rest.
"""
