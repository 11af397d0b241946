"""Fake broker servers for tests: real SDKs talk to them over loopback HTTP/sockets."""
