"""What :func:`longseq.train.train` is built from: the task's data from the run's modality
(:mod:`~longseq.training.task_data`), resuming (:mod:`~longseq.training.resume`) and the Lightning
trainer (:mod:`~longseq.training.trainer`)."""
