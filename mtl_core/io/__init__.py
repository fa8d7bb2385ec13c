"""Saving and loading models (.keras with an info entry) and the TensorFlow.js export."""
