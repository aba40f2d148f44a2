"""Text encoders (the teachers) and cached class embeddings from prompt templates."""
