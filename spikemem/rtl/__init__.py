"""RTL: rendering the Jinja-templated controllers and verifying them against the golden models."""
