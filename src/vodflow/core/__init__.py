"""Business rules: applications, media library, templates, procedures, tasks, events.

Core knows neither HTTP nor FFmpeg: it takes plain values, talks to the store in
one transaction per state change and hands subtasks to the executor.
"""
