"""Deploying ftstudio elsewhere: a Hugging Face Space folder and the rating sessions it carries."""
