"""Review quality: the dataset of pull requests with golden comments, scoring, and evaluation of
recorded or live reviews."""
