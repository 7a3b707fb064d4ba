"""REST resources of the pathways app, one module per resource: episodes,
their facts (observations, imaging, procedures), follow-up tasks, and the
rule catalogue. ``vcftrack/api_urls.py`` routes them."""
