"""Development and test tooling: the pinned local servers (`devservers`), the pytest plugin (`testing`), the
SMTP and SMS captures (`testing_messages`) and `make run`'s mail sink (`mailsink`). Product code never imports it."""
