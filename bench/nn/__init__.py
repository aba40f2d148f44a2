"""Neural building blocks: the Point-BERT and PPAT encoders, point-cloud ops and input pipelines."""
