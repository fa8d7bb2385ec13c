"""Long work (training, comparisons, studies) as jobs with start, stop, progress, events and a result."""
