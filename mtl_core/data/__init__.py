"""Where rows come from and how they become arrays: the dataset registry, CSV files, generators, tasks."""
