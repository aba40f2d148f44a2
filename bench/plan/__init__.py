"""The plan: a run spec resolved into cells, pure values whose hash identifies their results."""
