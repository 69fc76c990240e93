"""Publishing: model text made safe to post, the comments and status texts rendered from the
templates, findings placed on diff lines, and rounds compared."""
