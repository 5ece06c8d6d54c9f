"""Stateless tensor functions shared by the modules."""
