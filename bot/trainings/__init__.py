"""Trainings (培训) as admins and officers run them: creating and announcing a training, marking who came.

Workers see and sign up for trainings in flows/training.py."""
