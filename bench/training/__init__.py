"""Training miniatures: the shared loop, distillation, teacher embeddings and the weights cache."""
