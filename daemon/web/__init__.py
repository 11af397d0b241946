"""The dashboard (`tlh serve`, `tlh run --serve`): web pages and a JSON API over the store, read through the
CLI's own queries; pause and resume are its only actions."""
