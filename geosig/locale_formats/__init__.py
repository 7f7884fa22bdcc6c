"""Project format modules (settings.FORMAT_MODULE_PATH): Spanish pages use Colombian conventions."""
