"""Runners: each takes a job and writes its output."""
