"""Background jobs: the inference worker thread, the image loader, batch prediction in a QThread."""
