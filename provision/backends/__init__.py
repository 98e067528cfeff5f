"""Backends apply the desired state to the hosting servers; docs/provisioning.md says how."""
