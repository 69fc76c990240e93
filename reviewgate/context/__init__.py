"""What reviewers see: repository context (norms, changed files, excerpts), the context pack cut
to each seat's budget, secret redaction and the prompts with their untrusted fences."""
