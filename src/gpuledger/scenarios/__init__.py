"""Scenario files shipped with gpuledger (package data): the founding story demo."""
