"""What people read: plans as text, markdown and JSON; tables and CSV for listing commands."""
