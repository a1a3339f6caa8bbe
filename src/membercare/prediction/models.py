"""Models of the prediction app."""
