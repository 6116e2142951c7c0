"""Flask app factory, blueprints, services and the CLI."""
