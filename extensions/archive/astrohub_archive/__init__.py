"""astrohub's archive service: SIA v2, Simple Cone Search and image download over the platform archive.

A Tornado application registered with JupyterHub as a service (or run standalone). Handlers parse
and validate protocol parameters, call ``platform_lib`` (the image index and the catalogue
registry), and answer in the protocol's form, errors included; they never return a traceback.
"""
