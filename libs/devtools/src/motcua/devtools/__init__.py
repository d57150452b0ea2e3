"""Development and test tooling: the pinned local servers (`devservers`), the pytest plugin (`testing`), the
SMTP and SMS captures (`testing_messages`), `make run`'s mail sink (`mailsink`), signing officers and admins in
with their mandatory second factor (`staff`) and a software passkey authenticator (`authenticator`). Product
code never imports it."""
