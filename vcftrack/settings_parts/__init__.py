"""Groups of settings that ``vcftrack/settings.py`` imports, one module each.

Each module reads its own environment variables and lists its settings in
``__all__``; ``settings.py`` imports them all, so ``django.conf.settings`` and
``manage.py diffsettings`` see them as before.
"""
